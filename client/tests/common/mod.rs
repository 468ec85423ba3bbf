//! A test chain: a dealt committee that signs real threshold certificates, and blocks with
//! real namespace commitments and header histories.
#![allow(dead_code)]

use bytes::Bytes;
use commonware_cryptography::bls12381::primitives::{ops::threshold, variant::MinSig};
use commonware_parallel::Sequential;
use cortado_chain::keys::{Committee, deal};
use cortado_client::{Trust, finalize_message, finalize_namespace};
use cortado_coding::{Params, build_block};
use cortado_types::{
    Block, BlockContext, ChainId, FinalityCertificate, Hash, Header, Limits, Transaction, history,
};
use std::collections::HashMap;

pub const CHAIN: ChainId = ChainId(7);
pub const VALIDATORS: u32 = 4;

pub fn limits() -> Limits {
    Limits::default()
}

pub fn committee() -> Committee {
    deal(&mut commonware_utils::test_rng(), VALIDATORS)
}

pub fn trust(committee: &Committee) -> Trust {
    Trust {
        chain_id: CHAIN,
        group_public_key: *committee.sharing.public(),
        validators: VALIDATORS,
        limits: limits(),
    }
}

/// A certificate of `header` signed for `chain` by the 2f+1 = 3 first validators.
pub fn sign(committee: &Committee, chain: ChainId, header: &Header) -> FinalityCertificate {
    let mut cert = FinalityCertificate {
        epoch: header.epoch,
        view: header.view,
        parent_view: header.parent_view,
        block: header.hash(),
        signature: [0; 48],
    };
    let namespace = finalize_namespace(chain);
    let message = finalize_message(&cert);
    let partials: Vec<_> = committee.validators[..3]
        .iter()
        .map(|v| threshold::sign_message::<MinSig>(&v.share, &namespace, &message))
        .collect();
    let signature =
        threshold::recover::<MinSig, _>(&committee.sharing, &partials, &Sequential).unwrap();
    use commonware_codec::Encode;
    cert.signature.copy_from_slice(&signature.encode());
    cert
}

/// A chain of blocks with real histories; also the MMR nodes, to answer history proofs.
pub struct Chain {
    pub blocks: Vec<Block>,
    nodes: HashMap<(u32, u64), Hash>,
}

impl Chain {
    /// `contents[h]` are the transactions of height h.
    pub fn build(contents: &[Vec<(u64, Vec<u8>)>]) -> Self {
        let mut blocks: Vec<Block> = Vec::new();
        let mut nodes = HashMap::new();
        for (height, txs) in contents.iter().enumerate() {
            let parent = blocks.last().map(|b| b.header().clone());
            let ctx = BlockContext {
                chain_id: CHAIN,
                height: height as u64,
                epoch: 0,
                view: 2 * height as u64 + 1,
                parent_view: 2 * height as u64,
                leader: [1; 32],
                timestamp_ms: 1_000 + height as u64,
                parent: parent.as_ref().map_or(Hash::ZERO, Header::hash),
                history: parent
                    .as_ref()
                    .map(Header::child_history)
                    .unwrap_or_default(),
            };
            let txs = txs
                .iter()
                .map(|(ns, p)| Transaction::new(*ns, Bytes::from(p.clone())))
                .collect();
            let (block, _) = build_block(
                Params::for_validators(VALIDATORS as usize),
                ctx,
                txs,
                &limits(),
            )
            .unwrap();
            let (_, created) =
                history::append(&block.header().history, height as u64, block.hash());
            for (level, index, hash) in created {
                nodes.insert((level, index), hash);
            }
            blocks.push(block);
        }
        Self { blocks, nodes }
    }

    pub fn header(&self, height: u64) -> &Header {
        self.blocks[height as usize].header()
    }

    /// The proof of header `leaf` against header `against`.
    pub fn history_proof(&self, leaf: u64, against: u64) -> history::HistoryProof {
        let siblings = history::proof_positions(leaf, against)
            .unwrap()
            .iter()
            .map(|p| self.nodes[p])
            .collect();
        history::HistoryProof {
            leaf,
            count: against,
            siblings,
        }
    }
}
