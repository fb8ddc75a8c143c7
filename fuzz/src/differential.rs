//! The fixed core against the flawed 2024 model, on the same content and events.
//!
//! `differential`: content and events go through the fixed core for sensor build 7.11 and
//! through [`sensor_host::emu::flawed`] (the 2024 validator and interpreter, run on emulated
//! memory). Where the flawed model bugchecks, the fixed loader must have refused the content,
//! or the fixed interpreter's run-time check must have caught the same read (a missing input);
//! where both run, the fixed core found every input and the event is well typed, the verdicts
//! are equal.
//!
//! `flawed_finds_291`: edits of the channel 291 template instances that existed before 19 July
//! 2024 (every one wildcard on field 21), compiled and run on the flawed model on 7.11 with one
//! ordinary event; a bugcheck is reported as a crash. It measures how long a fuzzer takes to
//! write the 2024 bug: the test that was missing. `flawed_finds_291_raw` searches the same by
//! blind byte mutation of the compiled pre-July files.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use sensor_core::op::{Operands, Operator, ALL_OPERATORS};
use sensor_core::schema::{FieldType, IPC, MAX_UNICODE_STRING_UNITS, SENSOR_7_11};
use sensor_core::{MatchedRule, RuleSet, Value};
use sensor_host::builtin::HISTORY;
use sensor_host::compile::compile;
use sensor_host::content::ContentBuf;
use sensor_host::emu::bugcheck::BugCheckCode;
use sensor_host::emu::flawed::{self, FlawedContent, Halt, Layout};
use sensor_host::emu::kernel::Kernel;
use sensor_host::emu::modules::{SENSOR_BASE, SENSOR_IMAGE, SENSOR_SIZE};
use sensor_host::ir::{Content, Operand, Predicate};
use sensor_host::source;

use crate::bytes::{reseal, without_index, Reader, Writer};
use crate::check;
use crate::events::{read_event, values, write_event, Input};
use crate::structured::Text;
use crate::Reached;

/// Inputs the 2024 integration code supplied for the IPC template.
pub const SUPPLIED_2024: usize = 20;
/// Most events one `differential` input carries.
pub const MAX_EVENTS: usize = 8;

/// A freshly booted emulated kernel with the sensor image loaded and `layout`'s pool history.
pub fn boot(layout: Layout) -> Kernel {
    let mut kernel = Kernel::boot(1);
    kernel
        .load_image(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE)
        .expect("the sensor image loads on a fresh boot");
    layout
        .prepare(&mut kernel)
        .expect("the pool history of a layout never stops a fresh boot");
    kernel
}

/// A `differential` input.
///
/// Layout: a flags byte (bit 0: reseal the header; bit 1: the dump layout instead of the
/// seed layout), a `u32` length and that many bytes of channel file, then events
/// ([`crate::events`]) until the data ends; each event is cut to its first 20 inputs, as the
/// 2024 integration code passed at most 20.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DifferentialInput {
    /// Make the header's length and checksum agree with the body.
    pub reseal: bool,
    /// The memory layout of the flawed model.
    pub layout: Layout,
    /// Channel-file bytes.
    pub file: Vec<u8>,
    /// Events.
    pub events: Vec<Vec<Input>>,
}

impl DifferentialInput {
    /// Decodes any byte string.
    pub fn decode(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let flags = r.u8();
        let len = r.u32() as usize;
        let file = r.bytes(len).to_vec();
        let mut events = Vec::new();
        while !r.is_empty() && events.len() < MAX_EVENTS {
            let mut event = read_event(&mut r);
            event.truncate(SUPPLIED_2024);
            events.push(event);
        }
        Self {
            reseal: flags & 1 == 1,
            layout: if flags & 2 == 0 {
                Layout::Seed
            } else {
                Layout::Dump
            },
            file,
            events,
        }
    }

    /// Encodes the input as [`DifferentialInput::decode`] reads it.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        let layout = if self.layout == Layout::Dump { 2 } else { 0 };
        w.u8(u8::from(self.reseal) | layout);
        w.u32(self.file.len() as u32).bytes(&self.file);
        for event in self.events.iter().take(MAX_EVENTS) {
            write_event(&mut w, &event[..event.len().min(SUPPLIED_2024)]);
        }
        w.out
    }
}

