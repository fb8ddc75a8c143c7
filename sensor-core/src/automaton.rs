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
//! patterns where a DFA of the same patterns would not. Several DFAs over the same input may
//! scan it in one pass as [`Lanes`], each reporting what it would alone. This module never
//! builds automata: that is the host compiler's job.

use core::ops::ControlFlow;

use regex_automata::dfa::dense::DFA;
use regex_automata::dfa::Automaton as _;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

use crate::dictionary::{Dictionary, Malformed};
use crate::fired::bit;
use crate::fold::Meter;
use crate::limits::{MAX_FILE_BYTES, MAX_PATTERNS_PER_AUTOMATON};

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
    /// Whether the start state loops on some byte: the mark of an unanchored prefix, whose DFA
    /// reads the whole input (see [`Automaton::reads_whole_input`]).
    unanchored: bool,
}

/// A state id no DFA the loader takes can reach, for a [`Cursor::quiet`] that names no state
/// yet: `DFA::from_bytes` holds every state id below its table's length, and a table is
/// smaller than the largest channel file.
const NO_STATE: StateID = StateID::MAX;

const _: () = assert!(MAX_FILE_BYTES / 4 < StateID::LIMIT - 1);

/// Where a DFA scan stands.
struct Cursor {
    /// The state the bytes fed so far led to.
    state: StateID,
    /// The last special state found to need nothing (an accelerated state, most often, which
    /// the DFA loops in over most bytes): entering it again needs no look at what it is.
    /// [`NO_STATE`] until there is one.
    quiet: StateID,
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

    /// Whether the automaton is a DFA known to read the whole input: one whose start state
    /// loops on some byte, the mark of an unanchored prefix, which never dies. A DFA whose
    /// patterns all start at the start of the input (the compiler's anchored DFAs, globs
    /// among them) mostly dies within a few bytes and would gain little from a [`Lanes`]
    /// scan; one that does not (`^.*x`) is missed by this test and scans alone.
    pub fn reads_whole_input(&self) -> bool {
        matches!(&self.engine, Engine::Dfa(d) if d.unanchored)
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
        let unanchored = (0..=u8::MAX).any(|byte| dfa.next_state(start, byte) == start);
        Ok(Self {
            dfa,
            start,
            unanchored,
        })
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
        if self.dfa.is_special_state(cursor.state) && cursor.quiet != cursor.state {
            return self.special(cursor, meter, found);
        }
        ControlFlow::Continue(())
    }

