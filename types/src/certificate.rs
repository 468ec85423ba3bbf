use crate::{FORMAT_VERSION, Hash, read_version};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// Length of a BLS12-381 threshold signature in G1 (the "MinSig" variant).
pub const SIGNATURE_LENGTH: usize = 48;

/// A finality certificate: the threshold signature of ≥ 2f+1 validators over the finalized
/// proposal `(epoch, view, parent_view, block hash)`.
///
/// It verifies against the chain's one group public key (in the genesis file); the message
/// signed and its domain are described in `docs/LIGHT_CLIENT.md` and checked by
/// `cortado_chain::verify_certificate`.
///
/// Encoding (105 bytes): `version (1) || epoch || view || parent_view (u64 BE each) ||
/// block (32) || signature (48)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FinalityCertificate {
    /// Consensus epoch.
    pub epoch: u64,
    /// View in which the block was finalized.
    pub view: u64,
    /// View of the block's parent.
    pub parent_view: u64,
    /// The finalized block (header hash).
    pub block: Hash,
    /// The recovered threshold signature.
    pub signature: [u8; SIGNATURE_LENGTH],
}

impl Write for FinalityCertificate {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        FORMAT_VERSION.write(buf);
        self.epoch.write(buf);
        self.view.write(buf);
        self.parent_view.write(buf);
        self.block.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for FinalityCertificate {
    fn encode_size(&self) -> usize {
        1 + 8 * 3 + 32 + SIGNATURE_LENGTH
    }
}

impl Read for FinalityCertificate {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "FinalityCertificate")?;
        Ok(Self {
            epoch: u64::read(buf)?,
            view: u64::read(buf)?,
            parent_view: u64::read(buf)?,
            block: Hash::read(buf)?,
            signature: <[u8; SIGNATURE_LENGTH]>::read(buf)?,
        })
    }
}