/// What the flawed model did with one event.
enum Flawed {
    /// It evaluated the event: the verdict and the rules matched.
    Ran(sensor_core::Verdict, Vec<MatchedRule>),
    /// Its pool ran out; the event was not evaluated.
    NoPool,
    /// The boot is over.
    Stopped(Box<Halt>),
}

fn run_flawed(
    kernel: &mut Kernel,
    layout: Layout,
    content: &FlawedContent<'_>,
    inputs: &[Value<'_>],
) -> Flawed {
    let mut matches = Vec::new();
    let mut sink = |m: MatchedRule| {
        matches.push(m);
        true
    };
    match flawed::evaluate(kernel, layout, content, inputs, &mut sink) {
        Ok(Some(verdict)) => Flawed::Ran(verdict, matches),
        Ok(None) => Flawed::NoPool,
        Err(halt) => Flawed::Stopped(Box::new(halt)),
    }
}

/// Checks a stop of the flawed model: it is the page fault of an input read, of a field past
/// the inputs the array held, or of a string field whose input was an integer (the model then
/// reads a `UNICODE_STRING` at that integer, as the 2024 code would). Returns the field.
fn check_stop(halt: &Halt, inputs: &[Input]) -> usize {
    let state = halt
        .interpreter
        .as_ref()
        .unwrap_or_else(|| panic!("the flawed model stopped outside an input read: {halt:?}"));
    assert_eq!(
        halt.bugcheck.code,
        BugCheckCode::PageFaultInNonpagedArea,
        "{halt:?}"
    );
    let string_field = IPC.field(state.field).map(|f| f.ty) == Some(FieldType::String);
    let confused = string_field && matches!(inputs.get(state.field), Some(Input::Int(_)));
    assert!(
        state.field >= inputs.len() || confused,
        "the flawed model faulted reading field {} of {} supplied, of the right type",
        state.field,
        inputs.len()
    );
    state.field
}

/// Whether every input of `event` has its field's type and a length a sensor passes, so that
/// the two designs read the same values.
fn well_typed(event: &[Input]) -> bool {
    event
        .iter()
        .zip(IPC.fields)
        .all(|(input, field)| match input {
            Input::Absent => true,
            Input::Int(_) => field.ty != FieldType::String,
            Input::Str(s) => {
                field.ty == FieldType::String && s.len() <= usize::from(MAX_UNICODE_STRING_UNITS)
            }
        })
}

/// The `differential` harness.
pub fn differential(data: &[u8]) -> Reached {
    let input = DifferentialInput::decode(data);
    let file = if input.reseal {
        reseal(&input.file)
    } else {
        input.file.clone()
    };
    let buf = ContentBuf::new(&file);
    let fixed = RuleSet::load(buf.as_bytes(), &SENSOR_7_11);
    let flawed_content = match flawed::validate(buf.as_bytes()) {
        Ok(content) => content,
        Err(e) => {
            assert!(
                fixed.is_err(),
                "the flawed validator refused ({e:?}) what the fixed loader took"
            );
            return Reached::default();
        }
    };
    if let Ok(rules) = &fixed {
        check::loaded(rules, &SENSOR_7_11);
    }
    let mut reached = Reached {
        loaded: fixed.is_ok(),
        matched: 0,
    };
    let mut kernel = boot(input.layout);
    for event in &input.events {
        let inputs = values(event);
        let fixed_outcome = fixed.as_ref().ok().map(|r| check::evaluation(r, &inputs));
        match run_flawed(&mut kernel, input.layout, &flawed_content, &inputs) {
            Flawed::Stopped(halt) => {
                let field = check_stop(&halt, event);
                // A read past the array: the fixed core must have counted the input missing,
                // once every automaton scans as the flawed model's do (the content without its
                // index: with it, a lazy automaton may rightly never read the field). A string
                // field given an integer: the fixed core matches on the value's type and cannot
                // read through it (null-or-empty on it is false without a count).
                if field >= inputs.len() && fixed.is_ok() {
                    let eager = without_index(&file).expect("a loaded file holds a directory");
                    let eager = ContentBuf::new(&eager);
                    let rules = RuleSet::load(eager.as_bytes(), &SENSOR_7_11)
                        .expect("the content loaded with its index, and not without");
                    let outcome = check::evaluation(&rules, &inputs);
                    assert!(
                        outcome.verdict.counters.missing_inputs > 0,
                        "the flawed model bugchecked reading field {field} of {} supplied; \
                         the fixed core loaded the content and found every input",
                        inputs.len()
                    );
                }
                break;
            }
            Flawed::NoPool => {}
            Flawed::Ran(verdict, matches) => {
                let Some(outcome) = fixed_outcome else {
                    continue;
                };
                if outcome.verdict.counters.missing_inputs > 0 || !well_typed(event) {
                    continue;
                }
                reached.matched += matches.len();
                assert_eq!(
                    outcome.matches, matches,
                    "the two designs matched different rules"
                );
                assert_eq!(
                    (outcome.verdict.matched, outcome.verdict.action),
                    (verdict.matched, verdict.action),
                    "the two designs gave different verdicts"
                );
            }
        }
    }
    reached
}

/// The event `flawed_finds_291` evaluates: an ordinary remote connection to a named pipe, the
/// 20 inputs build 7.11 supplies.
pub fn ordinary_event() -> Vec<Input> {
    let mut event = check::probe_events().swap_remove(0);
    event.truncate(SUPPLIED_2024);
    event
}

/// What `flawed_finds_291` found in one input.
#[derive(Clone, Debug)]
pub struct Found {
    /// The stop.
    pub halt: Halt,
    /// What the fixed loader said of the same content for build 7.11.
    pub fixed: Result<(), sensor_core::LoadError>,
}

/// Runs `data` (a channel file, resealed) through the flawed validator and, if it passes,
/// evaluates [`ordinary_event`] on the flawed model (seed layout); the stop, if any.
pub fn flawed_run(data: &[u8]) -> Option<Found> {
    let file = reseal(data);
    let buf = ContentBuf::new(&file);
    let content = flawed::validate(buf.as_bytes()).ok()?;
    let mut kernel = boot(Layout::Seed);
    let event = ordinary_event();
    match run_flawed(&mut kernel, Layout::Seed, &content, &values(&event)) {
        Flawed::Stopped(halt) => {
            check_stop(&halt, &event);
            Some(Found {
                halt: *halt,
                fixed: RuleSet::load(buf.as_bytes(), &SENSOR_7_11).map(drop),
            })
        }
        Flawed::Ran(..) | Flawed::NoPool => None,
    }
}

/// Panics, as a fuzz target reports a crash, when `found` holds a stop.
fn report(found: Option<Found>) {
    if let Some(found) = found {
        let state = found.halt.interpreter.as_deref();
        panic!(
            "the flawed 2024 model bugchecked: {} reading field {} (rule {:?}); the fixed \
             loader for 7.11 said {:?}",
            found.halt.bugcheck,
            state.map_or(0, |s| s.field),
            state.map(|s| s.rule_id.as_str()),
            found.fixed.err()
        );
    }
}

/// The `flawed_finds_291_raw` fuzz target's body: channel-file bytes, mutated blindly.
pub fn flawed_finds_291_raw(data: &[u8]) {
    report(flawed_run(data));
}

/// One change to one template instance (rule) of the pre-July content.
#[derive(Clone, Debug, Arbitrary)]
pub enum Change {
    /// Another operator among those the predicate's field type accepts.
    Operator(u8),
    /// Another template field (the operator becomes `null-or-empty` if it does not apply).
    Field(u8),
    /// Toggle negation.
    Negate,
    /// Another integer operand.
    Integer(u64),
    /// Another first string operand.
    Text(Text),
    /// A copy of the rule, appended as a new instance.
    DuplicateRule,
}

/// A change at one rule and predicate (indices taken modulo the counts).
#[derive(Clone, Debug, Arbitrary)]
pub struct Edit {
    /// Rule index.
    pub rule: u8,
    /// Predicate index within the rule.
    pub predicate: u8,
    /// What changes.
    pub change: Change,
}

/// A `flawed_finds_291` input: which pre-July channel 291 file to start from, and up to four
/// edits of its template instances, the way new instances are derived from a template.
#[derive(Clone, Debug)]
pub struct InstanceEdits {
    /// Index into [`pre_july`].
    pub base: usize,
    /// The edits, applied in order.
    pub edits: Vec<Edit>,
}

impl<'a> Arbitrary<'a> for InstanceEdits {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let base = u.int_in_range(0..=pre_july().len() - 1)?;
        let n = u.int_in_range(0..=4)?;
        let edits = (0..n)
            .map(|_| u.arbitrary())
            .collect::<arbitrary::Result<_>>()?;
        Ok(Self { base, edits })
    }
}

