//! The header history accumulator in the index: proofs of every pair, peaks checked, and a
//! node that starts from a checkpoint.

mod common;

use common::{certificate, context, limits, params, transactions};
use cortado_coding::build_block;
use cortado_storage::{Error, Index};
use cortado_types::{Block, Hash, history};

/// A real chain of `count` blocks (linked, with their history peaks), one transaction each.
fn real_chain(count: u64) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut ctx = context(0, Hash::ZERO);
    for height in 0..count {
        ctx.height = height;
        let payload = height.to_be_bytes();
        let (b, _) = build_block(
            params(),
            ctx.clone(),
            transactions(&[(1, &payload)]),
            &limits(),
        )
        .unwrap();
        ctx.parent = b.hash();
        ctx.history = b.header().child_history();
        blocks.push(b);
    }
    blocks
}

#[tokio::test]
async fn history_proofs_of_every_pair_verify() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let mut headers = Vec::new();
    for b in real_chain(40) {
        headers.push(b.header().clone());
        index
            .insert_finalized(&b, &certificate(&b), &[], 0)
            .await
            .unwrap();
    }
    for against in 0..40u64 {
        let later = &headers[against as usize];
        for leaf in 0..against {
            let proof = index
                .history_proof(leaf, against)
                .await
                .unwrap()
                .expect("both indexed");
            assert_eq!(
                history::verify(
                    &later.history,
                    against,
                    headers[leaf as usize].hash(),
                    &proof
                ),
                Ok(()),
                "leaf {leaf} against {against}"
            );
            assert!(
                history::verify(
                    &later.history,
                    against,
                    headers[against as usize].hash(),
                    &proof
                )
                .is_err()
            );
        }
        assert!(
            index
                .history_proof(against, against)
                .await
                .unwrap()
                .is_none()
        );
    }
    // Beyond what is indexed: the nodes are missing.
    assert!(index.history_proof(3, 64).await.unwrap().is_none());
}

#[tokio::test]
async fn wrong_peak_count_is_refused() {
    let index = Index::open_in_memory(limits()).await.unwrap();
    let mut ctx = context(3, Hash::ZERO);
    ctx.history = Vec::new();
    let (b, _) = build_block(params(), ctx, Vec::new(), &limits()).unwrap();
    assert!(matches!(
        index.insert_finalized(&b, &certificate(&b), &[], 0).await,
        Err(Error::Invalid(m)) if m.contains("history peaks")
    ));
}

/// An index started from the checkpoint header at height 23 of a real chain, then fed the
/// headers from there on, answers the history proof of every header from the checkpoint on
/// against every later one, says what it holds from, and refuses a checkpoint above a block it
/// holds.
#[tokio::test]
async fn an_index_started_from_a_checkpoint_proves_every_later_header() {
    let blocks = real_chain(60);
    let checkpoint = 23u64;
    let index = Index::open_in_memory(limits()).await.unwrap();
    assert_eq!(index.held_from().await.unwrap(), None);
    index
        .start_from_checkpoint(blocks[checkpoint as usize].header())
        .await
        .unwrap();
    // Idempotent (a restart before the first block was indexed).
    index
        .start_from_checkpoint(blocks[checkpoint as usize].header())
        .await
        .unwrap();
    for b in &blocks[checkpoint as usize..] {
        index
            .insert_finalized(b, &certificate(b), &[], 0)
            .await
            .unwrap();
    }
    assert_eq!(index.held_from().await.unwrap(), Some(checkpoint));
    assert_eq!(index.height_of(blocks[30].hash()).await.unwrap(), Some(30));
    assert_eq!(index.height_of(blocks[3].hash()).await.unwrap(), None);
    for against in checkpoint + 1..60 {
        let later = blocks[against as usize].header();
        for leaf in checkpoint..against {
            let proof = index
                .history_proof(leaf, against)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("no proof of {leaf} against {against}"));
            assert_eq!(
                history::verify(
                    &later.history,
                    against,
                    blocks[leaf as usize].hash(),
                    &proof
                ),
                Ok(()),
                "leaf {leaf} against {against}"
            );
        }
    }
    // Below the checkpoint the nodes are not there (the API answers not_held).
    assert!(index.history_proof(5, 59).await.unwrap().is_none());
    // A checkpoint above what is already indexed would leave a gap: refused.
    let err = index
        .start_from_checkpoint(blocks[40].header())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(m) if m.contains("fresh data directory")),
        "{err}"
    );
}
