//! The interpreter: one event against a validated [`RuleSet`], in bounded time, without
//! allocation or recursion.
//!
//! An event is evaluated in two steps. First every automaton the rule index needs scans its
//! field once (DFAs of one field together, [`crate::automaton::Lanes`]), and the slots that
//! fired (a DFA's patterns, a dictionary's keys) are kept in a short list ([`crate::fired`]).
//! Then the rules run, in rule order: with a rule index, only the unindexed rules and those
//! listed under a fired slot (the loader proved the others cannot match); without one, or when
//! an automaton fired more slots than the list holds, every rule. A predicate an automaton tests
//! is looked up in the list, or, for an overfull automaton, tested directly: literal operators
//! compare their operands, globs and regexes rescan the field for their one pattern. Either way
//! the verdict is the same; only the time differs. (DFAs in lanes report in the order their
//! matches come, so when together they overfill the list, which of them is marked overfull
//! depends on the input; the verdict does not, the work and predicate counts may.)
//!
//! An automaton under whose slots the index lists no rule is *lazy*: it scans only when a rule
//! needs it. A rule runs first in three-valued logic ([`Partial`]), a predicate of a lazy
//! automaton that has not scanned being unknown; only if the outcome turns on such a predicate
//! do those automata scan, and the rule runs again, now fully known. So the automata of a field
//! that rules only test in filters (`and not` an image) scan only on the events where some rule
//! got that far, and each automaton scans an event at most once.
//!
//! Validation already proved every record sound, yet each input access is still checked: a field
//! the event does not carry, a value of the wrong type or a string longer than the sensor
//! declared makes that predicate false and bumps a counter. Nothing here can fault. Matched rules
//! go to a caller-provided [`MatchSink`]; the [`Verdict`] carries the decisive action, the
//! counters and the work spent, which never exceeds [`RuleSet::worst_case_work`].

use core::cmp::Ordering;
use core::ops::ControlFlow;

use crate::automaton::{Automaton, Lanes, ScanEnd, LANES};
use crate::error::Section;
use crate::fired::{bit, Fired};
use crate::fold::{self, Meter, Operand};
use crate::input::Value;
use crate::op::{Action, Level, Operator};
use crate::program::{Instruction, Partial};
use crate::schema::FieldType;
use crate::validate::{Predicate, RuleSet};

/// A rule that matched an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchedRule {
    /// Index of the rule in its rule set.
    pub rule: u32,
    /// The rule's level.
    pub level: Level,
    /// The rule's action.
    pub action: Action,
}

/// Receives matched rules, in rule order.
pub trait MatchSink {
    /// Takes one match; returns `false` if it had no room (the match is counted as dropped).
    fn push(&mut self, matched: MatchedRule) -> bool;
}

impl<F: FnMut(MatchedRule) -> bool> MatchSink for F {
    fn push(&mut self, matched: MatchedRule) -> bool {
        self(matched)
    }
}

/// A fixed-capacity match buffer for callers without a heap.
#[derive(Clone, Copy, Debug)]
pub struct MatchBuffer<const N: usize> {
    items: [MatchedRule; N],
    len: usize,
}

impl<const N: usize> Default for MatchBuffer<N> {
    fn default() -> Self {
        Self {
            items: [MatchedRule {
                rule: 0,
                level: Level::Informational,
                action: Action::Log,
            }; N],
            len: 0,
        }
    }
}

impl<const N: usize> MatchBuffer<N> {
    /// The matches held.
    pub fn as_slice(&self) -> &[MatchedRule] {
        self.items.get(..self.len).unwrap_or_default()
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl<const N: usize> MatchSink for MatchBuffer<N> {
    fn push(&mut self, matched: MatchedRule) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = matched;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }
}

/// What one evaluation did, beyond its matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Predicates evaluated.
    pub predicates: u32,
    /// Reads of a field the event did not carry, by a predicate or an automaton (false, never
    /// a fault).
    pub missing_inputs: u32,
    /// Reads of a field whose value had the wrong type, by a predicate or an automaton.
    pub type_mismatches: u32,
    /// Reads of a string longer than the sensor declared, by a predicate or an automaton.
    pub oversized_inputs: u32,
    /// Automaton scans that stopped on a quit byte.
    pub automaton_quits: u32,
    /// Work units spent.
    pub work: u64,
}

/// The outcome of one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Rules that matched.
    pub matched: u32,
    /// Matches the sink had no room for.
    pub dropped: u32,
    /// The strongest action among matched rules, if any matched.
    pub action: Option<Action>,
    /// What the evaluation did.
    pub counters: Counters,
}

/// Per-event work and counters.
#[derive(Default)]
struct Tally {
    meter: Meter,
    counters: Counters,
}

/// Adds the slot of `pattern`, reported by the automaton whose slots start at `base`, to
/// `fired`; breaks when the list is full.
fn insert(fired: &mut Fired, base: u32, pattern: usize) -> ControlFlow<()> {
    let slot = u32::try_from(pattern)
        .ok()
        .and_then(|p| base.checked_add(p))
        .unwrap_or(u32::MAX);
    if fired.insert(slot) {
        ControlFlow::Continue(())
    } else {
        ControlFlow::Break(())
    }
}