    /// What the special state the cursor is in means for the scan: see [`Self::classify`]; a
    /// state that needs nothing becomes the cursor's quiet state.
    fn special(
        &self,
        cursor: &mut Cursor,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<ScanEnd> {
        if self.classify(cursor.state, meter, found)? {
            cursor.quiet = cursor.state;
        }
        ControlFlow::Continue(())
    }

    /// What the special state `state` means for a scan: a match state reports, a dead or quit
    /// state ends it (breaking with how); any other (an accelerated or start state) needs
    /// nothing, which `true` says: the scan may skip it from now on.
    fn classify(
        &self,
        state: StateID,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<ScanEnd, bool> {
        if self.dfa.is_match_state(state) {
            if self.record(state, meter, found).is_break() {
                return ControlFlow::Break(ScanEnd::Stopped);
            }
            ControlFlow::Continue(false)
        } else if self.dfa.is_dead_state(state) {
            ControlFlow::Break(ScanEnd::Complete)
        } else if self.dfa.is_quit_state(state) {
            ControlFlow::Break(ScanEnd::Quit)
        } else {
            ControlFlow::Continue(true)
        }
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
            quiet: NO_STATE,
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

/// The most DFAs one [`Lanes`] scan steps together. On the 10,000-rule generated set, whose
/// pipe name has four unanchored DFAs, one pass of four lanes took 160 ns per event where two
/// passes of two took 180, once the lanes' quiet states were plain ids (while they were
/// `Option`s, four measured no faster than two). Three took 180.
pub const LANES: usize = 4;

/// DFAs that scan the same input in one pass, each a *lane*.
///
/// Each byte goes to every lane before the next is decoded. A DFA's step reads its table at an
/// offset the step before read, so a lone scan waits on one memory read per byte; the lanes'
/// reads do not depend on one another, so the processor overlaps them, and the input is decoded
/// once for all. Each lane reports, and is charged, what its DFA scanning alone would.
///
/// A lone DFA takes [`Automaton::scan`]'s own loop: a one-lane form of the lane loop measured
/// 15–20% slower per event on the sets whose DFAs have no partner.
#[derive(Clone, Copy, Debug)]
pub struct Lanes<'r, 'a> {
    dfas: [&'r Dfa<'a>; LANES],
    len: usize,
}

impl<'r, 'a> Lanes<'r, 'a> {
    /// One lane, for `automaton` if it is a DFA.
    pub fn new(automaton: &'r Automaton<'a>) -> Option<Self> {
        match &automaton.engine {
            Engine::Dfa(d) => Some(Self {
                dfas: [d; LANES],
                len: 1,
            }),
            Engine::Dictionary(_) => None,
        }
    }

    /// Adds a lane for `automaton`; `false` if it is not a DFA or every lane is taken.
    pub fn push(&mut self, automaton: &'r Automaton<'a>) -> bool {
        let (Engine::Dfa(d), Some(lane)) = (&automaton.engine, self.dfas.get_mut(self.len)) else {
            return false;
        };
        *lane = d;
        self.len = self.len.saturating_add(1);
        true
    }

    /// Number of lanes, from 1 to [`LANES`].
    pub fn count(&self) -> usize {
        self.len
    }

    /// Scans `input` in every lane, calling `found` with the lane and the pattern each match
    /// state holds (a pattern may be reported again), and returns how each lane's scan ended
    /// (lanes past [`Self::count`] are `Complete`). A lane stops when its DFA can match no more,
    /// quits, or `found` breaks for it; the others go on.
    pub fn scan(
        &self,
        input: &[u16],
        meter: &mut Meter,
        mut found: impl FnMut(usize, usize) -> ControlFlow<()>,
    ) -> [ScanEnd; LANES] {
        let mut ends = [ScanEnd::Complete; LANES];
        match self.len {
            0 | 1 => {
                let [first, ..] = self.dfas;
                let [end, ..] = &mut ends;
                *end = first.scan(input, meter, |pattern| found(0, pattern));
            }
            len => Cursors::<LANES>::new(self.dfas, len).scan(input, meter, &mut found, &mut ends),
        }
        ends
    }
}

/// Where the scans of `N` lanes stand. `N` is a constant so that the loops over lanes unroll.
struct Cursors<'r, 'a, const N: usize> {
    dfas: [&'r Dfa<'a>; N],
    /// The state each lane's bytes led to.
    states: [StateID; N],
    /// Each lane's last special state that needed nothing, as [`Cursor::quiet`].
    quiet: [StateID; N],
    /// The lanes still scanning, by bit.
    live: u32,
    /// Bytes fed, as [`Cursor::steps`]: charged to a lane when it stops.
    fed: usize,
}

impl<'r, 'a, const N: usize> Cursors<'r, 'a, N> {
    /// Cursors at the start of the input for the first `len` of `dfas`; the others never step.
    fn new(dfas: [&'r Dfa<'a>; N], len: usize) -> Self {
        Self {
            states: dfas.map(|d| d.start),
            dfas,
            quiet: [NO_STATE; N],
            live: bit(len.min(N)).map_or(u32::MAX, |b| b.wrapping_sub(1)),
            fed: 0,
        }
    }

    /// Scans `input`, writing how each lane's scan ended to `ends`.
    fn scan(
        mut self,
        input: &[u16],
        meter: &mut Meter,
        found: &mut impl FnMut(usize, usize) -> ControlFlow<()>,
        ends: &mut [ScanEnd; LANES],
    ) {
        if self.walk(input, meter, found, ends).is_break() {
            return;
        }
        self.fed = self.fed.wrapping_add(1);
        let lanes = self.dfas.iter().zip(&self.states).zip(ends.iter_mut());
        for (lane, ((dfa, &state), end)) in lanes.enumerate() {
            if self.live & bit(lane).unwrap_or(0) == 0 {
                continue;
            }
            meter.charge(self.fed);
            let last = dfa.dfa.next_eoi_state(state);
            if dfa.dfa.is_match_state(last)
                && dfa
                    .record(last, meter, &mut |pattern| found(lane, pattern))
                    .is_break()
            {
                *end = ScanEnd::Stopped;
            }
        }
    }

    /// Feeds `input` to every lane, decoding as [`Dfa::walk`] does; breaks once no lane is
    /// left.
    ///
    /// The decoding loop is written out here and in [`Dfa::walk`] rather than shared through a
    /// function taking the step as a closure: with that closure, the lanes' states no longer
    /// stayed in registers and the 10,000-rule set went from 183 to 285 ns per event.
    fn walk(
        &mut self,
        input: &[u16],
        meter: &mut Meter,
        found: &mut impl FnMut(usize, usize) -> ControlFlow<()>,
        ends: &mut [ScanEnd; LANES],
    ) -> ControlFlow<()> {
        let mut units = input.iter();
        let mut utf8 = [0u8; 4];
        while let Some(&unit) = units.next() {
            match u8::try_from(unit) {
                Ok(byte) if byte.is_ascii() => self.step(byte, meter, found, ends)?,
                _ => {
                    let bytes = decode(unit, &mut units).encode_utf8(&mut utf8);
                    for &byte in bytes.as_bytes() {
                        self.step(byte, meter, found, ends)?;
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// Feeds one byte to every lane still scanning; breaks once none is.
    #[inline(always)]
    fn step(
        &mut self,
        byte: u8,
        meter: &mut Meter,
        found: &mut impl FnMut(usize, usize) -> ControlFlow<()>,
        ends: &mut [ScanEnd; LANES],
    ) -> ControlFlow<()> {
        self.fed = self.fed.wrapping_add(1);
        let lanes = self.dfas.iter().zip(&mut self.states).zip(&mut self.quiet);
        for (lane, ((dfa, state), quiet)) in lanes.enumerate() {
            let bit = bit(lane).unwrap_or(0);
            if self.live & bit == 0 {
                continue;
            }
            *state = dfa.dfa.next_state(*state, byte);
            if !dfa.dfa.is_special_state(*state) || *quiet == *state {
                continue;
            }
            match dfa.classify(*state, meter, &mut |pattern| found(lane, pattern)) {
                ControlFlow::Continue(true) => *quiet = *state,
                ControlFlow::Continue(false) => {}
                ControlFlow::Break(end) => {
                    meter.charge(self.fed);
                    if let Some(slot) = ends.get_mut(lane) {
                        *slot = end;
                    }
                    self.live &= !bit;
                }
            }
        }
        if self.live == 0 {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// The character that starts with `unit`, taking its low surrogate from `rest` when `unit` is
/// a high surrogate followed by one; an unpaired surrogate is U+FFFD, as `char::decode_utf16`
/// has it.
fn decode(unit: u16, rest: &mut core::slice::Iter<'_, u16>) -> char {
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

    /// A serialized DFA over `patterns`, as the compiler builds them (unanchored start, every
    /// match reported), with `quit` as its quit bytes, placed on a 4-byte boundary of a buffer;
    /// returns the buffer and where the DFA starts.
    fn dfa_bytes(patterns: &[&str], quit: &[u8]) -> (std::vec::Vec<u8>, usize) {
        use regex_automata::dfa::{dense, StartKind};
        use regex_automata::MatchKind;
        let mut config = dense::Config::new()
            .start_kind(StartKind::Unanchored)
            .match_kind(MatchKind::All);
        for &byte in quit {
            config = config.quit(byte, true);
        }
        let dfa = dense::Builder::new()
            .configure(config)
            .build_many(patterns)
            .expect("the test patterns build");
        let (bytes, pad) = dfa.to_bytes_little_endian();
        let bytes = &bytes[pad..];
        let mut buffer = std::vec![0u8; bytes.len() + 3];
        let at = buffer.as_ptr().align_offset(4);
        buffer[at..at + bytes.len()].copy_from_slice(bytes);
        buffer.truncate(at + bytes.len());
        (buffer, at)
    }

    /// Every report of a lone scan of `input` until `stop_after` of them, how it ended, and the
    /// work it charged.
    fn lone(
        automaton: &Automaton<'_>,
        input: &[u16],
        stop_after: usize,
    ) -> (std::vec::Vec<usize>, ScanEnd, u64) {
        let mut meter = Meter::default();
        let mut seen = std::vec::Vec::new();
        let end = automaton.scan(input, &mut meter, |pattern| {
            seen.push(pattern);
            if seen.len() >= stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        (seen, end, meter.used())
    }

    /// Inputs that reach every way a scan goes: matches early and late and at the end, a
    /// pattern matched twice, non-ASCII and astral characters, unpaired surrogates, a quit
    /// byte, nothing at all.
    fn inputs() -> std::vec::Vec<std::vec::Vec<u16>> {
        let mut out: std::vec::Vec<std::vec::Vec<u16>> = [
            "",
            r"\alpha",
            r"\pipe\alpha-7\beta",
            r"\beta-12 and \beta-3",
            r"x\gamma",
            r"\MSSE-1234-server",
            "caf\u{e9}\\alpha\u{1F600}beta-9",
            r"\delta quits here",
            r"q at once, then a long tail that no lane reads",
            r"\alphaalphaalpha",
        ]
        .iter()
        .map(|s| s.encode_utf16().collect())
        .collect();
        out.push(std::vec![
            0x5C, 0xD800, 0x61, 0x6C, 0x70, 0x68, 0x61, 0xDC00
        ]);
        out.push(r"\alpha".encode_utf16().cycle().take(600).collect());
        out
    }

    #[test]
    fn lanes_report_and_charge_what_lone_scans_would() {
        let sets: [(&[&str], &[u8]); 5] = [
            (
                &[
                    r"\\alpha",
                    r"beta-[0-9]+",
                    r"\\[Mm][Ss][Ss][Ee]-[0-9]+-server",
                ],
                &[],
            ),
            (&[r"\\gamma", r"[0-9]{2}", "alpha$"], &[]),
            (&[r"^\\alpha", r"^\\pipe\\"], &[]),
            (&[r"quits", r"\\delta"], b"q"),
            (&[r"tail", r"\\alpha"], b"q"),
        ];
        let built: std::vec::Vec<_> = sets.iter().map(|(p, q)| dfa_bytes(p, q)).collect();
        let automata: std::vec::Vec<Automaton<'_>> = built
            .iter()
            .map(|(buffer, at)| {
                Automaton::load(&buffer[*at..], 1, Form::Dfa, 0).expect("a valid DFA")
            })
            .collect();
        let mut groups: std::vec::Vec<std::vec::Vec<usize>> = (0..automata.len())
            .flat_map(|a| (0..automata.len()).map(move |b| std::vec![a, b]))
            .collect();
        for size in 3..=LANES {
            groups.extend(combinations(automata.len(), size));
        }
        for input in inputs() {
            for group in &groups {
                let members: std::vec::Vec<&Automaton<'_>> =
                    group.iter().map(|&m| &automata[m]).collect();
                for stop_after in [1, 2, usize::MAX] {
                    let context = std::format!("{group:?}, {input:x?}, stop after {stop_after}");
                    lanes_agree(&members, &input, stop_after, &context);
                }
            }
        }
    }

    /// Every choice of `size` of `0..n`, in increasing order.
    fn combinations(n: usize, size: usize) -> std::vec::Vec<std::vec::Vec<usize>> {
        if size == 0 {
            return std::vec![std::vec::Vec::new()];
        }
        (size - 1..n)
            .flat_map(|last| {
                combinations(last, size - 1).into_iter().map(move |mut c| {
                    c.push(last);
                    c
                })
            })
            .collect()
    }

    /// Scans `input` with `members` in lanes, the first lane stopping after `stop_after`
    /// reports, and asserts that each lane reported and ended as its DFA alone does and that
    /// the lanes charged the lone scans' total.
    fn lanes_agree(members: &[&Automaton<'_>], input: &[u16], stop_after: usize, context: &str) {
        let mut lanes = Lanes::new(members[0]).expect("a DFA");
        for &member in &members[1..] {
            assert!(lanes.push(member));
        }
        assert_eq!(lanes.count(), members.len());
        if members.len() == LANES {
            assert!(!lanes.push(members[0]), "{LANES} lanes at most");
        }
        let mut seen = std::vec![std::vec::Vec::new(); LANES];
        let mut meter = Meter::default();
        let ends = lanes.scan(input, &mut meter, |lane, pattern| {
            seen[lane].push(pattern);
            if lane == 0 && seen[0].len() >= stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let mut work = 0;
        for (lane, &member) in members.iter().enumerate() {
            let stop = if lane == 0 { stop_after } else { usize::MAX };
            let (reports, end, charged) = lone(member, input, stop);
            assert_eq!(
                (&seen[lane], ends[lane]),
                (&reports, end),
                "lane {lane}: {context}"
            );
            work += charged;
        }
        assert_eq!(meter.used(), work, "work: {context}");
    }

    #[test]
    fn lanes_take_only_dfas_and_tell_unanchored_from_anchored() {
        let (unanchored, at) = dfa_bytes(&[r"\\alpha", "beta"], &[]);
        let (anchored, at_anchored) = dfa_bytes(&[r"^\\alpha", r"^\\beta"], &[]);
        let unanchored = Automaton::load(&unanchored[at..], 1, Form::Dfa, 0).expect("valid");
        let anchored = Automaton::load(&anchored[at_anchored..], 1, Form::Dfa, 0).expect("valid");
        assert!(unanchored.reads_whole_input());
        assert!(!anchored.reads_whole_input());
        let mut lanes = Lanes::new(&unanchored).expect("a DFA");
        assert_eq!(lanes.count(), 1);
        assert!(lanes.push(&anchored));
        assert_eq!(lanes.count(), 2);
    }
}
