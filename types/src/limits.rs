/// Size limits that bound every decoded transaction and block.
///
/// All nodes of one chain must use the same limits: they come from the genesis file. They are
/// also the codec configuration of [`crate::Block`], so a peer cannot make a node allocate more
/// than these bounds allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest transaction payload, in bytes (default 1 MiB).
    pub tx_bytes_max: usize,
    /// Largest sum of transaction payload bytes in one block (default 8 MiB).
    pub block_bytes_max: usize,
    /// Most namespaces in one block (default 1024).
    pub namespaces_per_block_max: usize,
    /// Most transactions in one block (default 65 536).
    pub txs_per_block_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            tx_bytes_max: 1 << 20,
            block_bytes_max: 8 << 20,
            namespaces_per_block_max: 1024,
            txs_per_block_max: 65_536,
        }
    }
}

impl Limits {
    /// Checks the relationships between limits; returns a message naming the broken one.
    pub fn check(&self) -> Result<(), String> {
        if self.tx_bytes_max == 0 {
            return Err("tx_bytes_max must be at least 1".into());
        }
        if self.block_bytes_max < self.tx_bytes_max {
            return Err(format!(
                "block_bytes_max ({}) must be at least tx_bytes_max ({}), or the largest transaction could never be included",
                self.block_bytes_max, self.tx_bytes_max
            ));
        }
        if self.namespaces_per_block_max == 0 || self.txs_per_block_max == 0 {
            return Err("namespaces_per_block_max and txs_per_block_max must be at least 1".into());
        }
        if self.namespaces_per_block_max > self.txs_per_block_max {
            return Err("namespaces_per_block_max cannot exceed txs_per_block_max".into());
        }
        Ok(())
    }

    /// An upper bound on the encoded size of any block these limits admit.
    pub fn block_encode_size_max(&self) -> usize {
        // header fixed part + table entries + per-namespace count prefixes + per-tx length prefixes
        crate::Header::FIXED_SIZE_MAX
            + self.namespaces_per_block_max
                * (<crate::NamespaceEntry as commonware_codec::FixedSize>::SIZE + 5)
            + 5
            + self.txs_per_block_max * 5
            + self.block_bytes_max
            + 1
    }
}
