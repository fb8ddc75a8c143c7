//! The compiled Channel File 291 history (`test-driver/fixtures/`, kept byte-identical to the
//! compiler's output by `sensor-ffi/tests/fixtures.rs`), embedded 8-byte aligned as a driver
//! would hold them in pool memory.

use sensor_core::channel::ChannelFile;
use sensor_core::error::Section;

/// Bytes at an 8-byte-aligned address.
#[repr(C, align(8))]
pub struct Aligned<T: ?Sized>(pub T);

/// One channel file.
pub struct Fixture {
    /// File name without `.sys`.
    pub stem: &'static str,
    /// The bytes, 8-byte aligned.
    pub bytes: &'static Aligned<[u8]>,
}

impl Fixture {
    /// The file's bytes.
    pub fn bytes(&self) -> &'static [u8] {
        &self.bytes.0
    }

    /// The rule ids the file holds, in rule order, read through the core's structural view
    /// (no validation: the ids are what the file says).
    pub fn rule_ids(&self) -> RuleIds {
        let mut ids = RuleIds {
            ids: [""; MAX_RULES],
            len: 0,
        };
        let Ok(file) = ChannelFile::parse(self.bytes()) else {
            return ids;
        };
        for index in 0..file.count(Section::Rules).min(MAX_RULES) {
            let id = file
                .rule(index)
                .and_then(|r| file.string_bytes(r.id.0, usize::from(r.id.1)))
                .and_then(|b| core::str::from_utf8(b).ok())
                .unwrap_or("");
            ids.ids[index] = id;
            ids.len = index + 1;
        }
        ids
    }
}

/// Most rules the fixtures hold.
pub const MAX_RULES: usize = 8;

/// The rule ids of one file.
#[derive(Clone, Copy, Debug)]
pub struct RuleIds {
    ids: [&'static str; MAX_RULES],
    len: usize,
}

impl RuleIds {
    /// The ids, in rule order.
    pub fn as_slice(&self) -> &[&'static str] {
        &self.ids[..self.len]
    }

    /// Whether the file holds rule `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.as_slice().contains(&id)
    }
}

macro_rules! fixture {
    ($name:ident, $stem:literal) => {
        #[doc = concat!("`", $stem, ".sys`.")]
        pub static $name: Fixture = Fixture {
            stem: $stem,
            bytes: &Aligned(*include_bytes!(concat!("../../fixtures/", $stem, ".sys"))),
        };
    };
}

fixture!(MARCH_05, "C-00000291-2024-03-05");
fixture!(APRIL_08, "C-00000291-2024-04-08");
fixture!(APRIL_16, "C-00000291-2024-04-16");
fixture!(APRIL_24, "C-00000291-2024-04-24");
fixture!(JULY_19_0409, "C-00000291-2024-07-19-0409");
fixture!(JULY_19_0527, "C-00000291-2024-07-19-0527");
