//! Compiled automata the host built and serialized into the channel file, loaded here without
//! copying or allocating, and run over UTF-16 input.
//!
//! Each automaton scans one input field and holds many patterns; one pass over the field
//! reports what matched in it, as it is found, to the caller. An automaton takes one of two
//! [`Form`]s. A regex-automata dense DFA holds globs and regexes: input code units are
//! transcoded to UTF-8 one character at a time as they are fed to it (an ASCII unit is its own
//! byte), unpaired surrogates becoming U+FFFD, so the scan is linear and needs no buffer. A
//! [`Dictionary`] holds the operands of the literal operators (equals, contains, ...) as an
//! Aho-Corasick automaton over code units upper-cased by [`crate::fold::fold`], since those
//! operators ignore case the way Windows compares names; it stays about the size of its
//! patterns where a DFA of the same patterns would not. This module never builds automata: that
//! is the host compiler's job.

use core::ops::ControlFlow;

use regex_automata::dfa::dense::DFA;
use regex_automata::dfa::Automaton as _;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

use crate::dictionary::{Dictionary, Malformed};
use crate::fold::Meter;
use crate::limits::MAX_PATTERNS_PER_AUTOMATON;

/// Why a serialized automaton cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutomatonFault {
    /// The bytes are not 4-byte aligned in memory.
    Misaligned,
    /// Deserialization rejected the bytes.
    Invalid,
    /// A dictionary word breaks the format, at this byte offset within the automaton.
    Malformed(usize),
    /// Too many patterns, or no unanchored start state.
    Unusable(usize),
}

/// How an automaton is stored and what it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A DFA over the input as it is (globs and regexes).
    Dfa,
    /// A [`Dictionary`] over folded input (literal operators).
    Dictionary,
}

/// One validated automaton, borrowing its tables from the channel file.
#[derive(Clone, Debug)]
pub struct Automaton<'a> {
    engine: Engine<'a>,
    field: u8,
    base: u32,
}

#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "automata sit in a fixed array of the rule set; without a heap there is nothing to box into"
)]
enum Engine<'a> {
    Dfa(Dfa<'a>),
    Dictionary(Dictionary<'a>),
}

#[derive(Clone, Debug)]
struct Dfa<'a> {
    dfa: DFA<&'a [u32]>,
    start: StateID,
}

/// Where a DFA scan stands.
struct Cursor {
    /// The state the bytes fed so far led to.
    state: StateID,
    /// The last special state found to need nothing (an accelerated state, most often, which
    /// the DFA loops in over most bytes): entering it again needs no look at what it is.
    quiet: Option<StateID>,
    /// Bytes fed, and the end of input once fed: one unit of work each, charged once the scan
    /// is over, which keeps the meter out of the loop and charges the same total.
    steps: usize,
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanEnd {
    /// The whole input was read, or no further match was possible.
    Complete,
    /// The DFA gave up (a quit byte); everything that matched before was reported.
    Quit,
    /// The caller asked to stop.
    Stopped,
}

impl<'a> Automaton<'a> {
    /// Loads and checks one automaton of form `form` that scans `field`; what it reports is the
    /// rule index's slots from `base` on.
    ///
    /// Both forms must start on a 4-byte boundary in memory: a DFA reads its tables as `u32`
    /// words in place, and a dictionary is held to the same rule so that whether content loads
    /// where it lies does not depend on its automata's forms.
    pub fn load(bytes: &'a [u8], field: u8, form: Form, base: u32) -> Result<Self, AutomatonFault> {
        if !bytes.as_ptr().addr().is_multiple_of(4) {
            return Err(AutomatonFault::Misaligned);
        }
        let engine = match form {
            Form::Dfa => Engine::Dfa(Dfa::load(bytes)?),
            Form::Dictionary => Engine::Dictionary(
                Dictionary::load(bytes).map_err(|Malformed(at)| AutomatonFault::Malformed(at))?,
            ),
        };
        Ok(Self {
            engine,
            field,
            base,
        })
    }

    /// Number of patterns: the ids predicates name (for a DFA, its patterns; for a
    /// dictionary, the operands it tests).
    pub fn patterns(&self) -> usize {
        match &self.engine {
            Engine::Dfa(d) => d.dfa.pattern_len(),
            Engine::Dictionary(d) => d.patterns(),
        }
    }

    /// Number of rule-index slots, from [`Self::base`] on: what a scan reports (for a DFA,
    /// its patterns; for a dictionary, its keys).
    pub fn slots(&self) -> usize {
        match &self.engine {
            Engine::Dfa(d) => d.dfa.pattern_len(),
            Engine::Dictionary(d) => d.keys(),
        }
    }

