//! What the interpreter's run-time checks and work meter cost: a bench-only twin of
//! `sensor-core/src/eval.rs`.
//!
//! The core cannot switch its checks off, and must not be changed for a benchmark. So this
//! module carries a second copy of the interpreter, over the same validated channel file and
//! the same public pieces of the core (`ChannelFile` accessors, `Instruction`, `Partial`,
//! `fold::fold`, the loaded automata), written once and instantiated twice:
//!
//! - `evaluate::<true>` does what `RuleSet::evaluate` does, step for step: bounds-checked input
//!   access (the 21-versus-20 check), type and length checks with their counters, and every
//!   work-meter charge. Tests and the bench setup require its verdicts, counters and work to
//!   equal the core's exactly, so it is a faithful copy.
//! - `evaluate::<false>` leaves out exactly those: no meter, no counters, no length check, and
//!   input reads without a bounds check (one length assertion per event stands in for them;
//!   the loader already proved every field a rule reads is below the supplied count).
//!
//! The difference between the two is the cost of the checks and the meter. What both keep, and
//! this does not measure: the channel-file accessors' own bounds checks (each record read
//! returns an `Option`), the program decoder, Rust's slice checks, and the scans, which both
//! run with the core's own automata, lanes and meter. Copies of the DFA loops, with the meter's
//! byte count made optional, measured their compiler's register choices more than the checks:
//! at 10,000 rules the checked copy ran from 6% faster to 8% slower than the core, and at 100
//! rules the unchecked copy gained 5 ns from a change that did not touch the checks. The
//! scans' one check, the byte count, was measured on the core directly instead: builds without
//! it ran no faster (`docs/performance.md`, "Checks and meter").

use std::ops::ControlFlow;

use sensor_core::automaton::{Automaton, Form, Lanes, ScanEnd, LANES};
use sensor_core::channel::{ChannelFile, AUTOMATON_DICTIONARY};
use sensor_core::error::Section;
use sensor_core::fold::{fold, Meter as Work, Operand};
use sensor_core::limits::MAX_FIRED;
use sensor_core::op::{Action, Level, Operator, Scanned, ALL, NEGATE};
use sensor_core::program::{Instruction, Partial};
use sensor_core::{
    Counters, FieldType, LoadError, MatchSink, MatchedRule, RuleSet, SensorDecl, Value, Verdict,
};

/// The work meter, or nothing.
#[derive(Clone, Copy, Default)]
struct Meter<const CHECKED: bool>(u64);

impl<const CHECKED: bool> Meter<CHECKED> {
    #[inline(always)]
    fn charge(&mut self, units: usize) {
        if CHECKED {
            self.0 = self
                .0
                .saturating_add(u64::try_from(units).unwrap_or(u64::MAX));
        }
    }
}

#[inline(always)]
fn bump<const CHECKED: bool>(counter: &mut u32) {
    if CHECKED {
        *counter = counter.saturating_add(1);
    }
}

#[derive(Default)]
struct Tally<const CHECKED: bool> {
    meter: Meter<CHECKED>,
    counters: Counters,
}

/// The distinct pattern slots one event fired, as the core keeps them.
struct Fired {
    slots: [u32; MAX_FIRED],
    len: usize,
    overfull: u32,
    scanned: u32,
}

impl Fired {
    fn new(scanned: u32) -> Self {
        Self {
            slots: [0; MAX_FIRED],
            len: 0,
            overfull: 0,
            scanned,
        }
    }

    fn slots(&self) -> &[u32] {
        &self.slots[..self.len]
    }

    fn insert(&mut self, slot: u32) -> bool {
        match self.slots().binary_search(&slot) {
            Ok(_) => true,
            Err(_) if self.len == MAX_FIRED => false,
            Err(at) => {
                self.slots[at..=self.len].rotate_right(1);
                self.slots[at] = slot;
                self.len += 1;
                true
            }
        }
    }

    fn contains(&self, slot: u32) -> bool {
        self.slots().binary_search(&slot).is_ok()
    }

