//! Helpers shared by the integration tests: compiling inline rule sources and patching
//! compiled channel files in place.

#![allow(dead_code)]

use sensor_core::channel::{ChannelFile, HEADER_LEN};
use sensor_core::crc32::crc32;
use sensor_core::error::Section;
use sensor_host::compile::compile;
use sensor_host::content::ContentBuf;
use sensor_host::source;

/// Compiles inline rule source to channel-file bytes.
pub fn compile_toml(text: &str) -> Vec<u8> {
    let content = source::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    compile(&content).unwrap_or_else(|e| panic!("{e}"))
}

/// A channel file under surgery.
pub struct Patient {
    pub bytes: Vec<u8>,
}

impl Patient {
    pub fn new(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.to_vec(),
        }
    }

    fn view(&self) -> ChannelFile<'_> {
        ChannelFile::parse(&self.bytes).expect("the patient was valid before surgery")
    }

    /// Byte offset of record `index` of `section`.
    pub fn record(&self, section: Section, index: usize) -> usize {
        self.view().record_offset(section, index)
    }

    /// Byte offset of a section's directory entry.
    pub fn directory(section: Section) -> usize {
        HEADER_LEN + section as usize * 8
    }

    pub fn put(&mut self, at: usize, bytes: &[u8]) -> &mut Self {
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
        self
    }

    pub fn put_u16(&mut self, at: usize, v: u16) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn put_u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn put_u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }

    pub fn get_u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bytes[at..at + 4].try_into().unwrap())
    }

    /// Rewrites the body length and checksum so that only the deliberate fault remains.
    pub fn reseal(&mut self) -> &mut Self {
        let body_len = (self.bytes.len() - HEADER_LEN) as u32;
        let crc = crc32(&self.bytes[HEADER_LEN..]);
        self.put_u32(24, body_len);
        self.put_u32(28, crc)
    }

    pub fn aligned(&self) -> ContentBuf {
        ContentBuf::new(&self.bytes)
    }
}
