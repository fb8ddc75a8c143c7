//! Dictionary automata: the literal operators' patterns as an Aho-Corasick automaton the host
//! built and serialized into the channel file, checked here once, then run over UTF-16 input
//! in place.
//!
//! A dictionary reads each code unit of its field upper-cased by [`crate::fold::fold`], maps it
//! to a class (units no pattern holds share class 0), and moves along a trie of the folded
//! patterns. The shallowest states, where a scan spends most of its steps, have a *dense* row:
//! the next state for every class, misses already resolved, one read per code unit. The others
//! list only their trie transitions and fall back along *fail* links on a miss, so the tables
//! stay about the size of the patterns.
//!
//! The scan's one serial dependency is the state: each code unit's read needs the one before.
//! So that step is one read, nothing more. A target word names a state by its *position*, the
//! byte offset of its dense row; the read is at that offset in the class's column of the rows,
//! whose start does not depend on the state.
//! Units below 256 take their class from a table already indexed by the unfolded unit. A
//! position past the dense rows is a listed state: reading past the rows is the one check that
//! sends the scan to the slower path.
//!
//! What it reports are *keys*: each distinct folded text with a [`Placement`] (where a match
//! must sit) is one key, however many predicates' operands name it, so one pass answers
//! equals, begins-with, ends-with, contains and image tests of any number of operands at once,
//! and an event fires each shared text once. Its *patterns* are the predicates' operands, each
//! naming its key. Its size grows with the total length of the patterns, not with their product
//! as a DFA's may, which is what lets thousands of literal rules share one scan.
//!
//! [`Dictionary::load`] checks every word against the format (`docs/channel-file-format.md`,
//! "Dictionary automata") in time linear in the bytes: every index in range, every transition
//! at most one level deeper, every fail and output link strictly shallower, the root dense.
//! Those depths bound the scan: a fail step loses depth that only a transition, one per code
//! unit, gave, so a scan costs at most two steps per unit plus what it reports, and every loop
//! is capped by the deepest state. Whether the patterns
//! are the ones the predicates name is the content author's affair, as with any automaton; no
//! byte string can make this module index out of bounds, loop or allocate. It never builds
//! dictionaries: that is the host compiler's job.

use core::ops::ControlFlow;

use crate::channel::{u16_at, u32_at};
use crate::fold::{fold, Meter};
use crate::limits::{MAX_OPERAND_UNITS, MAX_PATTERNS_PER_AUTOMATON};

/// Length of the header: eight `u32` words (states, classes, wide units, transitions,
/// patterns, keys, outputs, dense states).
pub const HEADER: usize = 32;
/// Code units below this have their class in the direct table.
pub const DIRECT_UNITS: usize = 256;
/// Length of the direct class table: one `u16` per unit below [`DIRECT_UNITS`].
pub const DIRECT_TABLE: usize = DIRECT_UNITS * 2;
/// Length of one state record: depth, fail link, output link, end of its transitions, end of
/// its outputs.
pub const STATE_RECORD: usize = 20;
/// Length of one transition: class, target state.
pub const TRANSITION: usize = 8;
/// Most classes, so that a class fits the direct table's `u16`.
pub const MAX_CLASSES: usize = 1 << 16;
/// Bit of a target word (a dense-row entry or a transition's target) saying that the target
/// state has outputs, its own or through its output link: the scan looks for matches only in
/// such states. The other bits are the state's position: `4 * state * classes`, the byte offset
/// of its row within the dense rows, for a state with one; for the others, `4 * (dense *
/// classes + state - dense)`, as if each took one word after the rows.
pub const REPORTS: u32 = 1 << 31;
/// Largest position a target word can carry.
const MAX_POSITION: usize = 0x7FFF_FFFF;
/// Bytes of one target word.
const WORD: usize = 4;

/// The class of `byte` in the direct table. Twice a byte is at most 510: the read is always
/// within the table, and the optimizer drops its check.
fn direct_class(direct: &[u8; DIRECT_TABLE], byte: u8) -> usize {
    let at = usize::from(byte).wrapping_mul(2);
    direct
        .get(at..at.wrapping_add(2))
        .and_then(|word| word.try_into().ok())
        .map_or(0, |word| usize::from(u16::from_le_bytes(word)))
}