/// The channel 291 history before 19 July 2024, as IR.
pub fn pre_july() -> &'static [Content] {
    static FILES: OnceLock<Vec<Content>> = OnceLock::new();
    FILES.get_or_init(|| {
        HISTORY
            .iter()
            .filter(|h| !h.published.starts_with("2024-07"))
            .map(|h| source::parse(h.source, h.name).expect("history parses"))
            .collect()
    })
}

fn operands_for(op: Operator, old: &[Operand]) -> Vec<Operand> {
    let first_str = old.iter().find_map(|o| match o {
        Operand::Str(s) => Some(s.clone()),
        Operand::Int(_) => None,
    });
    let first_int = old.iter().find_map(|o| match o {
        Operand::Int(v) => Some(*v),
        Operand::Str(_) => None,
    });
    match op.operands() {
        Operands::None => Vec::new(),
        Operands::Immediate => vec![Operand::Int(first_int.unwrap_or(1))],
        Operands::Pattern => vec![Operand::Str(first_str.unwrap_or_else(|| "x".into()))],
        Operands::Strings { .. }
            if old.iter().all(|o| matches!(o, Operand::Str(_))) && !old.is_empty() =>
        {
            old.to_vec()
        }
        Operands::Strings { .. } => vec![Operand::Str(first_str.unwrap_or_else(|| "x".into()))],
    }
}