    /// What a scan reports when `pattern` matches, if there is such a pattern.
    fn reported(&self, pattern: usize) -> Option<usize> {
        match &self.engine {
            Engine::Dfa(d) => (pattern < d.dfa.pattern_len()).then_some(pattern),
            Engine::Dictionary(d) => d.key(pattern),
        }
    }

    /// The rule-index slot of `pattern`, if there is such a pattern.
    pub fn slot(&self, pattern: usize) -> Option<u32> {
        let reported = u32::try_from(self.reported(pattern)?).ok()?;
        self.base.checked_add(reported)
    }

    /// The template field this automaton scans.
    pub fn field(&self) -> u8 {
        self.field
    }

    /// Whether the automaton reads folded input: a dictionary, for the literal operators.
    pub fn folded(&self) -> bool {
        matches!(self.engine, Engine::Dictionary(_))
    }

    /// The rule-index slot of what a scan reports as 0.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// Worst-case work of one scan of an input of `max_units` code units.
    pub fn scan_cost(&self, max_units: usize) -> u64 {
        match &self.engine {
            Engine::Dfa(d) => d.scan_cost(max_units),
            Engine::Dictionary(d) => d.scan_cost(max_units),
        }
    }

    /// Scans `input`, calling `found` with what matched, as a slot less [`Self::base`] (a match
    /// at several places may be reported again), until the input ends or `found` breaks.
    pub fn scan(
        &self,
        input: &[u16],
        meter: &mut Meter,
        found: impl FnMut(usize) -> ControlFlow<()>,
    ) -> ScanEnd {
        match &self.engine {
            Engine::Dfa(d) => d.scan(input, meter, found),
            Engine::Dictionary(d) => match d.scan(input, meter, found) {
                ControlFlow::Continue(()) => ScanEnd::Complete,
                ControlFlow::Break(()) => ScanEnd::Stopped,
            },
        }
    }

