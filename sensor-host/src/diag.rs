//! Rendering the core's typed load errors as words.
//!
//! The core reports indices and offsets only; here they become names. When the file is
//! structurally sound, rule indices are resolved to the rule's id and title and field indices to
//! the template's field names, so a refusal reads like the July 2024 check should have read.

use std::fmt::Write as _;

use sensor_core::channel::{ChannelFile, FORMAT_VERSION, HEADER_LEN};
use sensor_core::error::{LoadError, ProgramFault};
use sensor_core::schema::{self, TemplateType};

/// Names for a rule index, when the file is sound enough to read them.
fn rule_name(file: Option<&ChannelFile<'_>>, rule: usize) -> String {
    let named = file.and_then(|f| {
        let r = f.rule(rule)?;
        let text = |(start, len): (u32, u16)| {
            f.string_bytes(start, usize::from(len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::to_owned)
        };
        Some((text(r.id)?, text(r.title)?))
    });
    match named {
        Some((id, title)) => format!("rule {rule} ({id} \"{title}\")"),
        None => format!("rule {rule}"),
    }
}

fn template_of(file: Option<&ChannelFile<'_>>) -> Option<&'static TemplateType> {
    let h = file?.header();
    schema::template(h.template_id, h.template_version)
}

fn field_name(file: Option<&ChannelFile<'_>>, field: u8) -> String {
    match template_of(file).and_then(|t| t.field(usize::from(field))) {
        Some(f) => format!("input field {field} ({})", f.name),
        None => format!("input field {field}"),
    }
}

/// One line describing `error`, naming rules and fields where `bytes` allows.
pub fn describe(error: &LoadError, bytes: &[u8]) -> String {
    let parsed = ChannelFile::parse(bytes).ok();
    let file = parsed.as_ref();
    let mut s = String::new();
    let _ = match *error {
        LoadError::TooLarge { len, max } => write!(s, "file is {len} bytes; at most {max} are accepted"),
        LoadError::Truncated { len, needed } => write!(s, "file is {len} bytes, shorter than the {needed}-byte header and directory"),
        LoadError::BadMagic { found } => write!(s, "not a channel file: magic is {found:02x?}, expected \"SNCF\""),
        LoadError::UnsupportedFormat { version } => write!(s, "channel-file format {version} is not supported (this build reads format {FORMAT_VERSION})"),
        LoadError::BadHeaderLength { len } => write!(s, "header length is {len}, format {FORMAT_VERSION} defines {HEADER_LEN}"),
        LoadError::ReservedNotZero { offset } => write!(s, "reserved field at byte offset {offset} is not zero"),
        LoadError::BodyLength { declared, actual } => write!(s, "header declares a {declared}-byte body but {actual} bytes follow it"),
        LoadError::Checksum { declared, computed } => write!(s, "body checksum is {computed:#010x}, header declares {declared:#010x}: the file is corrupt"),
        LoadError::SectionMisaligned { section, offset } => write!(s, "{} section at byte offset {offset} is not 8-byte aligned", section.name()),
        LoadError::SectionOverlap { section, offset, min } => write!(s, "{} section at byte offset {offset} overlaps what precedes it (must start at {min} or later)", section.name()),
        LoadError::SectionOutOfBounds { section, offset, len, file_len } => write!(s, "{} section ({len} bytes at offset {offset}) runs past the end of the {file_len}-byte file", section.name()),
        LoadError::SectionLength { section, len, record } => write!(s, "{} section is {len} bytes, not a whole number of {record}-byte records", section.name()),
        LoadError::TooMany { section, count, max } => write!(s, "{count} records in the {} section; at most {max} are accepted", section.name()),
        LoadError::UnknownTemplate { id, version } => write!(s, "unknown template type {id} version {version}"),
        LoadError::TemplateNotSupplied { channel, id, version, build } => write!(s, "channel {channel}: sensor {build} supplies no inputs for template type {id} version {version}"),
        LoadError::FieldOutOfTemplate { offset, field, declared } => write!(s, "field declaration at byte offset {offset} names field {field}, but the template declares {declared} fields"),
        LoadError::UnknownFieldType { offset, tag } => write!(s, "field declaration at byte offset {offset} has unknown type tag {tag}"),
        LoadError::FieldTypeMismatch { offset, field, template, content } => write!(s, "{} declared as {} at byte offset {offset}, but the template type says {}", field_name(file, field), content.name(), template.name()),
        LoadError::DuplicateField { offset, field } => write!(s, "{} declared twice (second at byte offset {offset})", field_name(file, field)),
        LoadError::UnknownOperator { predicate, offset, tag } => write!(s, "predicate {predicate} (byte offset {offset}) has unknown operator tag {tag}"),
        LoadError::BadFlags { predicate, offset, flags } => write!(s, "predicate {predicate} (byte offset {offset}) has flags {flags:#04x} its operator does not take"),
        LoadError::PredicateFieldOutOfTemplate { predicate, offset, field, declared } => write!(s, "predicate {predicate} (byte offset {offset}) reads field {field}, but the template declares {declared} fields"),
        LoadError::FieldUndeclared { predicate, offset, field } => write!(s, "predicate {predicate} (byte offset {offset}) reads {}, which the content's field list does not declare", field_name(file, field)),
        LoadError::OperatorFieldType { predicate, offset, op, field, ty } => write!(s, "predicate {predicate} (byte offset {offset}) applies {} to {}, a field of type {}", op.name(), field_name(file, field), ty.name()),
        LoadError::OperandCount { predicate, offset, op, count } => write!(s, "predicate {predicate} (byte offset {offset}): {} cannot take {count} operands", op.name()),
        LoadError::OperandsOutOfBounds { predicate, offset, first, count, available } => write!(s, "predicate {predicate} (byte offset {offset}) uses operands {first}..{first}+{count}, but there are {available}"),
        LoadError::OperandWeight { predicate, offset, declared, actual } => write!(s, "predicate {predicate} (byte offset {offset}) declares operand weight {declared}, operands total {actual}"),
        LoadError::OperandOutOfBounds { operand, offset, start, units } => write!(s, "operand {operand} (byte offset {offset}): {units} code units at pool offset {start} run past the string pool"),
        LoadError::OperandTooLong { operand, offset, units } => write!(s, "operand {operand} (byte offset {offset}) is {units} code units long; at most {} are accepted", sensor_core::limits::MAX_OPERAND_UNITS),
        LoadError::AutomatonOutOfBounds { predicate, offset, automaton, available } => write!(s, "predicate {predicate} (byte offset {offset}) uses automaton {automaton}, but there are {available}"),
        LoadError::PatternOutOfBounds { predicate, offset, automaton, pattern, available } => write!(s, "predicate {predicate} (byte offset {offset}) uses pattern {pattern} of automaton {automaton}, which has {available}"),
        LoadError::AutomatonField { predicate, offset, field, scans } => write!(s, "predicate {predicate} (byte offset {offset}) reads field {field} through an automaton that scans field {scans}"),
        LoadError::AutomatonDirectory { automaton, offset } => write!(s, "automata directory entry {automaton} (byte offset {offset}) is malformed"),
        LoadError::AutomatonMisaligned { automaton, offset } => write!(s, "automaton {automaton} at byte offset {offset} is not 4-byte aligned in memory"),
        LoadError::AutomatonInvalid { automaton, offset } => write!(s, "automaton {automaton} is malformed at byte offset {offset} (a DFA that does not deserialize there, or the first dictionary word that breaks the format)"),
        LoadError::AutomatonUnusable { automaton, offset, patterns } => write!(s, "automaton {automaton} at byte offset {offset} cannot run an unanchored search or has too many patterns ({patterns})"),
        LoadError::AutomatonKind { predicate, offset, op, automaton, dictionary } => write!(s, "predicate {predicate} (byte offset {offset}) is a {} test, which automaton {automaton} ({}) cannot make", op.name(), if dictionary { "a dictionary, for literal operators" } else { "a DFA, for globs and regexes" }),
        LoadError::AutomatonMissing { predicate, offset, op } => write!(s, "predicate {predicate} (byte offset {offset}) is a {} test but names no automaton", op.name()),
        LoadError::TriggersLength { offset, len, expected } => write!(s, "triggers section at byte offset {offset} is {len} bytes; its counts call for {expected}"),
        LoadError::TriggersSlots { offset, declared, patterns } => write!(s, "triggers section declares {declared} pattern slots (byte offset {offset}), but the automata hold {patterns} patterns"),
        LoadError::TriggerEntry { offset, value } => write!(s, "triggers section word {value} at byte offset {offset} is out of range or out of order"),
        LoadError::RuleNotIndexed { rule, offset } => write!(s, "{} (byte offset {offset}) could match on an event that fires none of the patterns the rule index lists it under; the index would skip it", rule_name(file, rule)),
        LoadError::BadRuleText { rule, offset } => write!(s, "rule {rule} (byte offset {offset}) has an id, title or author outside the string pool, too long, or not UTF-8"),
        LoadError::UnknownLevel { rule, offset, tag } => write!(s, "{} (byte offset {offset}) has unknown level {tag}", rule_name(file, rule)),
        LoadError::UnknownAction { rule, offset, tag } => write!(s, "{} (byte offset {offset}) has unknown action {tag}", rule_name(file, rule)),
        LoadError::ProgramBounds { rule, offset, start, len } => write!(s, "{} (byte offset {offset}) has program {start}+{len}, empty, too long or outside the program section", rule_name(file, rule)),
        LoadError::Program { rule, pc, offset, fault } => write!(s, "{}: instruction {pc} (byte offset {offset}): {}", rule_name(file, rule), program_fault(fault)),
        LoadError::PredicateOutOfBounds { rule, pc, offset, predicate, available } => write!(s, "{}: instruction {pc} (byte offset {offset}) pushes predicate {predicate}, but there are {available}", rule_name(file, rule)),
        LoadError::FieldNotSupplied { channel, rule, predicate, offset, field, declared, supplied, build } => write!(s, "channel {channel}: {} predicate {predicate} (byte offset {offset}) reads {}, but sensor {build} supplies {supplied} of the {declared} input fields the template type declares (fields 0..{}); loading it would read past the input array", rule_name(file, rule), field_name(file, field), supplied.saturating_sub(1)),
        LoadError::DeclaredFieldNotSupplied { channel, offset, field, declared, supplied, build } => write!(s, "channel {channel}: the content declares it reads {} (byte offset {offset}), but sensor {build} supplies {supplied} of the {declared} input fields", field_name(file, field)),
        LoadError::OverBudget { worst_case, budget } => write!(s, "worst-case work per event is {worst_case} units, over the sensor's budget of {budget}"),
    };
    s
}

fn program_fault(fault: ProgramFault) -> String {
    match fault {
        ProgramFault::UnknownOpcode(op) => format!("unknown opcode {op}"),
        ProgramFault::BadArgument(arg) => format!("argument {arg} out of range"),
        ProgramFault::StackUnderflow => "pops more values than the stack holds".into(),
        ProgramFault::StackOverflow => {
            format!("stack deeper than {}", sensor_core::limits::MAX_STACK_DEPTH)
        }
        ProgramFault::Unbalanced(depth) => {
            format!("program ends with {depth} values on the stack instead of 1")
        }
    }
}
