//! The ceremony's durable state: one [`Persisted`] value in a commonware metadata store (two
//! blobs written alternately, so a crash mid-write leaves the previous state readable).

use super::state::Persisted;
use commonware_storage::metadata::{Config, Metadata};
use std::num::NonZeroU32;

/// The only key.
const KEY: u8 = 0;

/// Where a participant's ceremony state lives.
pub(super) struct Store<E: commonware_storage::Context> {
    metadata: Option<Metadata<E, u8, Persisted>>,
}

impl<E: commonware_storage::Context> Store<E> {
    /// Opens (or creates) the store in `partition`.
    pub(super) async fn open(context: E, partition: String, n: NonZeroU32) -> Self {
        let metadata = Metadata::init(
            context,
            Config {
                partition,
                codec_config: n,
            },
        )
        .await
        .expect("cannot open the ceremony state (check the storage directory)");
        Self {
            metadata: Some(metadata),
        }
    }

    /// What was stored, if anything.
    pub(super) fn get(&self) -> Option<Persisted> {
        self.metadata.as_ref().and_then(|m| m.get(&KEY)).cloned()
    }

    /// Stores `state` durably.
    pub(super) async fn put(&mut self, state: Persisted) {
        let metadata = self.metadata.take().expect("present between operations");
        self.metadata = Some(
            metadata
                .put_sync(KEY, state)
                .await
                .expect("cannot write the ceremony state (check the storage directory)"),
        );
    }
}