    fn is_overfull(&self, automaton: usize) -> bool {
        self.overfull & (1 << automaton) != 0
    }
}

#[derive(Clone, Copy)]
struct Predicate {
    field: usize,
    op: Operator,
    negate: bool,
    all: bool,
    a: u32,
    b: u64,
    automaton: Option<usize>,
    pattern: u32,
}

impl Predicate {
    fn pattern_count(&self) -> u64 {
        match self.op.scanned() {
            Scanned::Folded => self.b,
            Scanned::Raw => 1,
            Scanned::Never => 0,
        }
    }
}

/// The shape of the rule index: the three list lengths of the triggers section.
#[derive(Clone, Copy, Debug)]
struct Index {
    unindexed: usize,
    slots: usize,
}

/// The twin interpreter over one validated channel file.
#[derive(Clone, Debug)]
pub struct Twin<'a> {
    file: ChannelFile<'a>,
    automata: Vec<Option<Automaton<'a>>>,
    index: Option<Index>,
    eager: u32,
    /// Per automaton, its partners in lanes, as the core grouped them at load.
    partners: Vec<u32>,
    supplied: usize,
    max_units: usize,
}

impl<'a> Twin<'a> {
    /// Validates `bytes` with the core's loader, then opens the same bytes for the twin.
    pub fn new(bytes: &'a [u8], sensor: &SensorDecl) -> Result<Self, LoadError> {
        let rules = RuleSet::load(bytes, sensor)?;
        let file = ChannelFile::parse(bytes)?;
        let mut automata = Vec::new();
        let mut base = 0u32;
        for index in 0..file.automaton_count().unwrap_or(0) {
            let automaton = file.automaton_entry(index).and_then(|entry| {
                let form = if entry.flags == AUTOMATON_DICTIONARY {
                    Form::Dictionary
                } else {
                    Form::Dfa
                };
                let field = u8::try_from(entry.field).ok()?;
                Automaton::load(file.automaton_bytes(entry)?, field, form, base).ok()
            });
            base += automaton.as_ref().map_or(0, |a| a.slots() as u32);
            automata.push(automaton);
        }
        let index = (file.count(Section::Triggers) > 0)
            .then(|| file.triggers_header())
            .flatten()
            .map(|h| Index {
                unindexed: h.unindexed as usize,
                slots: h.slots as usize,
            });
        let partners = (0..automata.len()).map(|at| rules.partners(at)).collect();
        let mut twin = Self {
            file,
            automata,
            index,
            eager: 0,
            partners,
            supplied: rules.supplied(),
            max_units: usize::from(sensor.max_string_units),
        };
        let lazy = twin.unlisted_automata();
        twin.eager = ((1 << twin.automata.len()) - 1) & !lazy;
        Ok(twin)
    }

    /// The automata under whose slots the index lists no rule, by bit, as the core finds them.
    fn unlisted_automata(&self) -> u32 {
        let Some(index) = self.index else {
            return 0;
        };
        let mut lazy = 0;
        for (at, a) in self.automata.iter().enumerate() {
            let Some(a) = a else {
                continue;
            };
            let first = index.unindexed + a.base() as usize;
            if self.word(first) == self.word(first + a.slots()) {
                lazy |= 1 << at;
            }
        }
        lazy
    }

