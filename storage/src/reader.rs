//! The read side of the index, as a trait the API is generic over.

use crate::{CompactTx, Error, InboxQuery, Index, IndexedMessage, NamespaceBlock, TxLocation};
use cortado_types::{
    Block, FinalityCertificate, Hash, Header, Height, Namespace, history::HistoryProof,
};
use std::future::Future;

/// Reads of finalized data; see [`Index`] for what each method returns.
pub trait Reader: Send + Sync {
    /// The highest finalized height indexed, or `None` when nothing is.
    fn latest_height(&self) -> impl Future<Output = Result<Option<Height>, Error>> + Send;

    /// The lowest height held: the checkpoint the node started from; `None`: from genesis.
    fn held_from(&self) -> impl Future<Output = Result<Option<Height>, Error>> + Send;

    /// The height of finalized block `hash`.
    fn height_of(&self, hash: Hash) -> impl Future<Output = Result<Option<Height>, Error>> + Send;

    /// The header and certificate at `height`.
    fn header(
        &self,
        height: Height,
    ) -> impl Future<Output = Result<Option<(Header, FinalityCertificate)>, Error>> + Send;

    /// The header and certificate at the highest indexed height.
    fn header_latest(
        &self,
    ) -> impl Future<Output = Result<Option<(Header, FinalityCertificate)>, Error>> + Send;

    /// Up to `limit` headers at heights ≥ `from`, ascending.
    fn headers_range(
        &self,
        from: Height,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Header, FinalityCertificate)>, Error>> + Send;

    /// The whole block at `height` with its certificate.
    fn block(
        &self,
        height: Height,
    ) -> impl Future<Output = Result<Option<(Block, FinalityCertificate)>, Error>> + Send;

    /// One namespace's transactions in the block at `height`; `None` if not finalized.
    fn namespace_block(
        &self,
        namespace: Namespace,
        height: Height,
    ) -> impl Future<Output = Result<Option<NamespaceBlock>, Error>> + Send;

    /// Where a transaction was first finalized.
    fn transaction(
        &self,
        hash: Hash,
    ) -> impl Future<Output = Result<Option<TxLocation>, Error>> + Send;

    /// The compact proof material of the transaction at `loc`.
    fn compact_tx(
        &self,
        loc: &TxLocation,
    ) -> impl Future<Output = Result<Option<CompactTx>, Error>> + Send;

    /// Up to `limit` heights ≥ `from` holding `namespace`, ascending.
    fn namespace_heights(
        &self,
        namespace: Namespace,
        from: Height,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Height>, Error>> + Send;

    /// The proof that header `leaf` is in the history of header `against`.
    fn history_proof(
        &self,
        leaf: Height,
        against: Height,
    ) -> impl Future<Output = Result<Option<HistoryProof>, Error>> + Send;

    /// A bundle whose marker is in a block with all its members: that height and the members.
    fn bundle(
        &self,
        hash: Hash,
    ) -> impl Future<Output = Result<Option<(Height, Vec<Hash>)>, Error>> + Send;

    /// Up to `limit` finalized messages to `destination`.
    fn inbox(
        &self,
        destination: Namespace,
        query: InboxQuery,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<IndexedMessage>, Error>> + Send;

    /// Up to `limit` heights ≥ `from` holding messages to `destination`, ascending.
    fn inbox_heights(
        &self,
        destination: Namespace,
        from: Height,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Height>, Error>> + Send;
}

impl Reader for Index {
    fn latest_height(&self) -> impl Future<Output = Result<Option<Height>, Error>> + Send {
        Index::latest_height(self)
    }

    fn held_from(&self) -> impl Future<Output = Result<Option<Height>, Error>> + Send {
        Index::held_from(self)
    }

    fn height_of(&self, hash: Hash) -> impl Future<Output = Result<Option<Height>, Error>> + Send {
        Index::height_of(self, hash)
    }

    fn header(
        &self,
        height: Height,
    ) -> impl Future<Output = Result<Option<(Header, FinalityCertificate)>, Error>> + Send {
        Index::header(self, height)
    }

    fn header_latest(
        &self,
    ) -> impl Future<Output = Result<Option<(Header, FinalityCertificate)>, Error>> + Send {
        Index::header_latest(self)
    }

    fn headers_range(
        &self,
        from: Height,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Header, FinalityCertificate)>, Error>> + Send {
        Index::headers_range(self, from, limit)
    }

    fn block(
        &self,
        height: Height,
    ) -> impl Future<Output = Result<Option<(Block, FinalityCertificate)>, Error>> + Send {
        Index::block(self, height)
    }

    fn namespace_block(
        &self,
        namespace: Namespace,
        height: Height,
    ) -> impl Future<Output = Result<Option<NamespaceBlock>, Error>> + Send {
        Index::namespace_block(self, namespace, height)
    }

    fn transaction(
        &self,
        hash: Hash,
    ) -> impl Future<Output = Result<Option<TxLocation>, Error>> + Send {
        Index::transaction(self, hash)
    }

    fn compact_tx(
        &self,
        loc: &TxLocation,
    ) -> impl Future<Output = Result<Option<CompactTx>, Error>> + Send {
        Index::compact_tx(self, loc)
    }

    fn namespace_heights(
        &self,
        namespace: Namespace,
        from: Height,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Height>, Error>> + Send {
        Index::namespace_heights(self, namespace, from, limit)
    }

    fn history_proof(
        &self,
        leaf: Height,
        against: Height,
    ) -> impl Future<Output = Result<Option<HistoryProof>, Error>> + Send {
        Index::history_proof(self, leaf, against)
    }

    fn inbox(
        &self,
        destination: Namespace,
        query: InboxQuery,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<IndexedMessage>, Error>> + Send {
        Index::inbox(self, destination, query, limit)
    }

    fn inbox_heights(
        &self,
        destination: Namespace,
        from: Height,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Height>, Error>> + Send {
        Index::inbox_heights(self, destination, from, limit)
    }

    fn bundle(
        &self,
        hash: Hash,
    ) -> impl Future<Output = Result<Option<(Height, Vec<Hash>)>, Error>> + Send {
        Index::bundle(self, hash)
    }
}
