//! Configuration of the mempool actor and the relationships between its limits.

use crate::gossip::GOSSIP_OVERHEAD;
use commonware_utils::NZUsize;
use std::{num::NonZeroUsize, time::Duration};

/// Configuration of the mempool [`crate::Actor`].
///
/// [`Config::assert`] checks the relationships between the limits; [`crate::Actor::init`] runs it
/// and panics with its message, so a node should call it first to report a bad configuration
/// as an error.
#[derive(Clone, Debug)]
pub struct Config {
    /// Most payload bytes the pool holds (default 256 MiB).
    pub bytes_max: usize,
    /// Most transactions the pool holds (default 262 144).
    pub txs_max: usize,
    /// Largest payload accepted, in bytes (default 1 MiB). Must equal the chain's
    /// `Limits::tx_bytes_max`.
    pub tx_bytes_max: usize,
    /// Most payload bytes one namespace may hold in the pool (default 64 MiB).
    pub namespace_bytes_max: usize,
    /// How many recently finalized hashes are remembered to refuse late copies (default 2^20).
    pub recent_finalized_max: usize,
    /// The `retry_after` reported when the pool or a namespace is full (default 1 s).
    pub full_retry_after: Duration,
    /// Largest encoded gossip message this node sends (default 2 MiB). Must hold one transaction
    /// of `tx_bytes_max` plus [`GOSSIP_OVERHEAD`], and fit in `max_message_size`.
    pub gossip_batch_bytes_max: usize,
    /// How long a local transaction may wait for more to batch with before it is gossiped
    /// (default 5 ms).
    pub gossip_interval: Duration,
    /// The p2p gossip channel's largest message (default 2 MiB). Incoming messages are bounded by
    /// it; outgoing ones never exceed it.
    pub max_message_size: usize,
    /// Capacity of the mailbox, and the most mailbox messages handled in one group commit
    /// (default 1024).
    pub mailbox_size: usize,
    /// Storage partition of the journal (default `"mempool"`).
    pub journal_partition: String,
    /// Bytes after which the journal starts a new section (default 32 MiB).
    pub journal_section_bytes: u64,
    /// Write buffer of the journal's open section (default 1 MiB).
    pub journal_write_buffer: NonZeroUsize,
    /// Read buffer used when replaying the journal at start-up (default 1 MiB).
    pub journal_replay_buffer: NonZeroUsize,
    /// Pages in the journal's page cache (default 16).
    pub journal_page_cache_pages: NonZeroUsize,
    /// How many upcoming leaders a local transaction is gossiped to when the actor is given a
    /// leader schedule (default 3); without one it goes to every validator.
    pub forward_leaders: usize,
    /// How long a gossiped copy (a transaction another validator owns) stays in the pool
    /// unless a finalized block's manifest or this node's own reconstruction removes it first
    /// (default 10 s).
    pub copy_ttl: Duration,
    /// An owned transaction still pending this long after it was gossiped is gossiped to the
    /// upcoming leaders again, then after twice as long each time, up to `copy_ttl` (default
    /// 2 s): copies lost, dropped or expired at the leaders never strand it.
    pub reoffer_after: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bytes_max: 256 << 20,
            txs_max: 1 << 18,
            tx_bytes_max: 1 << 20,
            namespace_bytes_max: 64 << 20,
            recent_finalized_max: 1 << 20,
            full_retry_after: Duration::from_secs(1),
            gossip_batch_bytes_max: 2 << 20,
            gossip_interval: Duration::from_millis(5),
            max_message_size: 2 << 20,
            mailbox_size: 1024,
            journal_partition: "mempool".into(),
            journal_section_bytes: 32 << 20,
            journal_write_buffer: NZUsize!(1 << 20),
            journal_replay_buffer: NZUsize!(1 << 20),
            journal_page_cache_pages: NZUsize!(16),
            forward_leaders: 3,
            copy_ttl: Duration::from_secs(10),
            reoffer_after: Duration::from_secs(2),
        }
    }
}

