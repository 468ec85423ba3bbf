//! Configuration of the dispersal actor.

use cortado_coding::Params;
use cortado_types::Limits;
use std::{num::NonZeroUsize, time::Duration};

/// Deliberate misbehaviour, for simulations of Byzantine validators. All off by default; a
/// production node never sets them.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// As leader, send no share to these validator indices.
    pub omit_shares_to: Vec<u16>,
    /// As leader, send these validator indices a share with one chunk byte flipped.
    pub corrupt_shares_to: Vec<u16>,
    /// Never push our share and never answer share requests.
    pub refuse_to_serve: bool,
    /// Push our share to the API nodes with one chunk byte flipped (what we store is intact).
    pub corrupt_pushes: bool,
    /// As an API node, serve whole blocks (block sync) with one payload byte flipped.
    pub corrupt_served_blocks: bool,
    /// For every dispersal message received, send this many tiny proposal shares for random
    /// blocks to every other validator (flooding their candidate buffers).
    pub spam_shares: u16,
}

/// Configuration of the dispersal [`crate::Actor`].
#[derive(Clone, Debug)]
pub struct Config<P> {
    /// All validators, in participant order (index `i` ↔ `participants[i]`).
    pub participants: Vec<P>,
    /// This node's index in `participants`.
    pub me: u16,
    /// Coding parameters (from the validator count).
    pub params: Params,
    /// Block limits (bound decoding).
    pub limits: Limits,
    /// Peers that serve the API and want shares pushed as soon as they are stored.
    pub push_to: Vec<P>,
    /// How many shares beyond the `k - 1` it needs (its own is the k-th) each API node is
    /// pushed per block (default 1): the validators right after it in index order push to it.
    /// More spare costs bandwidth; fewer means a retrieval waits `fetch_timeout` and fetches
    /// when more than `push_spare` of its pushers are slow, down or withholding.
    pub push_spare: u16,
    /// How long a retrieval waits for pushed shares before asking peers, and between asks.
    pub fetch_timeout: Duration,
    /// Most bytes of unverified or gathered shares held in memory.
    pub buffered_bytes_max: usize,
    /// Most blocks for which shares are held in memory.
    pub buffered_blocks_max: usize,
    /// Capacity of the mailbox.
    pub mailbox_size: NonZeroUsize,
    /// Storage partition prefix of the share archive.
    pub partition: String,
    /// Keep stored shares of this many most recent views (None: keep all).
    pub retention_views: Option<u64>,
    /// Deliberate misbehaviour (simulations only).
    pub faults: Faults,
}

impl<P> Config<P> {
    /// Checks the configuration; returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.participants.len() != self.params.n as usize {
            return Err(format!(
                "{} participants but coding parameters for {}",
                self.participants.len(),
                self.params.n
            ));
        }
        if self.me as usize >= self.participants.len() {
            return Err("this node's index is outside the validator set".into());
        }
        if self.fetch_timeout.is_zero() {
            return Err("fetch_timeout must be > 0".into());
        }
        let one = cortado_coding::share_bytes_max(self.params, &self.limits);
        if self.buffered_bytes_max < 2 * one {
            return Err(format!(
                "buffered_bytes_max ({}) must hold at least two of the largest shares ({} bytes each)",
                self.buffered_bytes_max, one
            ));
        }
        if self.buffered_blocks_max == 0 {
            return Err("buffered_blocks_max must be at least 1".into());
        }
        Ok(())
    }
}
