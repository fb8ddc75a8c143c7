//! Why the loader refused a channel file.
//!
//! One variant per cause, each carrying where the fault is: the byte offset into the file and,
//! where one applies, the rule, predicate, operand or automaton index and the counts involved.
//! The type is `Copy` and holds no text: rendering to words happens on the host.

use crate::op::Operator;
use crate::schema::FieldType;

/// A section of a channel file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Input fields the content reads.
    Fields,
    /// Rule table.
    Rules,
    /// Predicate table.
    Predicates,
    /// Operand table.
    Operands,
    /// Rule programs.
    Program,
    /// String pool.
    Strings,
    /// Compiled automata.
    Automata,
    /// The rule index: which rules each automaton pattern can make match.
    Triggers,
}

impl Section {
    /// Every section, in file order.
    pub const ALL: [Section; 8] = [
        Self::Fields,
        Self::Rules,
        Self::Predicates,
        Self::Operands,
        Self::Program,
        Self::Strings,
        Self::Automata,
        Self::Triggers,
    ];

    /// The section's name in diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Fields => "fields",
            Self::Rules => "rules",
            Self::Predicates => "predicates",
            Self::Operands => "operands",
            Self::Program => "program",
            Self::Strings => "strings",
            Self::Automata => "automata",
            Self::Triggers => "triggers",
        }
    }
}

/// Why a rule's program is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramFault {
    /// The opcode is not one this format defines.
    UnknownOpcode(u8),
    /// An instruction's argument is out of its range (for example `and 0`).
    BadArgument(u32),
    /// The instruction pops more values than the stack holds.
    StackUnderflow,
    /// The stack would grow past [`crate::limits::MAX_STACK_DEPTH`].
    StackOverflow,
    /// The program ends with a stack depth other than one.
    Unbalanced(u32),
}

