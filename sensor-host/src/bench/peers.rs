//! The engines ours is measured against, on the same rules and the same encoded events.
//!
//! - [`Naive`]: a rule-by-rule evaluator over the rules' IR ([`crate::ir::Content`]): every
//!   rule's condition tree, every predicate compared directly (case-folded code units as the
//!   core folds them), one `regex::Regex` per glob or regex predicate. It keeps the core's
//!   semantics for missing, absent, oversized and mistyped inputs, so its verdicts must equal
//!   the core's; [`check_agreement`] proves that on a sample before anything is timed.
//! - [`RegexSetPeer`]: what a user would otherwise pick: one `regex::RegexSet` per string field
//!   holding every string predicate's operands as patterns (escaped literals under `(?i)` with
//!   `\A`/`\z` anchors for equals, begins-with, ends-with and image; unanchored for contains;
//!   globs and regexes as the compiler writes them), one `matches` pass per field per event,
//!   then every rule's condition evaluated from the set's matches. It is a complete matcher
//!   with the same verdicts, not only the set pass.
//! - [`Floor`]: one `memchr` pass over the UTF-16 bytes of the string fields the rules read:
//!   what it costs to look at each input byte once, whatever the engine.
//! - [`ChainFloor`]: one read per code unit of the same fields, each at an address the read
//!   before it gave: what scans that move a state one unit at a time, field after field, pay
//!   for the chain alone, with every read in L1; and the same with two fields paired.
//!
//! Peers that need UTF-8 (the regex crate) transcode each UTF-16 input once per event into a
//! reused buffer; that transcoding is part of their measured time, as the core's on-the-fly
//! transcoding is part of ours.

use std::time::{Duration, Instant};

use regex::{Regex, RegexSet, RegexSetBuilder};
use sensor_core::fold::fold;
use sensor_core::op::Operator;
use sensor_core::{FieldType, MatchedRule, RuleSet, Value, FIELD_COUNT_IPC};

use crate::compile::glob_to_regex;
use crate::ir::{Content, Expr, Operand, Predicate};
use crate::reference::Reference;

use super::events::EventSet;

const BACKSLASH: u16 = b'\\' as u16;

/// The regular expression the compiler puts in a field's automaton for a glob or regex
/// predicate (`compile.rs`, `pattern_text`).
pub fn pattern_text(p: &Predicate, text: &str) -> String {
    match p.op {
        Operator::Glob => glob_to_regex(text),
        _ if p.case_insensitive => format!("(?i:{text})"),
        _ => text.to_owned(),
    }
}

/// What the core's input checks make of one predicate's input before its operator runs
/// (`sensor-core/src/eval.rs`, `predicate`).
enum Reading<'a> {
    /// The predicate's value, negation already settled (missing, absent, mistyped, oversized
    /// inputs are false even when negated; a wildcard is true).
    Final(bool),
    /// The operator's result before negation (null-or-empty).
    Held(bool),
    /// A string to test.
    Str(&'a [u16]),
    /// An integer to test.
    Int(u64),
}

fn read<'a>(op: Operator, field: usize, inputs: &[Value<'a>], max_units: usize) -> Reading<'a> {
    if !op.reads_input() {
        return Reading::Final(true);
    }
    let Some(&value) = inputs.get(field) else {
        return Reading::Final(false);
    };
    match (op, value) {
        (Operator::NullOrEmpty, Value::Absent) => Reading::Held(true),
        (Operator::NullOrEmpty, Value::Str(s)) => Reading::Held(s.is_empty()),
        (Operator::NullOrEmpty, Value::Int(_)) => Reading::Held(false),
        (_, Value::Absent) => Reading::Final(false),
        (op, Value::Str(s)) if op.accepts(FieldType::String) => {
            if s.len() > max_units {
                Reading::Final(false)
            } else {
                Reading::Str(s)
            }
        }
        (op, Value::Int(v)) if op.accepts(FieldType::Flags) => Reading::Int(v),
        _ => Reading::Final(false),
    }
}

fn integer(op: Operator, value: u64, immediate: u64) -> bool {
    match op {
        Operator::NumEquals => value == immediate,
        Operator::NumLess => value < immediate,
        Operator::NumGreater => value > immediate,
        Operator::FlagsAll => value & immediate == immediate,
        Operator::FlagsAny => value & immediate != 0,
        _ => false,
    }
}

