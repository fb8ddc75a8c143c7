//! The interpreter: one event against a validated [`RuleSet`], in bounded time, without
//! allocation or recursion.
//!
//! An event is evaluated in two steps. First every automaton scans its field once, and the
//! slots that fired (a DFA's patterns, a dictionary's keys) are kept in a short list
//! ([`crate::fired`]). Then the rules run, in rule order: with a rule index, only the unindexed
//! rules and those listed under a fired slot (the loader proved the others cannot match);
//! without one, or when an automaton fired more slots than the list holds, every rule. A
//! predicate an automaton tests is looked up in the list, or, for an overfull automaton, tested
//! directly: literal operators compare their operands, globs and regexes rescan the field for
//! their one pattern. Either way the verdict
//! is the same; only the time differs.
//!
//! Validation already proved every record sound, yet each input access is still checked: a field
//! the event does not carry, a value of the wrong type or a string longer than the sensor
//! declared makes that predicate false and bumps a counter. Nothing here can fault. Matched rules
//! go to a caller-provided [`MatchSink`]; the [`Verdict`] carries the decisive action, the
//! counters and the work spent, which never exceeds [`RuleSet::worst_case_work`].

use core::cmp::Ordering;
use core::ops::ControlFlow;

use crate::automaton::{Automaton, ScanEnd};
use crate::error::Section;
use crate::fired::Fired;
use crate::fold::{self, Meter, Operand};
use crate::input::Value;
use crate::op::{Action, Level, Operator};
use crate::program::{Instruction, Stack};
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

fn bump(counter: &mut u32) {
    *counter = counter.saturating_add(1);
}

impl<'a> RuleSet<'a> {
    /// Evaluates one event. `inputs[i]` is the value of template field `i`; a sensor that
    /// supplies fewer fields passes a shorter slice.
    pub fn evaluate(&self, inputs: &[Value<'_>], sink: &mut impl MatchSink) -> Verdict {
        let mut tally = Tally::default();
        let fired = self.scan(inputs, &mut tally);
        let mut verdict = Verdict::default();
        match self.index.filter(|_| !fired.any_overfull()) {
            Some(index) => index.walk(&self.file, fired.slots(), |rule, entries| {
                tally.meter.charge(entries);
                self.run_rule(rule, inputs, &fired, &mut tally, &mut verdict, sink);
            }),
            None => {
                for rule in 0..self.file.count(Section::Rules) {
                    self.run_rule(rule, inputs, &fired, &mut tally, &mut verdict, sink);
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

    /// Runs every automaton over its field once and lists the patterns that matched.
    fn scan(&self, inputs: &[Value<'_>], tally: &mut Tally) -> Fired {
        let mut fired = Fired::default();
        for (index, automaton) in self.automata.iter().enumerate() {
            let Some(automaton) = automaton else {
                continue;
            };
            let Some(input) = self.scannable(automaton, inputs, &mut tally.counters) else {
                continue;
            };
            let base = automaton.base();
            let end = automaton.scan(input, &mut tally.meter, |pattern| {
                let slot = u32::try_from(pattern)
                    .ok()
                    .and_then(|p| base.checked_add(p))
                    .unwrap_or(u32::MAX);
                if fired.insert(slot) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            });
            match end {
                ScanEnd::Complete => {}
                ScanEnd::Quit => bump(&mut tally.counters.automaton_quits),
                ScanEnd::Stopped => fired.mark_overfull(index),
            }
        }
        fired
    }

    /// Runs rule `rule` and reports it to `sink` if it matched.
    fn run_rule(
        &self,
        rule: usize,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally,
        verdict: &mut Verdict,
        sink: &mut impl MatchSink,
    ) {
        let Some(record) = self.file.rule(rule) else {
            return;
        };
        let start = usize::try_from(record.program_start).unwrap_or(usize::MAX);
        let len = usize::try_from(record.program_len).unwrap_or(0);
        if !self.run(start, len, inputs, fired, tally) {
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

    fn run(
        &self,
        start: usize,
        len: usize,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally,
    ) -> bool {
        let mut stack = Stack::default();
        for pc in 0..len {
            tally.meter.charge(1);
            let Some(word) = start
                .checked_add(pc)
                .and_then(|at| self.file.instruction(at))
            else {
                return false;
            };
            let Ok(instruction) = Instruction::decode(word) else {
                return false;
            };
            if !stack.step(instruction, |p| self.predicate(p, inputs, fired, tally)) {
                return false;
            }
        }
        stack.result()
    }

    fn predicate(
        &self,
        index: u32,
        inputs: &[Value<'_>],
        fired: &Fired,
        tally: &mut Tally,
    ) -> bool {
        tally.meter.charge(1);
        bump(&mut tally.counters.predicates);
        let Some(p) = usize::try_from(index)
            .ok()
            .and_then(|i| self.file.predicate(i))
            .and_then(Predicate::decode)
        else {
            return false;
        };
        if !p.op.reads_input() {
            return true;
        }
        let Some(&value) = inputs.get(p.field) else {
            bump(&mut tally.counters.missing_inputs);
            return false;
        };
        let held = match (p.op, value) {
            (Operator::NullOrEmpty, Value::Absent) => true,
            (Operator::NullOrEmpty, Value::Str(s)) => s.is_empty(),
            (Operator::NullOrEmpty, Value::Int(_)) => false,
            (_, Value::Absent) => return false,
            (op, Value::Str(s)) if op.accepts(FieldType::String) => {
                if s.len() > self.max_units {
                    bump(&mut tally.counters.oversized_inputs);
                    return false;
                }
                self.string(&p, s, fired, &mut tally.meter)
            }
            (op, Value::Int(v)) if op.accepts(FieldType::Flags) => integer(&p, v),
            _ => {
                bump(&mut tally.counters.type_mismatches);
                return false;
            }
        };
        held != p.negate
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
    /// did not overflow the list; otherwise tested directly.
    fn string(&self, p: &Predicate, input: &[u16], fired: &Fired, meter: &mut Meter) -> bool {
        let automaton = p
            .automaton
            .and_then(|a| Some((a, self.automata.get(a)?.as_ref()?)));
        match automaton {
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
        }
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