    /// Evaluates one event, with (`CHECKED = true`, as the core) or without the run-time checks
    /// and the meter. Without them, `inputs` must hold at least the supplied fields.
    pub fn evaluate<const CHECKED: bool>(
        &self,
        inputs: &[Value<'_>],
        sink: &mut impl MatchSink,
    ) -> Verdict {
        if !CHECKED {
            assert!(inputs.len() >= self.supplied, "fewer inputs than supplied");
        }
        let mut tally = Tally::<CHECKED>::default();
        let mut fired = Fired::new(self.eager);
        self.scan(self.eager, inputs, &mut fired, &mut tally);
        let mut verdict = Verdict::default();
        match self.index.filter(|_| fired.overfull == 0) {
            Some(index) => self.walk(index, &mut fired, |rule, entries, fired| {
                tally.meter.charge(entries);
                self.run_rule(rule, inputs, fired, &mut tally, &mut verdict, sink);
            }),
            None => {
                for rule in 0..self.file.count(Section::Rules) {
                    self.run_rule(rule, inputs, &mut fired, &mut tally, &mut verdict, sink);
                }
            }
        }
        tally.counters.work = tally.meter.0;
        verdict.counters = tally.counters;
        verdict
    }

    fn value<'i, const CHECKED: bool>(
        &self,
        inputs: &[Value<'i>],
        field: usize,
    ) -> Option<Value<'i>> {
        if CHECKED {
            inputs.get(field).copied()
        } else {
            // SAFETY: `evaluate::<false>` asserted `inputs.len() >= self.supplied`, and
            // `RuleSet::load` (run in `Twin::new` on these bytes) proved that every field an
            // automaton scans or a rule's predicate reads is below `self.supplied`.
            Some(unsafe { *inputs.get_unchecked(field) })
        }
    }