impl Config {
    /// Checks the relationships between the limits; the message names the broken one and what to
    /// change.
    pub fn assert(&self) -> Result<(), String> {
        if self.tx_bytes_max == 0 {
            return Err("tx_bytes_max must be at least 1".into());
        }
        if self.tx_bytes_max > u32::MAX as usize || self.max_message_size > u32::MAX as usize {
            return Err("tx_bytes_max and max_message_size must fit in 32 bits".into());
        }
        if self.namespace_bytes_max < self.tx_bytes_max {
            return Err(format!(
                "namespace_bytes_max ({}) must be at least tx_bytes_max ({}), or the largest transaction could never enter the pool",
                self.namespace_bytes_max, self.tx_bytes_max
            ));
        }
        if self.bytes_max < self.namespace_bytes_max {
            return Err(format!(
                "bytes_max ({}) must be at least namespace_bytes_max ({})",
                self.bytes_max, self.namespace_bytes_max
            ));
        }
        if self.txs_max == 0 || self.mailbox_size == 0 {
            return Err("txs_max and mailbox_size must be at least 1".into());
        }
        self.assert_gossip()?;
        self.assert_journal()
    }

    fn assert_gossip(&self) -> Result<(), String> {
        let one_tx = self.tx_bytes_max.saturating_add(GOSSIP_OVERHEAD);
        if self.gossip_batch_bytes_max < one_tx {
            return Err(format!(
                "gossip_batch_bytes_max ({}) must be at least tx_bytes_max + {GOSSIP_OVERHEAD} ({one_tx}), or the largest transaction could never be gossiped",
                self.gossip_batch_bytes_max
            ));
        }
        if self.gossip_batch_bytes_max > self.max_message_size {
            return Err(format!(
                "gossip_batch_bytes_max ({}) must not exceed the p2p max_message_size ({})",
                self.gossip_batch_bytes_max, self.max_message_size
            ));
        }
        if self.gossip_interval.is_zero() {
            return Err("gossip_interval must be positive".into());
        }
        if self.forward_leaders == 0 {
            return Err(
                "forward_leaders must be at least 1, or no leader would get local transactions"
                    .into(),
            );
        }
        if self.reoffer_after.is_zero() || self.copy_ttl <= self.reoffer_after {
            return Err(format!(
                "copy_ttl ({:?}) must exceed reoffer_after ({:?}), which must be positive: a copy must live until its owner offers it again",
                self.copy_ttl, self.reoffer_after
            ));
        }
        Ok(())
    }

    fn assert_journal(&self) -> Result<(), String> {
        let partition = &self.journal_partition;
        if partition.is_empty()
            || !partition
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "journal_partition ({partition:?}) must be non-empty and use only letters, digits, '_' and '-'"
            ));
        }
        if self.journal_section_bytes == 0 {
            return Err("journal_section_bytes must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Config::default().assert().unwrap();
    }

    #[test]
    fn gossip_batch_must_hold_one_transaction() {
        let cfg = Config {
            gossip_batch_bytes_max: 1 << 20,
            ..Config::default()
        };
        let err = cfg.assert().unwrap_err();
        assert!(err.contains("gossip_batch_bytes_max"), "{err}");

        let cfg = Config {
            gossip_batch_bytes_max: (1 << 20) + GOSSIP_OVERHEAD,
            ..Config::default()
        };
        cfg.assert().unwrap();
    }

    #[test]
    fn gossip_batch_must_fit_a_p2p_message() {
        let cfg = Config {
            max_message_size: 1 << 20,
            ..Config::default()
        };
        let err = cfg.assert().unwrap_err();
        assert!(err.contains("max_message_size"), "{err}");
    }

    #[test]
    fn bounds_must_nest() {
        let cfg = Config {
            namespace_bytes_max: 1000,
            ..Config::default()
        };
        assert!(cfg.assert().unwrap_err().contains("namespace_bytes_max"));
        let cfg = Config {
            bytes_max: 32 << 20,
            ..Config::default()
        };
        assert!(cfg.assert().unwrap_err().contains("bytes_max"));
        let cfg = Config {
            journal_partition: "a/b".into(),
            ..Config::default()
        };
        assert!(cfg.assert().unwrap_err().contains("journal_partition"));
        let cfg = Config {
            gossip_interval: Duration::ZERO,
            ..Config::default()
        };
        assert!(cfg.assert().unwrap_err().contains("gossip_interval"));
        let cfg = Config {
            copy_ttl: Duration::from_secs(2),
            ..Config::default()
        };
        assert!(cfg.assert().unwrap_err().contains("copy_ttl"));
        let cfg = Config {
            forward_leaders: 0,
            ..Config::default()
        };
        assert!(cfg.assert().unwrap_err().contains("forward_leaders"));
    }
}