/// Follows the dense rows from `position` over `input` from `index` on, for as long as each
/// step is the plain one: a unit below [`DIRECT_UNITS`], to a state that does not report and
/// has a row. Returns the index and position where it stopped, for the full step to take.
///
/// Most units take this loop: it holds no call and touches only its arguments, so they stay
/// in registers, and the position's one read per unit is the whole of the serial chain.
fn skim(
    direct: &[u8; DIRECT_TABLE],
    rows: &[u8],
    input: &[u16],
    mut index: usize,
    mut position: usize,
) -> (usize, usize) {
    while let Some(byte) = input.get(index).and_then(|&unit| u8::try_from(unit).ok()) {
        position = match direct_class(direct, byte) {
            0 => 0,
            class => match entry(rows, position, class) {
                Some(word) if word & REPORTS == 0 => position_in(word),
                _ => break,
            },
        };
        index = index.wrapping_add(1);
    }
    (index, position)
}

/// The entry for `class` in the dense row at `position`, if the rows hold it. The loader holds
/// a dense state's position and a class within the rows, so only a listed state's position,
/// which lies past them, reads nothing.
///
/// The class's column is cut first, from the rows alone, so that the read's address is that
/// column plus the position: the position, the scan's serial chain, goes straight into the
/// read with no addition before it. Adding position and class first measured 9% slower.
fn entry(rows: &[u8], position: usize, class: usize) -> Option<u32> {
    let column = rows.get(class.wrapping_mul(WORD)..).unwrap_or_default();
    column
        .get(position..position.wrapping_add(WORD))
        .and_then(|word| word.try_into().ok())
        .map(u32::from_le_bytes)
}

/// The position in target word `word`.
fn position_in(word: u32) -> usize {
    usize::try_from(word & !REPORTS).unwrap_or(MAX_POSITION)
}

/// Where a pattern's match must sit in the input for it to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Placement {
    /// Anywhere (contains).
    Anywhere = 0,
    /// At the start (begins-with).
    Start = 1,
    /// At the end (ends-with).
    End = 2,
    /// The whole input (equals, and image with a directory).
    Whole = 3,
    /// The whole input or everything after its last backslash (image of a bare file name).
    FileName = 4,
}

impl Placement {
    /// The placement with tag `tag`, if any.
    pub fn from_u8(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::Anywhere,
            1 => Self::Start,
            2 => Self::End,
            3 => Self::Whole,
            4 => Self::FileName,
            _ => return None,
        })
    }
}

/// Why a dictionary's bytes break the format: the byte offset, within the dictionary, of the
/// first word found wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub usize);

/// The counts in a dictionary's header.
#[derive(Clone, Copy, Debug)]
struct Counts {
    states: usize,
    classes: usize,
    wide: usize,
    transitions: usize,
    patterns: usize,
    keys: usize,
    outputs: usize,
    dense: usize,
}

/// One checked dictionary, borrowing its tables from the channel file.
#[derive(Clone, Copy, Debug)]
pub struct Dictionary<'a> {
    bytes: &'a [u8],
    counts: Counts,
    /// Bytes of the dense rows: the first listed state's position.
    rows_len: usize,
    deepest: usize,
    wide_at: usize,
    patterns_at: usize,
    keys_at: usize,
    dense_at: usize,
    states_at: usize,
    transitions_at: usize,
    outputs_at: usize,
}

/// The word at byte `at` as a `usize`, or `Malformed(at)` when it is missing or, with
/// `below`, not under it.
fn word(bytes: &[u8], at: usize, below: usize) -> Result<usize, Malformed> {
    u32_at(bytes, at)
        .and_then(|w| usize::try_from(w).ok())
        .filter(|&w| w < below)
        .ok_or(Malformed(at))
}

/// `start + count * size`, the offset after a table, or `Malformed(at)` on overflow.
fn after(start: usize, count: usize, size: usize, at: usize) -> Result<usize, Malformed> {
    count
        .checked_mul(size)
        .and_then(|len| start.checked_add(len))
        .ok_or(Malformed(at))
}