    fn scan<const CHECKED: bool>(
        &self,
        mut todo: u32,
        inputs: &[Value<'_>],
        fired: &mut Fired,
        tally: &mut Tally<CHECKED>,
    ) {
        while todo != 0 {
            let index = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            let Some(a) = &self.automata[index] else {
                continue;
            };
            let input = match self.value::<CHECKED>(inputs, usize::from(a.field())) {
                Some(Value::Str(s)) if !CHECKED || s.len() <= self.max_units => s,
                Some(Value::Str(_)) => {
                    bump::<CHECKED>(&mut tally.counters.oversized_inputs);
                    continue;
                }
                Some(Value::Int(_)) => {
                    bump::<CHECKED>(&mut tally.counters.type_mismatches);
                    continue;
                }
                Some(Value::Absent) => continue,
                None => {
                    bump::<CHECKED>(&mut tally.counters.missing_inputs);
                    continue;
                }
            };
            let partners = self.partners[index] & todo;
            if partners == 0 {
                let mut work = Work::default();
                let end = a.scan(input, &mut work, |pattern| insert(fired, a.base(), pattern));
                tally.meter.charge(work.used() as usize);
                Self::ended::<CHECKED>(index, end, fired, tally);
            } else {
                todo &= !partners;
                self.scan_lanes(index, partners, input, fired, tally);
            }
        }
    }

    /// `RuleSet::scan_lanes`: `first` and its partners in one pass, with the core's own
    /// [`Lanes`]. Never inlined, as the core's.
    #[inline(never)]
    fn scan_lanes<const CHECKED: bool>(
        &self,
        first: usize,
        partners: u32,
        input: &[u16],
        fired: &mut Fired,
        tally: &mut Tally<CHECKED>,
    ) {
        let core = |index: usize| self.automata[index].as_ref().expect("partners are loaded");
        let mut members = [first; LANES];
        let mut lanes = Lanes::new(core(first)).expect("partners are DFAs");
        let mut rest = partners;
        while rest != 0 {
            let index = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            members[lanes.count()] = index;
            assert!(lanes.push(core(index)), "at most {LANES} partners");
        }
        let mut work = Work::default();
        let ends = lanes.scan(input, &mut work, |lane, pattern| {
            let base = self.automata[members[lane]]
                .as_ref()
                .map_or(u32::MAX, Automaton::base);
            insert(fired, base, pattern)
        });
        tally.meter.charge(work.used() as usize);
        for (&index, &end) in members.iter().zip(&ends).take(lanes.count()) {
            Self::ended::<CHECKED>(index, end, fired, tally);
        }
    }

    fn ended<const CHECKED: bool>(
        index: usize,
        end: ScanEnd,
        fired: &mut Fired,
        tally: &mut Tally<CHECKED>,
    ) {
        match end {
            ScanEnd::Complete => {}
            ScanEnd::Quit => bump::<CHECKED>(&mut tally.counters.automaton_quits),
            ScanEnd::Stopped => fired.overfull |= 1 << index,
        }
    }

    fn word(&self, at: usize) -> usize {
        self.file
            .trigger_word(at)
            .map_or(usize::MAX, |w| w as usize)
    }

    /// The core's rule-index walk: the unindexed rules and the lists of the slots fired when
    /// it starts, merged in rule order.
    fn walk(
        &self,
        index: Index,
        fired: &mut Fired,
        mut visit: impl FnMut(usize, usize, &mut Fired),
    ) {
        let first = index.unindexed + index.slots + 1;
        let mut cursors = [(0usize, 0usize); MAX_FIRED + 1];
        cursors[0] = (0, index.unindexed);
        for (cursor, &slot) in cursors[1..].iter_mut().zip(fired.slots()) {
            let s = index.unindexed + slot as usize;
            *cursor = (first + self.word(s), first + self.word(s + 1));
        }
        let cursors = &mut cursors[..=fired.len];
        loop {
            let least = cursors
                .iter()
                .filter(|(at, end)| at < end)
                .map(|&(at, _)| self.word(at))
                .min();
            let Some(rule) = least else {
                break;
            };
            let mut entries = 0;
            for (at, end) in cursors.iter_mut() {
                if *at < *end && self.word(*at) == rule {
                    *at += 1;
                    entries += 1;
                }
            }
            visit(rule, entries, fired);
        }
    }

    fn run_rule<const CHECKED: bool>(
        &self,
        rule: usize,
        inputs: &[Value<'_>],
        fired: &mut Fired,
        tally: &mut Tally<CHECKED>,
        verdict: &mut Verdict,
        sink: &mut impl MatchSink,
    ) {
        let Some(record) = self.file.rule(rule) else {
            return;
        };
        let start = usize::try_from(record.program_start).unwrap_or(usize::MAX);
        let len = usize::try_from(record.program_len).unwrap_or(0);
        let counted = tally.counters;
        let mut outcome = self.run(start, len, inputs, fired, tally);
        if let Err(waits_on) = outcome {
            tally.counters = counted;
            fired.scanned |= waits_on;
            self.scan(waits_on, inputs, fired, tally);
            outcome = self.run(start, len, inputs, fired, tally);
        }
        if outcome != Ok(true) {
            return;
        }
        let (Some(level), Some(action)) =
            (Level::from_u8(record.level), Action::from_u8(record.action))
        else {
            return;
        };
        let matched = MatchedRule {
            rule: u32::try_from(rule).unwrap_or(u32::MAX),
            level,
            action,
        };
        verdict.matched = verdict.matched.saturating_add(1);
        verdict.action = verdict.action.max(Some(action));
        if !sink.push(matched) {
            verdict.dropped = verdict.dropped.saturating_add(1);
        }
    }

    fn run<const CHECKED: bool>(
        &self,
        start: usize,
        len: usize,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally<CHECKED>,
    ) -> Result<bool, u32> {
        let mut stack = Partial::default();
        let mut waits_on = 0u32;
        for pc in 0..len {
            tally.meter.charge(1);
            let Some(word) = start
                .checked_add(pc)
                .and_then(|at| self.file.instruction(at))
            else {
                return Ok(false);
            };
            let Ok(instruction) = Instruction::decode(word) else {
                return Ok(false);
            };
            let pred = |p| self.predicate(p, inputs, fired, tally, &mut waits_on);
            if !stack.step(instruction, pred) {
                return Ok(false);
            }
        }
        match stack.result() {
            Some(held) => Ok(held),
            None if waits_on != 0 => Err(waits_on),
            None => Ok(false),
        }
    }

    fn decode(&self, index: u32) -> Option<Predicate> {
        let record = self.file.predicate(usize::try_from(index).ok()?)?;
        Some(Predicate {
            field: usize::from(record.field),
            op: Operator::from_u8(record.op)?,
            negate: record.flags & NEGATE != 0,
            all: record.flags & ALL != 0,
            a: record.a,
            b: record.b,
            automaton: usize::from(record.automaton).checked_sub(1),
            pattern: record.pattern,
        })
    }

    fn predicate<const CHECKED: bool>(
        &self,
        index: u32,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally<CHECKED>,
        waits_on: &mut u32,
    ) -> Option<bool> {
        tally.meter.charge(1);
        bump::<CHECKED>(&mut tally.counters.predicates);
        let Some(p) = self.decode(index) else {
            return Some(false);
        };
        if !p.op.reads_input() {
            return Some(true);
        }
        let mut string = |s: &[u16], meter: &mut Meter<CHECKED>| {
            self.string(&p, s, fired, meter)
                .inspect_err(|automaton| *waits_on |= automaton)
                .ok()
        };
        if !CHECKED {
            let held = match self.value::<CHECKED>(inputs, p.field) {
                None | Some(Value::Absent) => p.op == Operator::NullOrEmpty,
                Some(Value::Str(s)) if p.op == Operator::NullOrEmpty => s.is_empty(),
                Some(Value::Str(s)) => string(s, &mut tally.meter)?,
                Some(Value::Int(v)) => integer(&p, v),
            };
            return Some(held != p.negate);
        }
        let Some(&value) = inputs.get(p.field) else {
            bump::<CHECKED>(&mut tally.counters.missing_inputs);
            return Some(false);
        };
        let held = match (p.op, value) {
            (Operator::NullOrEmpty, Value::Absent) => true,
            (Operator::NullOrEmpty, Value::Str(s)) => s.is_empty(),
            (Operator::NullOrEmpty, Value::Int(_)) => false,
            (_, Value::Absent) => return Some(false),
            (op, Value::Str(s)) if op.accepts(FieldType::String) => {
                if s.len() > self.max_units {
                    bump::<CHECKED>(&mut tally.counters.oversized_inputs);
                    return Some(false);
                }
                string(s, &mut tally.meter)?
            }
            (op, Value::Int(v)) if op.accepts(FieldType::Flags) => integer(&p, v),
            _ => {
                bump::<CHECKED>(&mut tally.counters.type_mismatches);
                return Some(false);
            }
        };
        Some(held != p.negate)
    }

    fn operands(&self, p: &Predicate) -> impl Iterator<Item = Operand<'a>> + '_ {
        let first = usize::try_from(p.a).unwrap_or(usize::MAX);
        let count = usize::try_from(p.b).unwrap_or(0);
        (first..first.saturating_add(count)).filter_map(|i| {
            let record = self.file.operand(i)?;
            self.file.operand_bytes(record).map(Operand::new)
        })
    }

    fn string<const CHECKED: bool>(
        &self,
        p: &Predicate,
        input: &[u16],
        fired: &Fired,
        meter: &mut Meter<CHECKED>,
    ) -> Result<bool, u32> {
        let automaton = p
            .automaton
            .and_then(|a| Some((a, self.automata.get(a)?.as_ref()?)));
        Ok(match automaton {
            Some((index, _)) if fired.scanned & (1 << index) == 0 => return Err(1 << index),
            Some((index, a)) if !fired.is_overfull(index) => {
                let first = p.pattern as usize;
                let mut hits = (0..p.pattern_count() as usize).map(|k| {
                    meter.charge(1);
                    a.slot(first + k).is_some_and(|slot| fired.contains(slot))
                });
                if p.all {
                    hits.all(|hit| hit)
                } else {
                    hits.any(|hit| hit)
                }
            }
            Some((_, a)) if matches!(p.op, Operator::Glob | Operator::Regex) => {
                let mut work = Work::default();
                let found = a.finds(input, p.pattern as usize, &mut work);
                meter.charge(work.used() as usize);
                found
            }
            _ => self.direct(p, input, meter),
        })
    }

    fn direct<const CHECKED: bool>(
        &self,
        p: &Predicate,
        input: &[u16],
        meter: &mut Meter<CHECKED>,
    ) -> bool {
        let name = match p.op {
            Operator::Image => file_name(input, meter),
            _ => input,
        };
        let test = |o: Operand<'_>| match p.op {
            Operator::Equals => equals(input, o, meter),
            Operator::BeginsWith => begins_with(input, o, meter),
            Operator::EndsWith => ends_with(input, o, meter),
            Operator::Contains => contains(input, o, meter),
            Operator::LessThan => compare(input, o, meter).is_lt(),
            Operator::MoreThan => compare(input, o, meter).is_gt(),
            Operator::Image => image(input, name, o, meter),
            _ => false,
        };
        let mut operands = self.operands(p);
        if p.all {
            operands.all(test)
        } else {
            operands.any(test)
        }
    }
}

fn integer(p: &Predicate, value: u64) -> bool {
    match p.op {
        Operator::NumEquals => value == p.b,
        Operator::NumLess => value < p.b,
        Operator::NumGreater => value > p.b,
        Operator::FlagsAll => value & p.b == p.b,
        Operator::FlagsAny => value & p.b != 0,
        _ => false,
    }
}

/// `sensor_core::eval`'s `insert`.
fn insert(fired: &mut Fired, base: u32, pattern: usize) -> ControlFlow<()> {
    if fired.insert(base.saturating_add(pattern as u32)) {
        ControlFlow::Continue(())
    } else {
        ControlFlow::Break(())
    }
}

// `sensor_core::fold`'s comparisons, with the meter made optional.

fn agree<'i, const CHECKED: bool>(
    input: impl Iterator<Item = &'i u16>,
    operand: impl Iterator<Item = u16>,
    meter: &mut Meter<CHECKED>,
) -> bool {
    for (&i, o) in input.zip(operand) {
        meter.charge(1);
        if fold(i) != o {
            return false;
        }
    }
    true
}