fn set_operator(p: &mut Predicate, op: Operator) {
    p.operands = operands_for(op, &p.operands);
    p.op = op;
    p.negate &= op.reads_input();
    p.all &= op.takes_all();
    p.case_insensitive &= op == Operator::Regex;
}

impl InstanceEdits {
    /// The edited content.
    pub fn apply(&self) -> Content {
        let mut content = pre_july()[self.base % pre_july().len()].clone();
        for edit in &self.edits {
            let n = content.rules.len();
            let rule = &mut content.rules[usize::from(edit.rule) % n];
            let m = rule.predicates.len();
            let p = &mut rule.predicates[usize::from(edit.predicate) % m];
            match &edit.change {
                Change::Operator(k) => {
                    let ty = IPC.fields[p.field].ty;
                    let accepted: Vec<Operator> = ALL_OPERATORS
                        .iter()
                        .copied()
                        .filter(|op| op.accepts(ty))
                        .collect();
                    set_operator(p, accepted[usize::from(*k) % accepted.len()]);
                }
                Change::Field(k) => {
                    p.field = usize::from(*k) % IPC.field_count();
                    if !p.op.accepts(IPC.fields[p.field].ty) {
                        set_operator(p, Operator::NullOrEmpty);
                    }
                }
                Change::Negate => p.negate = !p.negate && p.op.reads_input(),
                Change::Integer(v) => {
                    if let [Operand::Int(old)] = p.operands.as_mut_slice() {
                        *old = *v;
                    }
                }
                Change::Text(t) => {
                    if let Some(Operand::Str(old)) = p.operands.first_mut() {
                        old.clone_from(&t.0);
                    }
                }
                Change::DuplicateRule => {
                    let mut copy = rule.clone();
                    copy.id = format!("{}-{}", copy.id, content.rules.len());
                    content.rules.push(copy);
                }
            }
        }
        content
    }
}

/// Runs an `InstanceEdits` input: edits the pre-July content, compiles it, and runs it on the
/// flawed model as [`flawed_run`] does; the stop, if any.
pub fn flawed_instances_run(data: &[u8]) -> Option<Found> {
    let edits = InstanceEdits::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let bytes = compile(&edits.apply()).ok()?;
    flawed_run(&bytes)
}

/// The `flawed_finds_291` fuzz target's body: edits of the pre-July template instances; a
/// bugcheck of the flawed model is a crash.
pub fn flawed_finds_291(data: &[u8]) {
    report(flawed_instances_run(data));
}