impl<'a> Dictionary<'a> {
    /// Checks `bytes` as a dictionary.
    pub fn load(bytes: &'a [u8]) -> Result<Self, Malformed> {
        let any = usize::MAX;
        let counts = Counts {
            states: word(bytes, 0, any)?,
            classes: word(bytes, 4, MAX_CLASSES.saturating_add(1))?,
            wide: word(bytes, 8, any)?,
            transitions: word(bytes, 12, any)?,
            patterns: word(bytes, 16, MAX_PATTERNS_PER_AUTOMATON.saturating_add(1))?,
            keys: word(bytes, 20, MAX_PATTERNS_PER_AUTOMATON.saturating_add(1))?,
            outputs: word(bytes, 24, any)?,
            dense: word(bytes, 28, any)?,
        };
        if counts.states == 0 {
            return Err(Malformed(0));
        }
        if counts.dense == 0 || counts.dense > counts.states {
            return Err(Malformed(28));
        }
        if counts.classes == 0 {
            return Err(Malformed(4));
        }
        if counts.patterns == 0 {
            return Err(Malformed(16));
        }
        if counts.keys == 0 {
            return Err(Malformed(20));
        }
        let wide_at = HEADER.saturating_add(DIRECT_TABLE);
        let patterns_at = after(wide_at, counts.wide, 4, 8)?;
        let keys_at = after(patterns_at, counts.patterns, 4, 16)?;
        let dense_at = after(keys_at, counts.keys, 4, 20)?;
        let entries = counts
            .dense
            .checked_mul(counts.classes)
            .filter(|&entries| {
                let listed = counts.states.saturating_sub(counts.dense);
                entries
                    .checked_add(listed)
                    .and_then(|words| words.checked_mul(WORD))
                    .is_some_and(|end| end <= MAX_POSITION)
            })
            .ok_or(Malformed(28))?;
        let states_at = after(dense_at, entries, WORD, 28)?;
        let transitions_at = after(states_at, counts.states, STATE_RECORD, 0)?;
        let outputs_at = after(transitions_at, counts.transitions, TRANSITION, 12)?;
        let end = after(outputs_at, counts.outputs, 4, 24)?;
        if end != bytes.len() {
            return Err(Malformed(bytes.len().min(end)));
        }
        let mut dictionary = Self {
            bytes,
            counts,
            rows_len: entries.saturating_mul(WORD),
            deepest: 0,
            wide_at,
            patterns_at,
            keys_at,
            dense_at,
            states_at,
            transitions_at,
            outputs_at,
        };
        dictionary.check_classes()?;
        dictionary.check_patterns()?;
        dictionary.check_keys()?;
        dictionary.check_dense()?;
        dictionary.deepest = dictionary.check_states()?;
        dictionary.check_outputs()?;
        Ok(dictionary)
    }

    /// Every direct class is a class; wide units are above the direct table, strictly
    /// ascending, and name a class other than 0.
    fn check_classes(&self) -> Result<(), Malformed> {
        for unit in 0..DIRECT_UNITS {
            let at = HEADER.saturating_add(unit.saturating_mul(2));
            u16_at(self.bytes, at)
                .filter(|&class| usize::from(class) < self.counts.classes)
                .ok_or(Malformed(at))?;
        }
        let mut floor = DIRECT_UNITS;
        for entry in 0..self.counts.wide {
            let at = self.wide_at.saturating_add(entry.saturating_mul(4));
            let packed = word(self.bytes, at, usize::MAX)?;
            let (unit, class) = (packed & 0xFFFF, packed >> 16);
            if unit < floor || class == 0 || class >= self.counts.classes {
                return Err(Malformed(at));
            }
            floor = unit.saturating_add(1);
        }
        Ok(())
    }

    /// Every pattern names a key.
    fn check_patterns(&self) -> Result<(), Malformed> {
        for pattern in 0..self.counts.patterns {
            let at = self.patterns_at.saturating_add(pattern.saturating_mul(4));
            word(self.bytes, at, self.counts.keys)?;
        }
        Ok(())
    }

    /// Every key has a placement and a length from 1 to the longest operand.
    fn check_keys(&self) -> Result<(), Malformed> {
        for key in 0..self.counts.keys {
            let at = self.keys_at.saturating_add(key.saturating_mul(4));
            let packed = word(self.bytes, at, usize::MAX)?;
            let len = packed & 0xFF_FFFF;
            let tag = u8::try_from(packed >> 24).unwrap_or(u8::MAX);
            if Placement::from_u8(tag).is_none() || len == 0 || len > MAX_OPERAND_UNITS {
                return Err(Malformed(at));
            }
        }
        Ok(())
    }

