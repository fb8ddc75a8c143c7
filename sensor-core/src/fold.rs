//! Case-insensitive comparison of UTF-16 strings, with every code-unit comparison charged to a
//! [`Meter`].
//!
//! Windows compares object names by upper-casing each UTF-16 code unit on its own; [`fold`] does
//! the same with Unicode's simple upper-case mapping, and leaves surrogates and code units whose
//! upper case is not a single BMP character alone. Operands are stored already folded by the
//! compiler, so only the input side is folded here. Nothing here allocates or copies.

use core::cmp::Ordering;

/// Work units spent on one event. Saturates rather than wraps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meter(u64);

impl Meter {
    /// Charges `units` of work.
    pub fn charge(&mut self, units: usize) {
        self.0 = self
            .0
            .saturating_add(u64::try_from(units).unwrap_or(u64::MAX));
    }

    /// Work spent so far.
    pub fn used(self) -> u64 {
        self.0
    }
}

/// Upper-cases one UTF-16 code unit. Inlined across crates: folded automata call it for every
/// code unit they read.
#[inline]
pub fn fold(unit: u16) -> u16 {
    if unit < 0x80 {
        return u16::from((unit as u8).to_ascii_uppercase());
    }
    let Some(c) = char::from_u32(u32::from(unit)) else {
        return unit;
    };
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u16::try_from(u32::from(u)).unwrap_or(unit),
        _ => unit,
    }
}

/// A folded operand string: UTF-16LE bytes borrowed from the channel file's string pool.
#[derive(Clone, Copy, Debug)]
pub struct Operand<'a>(&'a [u8]);

impl<'a> Operand<'a> {
    /// Wraps UTF-16LE bytes; a trailing odd byte is ignored.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// Length in code units.
    pub fn len(self) -> usize {
        self.0.len() / 2
    }

    /// Whether the operand is empty.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The operand's code units.
    ///
    /// Built from a range of unit indices with checked reads, not from `chunks_exact(2)`:
    /// zipping a `ChunksExact` asks its `size_hint`, which divides by the chunk size, and where
    /// the optimizer loses sight of that constant a division-by-zero panic survives
    /// (`docs/fuzzing.md`, "Panic freedom").
    pub fn units(self) -> impl DoubleEndedIterator<Item = u16> + ExactSizeIterator + 'a {
        let bytes = self.0;
        (0..self.len()).map(move |unit| {
            unit.checked_mul(2)
                .and_then(|at| crate::channel::u16_at(bytes, at))
                .unwrap_or(0)
        })
    }

    /// Whether the operand contains `unit`.
    pub fn contains_unit(self, unit: u16) -> bool {
        self.units().any(|u| u == unit)
    }
}

/// Whether `input` and `operand` agree unit by unit over their common length, charging one
/// unit of work per comparison.
fn agree<'i>(
    input: impl Iterator<Item = &'i u16>,
    operand: impl Iterator<Item = u16>,
    meter: &mut Meter,
) -> bool {
    for (&i, o) in input.zip(operand) {
        meter.charge(1);
        if fold(i) != o {
            return false;
        }
    }
    true
}

/// `input` equals `operand`, ignoring case.
pub fn equals(input: &[u16], operand: Operand<'_>, meter: &mut Meter) -> bool {
    meter.charge(1);
    input.len() == operand.len() && agree(input.iter(), operand.units(), meter)
}

/// `input` begins with `operand`, ignoring case.
pub fn begins_with(input: &[u16], operand: Operand<'_>, meter: &mut Meter) -> bool {
    meter.charge(1);
    input.len() >= operand.len() && agree(input.iter(), operand.units(), meter)
}

/// `input` ends with `operand`, ignoring case.
pub fn ends_with(input: &[u16], operand: Operand<'_>, meter: &mut Meter) -> bool {
    meter.charge(1);
    input.len() >= operand.len() && agree(input.iter().rev(), operand.units().rev(), meter)
}

/// `input` contains `operand`, ignoring case. Costs at most `input.len() * operand.len() + 1`.
pub fn contains(input: &[u16], operand: Operand<'_>, meter: &mut Meter) -> bool {
    meter.charge(1);
    if operand.is_empty() {
        return true;
    }
    input
        .windows(operand.len())
        .any(|window| agree(window.iter(), operand.units(), meter))
}

/// Orders `input` against `operand`, ignoring case.
pub fn compare(input: &[u16], operand: Operand<'_>, meter: &mut Meter) -> Ordering {
    meter.charge(1);
    for (&i, o) in input.iter().zip(operand.units()) {
        meter.charge(1);
        match fold(i).cmp(&o) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
    }
    input.len().cmp(&operand.len())
}

/// The file-name part of a path: everything after its last backslash. Charges the scan.
pub fn file_name<'i>(path: &'i [u16], meter: &mut Meter) -> &'i [u16] {
    meter.charge(path.len());
    let start = path
        .iter()
        .rposition(|&u| u == u16::from(b'\\'))
        .map_or(0, |i| i.saturating_add(1));
    path.get(start..).unwrap_or_default()
}

