use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use std::{fmt, str::FromStr};

/// The id of a rollup or application writing into Cortado.
///
/// Any party may post to any namespace. Within a block, namespaces appear in ascending order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Namespace(pub u64);

impl Namespace {
    /// The raw id.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for Namespace {
    fn from(v: u64) -> Self {
        Namespace(v)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ns{}", self.0)
    }
}

impl FromStr for Namespace {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>().map(Namespace)
    }
}

impl Write for Namespace {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl Read for Namespace {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Namespace(u64::read(buf)?))
    }
}

impl FixedSize for Namespace {
    const SIZE: usize = 8;
}
