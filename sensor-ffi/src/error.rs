//! The typed reason for a refused update, as a C struct.
//!
//! Each [`LoadError`] variant has a kind code that never changes meaning (`SENSOR_ERROR_*`), and
//! its fields land in named members of [`SensorLoadError`]. Members a kind does not use hold
//! [`SENSOR_NONE32`] / [`SENSOR_NONE16`] / [`SENSOR_NONE64`]. The mapping is an exhaustive `match`,
//! so a new core variant does not compile until it has a code here and in the header.

use sensor_core::error::{ProgramFault, Section};
use sensor_core::op::Operator;
use sensor_core::schema::FieldType;
use sensor_core::LoadError;

use crate::status::{content_refused, NtStatus};

/// "Not applicable" in a 32-bit member.
pub const SENSOR_NONE32: u32 = u32::MAX;
/// "Not applicable" in a 16-bit member.
pub const SENSOR_NONE16: u16 = u16::MAX;
/// "Not applicable" in a 64-bit member.
pub const SENSOR_NONE64: u64 = u64::MAX;
/// Bytes of [`SensorLoadError::build`], including the terminating NUL.
pub const SENSOR_BUILD_NAME_BYTES: usize = 16;

/// Kind codes, one per [`LoadError`] variant, in the core's declaration order.
pub mod kind {
    /// File larger than the loader accepts: `value` = length, `bound` = cap.
    pub const TOO_LARGE: u32 = 1;
    /// File shorter than header and directory: `value` = length, `bound` = bytes needed.
    pub const TRUNCATED: u32 = 2;
    /// Wrong magic: `value` = the four bytes found, little-endian.
    pub const BAD_MAGIC: u32 = 3;
    /// Unsupported format version: `value` = version.
    pub const UNSUPPORTED_FORMAT: u32 = 4;
    /// Wrong header length: `value` = length found.
    pub const BAD_HEADER_LENGTH: u32 = 5;
    /// Reserved field not zero: `offset`.
    pub const RESERVED_NOT_ZERO: u32 = 6;
    /// Body length disagrees: `value` = bytes present, `bound` = length declared.
    pub const BODY_LENGTH: u32 = 7;
    /// Checksum mismatch: `value` = computed, `bound` = declared.
    pub const CHECKSUM: u32 = 8;
    /// Section not 8-byte aligned: `section`, `offset`.
    pub const SECTION_MISALIGNED: u32 = 9;
    /// Section overlaps its predecessor: `section`, `offset`, `bound` = first allowed offset.
    pub const SECTION_OVERLAP: u32 = 10;
    /// Section past end of file: `section`, `offset`, `value` = length, `bound` = file length.
    pub const SECTION_OUT_OF_BOUNDS: u32 = 11;
    /// Section not whole records: `section`, `value` = length, `bound` = record size.
    pub const SECTION_LENGTH: u32 = 12;
    /// Too many records: `section`, `value` = count, `bound` = cap.
    pub const TOO_MANY: u32 = 13;
    /// Unknown template type: `template_id`, `template_version`.
    pub const UNKNOWN_TEMPLATE: u32 = 14;
    /// Sensor supplies nothing for the template: `channel`, `template_*`, `build`.
    pub const TEMPLATE_NOT_SUPPLIED: u32 = 15;
    /// Field declaration past the template: `offset`, `field`, `declared`.
    pub const FIELD_OUT_OF_TEMPLATE: u32 = 16;
    /// Unknown field type tag: `offset`, `value` = tag.
    pub const UNKNOWN_FIELD_TYPE: u32 = 17;
    /// Field type disagrees: `offset`, `field`, `value` = content's type, `bound` = template's.
    pub const FIELD_TYPE_MISMATCH: u32 = 18;
    /// Field declared twice: `offset`, `field`.
    pub const DUPLICATE_FIELD: u32 = 19;
    /// Unknown operator tag: `predicate`, `offset`, `value` = tag.
    pub const UNKNOWN_OPERATOR: u32 = 20;
    /// Flags the operator does not take: `predicate`, `offset`, `value` = flags.
    pub const BAD_FLAGS: u32 = 21;
    /// Predicate field past the template: `predicate`, `offset`, `field`, `declared`.
    pub const PREDICATE_FIELD_OUT_OF_TEMPLATE: u32 = 22;
    /// Predicate reads an undeclared field: `predicate`, `offset`, `field`.
    pub const FIELD_UNDECLARED: u32 = 23;
    /// Operator cannot compare the field's type: `predicate`, `offset`, `op`, `field`,
    /// `value` = field type.
    pub const OPERATOR_FIELD_TYPE: u32 = 24;
    /// Wrong operand count: `predicate`, `offset`, `op`, `value` = count.
    pub const OPERAND_COUNT: u32 = 25;
    /// Operand run past the table: `predicate`, `offset`, `operand` = first, `value` = count,
    /// `bound` = operands available.
    pub const OPERANDS_OUT_OF_BOUNDS: u32 = 26;
    /// Operand weight disagrees: `predicate`, `offset`, `value` = actual, `bound` = declared.
    pub const OPERAND_WEIGHT: u32 = 27;
    /// Operand string outside the pool: `operand`, `offset`, `value` = code units,
    /// `bound` = pool start.
    pub const OPERAND_OUT_OF_BOUNDS: u32 = 28;
    /// Operand string too long: `operand`, `offset`, `value` = code units, `bound` = cap.
    pub const OPERAND_TOO_LONG: u32 = 29;
    /// No such automaton: `predicate`, `offset`, `automaton`, `bound` = automata present.
    pub const AUTOMATON_OUT_OF_BOUNDS: u32 = 30;
    /// No such pattern: `predicate`, `offset`, `automaton`, `value` = pattern,
    /// `bound` = patterns present.
    pub const PATTERN_OUT_OF_BOUNDS: u32 = 31;
    /// Predicate field differs from its automaton's: `predicate`, `offset`, `field`,
    /// `value` = field the automaton scans.
    pub const AUTOMATON_FIELD: u32 = 32;
    /// Malformed automata directory: `automaton`, `offset`.
    pub const AUTOMATON_DIRECTORY: u32 = 33;
    /// Automaton not 4-byte aligned in memory: `automaton`, `offset`.
    pub const AUTOMATON_MISALIGNED: u32 = 34;
    /// Automaton fails deserialization: `automaton`, `offset`.
    pub const AUTOMATON_INVALID: u32 = 35;
    /// Automaton unusable: `automaton`, `offset`, `value` = patterns, `bound` = cap.
    pub const AUTOMATON_UNUSABLE: u32 = 36;
    /// Bad rule text: `rule`, `offset`.
    pub const BAD_RULE_TEXT: u32 = 37;
    /// Unknown level tag: `rule`, `offset`, `value` = tag.
    pub const UNKNOWN_LEVEL: u32 = 38;
    /// Unknown action tag: `rule`, `offset`, `value` = tag.
    pub const UNKNOWN_ACTION: u32 = 39;
    /// Program out of bounds: `rule`, `offset`, `pc` = first instruction, `value` = length.
    pub const PROGRAM_BOUNDS: u32 = 40;
    /// Malformed program: `rule`, `pc`, `offset`, `detail` = `SENSOR_FAULT_*`,
    /// `value` = the fault's argument.
    pub const PROGRAM: u32 = 41;
    /// Program names a missing predicate: `rule`, `pc`, `offset`, `predicate`,
    /// `bound` = predicates present.
    pub const PREDICATE_OUT_OF_BOUNDS: u32 = 42;
    /// The July 2024 fault: a rule reads a field the sensor does not supply. `channel`, `rule`,
    /// `predicate`, `offset`, `field`, `declared`, `supplied`, `build`.
    pub const FIELD_NOT_SUPPLIED: u32 = 43;
    /// The content declares a field the sensor does not supply: `channel`, `offset`, `field`,
    /// `declared`, `supplied`, `build`.
    pub const DECLARED_FIELD_NOT_SUPPLIED: u32 = 44;
    /// Worst-case work over budget: `value` = worst case, `bound` = budget.
    pub const OVER_BUDGET: u32 = 45;
    /// A predicate names an automaton of the wrong kind: `predicate`, `offset`, `op`,
    /// `automaton`, `value` = 1 if that automaton is a dictionary.
    pub const AUTOMATON_KIND: u32 = 46;
    /// A glob or regex predicate names no automaton: `predicate`, `offset`, `op`.
    pub const AUTOMATON_MISSING: u32 = 47;
    /// Triggers section length disagrees with its counts: `offset`, `value` = length,
    /// `bound` = length expected.
    pub const TRIGGERS_LENGTH: u32 = 48;
    /// Triggers section slot count is not the automata's pattern total: `offset`,
    /// `value` = slots declared, `bound` = patterns.
    pub const TRIGGERS_SLOTS: u32 = 49;
    /// A triggers section word is out of range or order: `offset`, `value` = the word.
    pub const TRIGGER_ENTRY: u32 = 50;
    /// A rule the index could skip while it may match: `rule`, `offset`.
    pub const RULE_NOT_INDEXED: u32 = 51;
}