/// Sysmon's `image` test: `operand` is the whole path, or, when it names no directory, the
/// path's file name. `name` is `file_name(input)`, computed once per predicate.
pub fn image(input: &[u16], name: &[u16], operand: Operand<'_>, meter: &mut Meter) -> bool {
    equals(input, operand, meter)
        || (!operand.contains_unit(u16::from(b'\\')) && equals(name, operand, meter))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dictionaries take a unit's class from a table of folded units, and a unit at or above
    /// 256 whose fold lands below it from the same table: that is only right if folding a
    /// folded unit changes nothing. Not under Miri: it checks code for undefined behaviour,
    /// not Unicode's tables, and the whole range takes it about seven minutes; the other tests
    /// here run `fold` under it.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn folding_twice_is_folding_once() {
        for unit in 0..=u16::MAX {
            let once = fold(unit);
            assert_eq!(fold(once), once, "{unit:#06x}");
        }
    }

    fn units(s: &str) -> [u16; 64] {
        let mut out = [0u16; 64];
        for (slot, u) in out.iter_mut().zip(s.encode_utf16()) {
            *slot = u;
        }
        out
    }

    fn with<R>(input: &str, operand: &str, f: impl FnOnce(&[u16], Operand<'_>) -> R) -> R {
        let i = units(input);
        let n = input.encode_utf16().count();
        let mut bytes = [0u8; 128];
        let mut len = 0;
        for (pair, u) in bytes
            .chunks_exact_mut(2)
            .zip(operand.encode_utf16().map(fold))
        {
            pair.copy_from_slice(&u.to_le_bytes());
            len += 2;
        }
        f(&i[..n], Operand::new(&bytes[..len]))
    }

    #[test]
    fn folds_ascii_latin_and_greek_but_not_surrogates() {
        assert_eq!(fold(u16::from(b'a')), u16::from(b'A'));
        assert_eq!(fold(0x00E9), 0x00C9);
        assert_eq!(fold(0x03B1), 0x0391);
        assert_eq!(fold(0xD800), 0xD800);
        assert_eq!(
            fold(0x00DF),
            0x00DF,
            "sharp s upper-cases to two characters"
        );
    }

    #[test]
    fn string_tests_ignore_case() {
        let mut m = Meter::default();
        assert!(with(r"\PSEXESVC", r"\psexesvc", |i, o| equals(
            i, o, &mut m
        )));
        assert!(with(r"\postex_ab12", r"\POSTEX_", |i, o| begins_with(
            i, o, &mut m
        )));
        assert!(with(r"\MSSE-1-server", "-SERVER", |i, o| ends_with(
            i, o, &mut m
        )));
        assert!(with(r"\a\coerced\b", r"\coerced\", |i, o| contains(
            i, o, &mut m
        )));
        assert!(!with("abc", "abcd", |i, o| begins_with(i, o, &mut m)));
        assert!(!with("abc", "abcd", |i, o| ends_with(i, o, &mut m)));
        assert!(!with("abc", "abcd", |i, o| contains(i, o, &mut m)));
        assert!(with("", "", |i, o| contains(i, o, &mut m)));
    }

    #[test]
    fn image_matches_path_or_file_name() {
        let mut m = Meter::default();
        let path = r"C:\Windows\System32\LSASS.EXE";
        let check = |op: &str, m: &mut Meter| {
            with(path, op, |i, o| {
                let name = file_name(i, m);
                image(i, name, o, m)
            })
        };
        assert!(check("lsass.exe", &mut m));
        assert!(check(r"c:\windows\system32\lsass.exe", &mut m));
        assert!(!check(r"system32\lsass.exe", &mut m));
        assert!(!check("lsass", &mut m));
    }

    #[test]
    fn comparison_is_lexicographic_without_case() {
        let mut m = Meter::default();
        assert_eq!(
            with("abc", "ABD", |i, o| compare(i, o, &mut m)),
            Ordering::Less
        );
        assert_eq!(
            with("abc", "AB", |i, o| compare(i, o, &mut m)),
            Ordering::Greater
        );
        assert_eq!(
            with("abc", "ABC", |i, o| compare(i, o, &mut m)),
            Ordering::Equal
        );
    }

    #[test]
    fn operand_units_read_little_endian_pairs_both_ways_and_ignore_an_odd_byte() {
        let bytes = [0x41, 0x00, 0xB1, 0x03, 0x3D, 0xD8, 0x7F];
        let operand = Operand::new(&bytes);
        assert_eq!(operand.len(), 3);
        assert_eq!(operand.units().len(), 3);
        assert!(operand.units().eq([0x0041, 0x03B1, 0xD83D]));
        assert!(operand.units().rev().eq([0xD83D, 0x03B1, 0x0041]));
        assert!(Operand::new(&bytes[..1]).units().next().is_none());
    }

    #[test]
    fn contains_charges_at_most_n_times_m_plus_one() {
        let mut m = Meter::default();
        let input = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let operand = "aaaab";
        assert!(!with(input, operand, |i, o| contains(i, o, &mut m)));
        assert!(m.used() <= 30 * 5 + 1);
    }
}