fn equals<const CHECKED: bool>(input: &[u16], o: Operand<'_>, meter: &mut Meter<CHECKED>) -> bool {
    meter.charge(1);
    input.len() == o.len() && agree(input.iter(), o.units(), meter)
}

fn begins_with<const CHECKED: bool>(
    input: &[u16],
    o: Operand<'_>,
    meter: &mut Meter<CHECKED>,
) -> bool {
    meter.charge(1);
    input.len() >= o.len() && agree(input.iter(), o.units(), meter)
}

fn ends_with<const CHECKED: bool>(
    input: &[u16],
    o: Operand<'_>,
    meter: &mut Meter<CHECKED>,
) -> bool {
    meter.charge(1);
    input.len() >= o.len() && agree(input.iter().rev(), o.units().rev(), meter)
}

fn contains<const CHECKED: bool>(
    input: &[u16],
    o: Operand<'_>,
    meter: &mut Meter<CHECKED>,
) -> bool {
    meter.charge(1);
    if o.is_empty() {
        return true;
    }
    input
        .windows(o.len())
        .any(|window| agree(window.iter(), o.units(), meter))
}

fn compare<const CHECKED: bool>(
    input: &[u16],
    o: Operand<'_>,
    meter: &mut Meter<CHECKED>,
) -> std::cmp::Ordering {
    meter.charge(1);
    for (&i, u) in input.iter().zip(o.units()) {
        meter.charge(1);
        match fold(i).cmp(&u) {
            std::cmp::Ordering::Equal => {}
            unequal => return unequal,
        }
    }
    input.len().cmp(&o.len())
}

