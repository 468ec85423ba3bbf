//! Test blocks shared by the index tests.
#![allow(dead_code)]

use cortado_coding::{
    Chunk, InvalidEncodingEvidence, Params, build_block, encode_namespace_invalid,
    invalid_encoding_evidence, namespace_entry, verify_invalid_encoding,
};
use cortado_types::{
    Block, BlockContext, ChainId, FinalityCertificate, Hash, Height, Limits, Namespace,
    NamespaceData, Transaction, history,
};

pub fn limits() -> Limits {
    Limits::default()
}

/// Four validators: k = 2.
pub fn params() -> Params {
    Params::for_validators(4)
}

pub fn context(height: Height, parent: Hash) -> BlockContext {
    BlockContext {
        chain_id: ChainId(7),
        height,
        epoch: 0,
        view: height + 10,
        parent_view: height + 9,
        leader: [height as u8; 32],
        timestamp_ms: 1_000 + height,
        parent,
        // The right number of peaks for the height; their values matter only to the history
        // test, which builds a real chain.
        history: vec![Hash::ZERO; history::peak_count(height)],
    }
}

pub fn transactions(txs: &[(u64, &[u8])]) -> Vec<Transaction> {
    txs.iter()
        .map(|(ns, p)| Transaction::new(*ns, p.to_vec()))
        .collect()
}

/// A block at `height` whose transactions are `(namespace, payload)` in the given order, with
/// real namespace commitments.
pub fn block(height: Height, parent: Hash, txs: &[(u64, &[u8])]) -> Block {
    build_block(
        params(),
        context(height, parent),
        transactions(txs),
        &limits(),
    )
    .expect("test block within limits")
    .0
}

/// A block whose namespace `bad` a Byzantine leader committed with an invalid encoding, as an
/// honest node reconstructs it (`bad` empty and marked), and the evidence that node found.
pub fn block_with_invalid(
    height: Height,
    parent: Hash,
    txs: &[(u64, &[u8])],
    bad: u64,
) -> (Block, InvalidEncodingEvidence) {
    let (params, bad) = (params(), Namespace(bad));
    let mut evidence = None;
    let built = Block::build(
        context(height, parent),
        transactions(txs),
        &limits(),
        |data| {
            if data.namespace != bad {
                return namespace_entry(params, data).commitment;
            }
            let (entry, chunks) = encode_namespace_invalid(params, data, 0);
            let chunks: Vec<(u16, Chunk)> = (0..).zip(chunks).collect();
            evidence = invalid_encoding_evidence(params, &entry, &chunks, &limits())
                .expect("k chunks")
                .map(|e| (e, entry));
            entry.commitment
        },
    )
    .expect("test block within limits");
    let (evidence, entry) = evidence.expect("the bad namespace decodes as invalid");
    assert_eq!(evidence.entry, entry);
    assert!(verify_invalid_encoding(params, &evidence, &limits()));
    let namespaces = built
        .namespaces()
        .iter()
        .map(|d| {
            if d.namespace == bad {
                NamespaceData::invalid(bad)
            } else {
                d.clone()
            }
        })
        .collect();
    let block = Block::from_parts(built.header().clone(), namespaces, &limits())
        .expect("an invalid namespace is empty");
    (block, evidence)
}

pub fn certificate(block: &Block) -> FinalityCertificate {
    FinalityCertificate {
        epoch: 0,
        view: block.header().view,
        parent_view: block.header().parent_view,
        block: block.hash(),
        signature: [block.height() as u8; 48],
    }
}
