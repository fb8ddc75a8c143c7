//! Events as fuzz inputs: owned input values, and their byte encoding.
//!
//! An event is a count (0 to 32, so fewer inputs than a sensor declares, exactly as many, or more
//! than the template has) followed by that many values. Each value starts with a tag:
//!
//! | tag % 5 | value                                                                            |
//! |---------|----------------------------------------------------------------------------------|
//! | 0       | absent                                                                           |
//! | 1       | integer: `u64`                                                                   |
//! | 2       | string: `u16` length in code units, then the units (short when the data ends)    |
//! | 3       | long string: `u16` unit `a`, `u16` unit `b`, `u16` count: `a` repeated, then `b` |
//! | 4       | scrambled string: `u8` length, then one byte per unit picked from [`AWKWARD`]    |
//!
//! Tag 3 reaches strings up to 65 536 units (beyond the longest `UNICODE_STRING`) from seven
//! bytes; tag 4 mixes unpaired and paired surrogates, case-folding oddities and path separators.

use sensor_core::Value;

use crate::bytes::{Reader, Writer};

/// Most inputs one event carries.
pub const MAX_INPUTS: usize = 32;

/// Code units that stress UTF-16 handling: lone high and low surrogates, a surrogate pair's two
/// halves, U+FFFD, a BOM, letters whose case mapping is not one-to-one, a backslash, and ASCII.
pub const AWKWARD: [u16; 16] = [
    0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00, 0xFFFD, 0xFEFF, 0x0130, 0x0131, 0x00DF, 0x03C3,
    0x005C, 0x0078, 0x0041, 0x0061,
];

/// One input field's value, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// No value.
    Absent,
    /// An integer or mask.
    Int(u64),
    /// UTF-16 code units, not necessarily valid UTF-16.
    Str(Vec<u16>),
}

impl Input {
    /// The borrowed value the core takes.
    pub fn value(&self) -> Value<'_> {
        match self {
            Self::Absent => Value::Absent,
            Self::Int(v) => Value::Int(*v),
            Self::Str(s) => Value::Str(s),
        }
    }

    /// A string input from Rust text.
    pub fn text(s: &str) -> Self {
        Self::Str(s.encode_utf16().collect())
    }

    /// Reads one tagged value.
    pub fn read(r: &mut Reader<'_>) -> Self {
        match r.u8() % 5 {
            0 => Self::Absent,
            1 => Self::Int(r.u64()),
            2 => {
                let len = usize::from(r.u16());
                let bytes = r.bytes(len * 2);
                Self::Str(
                    bytes
                        .chunks_exact(2)
                        .map(|p| u16::from_le_bytes([p[0], p[1]]))
                        .collect(),
                )
            }
            3 => {
                let (a, b, count) = (r.u16(), r.u16(), r.u16());
                let mut units = vec![a; usize::from(count)];
                units.push(b);
                Self::Str(units)
            }
            _ => {
                let len = usize::from(r.u8());
                let units = r
                    .bytes(len)
                    .iter()
                    .map(|&b| AWKWARD[usize::from(b) % AWKWARD.len()])
                    .collect();
                Self::Str(units)
            }
        }
    }

    /// Writes the value with tag 0, 1 or 2. Strings longer than `u16::MAX` units are cut.
    pub fn write(&self, w: &mut Writer) {
        match self {
            Self::Absent => {
                w.u8(0);
            }
            Self::Int(v) => {
                w.u8(1).u64(*v);
            }
            Self::Str(units) => {
                let len = units.len().min(usize::from(u16::MAX));
                w.u8(2).u16(len as u16);
                for u in &units[..len] {
                    w.u16(*u);
                }
            }
        }
    }
}

/// Writes a long string as tag 3: `a` repeated `count` times, then `b`.
pub fn write_long(w: &mut Writer, a: u16, b: u16, count: u16) {
    w.u8(3).u16(a).u16(b).u16(count);
}

/// Writes a scrambled string as tag 4: one unit of [`AWKWARD`] per byte of `picks`.
pub fn write_scrambled(w: &mut Writer, picks: &[u8]) {
    let len = picks.len().min(usize::from(u8::MAX));
    w.u8(4).u8(len as u8).bytes(&picks[..len]);
}

/// Reads one event: a count, then that many values.
pub fn read_event(r: &mut Reader<'_>) -> Vec<Input> {
    let count = usize::from(r.u8()) % (MAX_INPUTS + 1);
    (0..count).map(|_| Input::read(r)).collect()
}

/// Writes one event as [`read_event`] reads it. At most [`MAX_INPUTS`] values are written.
pub fn write_event(w: &mut Writer, event: &[Input]) {
    let count = event.len().min(MAX_INPUTS);
    w.u8(count as u8);
    for input in &event[..count] {
        input.write(w);
    }
}

/// The borrowed values of an event.
pub fn values(event: &[Input]) -> Vec<Value<'_>> {
    event.iter().map(Input::value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let event = vec![
            Input::Int(2),
            Input::text(r"\postex_1"),
            Input::Absent,
            Input::Str(vec![0xD800, 0x78]),
            Input::Str(vec![]),
        ];
        let mut w = Writer::default();
        write_event(&mut w, &event);
        let mut r = Reader::new(&w.out);
        assert_eq!(read_event(&mut r), event);
        assert!(r.is_empty());
    }

    #[test]
    fn long_and_scrambled_strings_expand() {
        let mut w = Writer::default();
        write_long(&mut w, 0x61, 0x5C, 40_000);
        write_scrambled(&mut w, &[0, 2, 13]);
        let mut r = Reader::new(&w.out);
        let Input::Str(long) = Input::read(&mut r) else {
            panic!("a string");
        };
        assert_eq!(long.len(), 40_001);
        assert_eq!((long[0], long[40_000]), (0x61, 0x5C));
        assert_eq!(Input::read(&mut r), Input::Str(vec![0xD800, 0xDC00, 0x78]));
    }

    #[test]
    fn a_count_past_the_data_gives_absent_values() {
        let mut r = Reader::new(&[3]);
        assert_eq!(read_event(&mut r), vec![Input::Absent; 3]);
    }
}
