//! A forgiving little-endian reader over fuzzer bytes, and the writer that produces the same
//! layout for seeds.
//!
//! The reader never fails: past the end of the data every integer reads as zero and every byte
//! run comes back short. Any byte string therefore decodes to some input, which is what a fuzz
//! target needs; the writer exists so that seed corpora can be built from real content and
//! events, and tests check that decoding a written input gives the input back.

use sensor_core::channel::HEADER_LEN;
use sensor_core::crc32::crc32;
use sensor_core::error::Section;

/// Reads integers and byte runs from the front of a byte string.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// Up to `n` bytes; fewer when the data runs out.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let head = self.bytes(N);
        out[..head.len()].copy_from_slice(head);
        out
    }

    /// One byte, zero past the end.
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    /// A little-endian `u16`, zero-padded past the end.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.array())
    }

    /// A little-endian `u32`, zero-padded past the end.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    /// A little-endian `u64`, zero-padded past the end.
    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

/// Appends integers and byte runs in the layout [`Reader`] reads.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub out: Vec<u8>,
}

impl Writer {
    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Raw bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.out.extend_from_slice(v);
        self
    }
}

/// A copy of `file` whose header states its real body length and checksum, so that mutations of
/// the body reach the checks behind the checksum. Files shorter than a header are copied as
/// they are.
pub fn reseal(file: &[u8]) -> Vec<u8> {
    let mut out = file.to_vec();
    if out.len() >= HEADER_LEN {
        let body_len = u32::try_from(out.len() - HEADER_LEN).unwrap_or(u32::MAX);
        let crc = crc32(&out[HEADER_LEN..]);
        out[24..28].copy_from_slice(&body_len.to_le_bytes());
        out[28..32].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

/// A copy of `file` without its rule index: the length in the triggers section's directory
/// entry set to zero, and the header resealed. Nothing else changes, so the copy holds the same
/// rules, predicates and automata, and runs every rule on every event. `None` when the file is
/// too short to hold that entry.
pub fn without_index(file: &[u8]) -> Option<Vec<u8>> {
    let length = HEADER_LEN + Section::Triggers as usize * 8 + 4;
    let mut out = file.to_vec();
    out.get_mut(length..length + 4)?.fill(0);
    Some(reseal(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_and_zeros_after() {
        let mut w = Writer::default();
        w.u8(7)
            .u16(0xBEEF)
            .u32(0xDEAD_BEEF)
            .u64(u64::MAX - 1)
            .bytes(b"xyz");
        let mut r = Reader::new(&w.out);
        assert_eq!(r.u8(), 7);
        assert_eq!(r.u16(), 0xBEEF);
        assert_eq!(r.u32(), 0xDEAD_BEEF);
        assert_eq!(r.u64(), u64::MAX - 1);
        assert_eq!(r.bytes(10), b"xyz");
        assert!(r.is_empty());
        assert_eq!((r.u8(), r.u16(), r.u32(), r.u64()), (0, 0, 0, 0));
        let mut short = Reader::new(&[0x34]);
        assert_eq!(short.u32(), 0x34, "a short read is zero-padded");
    }

    #[test]
    fn reseal_fixes_length_and_checksum_only() {
        let mut file = vec![0u8; HEADER_LEN + 5];
        file[HEADER_LEN..].copy_from_slice(b"hello");
        let sealed = reseal(&file);
        assert_eq!(&sealed[24..28], &5u32.to_le_bytes());
        assert_eq!(&sealed[28..32], &crc32(b"hello").to_le_bytes());
        assert_eq!(sealed[..24], file[..24]);
        assert_eq!(sealed[32..], file[32..]);
        assert_eq!(reseal(b"short"), b"short");
    }

    #[test]
    fn without_index_clears_the_triggers_length_only() {
        let mut file = vec![0u8; HEADER_LEN + 64 + 8];
        file[HEADER_LEN + 56..HEADER_LEN + 64].copy_from_slice(&[128, 0, 0, 0, 8, 0, 0, 0]);
        let stripped = without_index(&file).unwrap();
        assert_eq!(
            &stripped[HEADER_LEN + 56..HEADER_LEN + 64],
            &[128, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            stripped[HEADER_LEN..HEADER_LEN + 56],
            file[HEADER_LEN..HEADER_LEN + 56]
        );
        assert_eq!(stripped, reseal(&stripped));
        assert_eq!(without_index(&file[..HEADER_LEN + 63]), None);
    }
}