/// Program fault codes, in [`SensorLoadError::detail`] for [`kind::PROGRAM`].
pub mod fault {
    /// Unknown opcode; `value` = opcode.
    pub const UNKNOWN_OPCODE: u32 = 1;
    /// Argument out of range; `value` = argument.
    pub const BAD_ARGUMENT: u32 = 2;
    /// Stack underflow.
    pub const STACK_UNDERFLOW: u32 = 3;
    /// Stack overflow.
    pub const STACK_OVERFLOW: u32 = 4;
    /// Program leaves a depth other than one; `value` = depth.
    pub const UNBALANCED: u32 = 5;
}

/// Why an update was refused, and where. `kind == 0` means no error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorLoadError {
    /// `SENSOR_ERROR_*` kind code, 0 when there is no error.
    pub kind: u32,
    /// `SENSOR_SECTION_*` code (1 fields .. 7 automata).
    pub section: u32,
    /// Channel number.
    pub channel: u32,
    /// Template type id.
    pub template_id: u16,
    /// Template type version.
    pub template_version: u16,
    /// Rule index (0-based).
    pub rule: u32,
    /// Predicate index.
    pub predicate: u32,
    /// Operand index.
    pub operand: u32,
    /// Automaton index.
    pub automaton: u32,
    /// Instruction index within the rule's program.
    pub pc: u32,
    /// Input field index (0-based: 20 is the 21st field).
    pub field: u32,
    /// Fields the template type declares.
    pub declared: u32,
    /// Fields the sensor build supplies.
    pub supplied: u32,
    /// Operator tag (`SENSOR_OP_*` as in the channel-file format).
    pub op: u32,
    /// Kind-specific detail code (`SENSOR_FAULT_*` for program faults).
    pub detail: u32,
    /// Byte offset into the channel file.
    pub offset: u64,
    /// Kind-specific value (what was found).
    pub value: u64,
    /// Kind-specific bound (what was expected or allowed).
    pub bound: u64,
    /// Sensor build name, NUL-terminated (truncated to 15 bytes).
    pub build: [u8; SENSOR_BUILD_NAME_BYTES],
}