    /// Every dense row leads to states at most one level deeper than its own.
    fn check_dense(&self) -> Result<(), Malformed> {
        for state in 0..self.counts.dense {
            let limit = self.depth(state).saturating_add(1);
            for class in 0..self.counts.classes {
                let at = self.row(state, class);
                let target = self.target(at)?;
                if self.depth(target) > limit {
                    return Err(Malformed(at));
                }
            }
        }
        Ok(())
    }

    /// Checks every state record and its transitions; returns the deepest state's depth.
    fn check_states(&self) -> Result<usize, Malformed> {
        let mut deepest = 0;
        let mut transitions = 0;
        let mut outputs = 0;
        for state in 0..self.counts.states {
            let at = self.record(state);
            let depth = word(self.bytes, at, MAX_OPERAND_UNITS.saturating_add(1))?;
            let fail = word(self.bytes, at.saturating_add(4), self.counts.states)?;
            let link = word(self.bytes, at.saturating_add(8), self.counts.states)?;
            let root = state == 0;
            if root != (depth == 0) {
                return Err(Malformed(at));
            }
            if !root && (self.depth(fail) >= depth || self.depth(link) >= depth) {
                return Err(Malformed(at.saturating_add(4)));
            }
            let transitions_end = at.saturating_add(12);
            let outputs_end = at.saturating_add(16);
            let next = word(
                self.bytes,
                transitions_end,
                self.counts.transitions.saturating_add(1),
            )?;
            let told = word(
                self.bytes,
                outputs_end,
                self.counts.outputs.saturating_add(1),
            )?;
            if next < transitions || (state < self.counts.dense && next != transitions) {
                return Err(Malformed(transitions_end));
            }
            if told < outputs || (root && told != 0) {
                return Err(Malformed(outputs_end));
            }
            self.check_transitions(transitions, next, depth)?;
            transitions = next;
            outputs = told;
            deepest = deepest.max(depth);
        }
        if transitions != self.counts.transitions {
            return Err(Malformed(self.record(self.counts.states.saturating_sub(1))));
        }
        if outputs != self.counts.outputs {
            return Err(Malformed(self.record(self.counts.states.saturating_sub(1))));
        }
        Ok(deepest)
    }

    /// Transitions `first..end` of a state at `depth`: classes other than 0, strictly
    /// ascending, each to a state one level deeper.
    fn check_transitions(&self, first: usize, end: usize, depth: usize) -> Result<(), Malformed> {
        let mut floor = 1;
        for transition in first..end {
            let at = self.transition(transition);
            let class = word(self.bytes, at, self.counts.classes)?;
            if class < floor {
                return Err(Malformed(at));
            }
            let target = self.target(at.saturating_add(4))?;
            if self.depth(target) != depth.saturating_add(1) {
                return Err(Malformed(at.saturating_add(4)));
            }
            floor = class.saturating_add(1);
        }
        Ok(())
    }

    /// The state the target word at byte `at` names.
    fn target(&self, at: usize) -> Result<usize, Malformed> {
        u32_at(self.bytes, at)
            .and_then(|w| self.state_at(position_in(w)))
            .ok_or(Malformed(at))
    }

    /// The state at `position`, if a state has it: the start of a row within the dense rows,
    /// or one of the listed states' words after them.
    fn state_at(&self, position: usize) -> Option<usize> {
        let (unit, start) = match position.checked_sub(self.rows_len) {
            Some(past) => (WORD, past),
            None => (self.counts.classes.saturating_mul(WORD), position),
        };
        if start.checked_rem(unit) != Some(0) {
            return None;
        }
        let index = start.checked_div(unit)?;
        if position < self.rows_len {
            return Some(index);
        }
        self.counts
            .dense
            .checked_add(index)
            .filter(|&state| state < self.counts.states)
    }

    /// Every output names a key.
    fn check_outputs(&self) -> Result<(), Malformed> {
        for output in 0..self.counts.outputs {
            let at = self.outputs_at.saturating_add(output.saturating_mul(4));
            word(self.bytes, at, self.counts.keys)?;
        }
        Ok(())
    }

