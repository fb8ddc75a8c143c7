//! Compiled automata: regex-automata dense DFAs that the host built and serialized into the
//! channel file, deserialized here without copying or allocating, and run over UTF-16 input.
//!
//! Each automaton scans one input field and holds many patterns; one pass over the field
//! reports every pattern that matches anywhere in it, as it is found, to the caller. Input code
//! units are transcoded to UTF-8 one character at a time as they are fed to the DFA, unpaired
//! surrogates becoming U+FFFD, so the scan is linear in the input and needs no buffer. A
//! *folded* automaton reads each code unit upper-cased by [`crate::fold::fold`] first: its
//! patterns are the compiler's translation of the literal operators (equals, contains, ...),
//! which ignore case the way Windows compares names. This module never builds automata: that is
//! the host compiler's job.

use core::ops::ControlFlow;

use regex_automata::dfa::dense::DFA;
use regex_automata::dfa::Automaton as _;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

use crate::fold::{fold, Meter};
use crate::limits::MAX_PATTERNS_PER_AUTOMATON;

/// Why a serialized automaton cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutomatonFault {
    /// The bytes are not 4-byte aligned in memory.
    Misaligned,
    /// Deserialization rejected the bytes.
    Invalid,
    /// Too many patterns, or no unanchored start state.
    Unusable(usize),
}

/// One validated automaton, borrowing its transition table from the channel file.
#[derive(Clone, Debug)]
pub struct Automaton<'a> {
    dfa: DFA<&'a [u32]>,
    start: StateID,
    field: u8,
    folded: bool,
    base: u32,
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
    /// Deserializes and checks one automaton that scans `field`, folded or not; its patterns
    /// are the rule index's slots from `base` on.
    ///
    /// `DFA::from_bytes` validates every transition and state, so the DFA cannot index out of
    /// its tables however the bytes were made.
    pub fn load(
        bytes: &'a [u8],
        field: u8,
        folded: bool,
        base: u32,
    ) -> Result<Self, AutomatonFault> {
        if !bytes.as_ptr().addr().is_multiple_of(4) {
            return Err(AutomatonFault::Misaligned);
        }
        let (dfa, _) = DFA::from_bytes(bytes).map_err(|_| AutomatonFault::Invalid)?;
        let patterns = dfa.pattern_len();
        if patterns > MAX_PATTERNS_PER_AUTOMATON {
            return Err(AutomatonFault::Unusable(patterns));
        }
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::No))
            .map_err(|_| AutomatonFault::Unusable(patterns))?;
        Ok(Self {
            dfa,
            start,
            field,
            folded,
            base,
        })
    }

    /// Number of patterns.
    pub fn patterns(&self) -> usize {
        self.dfa.pattern_len()
    }

    /// The template field this automaton scans.
    pub fn field(&self) -> u8 {
        self.field
    }

    /// Whether the automaton reads folded input (the literal operators' automata).
    pub fn folded(&self) -> bool {
        self.folded
    }

    /// The rule-index slot of its pattern 0.
    pub fn base(&self) -> u32 {
        self.base
    }

    /// Worst-case work of one scan of an input of `max_units` code units: every UTF-8 byte and
    /// the end of input step the DFA once and may report every pattern.
    pub fn scan_cost(&self, max_units: usize) -> u64 {
        let bytes = u64::try_from(max_units)
            .unwrap_or(u64::MAX)
            .saturating_mul(3)
            .saturating_add(2);
        let patterns = u64::try_from(self.patterns()).unwrap_or(u64::MAX);
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
    fn step(
        &self,
        state: StateID,
        byte: u8,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<ScanEnd, StateID> {
        meter.charge(1);
        let next = self.dfa.next_state(state, byte);
        if self.dfa.is_special_state(next) {
            if self.dfa.is_match_state(next) {
                if self.record(next, meter, found).is_break() {
                    return ControlFlow::Break(ScanEnd::Stopped);
                }
            } else if self.dfa.is_dead_state(next) {
                return ControlFlow::Break(ScanEnd::Complete);
            } else if self.dfa.is_quit_state(next) {
                return ControlFlow::Break(ScanEnd::Quit);
            }
        }
        ControlFlow::Continue(next)
    }

    /// Scans `input`, calling `found` with the id of every pattern each match state holds (a
    /// pattern that matches at several places is reported again), until the input ends or
    /// `found` breaks.
    pub fn scan(
        &self,
        input: &[u16],
        meter: &mut Meter,
        mut found: impl FnMut(usize) -> ControlFlow<()>,
    ) -> ScanEnd {
        let folded = self.folded;
        let units = input.iter().map(move |&u| if folded { fold(u) } else { u });
        let chars = char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER));
        let mut state = self.start;
        let mut utf8 = [0u8; 4];
        for c in chars {
            for &byte in c.encode_utf8(&mut utf8).as_bytes() {
                state = match self.step(state, byte, meter, &mut found) {
                    ControlFlow::Continue(next) => next,
                    ControlFlow::Break(end) => return end,
                };
            }
        }
        meter.charge(1);
        let last = self.dfa.next_eoi_state(state);
        if self.dfa.is_match_state(last) && self.record(last, meter, &mut found).is_break() {
            return ScanEnd::Stopped;
        }
        ScanEnd::Complete
    }

    /// Whether `pattern` matches somewhere in `input`: a scan that stops at its first report.
    pub fn finds(&self, input: &[u16], pattern: usize, meter: &mut Meter) -> bool {
        let end = self.scan(input, meter, |p| {
            if p == pattern {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        end == ScanEnd::Stopped
    }
}