impl SensorLoadError {
    /// No error: kind 0, every other member "not applicable".
    pub const NONE: Self = Self {
        kind: 0,
        section: SENSOR_NONE32,
        channel: SENSOR_NONE32,
        template_id: SENSOR_NONE16,
        template_version: SENSOR_NONE16,
        rule: SENSOR_NONE32,
        predicate: SENSOR_NONE32,
        operand: SENSOR_NONE32,
        automaton: SENSOR_NONE32,
        pc: SENSOR_NONE32,
        field: SENSOR_NONE32,
        declared: SENSOR_NONE32,
        supplied: SENSOR_NONE32,
        op: SENSOR_NONE32,
        detail: SENSOR_NONE32,
        offset: SENSOR_NONE64,
        value: SENSOR_NONE64,
        bound: SENSOR_NONE64,
        build: [0; SENSOR_BUILD_NAME_BYTES],
    };

    /// The status an update refused for this reason returns.
    pub const fn status(&self) -> NtStatus {
        content_refused(self.kind)
    }

    /// The build name as text (up to the first NUL).
    pub fn build_name(&self) -> &[u8] {
        let end = self
            .build
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(SENSOR_BUILD_NAME_BYTES);
        self.build.get(..end).unwrap_or_default()
    }
}

fn n32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(SENSOR_NONE32)
}

fn n64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(SENSOR_NONE64)
}

fn build_name(build: &str) -> [u8; SENSOR_BUILD_NAME_BYTES] {
    let mut out = [0u8; SENSOR_BUILD_NAME_BYTES];
    let room = SENSOR_BUILD_NAME_BYTES.saturating_sub(1);
    for (dst, &src) in out.iter_mut().take(room).zip(build.as_bytes()) {
        *dst = src;
    }
    out
}

/// `SENSOR_SECTION_FIELDS`.
pub const SENSOR_SECTION_FIELDS: u32 = 1;
/// `SENSOR_SECTION_RULES`.
pub const SENSOR_SECTION_RULES: u32 = 2;
/// `SENSOR_SECTION_PREDICATES`.
pub const SENSOR_SECTION_PREDICATES: u32 = 3;
/// `SENSOR_SECTION_OPERANDS`.
pub const SENSOR_SECTION_OPERANDS: u32 = 4;
/// `SENSOR_SECTION_PROGRAM`.
pub const SENSOR_SECTION_PROGRAM: u32 = 5;
/// `SENSOR_SECTION_STRINGS`.
pub const SENSOR_SECTION_STRINGS: u32 = 6;
/// `SENSOR_SECTION_AUTOMATA`.
pub const SENSOR_SECTION_AUTOMATA: u32 = 7;
/// `SENSOR_SECTION_TRIGGERS`.
pub const SENSOR_SECTION_TRIGGERS: u32 = 8;

/// The `SENSOR_SECTION_*` code of a section: 1 (fields) to 8 (triggers), in file order.
pub fn section_code(section: Section) -> u32 {
    match section {
        Section::Fields => SENSOR_SECTION_FIELDS,
        Section::Rules => SENSOR_SECTION_RULES,
        Section::Predicates => SENSOR_SECTION_PREDICATES,
        Section::Operands => SENSOR_SECTION_OPERANDS,
        Section::Program => SENSOR_SECTION_PROGRAM,
        Section::Strings => SENSOR_SECTION_STRINGS,
        Section::Automata => SENSOR_SECTION_AUTOMATA,
        Section::Triggers => SENSOR_SECTION_TRIGGERS,
    }
}

fn op_code(op: Operator) -> u32 {
    u32::from(op as u8)
}

fn type_code(ty: FieldType) -> u64 {
    u64::from(ty as u8)
}