    /// Number of patterns.
    pub fn patterns(&self) -> usize {
        self.counts.patterns
    }

    /// Number of keys.
    pub fn keys(&self) -> usize {
        self.counts.keys
    }

    /// The key pattern `pattern` names, if there is such a pattern.
    pub fn key(&self, pattern: usize) -> Option<usize> {
        (pattern < self.counts.patterns)
            .then(|| self.at(self.patterns_at.saturating_add(pattern.saturating_mul(4))))
    }

    /// Worst-case work of one scan of `max_units` code units: per unit one transition, one fail
    /// step (amortized), and every output link and output of the state reached.
    pub fn scan_cost(&self, max_units: usize) -> u64 {
        let per_unit = self
            .deepest
            .saturating_add(self.counts.outputs)
            .saturating_add(2);
        u64::try_from(max_units.saturating_mul(per_unit)).unwrap_or(u64::MAX)
    }

    /// Scans `input`, calling `found` with every key that matches where its placement allows
    /// (a key that matches at several places is reported again), until the input ends or
    /// `found` breaks.
    pub fn scan(
        &self,
        input: &[u16],
        meter: &mut Meter,
        mut found: impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // One unit of work for each unit's transition, charged at once; fail steps and reports
        // are charged as they happen.
        meter.charge(input.len());
        let (direct, rows) = (self.direct(), self.rows());
        let (mut index, mut position) = (0, 0);
        loop {
            (index, position) = skim(direct, rows, input, index, position);
            let Some(&unit) = input.get(index) else {
                return ControlFlow::Continue(());
            };
            index = index.saturating_add(1);
            let target = match self.class(unit) {
                0 => 0,
                class => match entry(rows, position, class) {
                    Some(word) => word,
                    None => self.listed(position, class, meter),
                },
            };
            position = position_in(target);
            if target & REPORTS != 0 {
                let state = self.state_at(position).unwrap_or(0);
                self.report(state, input, index, meter, &mut found)?;
            }
        }
    }