    /// Whether `pattern` matches somewhere in `input`: a scan that stops at its first report.
    pub fn finds(&self, input: &[u16], pattern: usize, meter: &mut Meter) -> bool {
        let Some(target) = self.reported(pattern) else {
            return false;
        };
        let end = self.scan(input, meter, |p| {
            if p == target {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        end == ScanEnd::Stopped
    }
}

impl<'a> Dfa<'a> {
    /// Deserializes and checks one DFA.
    ///
    /// `DFA::from_bytes` validates every transition and state, so the DFA cannot index out of
    /// its tables however the bytes were made.
    fn load(bytes: &'a [u8]) -> Result<Self, AutomatonFault> {
        let (dfa, _) = DFA::from_bytes(bytes).map_err(|_| AutomatonFault::Invalid)?;
        let patterns = dfa.pattern_len();
        if patterns > MAX_PATTERNS_PER_AUTOMATON {
            return Err(AutomatonFault::Unusable(patterns));
        }
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::No))
            .map_err(|_| AutomatonFault::Unusable(patterns))?;
        Ok(Self { dfa, start })
    }

    /// Worst-case work of one scan of an input of `max_units` code units: every UTF-8 byte and
    /// the end of input step the DFA once and may report every pattern.
    fn scan_cost(&self, max_units: usize) -> u64 {
        let bytes = u64::try_from(max_units)
            .unwrap_or(u64::MAX)
            .saturating_mul(3)
            .saturating_add(2);
        let patterns = u64::try_from(self.dfa.pattern_len()).unwrap_or(u64::MAX);
        bytes.saturating_mul(patterns.saturating_add(1))
    }

    /// Reports the patterns of a match state, one unit of work each, until `found` stops.
    fn record(
        &self,
        state: StateID,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for index in 0..self.dfa.match_len(state) {
            meter.charge(1);
            found(self.dfa.match_pattern(state, index).as_usize())?;
        }
        ControlFlow::Continue(())
    }

    /// Feeds one byte; breaks with how the scan ended once it is over.
    #[inline(always)]
    fn step(
        &self,
        cursor: &mut Cursor,
        byte: u8,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<ScanEnd> {
        cursor.steps = cursor.steps.wrapping_add(1);
        cursor.state = self.dfa.next_state(cursor.state, byte);
        if self.dfa.is_special_state(cursor.state) && cursor.quiet != Some(cursor.state) {
            return self.special(cursor, meter, found);
        }
        ControlFlow::Continue(())
    }

    /// What the special state the cursor is in means for the scan: a match state reports, a
    /// dead or quit state ends it; any other (an accelerated or start state) needs nothing and
    /// becomes the cursor's quiet state.
    fn special(
        &self,
        cursor: &mut Cursor,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<ScanEnd> {
        let state = cursor.state;
        if self.dfa.is_match_state(state) {
            if self.record(state, meter, found).is_break() {
                return ControlFlow::Break(ScanEnd::Stopped);
            }
        } else if self.dfa.is_dead_state(state) {
            return ControlFlow::Break(ScanEnd::Complete);
        } else if self.dfa.is_quit_state(state) {
            return ControlFlow::Break(ScanEnd::Quit);
        } else {
            cursor.quiet = Some(state);
        }
        ControlFlow::Continue(())
    }

    /// Feeds `input`, then the end of input; breaks with how the scan ended if it ended early.
    ///
    /// A code unit below 0x80 is its own UTF-8 byte and is fed as it is; only other units go
    /// through [`decode`] and `encode_utf8`, one character at a time.
    fn walk(
        &self,
        input: &[u16],
        cursor: &mut Cursor,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<ScanEnd> {
        let mut units = input.iter();
        let mut utf8 = [0u8; 4];
        while let Some(&unit) = units.next() {
            match u8::try_from(unit) {
                Ok(byte) if byte.is_ascii() => self.step(cursor, byte, meter, found)?,
                _ => {
                    let bytes = decode(unit, &mut units).encode_utf8(&mut utf8);
                    for &byte in bytes.as_bytes() {
                        self.step(cursor, byte, meter, found)?;
                    }
                }
            }
        }
        cursor.steps = cursor.steps.wrapping_add(1);
        let last = self.dfa.next_eoi_state(cursor.state);
        if self.dfa.is_match_state(last) && self.record(last, meter, found).is_break() {
            return ControlFlow::Break(ScanEnd::Stopped);
        }
        ControlFlow::Continue(())
    }

    /// Scans `input`, calling `found` with the id of every pattern each match state holds (a
    /// pattern that matches at several places is reported again), until the input ends or
    /// `found` breaks.
    fn scan(
        &self,
        input: &[u16],
        meter: &mut Meter,
        mut found: impl FnMut(usize) -> ControlFlow<()>,
    ) -> ScanEnd {
        let mut cursor = Cursor {
            state: self.start,
            quiet: None,
            steps: 0,
        };
        let end = self.walk(input, &mut cursor, meter, &mut found);
        meter.charge(cursor.steps);
        match end {
            ControlFlow::Continue(()) => ScanEnd::Complete,
            ControlFlow::Break(end) => end,
        }
    }
}

/// The character that starts with `unit`, taking its low surrogate from `rest` when `unit` is
/// a high surrogate followed by one; an unpaired surrogate is U+FFFD, as `char::decode_utf16`
/// has it. Public so that a copy of the DFA scan (the host's benchmark twin) decodes alike.
pub fn decode(unit: u16, rest: &mut core::slice::Iter<'_, u16>) -> char {
    let next = rest.as_slice().first().copied();
    match char::decode_utf16(core::iter::once(unit).chain(next)).next() {
        Some(Ok(c)) => {
            if c.len_utf16() == 2 {
                rest.next();
            }
            c
        }
        _ => char::REPLACEMENT_CHARACTER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` the way a scan does: ASCII units as they are, others through `decode`.
    fn chars(input: &[u16]) -> std::vec::Vec<char> {
        let mut units = input.iter();
        let mut out = std::vec::Vec::new();
        while let Some(&unit) = units.next() {
            out.push(match u8::try_from(unit) {
                Ok(byte) if byte.is_ascii() => char::from(byte),
                _ => decode(unit, &mut units),
            });
        }
        out
    }

    #[test]
    fn decodes_as_decode_utf16_with_replacement() {
        let cases: [&[u16]; 9] = [
            &[0x61, 0x7F, 0x80, 0xE9, 0xFFFF],
            &[0xD83D, 0xDE00, 0x61],
            &[0xD800],
            &[0xD800, 0x78],
            &[0xD800, 0xD800, 0xDC00],
            &[0xDC00, 0xD800],
            &[0x61, 0xDC00, 0xDBFF, 0xDFFF],
            &[0xD800, 0xE9],
            &[],
        ];
        for input in cases {
            let want: std::vec::Vec<char> = char::decode_utf16(input.iter().copied())
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            assert_eq!(chars(input), want, "{input:x?}");
        }
    }
}