/// Why a channel file was refused. Every variant says where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The file is larger than [`crate::limits::MAX_FILE_BYTES`].
    TooLarge {
        /// File length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The file ends before its header and section directory do.
    Truncated {
        /// File length.
        len: usize,
        /// Bytes the header and directory need.
        needed: usize,
    },
    /// The first four bytes are not the channel-file magic.
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A format version this loader does not read.
    UnsupportedFormat {
        /// The version found.
        version: u16,
    },
    /// The header length field is not the one format 1 defines.
    BadHeaderLength {
        /// The value found.
        len: u16,
    },
    /// A reserved byte or field is not zero.
    ReservedNotZero {
        /// Byte offset of the field.
        offset: usize,
    },
    /// The header's body length disagrees with the file length.
    BodyLength {
        /// Body length the header declares.
        declared: u32,
        /// Body length actually present.
        actual: usize,
    },
    /// The body's CRC-32 disagrees with the header.
    Checksum {
        /// The checksum the header declares.
        declared: u32,
        /// The checksum of the bytes present.
        computed: u32,
    },
    /// A section does not start on an 8-byte boundary.
    SectionMisaligned {
        /// The section.
        section: Section,
        /// Its declared offset.
        offset: u32,
    },
    /// A section starts before the end of the directory or of the section before it.
    SectionOverlap {
        /// The section.
        section: Section,
        /// Its declared offset.
        offset: u32,
        /// The first offset it may start at.
        min: usize,
    },
    /// A section extends past the end of the file.
    SectionOutOfBounds {
        /// The section.
        section: Section,
        /// Its declared offset.
        offset: u32,
        /// Its declared length.
        len: u32,
        /// File length.
        file_len: usize,
    },
    /// A section's length is not a whole number of records.
    SectionLength {
        /// The section.
        section: Section,
        /// Its declared length.
        len: u32,
        /// Its record size.
        record: usize,
    },
    /// A section holds more records than the loader accepts.
    TooMany {
        /// The section.
        section: Section,
        /// Records present.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// The header names a template type this sensor core does not know.
    UnknownTemplate {
        /// Template id.
        id: u16,
        /// Template version.
        version: u16,
    },
    /// The sensor build supplies no inputs for the template type the content is written for.
    TemplateNotSupplied {
        /// Channel number.
        channel: u32,
        /// Template id.
        id: u16,
        /// Template version.
        version: u16,
        /// Sensor build.
        build: &'static str,
    },
    /// A field declaration names a field past the template's last.
    FieldOutOfTemplate {
        /// Byte offset of the declaration.
        offset: usize,
        /// The field index.
        field: u8,
        /// Fields the template declares.
        declared: usize,
    },
    /// A field declaration carries an unknown type tag.
    UnknownFieldType {
        /// Byte offset of the declaration.
        offset: usize,
        /// The tag found.
        tag: u8,
    },
    /// A field declaration's type disagrees with the template.
    FieldTypeMismatch {
        /// Byte offset of the declaration.
        offset: usize,
        /// The field index.
        field: u8,
        /// The type the template gives the field.
        template: FieldType,
        /// The type the content declares.
        content: FieldType,
    },
    /// The same field is declared twice.
    DuplicateField {
        /// Byte offset of the second declaration.
        offset: usize,
        /// The field index.
        field: u8,
    },
    /// A predicate carries an unknown operator tag.
    UnknownOperator {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The tag found.
        tag: u8,
    },
    /// A predicate carries flag bits its operator does not take.
    BadFlags {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The flags found.
        flags: u8,
    },
    /// A predicate names a field past the template's last.
    PredicateFieldOutOfTemplate {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The field index.
        field: u8,
        /// Fields the template declares.
        declared: usize,
    },
    /// A predicate reads a field the content's field list does not declare.
    FieldUndeclared {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The field index.
        field: u8,
    },
    /// An operator is applied to a field of a type it cannot compare.
    OperatorFieldType {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The operator.
        op: Operator,
        /// The field index.
        field: u8,
        /// The field's type.
        ty: FieldType,
    },
    /// A predicate carries the wrong number of operands for its operator.
    OperandCount {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The operator.
        op: Operator,
        /// Operands present.
        count: u64,
    },
    /// A predicate's operand run extends past the operand table.
    OperandsOutOfBounds {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// First operand index.
        first: u32,
        /// Operand count.
        count: u64,
        /// Operands in the table.
        available: usize,
    },
    /// A predicate's declared operand weight disagrees with its operands.
    OperandWeight {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// Weight the record declares.
        declared: u32,
        /// Weight of the operands present.
        actual: u64,
    },
    /// An operand string lies outside the string pool.
    OperandOutOfBounds {
        /// Operand index.
        operand: usize,
        /// Byte offset of the operand record.
        offset: usize,
        /// Its start in the pool.
        start: u32,
        /// Its length in UTF-16 code units.
        units: u32,
    },
    /// An operand string is longer than [`crate::limits::MAX_OPERAND_UNITS`].
    OperandTooLong {
        /// Operand index.
        operand: usize,
        /// Byte offset of the operand record.
        offset: usize,
        /// Its length in UTF-16 code units.
        units: u32,
    },
    /// A predicate names an automaton the file does not hold.
    AutomatonOutOfBounds {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The automaton index.
        automaton: u32,
        /// Automata present.
        available: usize,
    },
    /// A predicate names a pattern its automaton does not have.
    PatternOutOfBounds {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The automaton index.
        automaton: u32,
        /// The pattern id.
        pattern: u64,
        /// Patterns the automaton has.
        available: usize,
    },
    /// A predicate reads a field other than the one its automaton scans.
    AutomatonField {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The field the predicate reads.
        field: u8,
        /// The field the automaton scans.
        scans: u32,
    },
    /// The automata section's directory is malformed or points outside the section.
    AutomatonDirectory {
        /// Automaton index, or the count when the directory itself is short.
        automaton: usize,
        /// Byte offset of the directory entry.
        offset: usize,
    },
    /// An automaton's bytes do not sit on a 4-byte boundary in memory.
    AutomatonMisaligned {
        /// Automaton index.
        automaton: usize,
        /// Byte offset of the automaton in the file.
        offset: usize,
    },
    /// An automaton failed its checks: a corrupt or foreign DFA, or a dictionary word that breaks
    /// the format.
    AutomatonInvalid {
        /// Automaton index.
        automaton: usize,
        /// Byte offset in the file: the DFA's start, or the first dictionary word found wrong.
        offset: usize,
    },
    /// An automaton has more patterns than [`crate::limits::MAX_PATTERNS_PER_AUTOMATON`], or
    /// cannot start an unanchored search.
    AutomatonUnusable {
        /// Automaton index.
        automaton: usize,
        /// Byte offset of the automaton in the file.
        offset: usize,
        /// Patterns it has.
        patterns: usize,
    },
    /// A predicate names an automaton that cannot test it: a literal operator on a DFA, a glob
    /// or regex on a dictionary, or an operator no automaton tests.
    AutomatonKind {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The predicate's operator.
        op: Operator,
        /// The automaton index.
        automaton: u32,
        /// Whether that automaton is a dictionary.
        dictionary: bool,
    },
    /// A glob or regex predicate names no automaton.
    AutomatonMissing {
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The predicate's operator.
        op: Operator,
    },
    /// The triggers section's length disagrees with the counts in its header.
    TriggersLength {
        /// Byte offset of the section.
        offset: usize,
        /// Its length in bytes.
        len: usize,
        /// The length its counts call for.
        expected: usize,
    },
    /// The triggers section declares a slot count other than the automata's pattern total.
    TriggersSlots {
        /// Byte offset of the slot count.
        offset: usize,
        /// Slots declared.
        declared: u32,
        /// Patterns the automata hold.
        patterns: usize,
    },
    /// A word of the triggers section is out of range or out of order: a rule index past the
    /// rule table or not above the one before it, or a slot start that goes backwards or past
    /// the entries.
    TriggerEntry {
        /// Byte offset of the word.
        offset: usize,
        /// Its value.
        value: u32,
    },
    /// A rule is neither unindexed nor listed under enough patterns: it could match on an
    /// event that fires none of them, and would be skipped.
    RuleNotIndexed {
        /// Rule index.
        rule: usize,
        /// Byte offset of the rule record.
        offset: usize,
    },
    /// A rule's id, title or author lies outside the string pool, is not UTF-8 or is too long.
    BadRuleText {
        /// Rule index.
        rule: usize,
        /// Byte offset of the rule record.
        offset: usize,
    },
    /// A rule carries an unknown level tag.
    UnknownLevel {
        /// Rule index.
        rule: usize,
        /// Byte offset of the rule record.
        offset: usize,
        /// The tag found.
        tag: u8,
    },
    /// A rule carries an unknown action tag.
    UnknownAction {
        /// Rule index.
        rule: usize,
        /// Byte offset of the rule record.
        offset: usize,
        /// The tag found.
        tag: u8,
    },
    /// A rule's program is empty, too long or lies outside the program section.
    ProgramBounds {
        /// Rule index.
        rule: usize,
        /// Byte offset of the rule record.
        offset: usize,
        /// First instruction.
        start: u32,
        /// Instruction count.
        len: u32,
    },
    /// A rule's program is malformed.
    Program {
        /// Rule index.
        rule: usize,
        /// Instruction index within the rule's program.
        pc: usize,
        /// Byte offset of the instruction.
        offset: usize,
        /// What is wrong.
        fault: ProgramFault,
    },
    /// A rule's program refers to a predicate the file does not hold.
    PredicateOutOfBounds {
        /// Rule index.
        rule: usize,
        /// Instruction index within the rule's program.
        pc: usize,
        /// Byte offset of the instruction.
        offset: usize,
        /// The predicate index.
        predicate: u32,
        /// Predicates present.
        available: usize,
    },
    /// A rule reads an input field that the sensor does not supply: the July 2024 fault.
    FieldNotSupplied {
        /// Channel number.
        channel: u32,
        /// Rule index.
        rule: usize,
        /// Predicate index.
        predicate: usize,
        /// Byte offset of the predicate record.
        offset: usize,
        /// The field index (0-based).
        field: u8,
        /// Fields the template type declares.
        declared: usize,
        /// Fields the sensor supplies.
        supplied: usize,
        /// Sensor build.
        build: &'static str,
    },
    /// The content's field list declares a field that the sensor does not supply.
    DeclaredFieldNotSupplied {
        /// Channel number.
        channel: u32,
        /// Byte offset of the declaration.
        offset: usize,
        /// The field index (0-based).
        field: u8,
        /// Fields the template type declares.
        declared: usize,
        /// Fields the sensor supplies.
        supplied: usize,
        /// Sensor build.
        build: &'static str,
    },
    /// The worst-case work for one event exceeds the sensor's budget.
    OverBudget {
        /// Worst-case work units per event.
        worst_case: u64,
        /// The sensor's budget.
        budget: u64,
    },
}