/// Counts how automaton `index`'s scan ended.
fn ended(index: usize, end: ScanEnd, fired: &mut Fired, tally: &mut Tally) {
    match end {
        ScanEnd::Complete => {}
        ScanEnd::Quit => bump(&mut tally.counters.automaton_quits),
        ScanEnd::Stopped => fired.mark_overfull(index),
    }
}

fn bump(counter: &mut u32) {
    *counter = counter.saturating_add(1);
}

impl<'a> RuleSet<'a> {
    /// Evaluates one event. `inputs[i]` is the value of template field `i`; a sensor that
    /// supplies fewer fields passes a shorter slice.
    pub fn evaluate(&self, inputs: &[Value<'_>], sink: &mut impl MatchSink) -> Verdict {
        let mut tally = Tally::default();
        let mut fired = Fired::new(self.eager);
        self.scan(self.eager, inputs, &mut fired, &mut tally);
        let mut verdict = Verdict::default();
        match self.index.filter(|_| !fired.any_overfull()) {
            Some(index) => index.walk(&self.file, &mut fired, |rule, entries, fired| {
                tally.meter.charge(entries);
                self.run_rule(rule, inputs, fired, &mut tally, &mut verdict, sink);
            }),
            None => {
                for rule in 0..self.file.count(Section::Rules) {
                    self.run_rule(rule, inputs, &mut fired, &mut tally, &mut verdict, sink);
                }
            }
        }
        tally.counters.work = tally.meter.used();
        verdict.counters = tally.counters;
        verdict
    }

    /// The string an automaton may read: its field's value, if that is a string within the
    /// sensor's declared length. A field that is missing, too long or not a string is counted
    /// here, once per automaton, since the rules that read it may never run.
    fn scannable<'i>(
        &self,
        automaton: &Automaton<'_>,
        inputs: &[Value<'i>],
        counters: &mut Counters,
    ) -> Option<&'i [u16]> {
        match inputs.get(usize::from(automaton.field())) {
            Some(&Value::Str(s)) if s.len() <= self.max_units => Some(s),
            Some(Value::Str(_)) => {
                bump(&mut counters.oversized_inputs);
                None
            }
            Some(Value::Int(_)) => {
                bump(&mut counters.type_mismatches);
                None
            }
            Some(Value::Absent) => None,
            None => {
                bump(&mut counters.missing_inputs);
                None
            }
        }
    }

