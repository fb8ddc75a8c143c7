//! The interpreter: one event against a validated [`RuleSet`], in bounded time, without
//! allocation or recursion.
//!
//! Validation already proved every record sound, yet each input access is still checked: a field
//! the event does not carry, a value of the wrong type or a string longer than the sensor
//! declared makes that predicate false and bumps a counter. Nothing here can fault. Matched rules
//! go to a caller-provided [`MatchSink`]; the [`Verdict`] carries the decisive action, the
//! counters and the work spent, which never exceeds [`RuleSet::worst_case_work`].

use core::cmp::Ordering;

use crate::automaton::{PatternSet, ScanEnd};
use crate::error::Section;
use crate::fold::{self, Meter, Operand};
use crate::input::Value;
use crate::limits::MAX_AUTOMATA;
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
    /// Predicates that named a field the event did not carry (false, never a fault).
    pub missing_inputs: u32,
    /// Predicates whose input had the wrong type for the operator.
    pub type_mismatches: u32,
    /// Predicates whose string input was longer than the sensor declared.
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

/// Per-event state: which automata have scanned, and what they found.
struct Scratch {
    scanned: u32,
    found: [PatternSet; MAX_AUTOMATA],
    meter: Meter,
    counters: Counters,
}

impl Scratch {
    fn bump(counter: &mut u32) {
        *counter = counter.saturating_add(1);
    }
}

impl<'a> RuleSet<'a> {
    /// Evaluates one event. `inputs[i]` is the value of template field `i`; a sensor that
    /// supplies fewer fields passes a shorter slice.
    pub fn evaluate(&self, inputs: &[Value<'_>], sink: &mut impl MatchSink) -> Verdict {
        let mut scratch = Scratch {
            scanned: 0,
            found: [PatternSet::default(); MAX_AUTOMATA],
            meter: Meter::default(),
            counters: Counters::default(),
        };
        let mut verdict = Verdict::default();
        for rule in 0..self.file.count(Section::Rules) {
            let Some(record) = self.file.rule(rule) else {
                break;
            };
            let start = usize::try_from(record.program_start).unwrap_or(usize::MAX);
            let len = usize::try_from(record.program_len).unwrap_or(0);
            if !self.run(start, len, inputs, &mut scratch) {
                continue;
            }
            let (Some(level), Some(action)) =
                (Level::from_u8(record.level), Action::from_u8(record.action))
            else {
                continue;
            };
            let matched = MatchedRule {
                rule: u32::try_from(rule).unwrap_or(u32::MAX),
                level,
                action,
            };
            verdict.matched = verdict.matched.saturating_add(1);
            verdict.action = verdict.action.max(Some(action));
            if !sink.push(matched) {
                Scratch::bump(&mut verdict.dropped);
            }
        }
        scratch.counters.work = scratch.meter.used();
        verdict.counters = scratch.counters;
        verdict
    }

    fn run(&self, start: usize, len: usize, inputs: &[Value<'_>], scratch: &mut Scratch) -> bool {
        let mut stack = Stack::default();
        for pc in 0..len {
            scratch.meter.charge(1);
            let Some(word) = start
                .checked_add(pc)
                .and_then(|at| self.file.instruction(at))
            else {
                return false;
            };
            let Ok(instruction) = Instruction::decode(word) else {
                return false;
            };
            if !stack.step(instruction, |p| self.predicate(p, inputs, scratch)) {
                return false;
            }
        }
        stack.result()
    }

    fn predicate(&self, index: u32, inputs: &[Value<'_>], scratch: &mut Scratch) -> bool {
        scratch.meter.charge(1);
        Scratch::bump(&mut scratch.counters.predicates);
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
            Scratch::bump(&mut scratch.counters.missing_inputs);
            return false;
        };
        let held = match (p.op, value) {
            (Operator::NullOrEmpty, Value::Absent) => true,
            (Operator::NullOrEmpty, Value::Str(s)) => s.is_empty(),
            (Operator::NullOrEmpty, Value::Int(_)) => false,
            (_, Value::Absent) => return false,
            (op, Value::Str(s)) if op.accepts(FieldType::String) => {
                if s.len() > self.max_units {
                    Scratch::bump(&mut scratch.counters.oversized_inputs);
                    return false;
                }
                self.string(&p, s, scratch)
            }
            (op, Value::Int(v)) if op.accepts(FieldType::Flags) => integer(&p, v),
            _ => {
                Scratch::bump(&mut scratch.counters.type_mismatches);
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

    fn string(&self, p: &Predicate, input: &[u16], scratch: &mut Scratch) -> bool {
        if matches!(p.op, Operator::Glob | Operator::Regex) {
            return self.pattern(p, input, scratch);
        }
        let meter = &mut scratch.meter;
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

    /// A glob or regex predicate: scans the field with its automaton once per event, then looks
    /// the pattern up in what the scan found.
    fn pattern(&self, p: &Predicate, input: &[u16], scratch: &mut Scratch) -> bool {
        let index = usize::try_from(p.a).unwrap_or(usize::MAX);
        let Some(Some(automaton)) = self.automata.get(index) else {
            return false;
        };
        let Some(found) = scratch.found.get_mut(index) else {
            return false;
        };
        let bit = 1u32.wrapping_shl(p.a);
        if scratch.scanned & bit == 0 {
            scratch.scanned |= bit;
            if automaton.scan(input, found, &mut scratch.meter) == ScanEnd::Quit {
                Scratch::bump(&mut scratch.counters.automaton_quits);
            }
        }
        found.contains(usize::try_from(p.b).unwrap_or(usize::MAX))
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