impl From<&LoadError> for SensorLoadError {
    #[allow(clippy::too_many_lines)]
    fn from(error: &LoadError) -> Self {
        let mut e = Self::NONE;
        match *error {
            LoadError::TooLarge { len, max } => {
                e.kind = kind::TOO_LARGE;
                e.value = n64(len);
                e.bound = n64(max);
            }
            LoadError::Truncated { len, needed } => {
                e.kind = kind::TRUNCATED;
                e.value = n64(len);
                e.bound = n64(needed);
            }
            LoadError::BadMagic { found } => {
                e.kind = kind::BAD_MAGIC;
                e.value = u64::from(u32::from_le_bytes(found));
            }
            LoadError::UnsupportedFormat { version } => {
                e.kind = kind::UNSUPPORTED_FORMAT;
                e.value = u64::from(version);
            }
            LoadError::BadHeaderLength { len } => {
                e.kind = kind::BAD_HEADER_LENGTH;
                e.value = u64::from(len);
            }
            LoadError::ReservedNotZero { offset } => {
                e.kind = kind::RESERVED_NOT_ZERO;
                e.offset = n64(offset);
            }
            LoadError::BodyLength { declared, actual } => {
                e.kind = kind::BODY_LENGTH;
                e.value = n64(actual);
                e.bound = u64::from(declared);
            }
            LoadError::Checksum { declared, computed } => {
                e.kind = kind::CHECKSUM;
                e.value = u64::from(computed);
                e.bound = u64::from(declared);
            }
            LoadError::SectionMisaligned { section, offset } => {
                e.kind = kind::SECTION_MISALIGNED;
                e.section = section_code(section);
                e.offset = u64::from(offset);
            }
            LoadError::SectionOverlap {
                section,
                offset,
                min,
            } => {
                e.kind = kind::SECTION_OVERLAP;
                e.section = section_code(section);
                e.offset = u64::from(offset);
                e.bound = n64(min);
            }
            LoadError::SectionOutOfBounds {
                section,
                offset,
                len,
                file_len,
            } => {
                e.kind = kind::SECTION_OUT_OF_BOUNDS;
                e.section = section_code(section);
                e.offset = u64::from(offset);
                e.value = u64::from(len);
                e.bound = n64(file_len);
            }
            LoadError::SectionLength {
                section,
                len,
                record,
            } => {
                e.kind = kind::SECTION_LENGTH;
                e.section = section_code(section);
                e.value = u64::from(len);
                e.bound = n64(record);
            }
            LoadError::TooMany {
                section,
                count,
                max,
            } => {
                e.kind = kind::TOO_MANY;
                e.section = section_code(section);
                e.value = n64(count);
                e.bound = n64(max);
            }
            LoadError::UnknownTemplate { id, version } => {
                e.kind = kind::UNKNOWN_TEMPLATE;
                e.template_id = id;
                e.template_version = version;
            }
            LoadError::TemplateNotSupplied {
                channel,
                id,
                version,
                build,
            } => {
                e.kind = kind::TEMPLATE_NOT_SUPPLIED;
                e.channel = channel;
                e.template_id = id;
                e.template_version = version;
                e.build = build_name(build);
            }
            LoadError::FieldOutOfTemplate {
                offset,
                field,
                declared,
            } => {
                e.kind = kind::FIELD_OUT_OF_TEMPLATE;
                e.offset = n64(offset);
                e.field = u32::from(field);
                e.declared = n32(declared);
            }
            LoadError::UnknownFieldType { offset, tag } => {
                e.kind = kind::UNKNOWN_FIELD_TYPE;
                e.offset = n64(offset);
                e.value = u64::from(tag);
            }
            LoadError::FieldTypeMismatch {
                offset,
                field,
                template,
                content,
            } => {
                e.kind = kind::FIELD_TYPE_MISMATCH;
                e.offset = n64(offset);
                e.field = u32::from(field);
                e.value = type_code(content);
                e.bound = type_code(template);
            }
            LoadError::DuplicateField { offset, field } => {
                e.kind = kind::DUPLICATE_FIELD;
                e.offset = n64(offset);
                e.field = u32::from(field);
            }
            LoadError::UnknownOperator {
                predicate,
                offset,
                tag,
            } => {
                e.kind = kind::UNKNOWN_OPERATOR;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.value = u64::from(tag);
            }
            LoadError::BadFlags {
                predicate,
                offset,
                flags,
            } => {
                e.kind = kind::BAD_FLAGS;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.value = u64::from(flags);
            }
            LoadError::PredicateFieldOutOfTemplate {
                predicate,
                offset,
                field,
                declared,
            } => {
                e.kind = kind::PREDICATE_FIELD_OUT_OF_TEMPLATE;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.field = u32::from(field);
                e.declared = n32(declared);
            }
            LoadError::FieldUndeclared {
                predicate,
                offset,
                field,
            } => {
                e.kind = kind::FIELD_UNDECLARED;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.field = u32::from(field);
            }
            LoadError::OperatorFieldType {
                predicate,
                offset,
                op,
                field,
                ty,
            } => {
                e.kind = kind::OPERATOR_FIELD_TYPE;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.op = op_code(op);
                e.field = u32::from(field);
                e.value = type_code(ty);
            }
            LoadError::OperandCount {
                predicate,
                offset,
                op,
                count,
            } => {
                e.kind = kind::OPERAND_COUNT;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.op = op_code(op);
                e.value = count;
            }
            LoadError::OperandsOutOfBounds {
                predicate,
                offset,
                first,
                count,
                available,
            } => {
                e.kind = kind::OPERANDS_OUT_OF_BOUNDS;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.operand = first;
                e.value = count;
                e.bound = n64(available);
            }
            LoadError::OperandWeight {
                predicate,
                offset,
                declared,
                actual,
            } => {
                e.kind = kind::OPERAND_WEIGHT;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.value = actual;
                e.bound = u64::from(declared);
            }
            LoadError::OperandOutOfBounds {
                operand,
                offset,
                start,
                units,
            } => {
                e.kind = kind::OPERAND_OUT_OF_BOUNDS;
                e.operand = n32(operand);
                e.offset = n64(offset);
                e.value = u64::from(units);
                e.bound = u64::from(start);
            }
            LoadError::OperandTooLong {
                operand,
                offset,
                units,
            } => {
                e.kind = kind::OPERAND_TOO_LONG;
                e.operand = n32(operand);
                e.offset = n64(offset);
                e.value = u64::from(units);
                e.bound = n64(sensor_core::limits::MAX_OPERAND_UNITS);
            }
            LoadError::AutomatonOutOfBounds {
                predicate,
                offset,
                automaton,
                available,
            } => {
                e.kind = kind::AUTOMATON_OUT_OF_BOUNDS;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.automaton = automaton;
                e.bound = n64(available);
            }
            LoadError::PatternOutOfBounds {
                predicate,
                offset,
                automaton,
                pattern,
                available,
            } => {
                e.kind = kind::PATTERN_OUT_OF_BOUNDS;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.automaton = automaton;
                e.value = pattern;
                e.bound = n64(available);
            }
            LoadError::AutomatonField {
                predicate,
                offset,
                field,
                scans,
            } => {
                e.kind = kind::AUTOMATON_FIELD;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.field = u32::from(field);
                e.value = u64::from(scans);
            }
            LoadError::AutomatonDirectory { automaton, offset } => {
                e.kind = kind::AUTOMATON_DIRECTORY;
                e.automaton = n32(automaton);
                e.offset = n64(offset);
            }
            LoadError::AutomatonMisaligned { automaton, offset } => {
                e.kind = kind::AUTOMATON_MISALIGNED;
                e.automaton = n32(automaton);
                e.offset = n64(offset);
            }
            LoadError::AutomatonInvalid { automaton, offset } => {
                e.kind = kind::AUTOMATON_INVALID;
                e.automaton = n32(automaton);
                e.offset = n64(offset);
            }
            LoadError::AutomatonUnusable {
                automaton,
                offset,
                patterns,
            } => {
                e.kind = kind::AUTOMATON_UNUSABLE;
                e.automaton = n32(automaton);
                e.offset = n64(offset);
                e.value = n64(patterns);
                e.bound = n64(sensor_core::limits::MAX_PATTERNS_PER_AUTOMATON);
            }
            LoadError::AutomatonKind {
                predicate,
                offset,
                op,
                automaton,
                dictionary,
            } => {
                e.kind = kind::AUTOMATON_KIND;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.op = op_code(op);
                e.automaton = automaton;
                e.value = u64::from(dictionary);
            }
            LoadError::AutomatonMissing {
                predicate,
                offset,
                op,
            } => {
                e.kind = kind::AUTOMATON_MISSING;
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.op = op_code(op);
            }
            LoadError::TriggersLength {
                offset,
                len,
                expected,
            } => {
                e.kind = kind::TRIGGERS_LENGTH;
                e.section = SENSOR_SECTION_TRIGGERS;
                e.offset = n64(offset);
                e.value = n64(len);
                e.bound = n64(expected);
            }
            LoadError::TriggersSlots {
                offset,
                declared,
                patterns,
            } => {
                e.kind = kind::TRIGGERS_SLOTS;
                e.section = SENSOR_SECTION_TRIGGERS;
                e.offset = n64(offset);
                e.value = u64::from(declared);
                e.bound = n64(patterns);
            }
            LoadError::TriggerEntry { offset, value } => {
                e.kind = kind::TRIGGER_ENTRY;
                e.section = SENSOR_SECTION_TRIGGERS;
                e.offset = n64(offset);
                e.value = u64::from(value);
            }
            LoadError::RuleNotIndexed { rule, offset } => {
                e.kind = kind::RULE_NOT_INDEXED;
                e.rule = n32(rule);
                e.offset = n64(offset);
            }
            LoadError::BadRuleText { rule, offset } => {
                e.kind = kind::BAD_RULE_TEXT;
                e.rule = n32(rule);
                e.offset = n64(offset);
            }
            LoadError::UnknownLevel { rule, offset, tag } => {
                e.kind = kind::UNKNOWN_LEVEL;
                e.rule = n32(rule);
                e.offset = n64(offset);
                e.value = u64::from(tag);
            }
            LoadError::UnknownAction { rule, offset, tag } => {
                e.kind = kind::UNKNOWN_ACTION;
                e.rule = n32(rule);
                e.offset = n64(offset);
                e.value = u64::from(tag);
            }
            LoadError::ProgramBounds {
                rule,
                offset,
                start,
                len,
            } => {
                e.kind = kind::PROGRAM_BOUNDS;
                e.rule = n32(rule);
                e.offset = n64(offset);
                e.pc = start;
                e.value = u64::from(len);
            }
            LoadError::Program {
                rule,
                pc,
                offset,
                fault,
            } => {
                e.kind = kind::PROGRAM;
                e.rule = n32(rule);
                e.pc = n32(pc);
                e.offset = n64(offset);
                let (detail, value) = match fault {
                    ProgramFault::UnknownOpcode(op) => (fault::UNKNOWN_OPCODE, u64::from(op)),
                    ProgramFault::BadArgument(arg) => (fault::BAD_ARGUMENT, u64::from(arg)),
                    ProgramFault::StackUnderflow => (fault::STACK_UNDERFLOW, SENSOR_NONE64),
                    ProgramFault::StackOverflow => (fault::STACK_OVERFLOW, SENSOR_NONE64),
                    ProgramFault::Unbalanced(depth) => (fault::UNBALANCED, u64::from(depth)),
                };
                e.detail = detail;
                e.value = value;
            }
            LoadError::PredicateOutOfBounds {
                rule,
                pc,
                offset,
                predicate,
                available,
            } => {
                e.kind = kind::PREDICATE_OUT_OF_BOUNDS;
                e.rule = n32(rule);
                e.pc = n32(pc);
                e.offset = n64(offset);
                e.predicate = predicate;
                e.bound = n64(available);
            }
            LoadError::FieldNotSupplied {
                channel,
                rule,
                predicate,
                offset,
                field,
                declared,
                supplied,
                build,
            } => {
                e.kind = kind::FIELD_NOT_SUPPLIED;
                e.channel = channel;
                e.rule = n32(rule);
                e.predicate = n32(predicate);
                e.offset = n64(offset);
                e.field = u32::from(field);
                e.declared = n32(declared);
                e.supplied = n32(supplied);
                e.build = build_name(build);
            }
            LoadError::DeclaredFieldNotSupplied {
                channel,
                offset,
                field,
                declared,
                supplied,
                build,
            } => {
                e.kind = kind::DECLARED_FIELD_NOT_SUPPLIED;
                e.channel = channel;
                e.offset = n64(offset);
                e.field = u32::from(field);
                e.declared = n32(declared);
                e.supplied = n32(supplied);
                e.build = build_name(build);
            }
            LoadError::OverBudget { worst_case, budget } => {
                e.kind = kind::OVER_BUDGET;
                e.value = worst_case;
                e.bound = budget;
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_core::error::LoadError as E;
    use std::vec;
    use std::vec::Vec;

    /// One of every variant; every number in it distinct (101, 102, ...), so that a number
    /// that does not reach the C struct is noticed.
    fn every_variant() -> Vec<(E, Vec<u64>)> {
        let s = Section::Predicates;
        let op = Operator::Contains;
        let ty = FieldType::String;
        let b = "7.11";
        vec![
            (E::TooLarge { len: 101, max: 102 }, vec![101, 102]),
            (
                E::Truncated {
                    len: 103,
                    needed: 104,
                },
                vec![103, 104],
            ),
            (
                E::BadMagic { found: *b"XNCF" },
                vec![u64::from(u32::from_le_bytes(*b"XNCF"))],
            ),
            (E::UnsupportedFormat { version: 105 }, vec![105]),
            (E::BadHeaderLength { len: 106 }, vec![106]),
            (E::ReservedNotZero { offset: 107 }, vec![107]),
            (
                E::BodyLength {
                    declared: 108,
                    actual: 109,
                },
                vec![108, 109],
            ),
            (
                E::Checksum {
                    declared: 110,
                    computed: 111,
                },
                vec![110, 111],
            ),
            (
                E::SectionMisaligned {
                    section: s,
                    offset: 112,
                },
                vec![112, 3],
            ),
            (
                E::SectionOverlap {
                    section: s,
                    offset: 113,
                    min: 114,
                },
                vec![113, 114, 3],
            ),
            (
                E::SectionOutOfBounds {
                    section: s,
                    offset: 115,
                    len: 116,
                    file_len: 117,
                },
                vec![115, 116, 117, 3],
            ),
            (
                E::SectionLength {
                    section: s,
                    len: 118,
                    record: 119,
                },
                vec![118, 119, 3],
            ),
            (
                E::TooMany {
                    section: s,
                    count: 120,
                    max: 121,
                },
                vec![120, 121, 3],
            ),
            (
                E::UnknownTemplate {
                    id: 122,
                    version: 123,
                },
                vec![122, 123],
            ),
            (
                E::TemplateNotSupplied {
                    channel: 124,
                    id: 125,
                    version: 126,
                    build: b,
                },
                vec![124, 125, 126],
            ),
            (
                E::FieldOutOfTemplate {
                    offset: 127,
                    field: 28,
                    declared: 129,
                },
                vec![127, 28, 129],
            ),
            (
                E::UnknownFieldType {
                    offset: 130,
                    tag: 31,
                },
                vec![130, 31],
            ),
            (
                E::FieldTypeMismatch {
                    offset: 132,
                    field: 33,
                    template: FieldType::Integer,
                    content: FieldType::Flags,
                },
                vec![132, 33, 2, 3],
            ),
            (
                E::DuplicateField {
                    offset: 134,
                    field: 35,
                },
                vec![134, 35],
            ),
            (
                E::UnknownOperator {
                    predicate: 136,
                    offset: 137,
                    tag: 38,
                },
                vec![136, 137, 38],
            ),
            (
                E::BadFlags {
                    predicate: 139,
                    offset: 140,
                    flags: 41,
                },
                vec![139, 140, 41],
            ),
            (
                E::PredicateFieldOutOfTemplate {
                    predicate: 142,
                    offset: 143,
                    field: 44,
                    declared: 145,
                },
                vec![142, 143, 44, 145],
            ),
            (
                E::FieldUndeclared {
                    predicate: 146,
                    offset: 147,
                    field: 48,
                },
                vec![146, 147, 48],
            ),
            (
                E::OperatorFieldType {
                    predicate: 149,
                    offset: 150,
                    op,
                    field: 51,
                    ty,
                },
                vec![149, 150, 3, 51, 1],
            ),
            (
                E::OperandCount {
                    predicate: 152,
                    offset: 153,
                    op,
                    count: 154,
                },
                vec![152, 153, 3, 154],
            ),
            (
                E::OperandsOutOfBounds {
                    predicate: 155,
                    offset: 156,
                    first: 157,
                    count: 158,
                    available: 159,
                },
                vec![155, 156, 157, 158, 159],
            ),
            (
                E::OperandWeight {
                    predicate: 160,
                    offset: 161,
                    declared: 162,
                    actual: 163,
                },
                vec![160, 161, 162, 163],
            ),
            (
                E::OperandOutOfBounds {
                    operand: 164,
                    offset: 165,
                    start: 166,
                    units: 167,
                },
                vec![164, 165, 166, 167],
            ),
            (
                E::OperandTooLong {
                    operand: 168,
                    offset: 169,
                    units: 170,
                },
                vec![168, 169, 170],
            ),
            (
                E::AutomatonOutOfBounds {
                    predicate: 171,
                    offset: 172,
                    automaton: 173,
                    available: 174,
                },
                vec![171, 172, 173, 174],
            ),
            (
                E::PatternOutOfBounds {
                    predicate: 175,
                    offset: 176,
                    automaton: 177,
                    pattern: 178,
                    available: 179,
                },
                vec![175, 176, 177, 178, 179],
            ),
            (
                E::AutomatonField {
                    predicate: 180,
                    offset: 181,
                    field: 82,
                    scans: 183,
                },
                vec![180, 181, 82, 183],
            ),
            (
                E::AutomatonDirectory {
                    automaton: 184,
                    offset: 185,
                },
                vec![184, 185],
            ),
            (
                E::AutomatonMisaligned {
                    automaton: 186,
                    offset: 187,
                },
                vec![186, 187],
            ),
            (
                E::AutomatonInvalid {
                    automaton: 188,
                    offset: 189,
                },
                vec![188, 189],
            ),
            (
                E::AutomatonUnusable {
                    automaton: 190,
                    offset: 191,
                    patterns: 192,
                },
                vec![190, 191, 192],
            ),
            (
                E::BadRuleText {
                    rule: 193,
                    offset: 194,
                },
                vec![193, 194],
            ),
            (
                E::UnknownLevel {
                    rule: 195,
                    offset: 196,
                    tag: 97,
                },
                vec![195, 196, 97],
            ),
            (
                E::UnknownAction {
                    rule: 198,
                    offset: 199,
                    tag: 100,
                },
                vec![198, 199, 100],
            ),
            (
                E::ProgramBounds {
                    rule: 201,
                    offset: 202,
                    start: 203,
                    len: 204,
                },
                vec![201, 202, 203, 204],
            ),
            (
                E::Program {
                    rule: 205,
                    pc: 206,
                    offset: 207,
                    fault: ProgramFault::BadArgument(208),
                },
                vec![205, 206, 207, 208, 2],
            ),
            (
                E::PredicateOutOfBounds {
                    rule: 209,
                    pc: 210,
                    offset: 211,
                    predicate: 212,
                    available: 213,
                },
                vec![209, 210, 211, 212, 213],
            ),
            (
                E::FieldNotSupplied {
                    channel: 291,
                    rule: 5,
                    predicate: 15,
                    offset: 688,
                    field: 20,
                    declared: 21,
                    supplied: 20,
                    build: b,
                },
                vec![291, 5, 15, 688, 20, 21, 20],
            ),
            (
                E::DeclaredFieldNotSupplied {
                    channel: 214,
                    offset: 215,
                    field: 16,
                    declared: 217,
                    supplied: 218,
                    build: b,
                },
                vec![214, 215, 16, 217, 218],
            ),
            (
                E::OverBudget {
                    worst_case: 219,
                    budget: 220,
                },
                vec![219, 220],
            ),
            (
                E::AutomatonKind {
                    predicate: 221,
                    offset: 222,
                    op,
                    automaton: 223,
                    dictionary: true,
                },
                vec![221, 222, 3, 223, 1],
            ),
            (
                E::AutomatonMissing {
                    predicate: 224,
                    offset: 225,
                    op,
                },
                vec![224, 225, 3],
            ),
            (
                E::TriggersLength {
                    offset: 226,
                    len: 227,
                    expected: 228,
                },
                vec![8, 226, 227, 228],
            ),
            (
                E::TriggersSlots {
                    offset: 229,
                    declared: 230,
                    patterns: 231,
                },
                vec![8, 229, 230, 231],
            ),
            (
                E::TriggerEntry {
                    offset: 232,
                    value: 233,
                },
                vec![8, 232, 233],
            ),
            (
                E::RuleNotIndexed {
                    rule: 234,
                    offset: 235,
                },
                vec![234, 235],
            ),
        ]
    }

    fn members(e: &SensorLoadError) -> Vec<u64> {
        let mut v: Vec<u64> = [
            e.section,
            e.channel,
            e.rule,
            e.predicate,
            e.operand,
            e.automaton,
            e.pc,
            e.field,
            e.declared,
            e.supplied,
            e.op,
            e.detail,
        ]
        .iter()
        .filter(|&&x| x != SENSOR_NONE32)
        .map(|&x| u64::from(x))
        .collect();
        v.extend(
            [e.template_id, e.template_version]
                .iter()
                .filter(|&&x| x != SENSOR_NONE16)
                .map(|&x| u64::from(x)),
        );
        v.extend(
            [e.offset, e.value, e.bound]
                .iter()
                .filter(|&&x| x != SENSOR_NONE64),
        );
        v
    }

    #[test]
    fn every_variant_has_its_own_kind_code_in_declaration_order() {
        let kinds: Vec<u32> = every_variant()
            .iter()
            .map(|(e, _)| SensorLoadError::from(e).kind)
            .collect();
        let expected: Vec<u32> = (1..=51).collect();
        assert_eq!(kinds, expected);
    }

    #[test]
    fn no_number_of_a_refusal_is_lost_on_the_way_to_c() {
        for (error, numbers) in every_variant() {
            let c = SensorLoadError::from(&error);
            let mut got = members(&c);
            // Caps the core names by constant are reported too; they are not in `numbers`.
            for cap in [
                sensor_core::limits::MAX_OPERAND_UNITS as u64,
                sensor_core::limits::MAX_PATTERNS_PER_AUTOMATON as u64,
            ] {
                if !numbers.contains(&cap) {
                    got.retain(|&x| x != cap);
                }
            }
            let mut want = numbers.clone();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{error:?} -> {c:?}");
            let has_build = matches!(
                error,
                E::TemplateNotSupplied { .. }
                    | E::FieldNotSupplied { .. }
                    | E::DeclaredFieldNotSupplied { .. }
            );
            assert_eq!(c.build_name(), if has_build { &b"7.11"[..] } else { b"" });
        }
    }

    #[test]
    fn the_july_refusal_lands_in_the_named_members() {
        let e = SensorLoadError::from(&E::FieldNotSupplied {
            channel: 291,
            rule: 5,
            predicate: 15,
            offset: 688,
            field: 20,
            declared: 21,
            supplied: 20,
            build: "7.11",
        });
        assert_eq!(
            (
                e.kind,
                e.channel,
                e.rule,
                e.predicate,
                e.offset,
                e.field,
                e.declared,
                e.supplied
            ),
            (kind::FIELD_NOT_SUPPLIED, 291, 5, 15, 688, 20, 21, 20)
        );
        assert_eq!(e.status().cast_unsigned(), 0xE291_002B);
    }

    #[test]
    fn long_build_names_are_truncated_and_stay_nul_terminated() {
        let e = SensorLoadError::from(&E::TemplateNotSupplied {
            channel: 1,
            id: 1,
            version: 1,
            build: "a-very-long-sensor-build-name",
        });
        assert_eq!(e.build[SENSOR_BUILD_NAME_BYTES - 1], 0);
        assert_eq!(e.build_name(), b"a-very-long-sen");
    }
}