    /// The direct class table: the class of each code unit below [`DIRECT_UNITS`], folded.
    fn direct(&self) -> &'a [u8; DIRECT_TABLE] {
        const NONE: &[u8; DIRECT_TABLE] = &[0; DIRECT_TABLE];
        self.bytes
            .get(HEADER..HEADER.saturating_add(DIRECT_TABLE))
            .and_then(|table| table.try_into().ok())
            .unwrap_or(NONE)
    }

    /// The dense rows: four bytes, one target word, per entry.
    fn rows(&self) -> &'a [u8] {
        let end = self.rows_len.saturating_add(self.dense_at);
        self.bytes.get(self.dense_at..end).unwrap_or_default()
    }

    /// The class of a code unit: that of its fold. A folded unit below [`DIRECT_UNITS`] is
    /// its own fold, so the direct table, indexed by unfolded units, serves it too.
    fn class(&self, unit: u16) -> usize {
        let unit = u8::try_from(unit).map_or_else(|_| fold(unit), u16::from);
        if let Ok(byte) = u8::try_from(unit) {
            return direct_class(self.direct(), byte);
        }
        let (mut low, mut high) = (0, self.counts.wide);
        while low < high {
            let mid = low.midpoint(high);
            let packed = self.at(self.wide_at.saturating_add(mid.saturating_mul(4)));
            match (packed & 0xFFFF).cmp(&usize::from(unit)) {
                core::cmp::Ordering::Less => low = mid.saturating_add(1),
                core::cmp::Ordering::Greater => high = mid,
                core::cmp::Ordering::Equal => return packed >> 16,
            }
        }
        0
    }

    /// The target word after reading `class` in the listed state at `position`.
    fn listed(&self, position: usize, class: usize, meter: &mut Meter) -> u32 {
        self.state_at(position)
            .map_or(0, |state| self.next(state, class, meter))
    }

    /// The state after reading `class` in `state`: a dense row's entry, or a listed transition,
    /// following fail links, one unit of work each, until a state has one or a dense row. The
    /// root is dense and every fail link leads strictly shallower, so the deepest state's depth
    /// caps the steps.
    /// Returns the target word, [`REPORTS`] included.
    fn next(&self, mut state: usize, class: usize, meter: &mut Meter) -> u32 {
        for _ in 0..=self.deepest {
            if state < self.counts.dense {
                return self.at_u32(self.row(state, class));
            }
            if let Some(target) = self.transition_on(state, class) {
                return target;
            }
            meter.charge(1);
            state = self.at(self.record(state).saturating_add(4));
        }
        0
    }

    /// The target word of `state`'s transition on `class`, if it has one.
    fn transition_on(&self, state: usize, class: usize) -> Option<u32> {
        let (mut low, mut high) = self.transitions_of(state);
        while low < high {
            let mid = low.midpoint(high);
            let at = self.transition(mid);
            match self.at(at).cmp(&class) {
                core::cmp::Ordering::Less => low = mid.saturating_add(1),
                core::cmp::Ordering::Greater => high = mid,
                core::cmp::Ordering::Equal => return Some(self.at_u32(at.saturating_add(4))),
            }
        }
        None
    }

    /// Reports the outputs of `state` and of the states its output links lead to, for a match
    /// ending before code unit `end`. Links lead strictly shallower, so the chain is at most the
    /// deepest state's depth long.
    fn report(
        &self,
        mut state: usize,
        input: &[u16],
        end: usize,
        meter: &mut Meter,
        found: &mut impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for _ in 0..self.deepest {
            if state == 0 {
                break;
            }
            for output in self.outputs_of(state) {
                meter.charge(1);
                let key = self.at(self.outputs_at.saturating_add(output.saturating_mul(4)));
                if self.placed(key, input, end) {
                    found(key)?;
                }
            }
            meter.charge(1);
            state = self.at(self.record(state).saturating_add(8));
        }
        ControlFlow::Continue(())
    }

    /// Whether `key`, matched ending before code unit `end`, sits where its placement asks.
    fn placed(&self, key: usize, input: &[u16], end: usize) -> bool {
        let packed = self.at(self.keys_at.saturating_add(key.saturating_mul(4)));
        let Some(start) = end.checked_sub(packed & 0xFF_FFFF) else {
            return false;
        };
        let tag = u8::try_from(packed >> 24).unwrap_or(u8::MAX);
        let whole = end == input.len();
        match Placement::from_u8(tag) {
            Some(Placement::Anywhere) => true,
            Some(Placement::Start) => start == 0,
            Some(Placement::End) => whole,
            Some(Placement::Whole) => whole && start == 0,
            Some(Placement::FileName) => {
                let after_slash = start
                    .checked_sub(1)
                    .and_then(|before| input.get(before))
                    .is_some_and(|&u| u == u16::from(b'\\'));
                whole && (start == 0 || after_slash)
            }
            None => false,
        }
    }

    /// The transitions of `state`, as a range of transition indices.
    fn transitions_of(&self, state: usize) -> (usize, usize) {
        let end = self.at(self.record(state).saturating_add(12));
        let start = match state.checked_sub(1) {
            Some(before) => self.at(self.record(before).saturating_add(12)),
            None => 0,
        };
        (start, end)
    }

    /// The outputs of `state`, as a range of output indices.
    fn outputs_of(&self, state: usize) -> core::ops::Range<usize> {
        let end = self.at(self.record(state).saturating_add(16));
        let start = match state.checked_sub(1) {
            Some(before) => self.at(self.record(before).saturating_add(16)),
            None => 0,
        };
        start..end
    }

    fn depth(&self, state: usize) -> usize {
        self.at(self.record(state))
    }

    /// Byte offset of `state`'s dense-row entry for `class`.
    fn row(&self, state: usize, class: usize) -> usize {
        let entry = state
            .saturating_mul(self.counts.classes)
            .saturating_add(class);
        self.dense_at.saturating_add(entry.saturating_mul(4))
    }

    fn record(&self, state: usize) -> usize {
        self.states_at
            .saturating_add(state.saturating_mul(STATE_RECORD))
    }

    fn transition(&self, index: usize) -> usize {
        self.transitions_at
            .saturating_add(index.saturating_mul(TRANSITION))
    }

    /// The word at byte `at`; 0 past the end, which [`Self::load`] rules out.
    fn at(&self, at: usize) -> usize {
        usize::try_from(self.at_u32(at)).unwrap_or(0)
    }

    fn at_u32(&self, at: usize) -> u32 {
        u32_at(self.bytes, at).unwrap_or(0)
    }
}
