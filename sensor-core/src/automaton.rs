//! Compiled automata: regex-automata dense DFAs that the host built and serialized into the
//! channel file, deserialized here without copying or allocating, and run over UTF-16 input.
//!
//! Each automaton scans one input field and holds many patterns (globs and regular expressions,
//! each carrying its own case flag); one pass over the field finds every pattern that matches
//! anywhere in it. Input code units are transcoded to UTF-8 one character at a time as they are
//! fed to the DFA, unpaired surrogates becoming U+FFFD, so the scan is linear in the input and
//! needs no buffer. This module never builds automata: that is the host compiler's job.

use regex_automata::dfa::dense::DFA;
use regex_automata::dfa::Automaton as _;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::Anchored;

use crate::fold::Meter;
use crate::limits::MAX_PATTERNS_PER_AUTOMATON;

const SET_WORDS: usize = MAX_PATTERNS_PER_AUTOMATON / 64;

/// The patterns of one automaton that matched during a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatternSet([u64; SET_WORDS]);

impl PatternSet {
    fn insert(&mut self, pattern: usize) {
        if let Some(word) = self.0.get_mut(pattern / 64) {
            *word |= 1u64.wrapping_shl((pattern % 64) as u32);
        }
    }

    /// Whether `pattern` matched.
    pub fn contains(&self, pattern: usize) -> bool {
        self.0
            .get(pattern / 64)
            .is_some_and(|word| word & 1u64.wrapping_shl((pattern % 64) as u32) != 0)
    }
}

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
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanEnd {
    /// The whole input was read, or no further match was possible.
    Complete,
    /// The DFA gave up (a quit byte); the set holds what matched before.
    Quit,
}

impl<'a> Automaton<'a> {
    /// Deserializes and checks one automaton that scans `field`.
    ///
    /// `DFA::from_bytes` validates every transition and state, so the DFA cannot index out of
    /// its tables however the bytes were made.
    pub fn load(bytes: &'a [u8], field: u8) -> Result<Self, AutomatonFault> {
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
        Ok(Self { dfa, start, field })
    }

    /// Number of patterns.
    pub fn patterns(&self) -> usize {
        self.dfa.pattern_len()
    }

    /// The template field this automaton scans.
    pub fn field(&self) -> u8 {
        self.field
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

    fn record(&self, state: StateID, set: &mut PatternSet, meter: &mut Meter) {
        let matches = self.dfa.match_len(state);
        meter.charge(matches);
        for index in 0..matches {
            set.insert(self.dfa.match_pattern(state, index).as_usize());
        }
    }

    /// Feeds one byte; returns `None` once the scan is over (dead or quit state).
    fn step(
        &self,
        state: StateID,
        byte: u8,
        set: &mut PatternSet,
        meter: &mut Meter,
    ) -> Result<StateID, ScanEnd> {
        meter.charge(1);
        let next = self.dfa.next_state(state, byte);
        if self.dfa.is_special_state(next) {
            if self.dfa.is_match_state(next) {
                self.record(next, set, meter);
            } else if self.dfa.is_dead_state(next) {
                return Err(ScanEnd::Complete);
            } else if self.dfa.is_quit_state(next) {
                return Err(ScanEnd::Quit);
            }
        }
        Ok(next)
    }

    /// Scans `input`, adding every pattern that matches somewhere in it to `set`.
    pub fn scan(&self, input: &[u16], set: &mut PatternSet, meter: &mut Meter) -> ScanEnd {
        let mut state = self.start;
        let chars = char::decode_utf16(input.iter().copied())
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER));
        let mut utf8 = [0u8; 4];
        for c in chars {
            for &byte in c.encode_utf8(&mut utf8).as_bytes() {
                state = match self.step(state, byte, set, meter) {
                    Ok(next) => next,
                    Err(end) => return end,
                };
            }
        }
        meter.charge(1);
        let last = self.dfa.next_eoi_state(state);
        if self.dfa.is_match_state(last) {
            self.record(last, set, meter);
        }
        ScanEnd::Complete
    }
}