fn immediate(p: &Predicate) -> u64 {
    match p.operands.first() {
        Some(Operand::Int(v)) => *v,
        _ => 0,
    }
}

fn folded(p: &Predicate) -> Vec<Vec<u16>> {
    p.operands
        .iter()
        .filter_map(|o| match o {
            Operand::Str(s) => Some(s.encode_utf16().map(fold).collect()),
            Operand::Int(_) => None,
        })
        .collect()
}

fn same(input: &[u16], operand: &[u16]) -> bool {
    input.len() == operand.len() && input.iter().zip(operand).all(|(&i, &o)| fold(i) == o)
}

fn file_name(path: &[u16]) -> &[u16] {
    match path.iter().rposition(|&u| u == BACKSLASH) {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// One string operator applied to one folded operand, the plain way.
fn string_test(op: Operator, input: &[u16], operand: &[u16]) -> bool {
    match op {
        Operator::Equals => same(input, operand),
        Operator::BeginsWith => {
            input.len() >= operand.len() && same(&input[..operand.len()], operand)
        }
        Operator::EndsWith => {
            input.len() >= operand.len() && same(&input[input.len() - operand.len()..], operand)
        }
        Operator::Contains => {
            operand.is_empty() || input.windows(operand.len()).any(|w| same(w, operand))
        }
        Operator::LessThan | Operator::MoreThan => {
            let order = input
                .iter()
                .zip(operand)
                .map(|(&i, o)| fold(i).cmp(o))
                .find(|o| o.is_ne())
                .unwrap_or(input.len().cmp(&operand.len()));
            order
                == if op == Operator::LessThan {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
        }
        Operator::Image => {
            same(input, operand)
                || (!operand.contains(&BACKSLASH) && same(file_name(input), operand))
        }
        _ => false,
    }
}

/// Evaluates a condition tree, recursively, with `pred` giving predicate values.
fn holds(expr: &Expr, pred: &mut impl FnMut(usize) -> bool) -> bool {
    match expr {
        Expr::Pred(i) => pred(*i),
        Expr::Not(inner) => !holds(inner, pred),
        Expr::And(items) => items.iter().all(|e| holds(e, pred)),
        Expr::Or(items) => items.iter().any(|e| holds(e, pred)),
    }
}

/// UTF-16 to UTF-8 into a reused buffer, unpaired surrogates as U+FFFD (as the core feeds its
/// automata).
fn transcode(units: &[u16], out: &mut String) {
    out.clear();
    out.extend(char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or('\u{FFFD}')));
}

enum NaiveTest {
    None,
    Strings(Vec<Vec<u16>>),
    Pattern(Regex),
    Int(u64),
}

struct NaivePredicate {
    field: usize,
    op: Operator,
    negate: bool,
    all: bool,
    test: NaiveTest,
}

struct NaiveRule {
    predicates: Vec<NaivePredicate>,
    condition: Expr,
}

/// The rule-by-rule evaluator.
pub struct Naive {
    rules: Vec<NaiveRule>,
    max_units: usize,
    utf8: Vec<String>,
    decoded: [bool; FIELD_COUNT_IPC],
}

impl Naive {
    /// Prepares `content` for sensors that pass strings of at most `max_units` code units.
    pub fn new(content: &Content, max_units: usize) -> Result<Self, String> {
        let mut rules = Vec::with_capacity(content.rules.len());
        for rule in &content.rules {
            let mut predicates = Vec::with_capacity(rule.predicates.len());
            for p in &rule.predicates {
                let test = match p.op {
                    Operator::Glob | Operator::Regex => {
                        let Some(Operand::Str(text)) = p.operands.first() else {
                            return Err(format!("rule {}: pattern without text", rule.id));
                        };
                        let regex = Regex::new(&pattern_text(p, text))
                            .map_err(|e| format!("rule {}: {e}", rule.id))?;
                        NaiveTest::Pattern(regex)
                    }
                    Operator::Wildcard | Operator::NullOrEmpty => NaiveTest::None,
                    op if op.accepts(FieldType::String) => NaiveTest::Strings(folded(p)),
                    _ => NaiveTest::Int(immediate(p)),
                };
                predicates.push(NaivePredicate {
                    field: p.field,
                    op: p.op,
                    negate: p.negate,
                    all: p.all,
                    test,
                });
            }
            rules.push(NaiveRule {
                predicates,
                condition: rule.condition.clone(),
            });
        }
        Ok(Self {
            rules,
            max_units,
            utf8: vec![String::new(); FIELD_COUNT_IPC],
            decoded: [false; FIELD_COUNT_IPC],
        })
    }

    /// Calls `matched` with the index of every rule that matches, in rule order; returns how
    /// many matched.
    pub fn evaluate(&mut self, inputs: &[Value<'_>], mut matched: impl FnMut(u32)) -> u32 {
        self.decoded = [false; FIELD_COUNT_IPC];
        let mut count = 0;
        for (index, rule) in self.rules.iter().enumerate() {
            let mut value = |i: usize| {
                let Some(p) = rule.predicates.get(i) else {
                    return false;
                };
                predicate(p, inputs, self.max_units, &mut self.utf8, &mut self.decoded)
            };
            if holds(&rule.condition, &mut value) {
                count += 1;
                matched(index as u32);
            }
        }
        count
    }
}

fn predicate(
    p: &NaivePredicate,
    inputs: &[Value<'_>],
    max_units: usize,
    utf8: &mut [String],
    decoded: &mut [bool; FIELD_COUNT_IPC],
) -> bool {
    match read(p.op, p.field, inputs, max_units) {
        Reading::Final(value) => value,
        Reading::Held(held) => held != p.negate,
        Reading::Int(v) => match p.test {
            NaiveTest::Int(immediate) => integer(p.op, v, immediate) != p.negate,
            _ => false,
        },
        Reading::Str(s) => {
            let held = match &p.test {
                NaiveTest::Strings(operands) => {
                    let mut each = operands.iter().map(|o| string_test(p.op, s, o));
                    if p.all {
                        each.all(|b| b)
                    } else {
                        each.any(|b| b)
                    }
                }
                NaiveTest::Pattern(regex) => {
                    let text = &mut utf8[p.field];
                    if !decoded[p.field] {
                        transcode(s, text);
                        decoded[p.field] = true;
                    }
                    regex.is_match(text)
                }
                NaiveTest::None | NaiveTest::Int(_) => false,
            };
            held != p.negate
        }
    }
}

enum SetTest {
    None,
    /// Pattern ids in the field's set, one per operand.
    Patterns(Vec<usize>),
    /// Less-than and more-than have no regex form; compared directly.
    Strings(Vec<Vec<u16>>),
    Int(u64),
}

struct SetPredicate {
    field: usize,
    op: Operator,
    negate: bool,
    all: bool,
    test: SetTest,
}

struct FieldSet {
    field: usize,
    set: RegexSet,
    hits: Vec<bool>,
    text: String,
}

/// The `regex::RegexSet` matcher.
pub struct RegexSetPeer {
    sets: Vec<FieldSet>,
    /// For each template field, its index in `sets`.
    slot: [Option<usize>; FIELD_COUNT_IPC],
    rules: Vec<(Vec<SetPredicate>, Expr)>,
    max_units: usize,
    /// Patterns over all sets.
    pub patterns: usize,
    /// Time `RegexSetBuilder::build` took, all sets together.
    pub build_time: Duration,
}

/// The `RegexSet` pattern for one literal operand of a string operator.
fn literal_pattern(op: Operator, literal: &str) -> Option<String> {
    let e = regex::escape(literal);
    Some(match op {
        Operator::Equals => format!(r"(?i)\A(?:{e})\z"),
        Operator::BeginsWith => format!(r"(?i)\A(?:{e})"),
        Operator::EndsWith => format!(r"(?i)(?:{e})\z"),
        Operator::Contains => format!(r"(?i){e}"),
        Operator::Image if literal.contains('\\') => format!(r"(?i)\A(?:{e})\z"),
        Operator::Image => format!(r"(?i)(?:\A|\\)(?:{e})\z"),
        _ => return None,
    })
}

impl RegexSetPeer {
    /// Builds one set per string field of `content`.
    pub fn new(content: &Content, max_units: usize) -> Result<Self, String> {
        let mut patterns: Vec<(usize, Vec<String>)> = Vec::new();
        let mut add = |field: usize, pattern: String| -> usize {
            let list = match patterns.iter().position(|(f, _)| *f == field) {
                Some(i) => &mut patterns[i].1,
                None => {
                    patterns.push((field, Vec::new()));
                    &mut patterns.last_mut().expect("just pushed").1
                }
            };
            list.push(pattern);
            list.len() - 1
        };
        let mut rules = Vec::with_capacity(content.rules.len());
        for rule in &content.rules {
            let mut predicates = Vec::with_capacity(rule.predicates.len());
            for p in &rule.predicates {
                let test = match p.op {
                    Operator::Wildcard | Operator::NullOrEmpty => SetTest::None,
                    Operator::LessThan | Operator::MoreThan => SetTest::Strings(folded(p)),
                    op if op.accepts(FieldType::String) => {
                        let mut ids = Vec::new();
                        for operand in &p.operands {
                            let Operand::Str(text) = operand else {
                                return Err(format!("rule {}: integer string operand", rule.id));
                            };
                            let pattern = match op {
                                Operator::Glob | Operator::Regex => pattern_text(p, text),
                                _ => literal_pattern(op, text).ok_or_else(|| {
                                    format!("rule {}: no pattern for {}", rule.id, op.name())
                                })?,
                            };
                            ids.push(add(p.field, pattern));
                        }
                        SetTest::Patterns(ids)
                    }
                    _ => SetTest::Int(immediate(p)),
                };
                predicates.push(SetPredicate {
                    field: p.field,
                    op: p.op,
                    negate: p.negate,
                    all: p.all,
                    test,
                });
            }
            rules.push((predicates, rule.condition.clone()));
        }
        let started = Instant::now();
        let mut sets = Vec::new();
        let mut slot = [None; FIELD_COUNT_IPC];
        let mut total = 0;
        for (field, list) in patterns {
            let set = RegexSetBuilder::new(&list)
                .size_limit(1 << 30)
                .dfa_size_limit(64 << 20)
                .build()
                .map_err(|e| format!("RegexSet for field {field}: {e}"))?;
            total += list.len();
            slot[field] = Some(sets.len());
            sets.push(FieldSet {
                field,
                hits: vec![false; set.len()],
                set,
                text: String::new(),
            });
        }
        Ok(Self {
            sets,
            slot,
            rules,
            max_units,
            patterns: total,
            build_time: started.elapsed(),
        })
    }

    /// Calls `matched` with every matching rule's index, in order; returns how many matched.
    pub fn evaluate(&mut self, inputs: &[Value<'_>], mut matched: impl FnMut(u32)) -> u32 {
        for fs in &mut self.sets {
            fs.hits.fill(false);
            if let Some(Value::Str(s)) = inputs.get(fs.field) {
                if s.len() <= self.max_units {
                    transcode(s, &mut fs.text);
                    fs.set.matches_read_at(&mut fs.hits, &fs.text, 0);
                }
            }
        }
        let mut count = 0;
        for (index, (predicates, condition)) in self.rules.iter().enumerate() {
            let mut value = |i: usize| {
                let Some(p) = predicates.get(i) else {
                    return false;
                };
                self.predicate(p, inputs)
            };
            if holds(condition, &mut value) {
                count += 1;
                matched(index as u32);
            }
        }
        count
    }

    fn predicate(&self, p: &SetPredicate, inputs: &[Value<'_>]) -> bool {
        match read(p.op, p.field, inputs, self.max_units) {
            Reading::Final(value) => value,
            Reading::Held(held) => held != p.negate,
            Reading::Int(v) => match p.test {
                SetTest::Int(immediate) => integer(p.op, v, immediate) != p.negate,
                _ => false,
            },
            Reading::Str(s) => {
                let held = match &p.test {
                    SetTest::Patterns(ids) => {
                        let hits = self.slot[p.field].map_or(&[][..], |i| &self.sets[i].hits);
                        let mut each = ids.iter().map(|&id| hits.get(id).copied() == Some(true));
                        if p.all {
                            each.all(|b| b)
                        } else {
                            each.any(|b| b)
                        }
                    }
                    SetTest::Strings(operands) => operands.iter().any(|o| string_test(p.op, s, o)),
                    SetTest::None | SetTest::Int(_) => false,
                };
                held != p.negate
            }
        }
    }
}

/// The floor: one `memchr` pass over each string input the rules read.
#[derive(Clone, Debug)]
pub struct Floor {
    fields: Vec<usize>,
}

impl Floor {
    /// A floor over the string fields `content` reads.
    pub fn new(content: &Content) -> Self {
        Self {
            fields: string_fields(content),
        }
    }

    /// The fields it reads.
    pub fn fields(&self) -> &[usize] {
        &self.fields
    }

    /// Scans each field's UTF-16 bytes for a byte that does not occur in these names (0xFF),
    /// so every byte is read; returns the bytes scanned.
    pub fn pass(&self, inputs: &[Value<'_>]) -> usize {
        let mut scanned = 0;
        for s in strings_in(&self.fields, inputs) {
            let bytes: &[u8] = bytemuck::cast_slice(s);
            scanned += memchr::memchr(0xFF, bytes).unwrap_or(bytes.len());
        }
        scanned
    }
}

/// Rows and columns of [`ChainFloor`]'s table: 64 by 64 words, 16 KiB, which L1 holds.
const CHAIN_SIDE: usize = 64;

/// The latency floor of an automaton: one table read per code unit of each string input the
/// rules read, each at an address that the read before it gave, as a state's next row is.
///
/// An engine that moves a state one code unit at a time, one field after the other, pays this
/// chain at least ([`Self::pass_paired`] overlaps two fields' chains). The table
/// is small enough to stay in L1 and is laid out as the dictionaries' dense rows are read (a
/// column per class, the row as the index), so the chain is one read a unit and nothing else:
/// what is left above it is what the engine does besides.
#[derive(Clone, Debug)]
pub struct ChainFloor {
    fields: Vec<usize>,
    /// Column `c`, row `r` at `c * CHAIN_SIDE + r`: the row to go to from row `r` on a unit
    /// that is `c` modulo [`CHAIN_SIDE`].
    table: Box<[u32]>,
}

impl ChainFloor {
    /// A chain floor over the string fields `content` reads.
    pub fn new(content: &Content) -> Self {
        let side = CHAIN_SIDE as u32;
        let table = (0..side * side)
            .map(|at| (at % side * 5 + at / side * 3 + 1) % side)
            .collect();
        Self {
            fields: string_fields(content),
            table,
        }
    }

    /// Walks each read field from row 0, one read a code unit, a new chain for each field as a
    /// scan starts from its root; returns the units walked and the rows the walks ended in.
    pub fn pass(&self, inputs: &[Value<'_>]) -> (usize, usize) {
        let (mut units, mut ends) = (0, 0);
        for s in strings_in(&self.fields, inputs) {
            units += s.len();
            ends ^= self.walk(0, s);
        }
        (units, ends)
    }

    /// [`Self::pass`] with the first two fields' chains in one loop, a unit of each per turn,
    /// so that their reads can overlap: what an engine interleaving two scans could reach.
    pub fn pass_paired(&self, inputs: &[Value<'_>]) -> (usize, usize) {
        let mut strings = strings_in(&self.fields, inputs);
        let (Some(a), Some(b)) = (strings.next(), strings.next()) else {
            return self.pass(inputs);
        };
        let common = a.len().min(b.len());
        let (mut row_a, mut row_b) = (0, 0);
        for (&unit_a, &unit_b) in a.iter().zip(b) {
            row_a = self.step(row_a, unit_a);
            row_b = self.step(row_b, unit_b);
        }
        let row_a = self.walk(row_a, a.get(common..).unwrap_or_default());
        let row_b = self.walk(row_b, b.get(common..).unwrap_or_default());
        let (mut units, mut ends) = (a.len() + b.len(), row_a ^ row_b);
        for s in strings {
            units += s.len();
            ends ^= self.walk(0, s);
        }
        (units, ends)
    }

    fn walk(&self, from: usize, units: &[u16]) -> usize {
        units.iter().fold(from, |row, &unit| self.step(row, unit))
    }

    /// The row after `unit` from `row`: the read is at the unit's column plus the row, as the
    /// dictionaries read theirs.
    fn step(&self, row: usize, unit: u16) -> usize {
        let column = usize::from(unit) % CHAIN_SIDE * CHAIN_SIDE;
        let cells = self.table.get(column..).unwrap_or_default();
        cells.get(row).map_or(0, |&next| next as usize)
    }
}

/// The strings that `inputs` holds in `fields`, in field order; other values are passed over.
fn strings_in<'v>(fields: &'v [usize], inputs: &'v [Value<'_>]) -> impl Iterator<Item = &'v [u16]> {
    fields.iter().filter_map(|&f| match inputs.get(f) {
        Some(Value::Str(s)) => Some(*s),
        _ => None,
    })
}

/// The string fields `content`'s predicates read, in field order.
pub fn string_fields(content: &Content) -> Vec<usize> {
    let mut fields: Vec<usize> = content
        .rules
        .iter()
        .flat_map(|r| &r.predicates)
        .filter(|p| p.op.reads_input() && p.op.accepts(FieldType::String))
        .filter(|p| !matches!(p.op, Operator::NullOrEmpty))
        .map(|p| p.field)
        .collect();
    fields.sort_unstable();
    fields.dedup();
    fields
}

/// What [`check_agreement`] saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    /// Events compared.
    pub events: usize,
    /// Events some rule matched.
    pub events_matched: usize,
    /// Rule matches in all.
    pub matches: usize,
}

/// Runs the core and each peer on `events` (the first `sample` of them) and fails, naming the
/// event and the rules, at the first event on which their matched rules differ. `reference`,
/// when given, is the project's reference matcher ([`crate::reference`]), which reads the
/// [`PipeEvent`](crate::event::PipeEvent)s rather than the encoded inputs: a third opinion
/// written independently of this module, for a sensor that supplies `supplied` fields.
pub fn check_agreement(
    rules: &RuleSet<'_>,
    naive: &mut Naive,
    regexset: Option<&mut RegexSetPeer>,
    reference: Option<(&Reference<'_>, usize)>,
    events: &EventSet,
    sample: usize,
) -> Result<Agreement, String> {
    let mut seen = Agreement::default();
    let mut regexset = regexset;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for (i, values) in events.inputs().iter().take(sample).enumerate() {
        ours.clear();
        let mut sink = |m: MatchedRule| {
            ours.push(m.rule);
            true
        };
        rules.evaluate(values, &mut sink);
        let describe = |peer: &str, theirs: &[u32], ours: &[u32]| {
            let ev = &events.events[i];
            format!(
                "{peer} disagrees with the core on {} event {i} (pipe {:?}, image {:?}): core matched rules {ours:?}, {peer} {theirs:?}",
                events.name, ev.pipe_name, ev.image_path
            )
        };
        theirs.clear();
        naive.evaluate(values, |r| theirs.push(r));
        if theirs != ours {
            return Err(describe("the naive evaluator", &theirs, &ours));
        }
        if let Some(peer) = regexset.as_deref_mut() {
            theirs.clear();
            peer.evaluate(values, |r| theirs.push(r));
            if theirs != ours {
                return Err(describe("the RegexSet matcher", &theirs, &ours));
            }
        }
        if let Some((reference, supplied)) = reference {
            theirs.clear();
            let matched = reference.evaluate(&events.events[i], supplied);
            theirs.extend(matched.into_iter().map(|r| r as u32));
            if theirs != ours {
                return Err(describe("the reference matcher", &theirs, &ours));
            }
        }
        seen.events += 1;
        seen.events_matched += usize::from(!ours.is_empty());
        seen.matches += ours.len();
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{compile_builtin, DEFAULT_RULES};
    use crate::source;
    use sensor_core::schema::SENSOR_FIXED;

    fn default_content() -> Content {
        source::parse(DEFAULT_RULES, "default.toml").expect("built-in rules parse")
    }

    #[test]
    fn peers_agree_with_the_core_on_the_default_rules() {
        let content = default_content();
        let buf = compile_builtin("default.toml", DEFAULT_RULES);
        let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).expect("loads");
        let max = usize::from(SENSOR_FIXED.max_string_units);
        let mut naive = Naive::new(&content, max).expect("naive");
        let mut set = RegexSetPeer::new(&content, max).expect("regexset");
        let events = EventSet::synthetic(3000, 5);
        let reference = Reference::new(&content).expect("reference");
        let seen = check_agreement(
            &rules,
            &mut naive,
            Some(&mut set),
            Some((&reference, 21)),
            &events,
            3000,
        )
        .expect("agreement");
        assert_eq!(seen.events, 3000);
        assert!(
            seen.events_matched > 0,
            "no event matched: agreement is vacuous"
        );
    }

    #[test]
    fn a_changed_rule_is_caught() {
        let mut content = default_content();
        let buf = compile_builtin("default.toml", DEFAULT_RULES);
        let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).expect("loads");
        // PIPE-0001's Cobalt Strike prefixes: drop `\postex_` from the naive copy only.
        let p = &mut content.rules[0].predicates[0];
        assert_eq!(p.operands[0], Operand::Str("\\postex_".into()));
        p.operands.remove(0);
        let max = usize::from(SENSOR_FIXED.max_string_units);
        let mut naive = Naive::new(&content, max).expect("naive");
        // One event in five from a known tool, so that Cobalt Strike's postex pipes show up.
        let config = crate::synth::SynthConfig {
            seed: 11,
            malicious_per_mille: 200,
            connect_per_mille: 500,
        };
        let stream = crate::synth::Generator::new(config).take(2_000).collect();
        let events = EventSet::new("synthetic", "200 malicious per 1,000".into(), stream);
        let err = check_agreement(&rules, &mut naive, None, None, &events, 2_000)
            .expect_err("the naive copy misses postex pipes");
        assert!(err.contains("naive evaluator"), "{err}");
        assert!(err.contains("postex"), "{err}");
    }

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn string_tests_fold_and_anchor() {
        let up = |s: &str| -> Vec<u16> { s.encode_utf16().map(fold).collect() };
        let path = units(r"C:\Windows\System32\LSASS.exe");
        assert!(string_test(Operator::Image, &path, &up("lsass.exe")));
        assert!(!string_test(
            Operator::Image,
            &path,
            &up(r"system32\lsass.exe")
        ));
        assert!(string_test(
            Operator::BeginsWith,
            &path,
            &up(r"c:\windows\")
        ));
        assert!(string_test(Operator::EndsWith, &path, &up(".EXE")));
        assert!(string_test(Operator::Contains, &path, &up("32\\ls")));
        assert!(!string_test(Operator::Equals, &path, &up("lsass.exe")));
        assert!(string_test(Operator::LessThan, &units("abc"), &up("abd")));
        assert!(string_test(Operator::MoreThan, &units("abc"), &up("ab")));
    }

    #[test]
    fn literal_patterns_mean_what_the_operators_mean() {
        let check = |op, lit: &str, text: &str| {
            Regex::new(&literal_pattern(op, lit).expect("pattern"))
                .expect("regex")
                .is_match(text)
        };
        assert!(check(Operator::Equals, r"\PSEXESVC", r"\psexesvc"));
        assert!(!check(Operator::Equals, r"\PSEXESVC", r"\psexesvc2"));
        assert!(check(Operator::BeginsWith, r"\postex_", r"\POSTEX_12"));
        assert!(!check(Operator::BeginsWith, r"\postex_", r"\a\postex_"));
        assert!(check(Operator::EndsWith, "-server", r"\MSSE-1-SERVER"));
        assert!(check(Operator::Contains, "a.b", "xxA.Byy"));
        assert!(!check(Operator::Contains, "a.b", "xxAxByy"));
        assert!(check(Operator::Image, "lsass.exe", r"C:\x\LSASS.EXE"));
        assert!(check(Operator::Image, "lsass.exe", "lsass.exe"));
        assert!(!check(Operator::Image, "lsass.exe", r"C:\x\not-lsass.exe"));
    }

    #[test]
    fn floor_reads_every_byte_of_the_read_fields() {
        let content = default_content();
        let floor = Floor::new(&content);
        assert_eq!(
            floor.fields(),
            &[
                sensor_core::schema::ipc::PIPE_NAME,
                sensor_core::schema::ipc::IMAGE_PATH
            ]
        );
        let events = EventSet::synthetic(100, 2);
        let total: usize = events.inputs().iter().map(|v| floor.pass(v)).sum();
        assert_eq!(total, events.string_bytes(floor.fields()));
    }

    #[test]
    fn chain_floor_reads_every_unit_of_the_read_fields() {
        let content = default_content();
        let chain = ChainFloor::new(&content);
        let events = EventSet::synthetic(100, 2);
        let total: usize = events.inputs().iter().map(|v| chain.pass(v).0).sum();
        assert_eq!(
            2 * total,
            events.string_bytes(Floor::new(&content).fields())
        );
        assert!(chain.table.iter().all(|&row| (row as usize) < CHAIN_SIDE));
    }
}