    /// Runs each automaton of `todo` (by bit, already marked scanned in `fired`) over its
    /// field, and adds the patterns that matched to `fired`. An automaton with partners in
    /// `todo` (DFAs that read the whole input and the same field, grouped by the loader) scans
    /// with them in one pass, [`LANES`] at a time.
    ///
    /// The caller marks them, at `Fired::new` for the eager ones: reading the mask back here,
    /// just after the list was zeroed, stalled on store forwarding and cost the Sigma set 4–7%.
    fn scan(&self, mut todo: u32, inputs: &[Value<'_>], fired: &mut Fired, tally: &mut Tally) {
        while todo != 0 {
            let index = todo.trailing_zeros() as usize;
            todo &= todo.wrapping_sub(1);
            let Some(Some(automaton)) = self.automata.get(index) else {
                continue;
            };
            let Some(input) = self.scannable(automaton, inputs, &mut tally.counters) else {
                continue;
            };
            let partners = self.partners.get(index).map_or(0, |p| p & todo);
            if partners == 0 {
                self.scan_alone(index, automaton, input, fired, tally);
            } else {
                todo &= !partners;
                todo |= self.scan_lanes(index, partners, input, fired, tally);
            }
        }
    }

    /// Scans `input` with automaton `index` alone.
    fn scan_alone(
        &self,
        index: usize,
        automaton: &Automaton<'_>,
        input: &[u16],
        fired: &mut Fired,
        tally: &mut Tally,
    ) {
        let end = automaton.scan(input, &mut tally.meter, |pattern| {
            insert(fired, automaton.base(), pattern)
        });
        ended(index, end, fired, tally);
    }

    /// Scans `input` with DFA `first` and its `partners` (by bit) in one pass; returns the
    /// partners it could not take, which the caller scans later.
    ///
    /// Never inlined: its frame would otherwise sit under every scan, lanes or not, on the
    /// evaluation's deepest stack path.
    #[inline(never)]
    fn scan_lanes(
        &self,
        first: usize,
        partners: u32,
        input: &[u16],
        fired: &mut Fired,
        tally: &mut Tally,
    ) -> u32 {
        let automaton = |index: usize| self.automata.get(index).and_then(Option::as_ref);
        let Some(first_automaton) = automaton(first) else {
            return partners;
        };
        let Some(mut lanes) = Lanes::new(first_automaton) else {
            self.scan_alone(first, first_automaton, input, fired, tally);
            return partners;
        };
        let mut members = [first; LANES];
        let mut left = 0u32;
        let mut rest = partners;
        while rest != 0 {
            let index = rest.trailing_zeros() as usize;
            rest &= rest.wrapping_sub(1);
            let lane = lanes.count();
            match (automaton(index), members.get_mut(lane)) {
                (Some(a), Some(member)) if lanes.push(a) => *member = index,
                _ => left |= bit(index).unwrap_or(0),
            }
        }
        let ends = lanes.scan(input, &mut tally.meter, |lane, pattern| {
            let base = members
                .get(lane)
                .and_then(|&index| automaton(index))
                .map_or(u32::MAX, Automaton::base);
            insert(fired, base, pattern)
        });
        for (&index, &end) in members.iter().zip(&ends).take(lanes.count()) {
            ended(index, end, fired, tally);
        }
        left
    }

    /// Runs rule `rule` and reports it to `sink` if it matched.
    ///
    /// A rule left undecided by its first run names the lazy automata it waits on; they scan,
    /// and the second run knows every predicate, so a rule runs at most twice. The meter charges
    /// both runs; the counters keep only the run that decided, so that they describe the rules
    /// that ran whether or not some automata waited.
    fn run_rule(
        &self,
        rule: usize,
        inputs: &[Value<'_>],
        fired: &mut Fired,
        tally: &mut Tally,
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
            fired.mark_scanned(waits_on);
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
            bump(&mut verdict.dropped);
        }
    }

    /// Runs a rule's program: `Ok` with its value when known, or `Err` with the lazy automata,
    /// by bit, whose unknown predicates left it undecided. A program that cannot run is false.
    fn run(
        &self,
        start: usize,
        len: usize,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally,
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

    /// A predicate's value, or `None` when it waits on a lazy automaton, which is then added
    /// to `waits_on`.
    fn predicate(
        &self,
        index: u32,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally,
        waits_on: &mut u32,
    ) -> Option<bool> {
        tally.meter.charge(1);
        bump(&mut tally.counters.predicates);
        let Some(p) = usize::try_from(index)
            .ok()
            .and_then(|i| self.file.predicate(i))
            .and_then(Predicate::decode)
        else {
            return Some(false);
        };
        if !p.op.reads_input() {
            return Some(true);
        }
        let Some(&value) = inputs.get(p.field) else {
            bump(&mut tally.counters.missing_inputs);
            return Some(false);
        };
        let held = match (p.op, value) {
            (Operator::NullOrEmpty, Value::Absent) => true,
            (Operator::NullOrEmpty, Value::Str(s)) => s.is_empty(),
            (Operator::NullOrEmpty, Value::Int(_)) => false,
            (_, Value::Absent) => return Some(false),
            (op, Value::Str(s)) if op.accepts(FieldType::String) => {
                if s.len() > self.max_units {
                    bump(&mut tally.counters.oversized_inputs);
                    return Some(false);
                }
                match self.string(&p, s, fired, &mut tally.meter) {
                    Ok(held) => held,
                    Err(automaton) => {
                        *waits_on |= automaton;
                        return None;
                    }
                }
            }
            (op, Value::Int(v)) if op.accepts(FieldType::Flags) => integer(&p, v),
            _ => {
                bump(&mut tally.counters.type_mismatches);
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

    /// A string predicate: looked up among the fired patterns when an automaton tests it and
    /// did not overflow the list; otherwise tested directly. `Err` with the automaton's bit
    /// when it is lazy and has not scanned yet.
    fn string(
        &self,
        p: &Predicate,
        input: &[u16],
        fired: &Fired,
        meter: &mut Meter,
    ) -> Result<bool, u32> {
        let automaton = p
            .automaton
            .and_then(|a| Some((a, self.automata.get(a)?.as_ref()?)));
        Ok(match automaton {
            Some((index, _)) if !fired.is_scanned(index) => return Err(bit(index).unwrap_or(0)),
            Some((index, automaton)) if !fired.is_overfull(index) => {
                let mut slots = p.slots(automaton).map(|slot| {
                    meter.charge(1);
                    slot.is_some_and(|slot| fired.contains(slot))
                });
                if p.all {
                    slots.all(|hit| hit)
                } else {
                    slots.any(|hit| hit)
                }
            }
            Some((_, automaton)) if matches!(p.op, Operator::Glob | Operator::Regex) => {
                let pattern = usize::try_from(p.pattern).unwrap_or(usize::MAX);
                automaton.finds(input, pattern, meter)
            }
            _ => self.direct(p, input, meter),
        })
    }

    /// A literal string predicate compared operand by operand.
    fn direct(&self, p: &Predicate, input: &[u16], meter: &mut Meter) -> bool {
        let name = match p.op {
            Operator::Image => fold::file_name(input, meter),
            _ => input,
        };
        let test = |o: Operand<'_>| match p.op {
            Operator::Equals => fold::equals(input, o, meter),
            Operator::BeginsWith => fold::begins_with(input, o, meter),
            Operator::EndsWith => fold::ends_with(input, o, meter),
            Operator::Contains => fold::contains(input, o, meter),
            Operator::LessThan => fold::compare(input, o, meter) == Ordering::Less,
            Operator::MoreThan => fold::compare(input, o, meter) == Ordering::Greater,
            Operator::Image => fold::image(input, name, o, meter),
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