fn file_name<'i, const CHECKED: bool>(path: &'i [u16], meter: &mut Meter<CHECKED>) -> &'i [u16] {
    meter.charge(path.len());
    let start = path
        .iter()
        .rposition(|&u| u == u16::from(b'\\'))
        .map_or(0, |i| i.saturating_add(1));
    path.get(start..).unwrap_or_default()
}

fn image<const CHECKED: bool>(
    input: &[u16],
    name: &[u16],
    o: Operand<'_>,
    meter: &mut Meter<CHECKED>,
) -> bool {
    equals(input, o, meter) || (!o.contains_unit(u16::from(b'\\')) && equals(name, o, meter))
}

/// Evaluates `inputs` with the core and with both twins; fails on the first event where the
/// checked twin's verdict (counters and work included) differs from the core's, or where the
/// unchecked twin's matches differ.
pub fn check_twin(
    rules: &RuleSet<'_>,
    twin: &Twin<'_>,
    inputs: &[[Value<'_>; sensor_core::FIELD_COUNT_IPC]],
) -> Result<(), String> {
    let (mut core, mut checked, mut unchecked) = (Vec::new(), Vec::new(), Vec::new());
    for (i, values) in inputs.iter().enumerate() {
        core.clear();
        checked.clear();
        unchecked.clear();
        let want = rules.evaluate(values, &mut |m: MatchedRule| {
            core.push(m);
            true
        });
        let got = twin.evaluate::<true>(values, &mut |m: MatchedRule| {
            checked.push(m);
            true
        });
        if got != want || checked != core {
            return Err(format!(
                "event {i}: the checked twin differs from the core: core {want:?} {core:?}, twin {got:?} {checked:?}"
            ));
        }
        let bare = twin.evaluate::<false>(values, &mut |m: MatchedRule| {
            unchecked.push(m);
            true
        });
        if unchecked != core || bare.matched != want.matched || bare.action != want.action {
            return Err(format!(
                "event {i}: the unchecked twin differs from the core: core {core:?}, twin {unchecked:?}"
            ));
        }
        if bare.counters != Counters::default() {
            return Err(format!(
                "event {i}: the unchecked twin counted {:?}",
                bare.counters
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::events::EventSet;
    use crate::bench::generate;
    use crate::builtin::{compile_builtin, DEFAULT_RULES};
    use sensor_core::schema::{SENSOR_7_11, SENSOR_FIXED};

    #[test]
    fn twin_matches_the_core_on_the_default_rules() {
        let buf = compile_builtin("default.toml", DEFAULT_RULES);
        let events = EventSet::synthetic(2000, 3);
        for sensor in [SENSOR_FIXED, SENSOR_7_11] {
            let rules = RuleSet::load(buf.as_bytes(), &sensor).expect("loads");
            let twin = Twin::new(buf.as_bytes(), &sensor).expect("twin");
            check_twin(&rules, &twin, &events.inputs()).expect("same verdicts");
        }
    }

    #[test]
    fn twin_matches_the_core_on_generated_rules_with_automata() {
        let set = generate::build(150, 8).expect("compiles");
        assert!(set.mix.patterns() > 10, "the set exercises automata");
        let rules = RuleSet::load(set.bytes.as_bytes(), &SENSOR_FIXED).expect("loads");
        let twin = Twin::new(set.bytes.as_bytes(), &SENSOR_FIXED).expect("twin");
        let events = EventSet::synthetic(1000, 4);
        check_twin(&rules, &twin, &events.inputs()).expect("same verdicts");
    }

    #[test]
    fn checked_twin_reports_a_missing_input_like_the_core() {
        let buf = compile_builtin("default.toml", DEFAULT_RULES);
        let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).expect("loads");
        let twin = Twin::new(buf.as_bytes(), &SENSOR_FIXED).expect("twin");
        let events = EventSet::synthetic(10, 1);
        let inputs = events.inputs();
        let short = &inputs[0][..2];
        let want = rules.evaluate(short, &mut |_: MatchedRule| true);
        let got = twin.evaluate::<true>(short, &mut |_: MatchedRule| true);
        assert!(want.counters.missing_inputs > 0);
        assert_eq!(got, want);
    }

    #[test]
    #[should_panic(expected = "fewer inputs than supplied")]
    fn unchecked_twin_refuses_a_short_input_array() {
        let buf = compile_builtin("default.toml", DEFAULT_RULES);
        let twin = Twin::new(buf.as_bytes(), &SENSOR_FIXED).expect("twin");
        twin.evaluate::<false>(&[Value::Absent; 20], &mut |_: MatchedRule| true);
    }
}
