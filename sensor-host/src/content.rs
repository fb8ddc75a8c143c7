//! Channel-file bytes held where the core can use them in place.
//!
//! The core deserializes automata straight out of the file, which needs their bytes 4-byte
//! aligned in memory; the format aligns them to 8 within the file, and this buffer puts the
//! file itself on an 8-byte boundary.

use std::path::Path;

/// A channel file in an 8-byte-aligned buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentBuf {
    words: Vec<u64>,
    len: usize,
}

impl ContentBuf {
    /// Copies `bytes` into an aligned buffer.
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Self {
            words,
            len: bytes.len(),
        }
    }

    /// Reads a channel file from disk.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        std::fs::read(path).map(|bytes| Self::new(&bytes))
    }

    /// The file's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[..self.len]
    }
}