/// Seeds for `differential`: every repository rule source with its events, cut to 20 inputs,
/// in both layouts.
pub fn differential_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for source in crate::seeds::sources() {
        let Some(file) = crate::seeds::compile_source(&source)
            .filter(|f| f.len() <= crate::seeds::MAX_SEED_FILE)
        else {
            continue;
        };
        let mut events: Vec<Vec<Input>> = source.events.iter().take(4).cloned().collect();
        events.push(ordinary_event());
        let mut short = ordinary_event();
        short.truncate(3);
        events.push(short);
        for layout in [Layout::Seed, Layout::Dump] {
            let input = DifferentialInput {
                reseal: false,
                layout,
                file: file.clone(),
                events: events.clone(),
            };
            out.push((format!("{}-{}", source.name, layout.name()), input.encode()));
        }
    }
    out
}

/// Seeds for `flawed_finds_291_raw`: the channel 291 files published before 19 July 2024,
/// every instance wildcard on field 21, compiled. The July files are left out, or the search
/// would start at its answer.
pub fn flawed_seeds() -> Vec<(String, Vec<u8>)> {
    HISTORY
        .iter()
        .filter(|h| !h.published.starts_with("2024-07"))
        .zip(pre_july())
        .map(|(h, content)| {
            (
                h.name.to_owned(),
                compile(content).expect("history compiles"),
            )
        })
        .collect()
}

/// Seeds for `flawed_finds_291`: each pre-July file unedited (an input of one byte picks the
/// base file; no edits follow).
pub fn flawed_instance_seeds() -> Vec<(String, Vec<u8>)> {
    (0..pre_july().len())
        .map(|base| (format!("unedited-{base}"), vec![base as u8]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_round_trip() {
        let input = DifferentialInput {
            reseal: true,
            layout: Layout::Dump,
            file: b"SNCF".to_vec(),
            events: vec![ordinary_event(), Vec::new()],
        };
        assert_eq!(DifferentialInput::decode(&input.encode()), input);
    }

    #[test]
    fn the_july_file_bugchecks_the_flawed_model_and_is_refused_by_the_fixed_loader() {
        let july = sensor_host::builtin::JULY_19_0409;
        let content = sensor_host::source::parse(july.source, july.name).unwrap();
        let bytes = sensor_host::compile::compile(&content).unwrap();
        let found = flawed_run(&bytes).expect("the July file bugchecks the flawed model");
        assert_eq!(
            found.halt.bugcheck.code,
            BugCheckCode::PageFaultInNonpagedArea
        );
        assert_eq!(found.halt.bugcheck.args[0], Layout::Seed.read_address());
        assert!(matches!(
            found.fixed,
            Err(sensor_core::LoadError::FieldNotSupplied { field: 20, .. })
        ));
        let differential_input = DifferentialInput {
            reseal: false,
            layout: Layout::Dump,
            file: bytes,
            events: vec![ordinary_event()],
        };
        assert!(!differential(&differential_input.encode()).loaded);
    }

    #[test]
    fn one_operator_edit_of_a_field_21_wildcard_bugchecks_the_flawed_model() {
        let base = pre_july().len() - 1;
        let rule = &pre_july()[base].rules[2];
        let wildcard = rule
            .predicates
            .iter()
            .position(|p| p.field == 20 && p.op == Operator::Wildcard)
            .expect("every pre-July instance has a wildcard on field 21");
        let accepted: Vec<Operator> = ALL_OPERATORS
            .iter()
            .copied()
            .filter(|op| op.accepts(FieldType::Integer))
            .collect();
        let num_equals = accepted
            .iter()
            .position(|&op| op == Operator::NumEquals)
            .unwrap();
        let edits = InstanceEdits {
            base,
            edits: vec![Edit {
                rule: 2,
                predicate: wildcard as u8,
                change: Change::Operator(num_equals as u8),
            }],
        };
        let bytes = compile(&edits.apply()).unwrap();
        let found = flawed_run(&bytes).expect("reading field 21 bugchecks the flawed model");
        assert_eq!(found.halt.interpreter.as_ref().unwrap().field, 20);
        assert!(found.fixed.is_err());
        for (name, seed) in flawed_instance_seeds() {
            let unedited = InstanceEdits::arbitrary_take_rest(Unstructured::new(&seed)).unwrap();
            assert!(unedited.edits.is_empty(), "{name}");
            assert!(flawed_instances_run(&seed).is_none(), "{name}");
        }
    }

    #[test]
    fn the_files_before_july_do_not_bugcheck_the_flawed_model() {
        let seeds = flawed_seeds();
        assert_eq!(seeds.len(), 4);
        for (name, bytes) in seeds {
            assert!(flawed_run(&bytes).is_none(), "{name}");
        }
    }
}
