//! Golden diagnostics: one instance of every `LoadError` variant rendered against the 19 July
//! 2024 file, so rule and field names resolve. The wording is part of the interface; change it
//! on purpose by running with `UPDATE_GOLDEN=1`.

mod common;

use sensor_core::error::{LoadError, ProgramFault, Section};
use sensor_core::schema::FieldType;
use sensor_core::Operator;
use sensor_host::builtin::JULY_19_0409;
use sensor_host::diag::describe;

fn every_variant() -> Vec<LoadError> {
    use LoadError::*;
    let (predicate, offset, rule) = (15, 688, 5);
    vec![
        TooLarge {
            len: 70_000_000,
            max: 67_108_864,
        },
        Truncated {
            len: 10,
            needed: 128,
        },
        BadMagic {
            found: *b"MZ\x90\x00",
        },
        UnsupportedFormat { version: 1 },
        BadHeaderLength { len: 32 },
        ReservedNotZero { offset: 40 },
        BodyLength {
            declared: 100,
            actual: 99,
        },
        Checksum {
            declared: 1,
            computed: 2,
        },
        SectionMisaligned {
            section: Section::Rules,
            offset: 124,
        },
        SectionOverlap {
            section: Section::Rules,
            offset: 0,
            min: 128,
        },
        SectionOutOfBounds {
            section: Section::Strings,
            offset: 512,
            len: 1 << 30,
            file_len: 4096,
        },
        SectionLength {
            section: Section::Rules,
            len: 40,
            record: 32,
        },
        TooMany {
            section: Section::Fields,
            count: 33,
            max: 32,
        },
        UnknownTemplate { id: 9, version: 1 },
        TemplateNotSupplied {
            channel: 291,
            id: 1,
            version: 1,
            build: "7.11",
        },
        FieldOutOfTemplate {
            offset: 120,
            field: 25,
            declared: 21,
        },
        UnknownFieldType {
            offset: 124,
            tag: 9,
        },
        FieldTypeMismatch {
            offset: 124,
            field: 1,
            template: FieldType::String,
            content: FieldType::Integer,
        },
        DuplicateField {
            offset: 128,
            field: 1,
        },
        UnknownOperator {
            predicate,
            offset,
            tag: 99,
        },
        BadFlags {
            predicate,
            offset,
            flags: 0x80,
        },
        PredicateFieldOutOfTemplate {
            predicate,
            offset,
            field: 30,
            declared: 21,
        },
        FieldUndeclared {
            predicate,
            offset,
            field: 18,
        },
        OperatorFieldType {
            predicate,
            offset,
            op: Operator::Contains,
            field: 0,
            ty: FieldType::Integer,
        },
        OperandCount {
            predicate,
            offset,
            op: Operator::Equals,
            count: 0,
        },
        OperandsOutOfBounds {
            predicate,
            offset,
            first: 1000,
            count: 2,
            available: 12,
        },
        OperandWeight {
            predicate,
            offset,
            declared: 99,
            actual: 8,
        },
        OperandOutOfBounds {
            operand: 3,
            offset: 800,
            start: 1_000_000,
            units: 5,
        },
        OperandTooLong {
            operand: 3,
            offset: 800,
            units: 5000,
        },
        AutomatonOutOfBounds {
            predicate,
            offset,
            automaton: 5,
            available: 1,
        },
        PatternOutOfBounds {
            predicate,
            offset,
            automaton: 0,
            pattern: 99,
            available: 1,
        },
        AutomatonField {
            predicate,
            offset,
            field: 2,
            scans: 1,
        },
        AutomatonDirectory {
            automaton: 0,
            offset: 1024,
        },
        AutomatonMisaligned {
            automaton: 0,
            offset: 1040,
        },
        AutomatonInvalid {
            automaton: 0,
            offset: 1040,
        },
        AutomatonUnusable {
            automaton: 0,
            offset: 1040,
            patterns: 1,
        },
        BadRuleText { rule, offset: 280 },
        UnknownLevel {
            rule,
            offset: 280,
            tag: 9,
        },
        UnknownAction {
            rule,
            offset: 280,
            tag: 9,
        },
        ProgramBounds {
            rule,
            offset: 280,
            start: 40,
            len: 0,
        },
        Program {
            rule,
            pc: 2,
            offset: 900,
            fault: ProgramFault::UnknownOpcode(0xFF),
        },
        Program {
            rule,
            pc: 2,
            offset: 900,
            fault: ProgramFault::BadArgument(65),
        },
        Program {
            rule,
            pc: 2,
            offset: 900,
            fault: ProgramFault::StackUnderflow,
        },
        Program {
            rule,
            pc: 64,
            offset: 900,
            fault: ProgramFault::StackOverflow,
        },
        Program {
            rule,
            pc: 3,
            offset: 900,
            fault: ProgramFault::Unbalanced(2),
        },
        PredicateOutOfBounds {
            rule,
            pc: 0,
            offset: 900,
            predicate: 999,
            available: 16,
        },
        FieldNotSupplied {
            channel: 291,
            rule,
            predicate,
            offset,
            field: 20,
            declared: 21,
            supplied: 20,
            build: "7.11",
        },
        DeclaredFieldNotSupplied {
            channel: 291,
            offset: 132,
            field: 20,
            declared: 21,
            supplied: 20,
            build: "7.11",
        },
        OverBudget {
            worst_case: 1 << 41,
            budget: 1 << 40,
        },
        AutomatonKind {
            predicate: 15,
            offset: 688,
            op: Operator::Regex,
            automaton: 0,
            dictionary: true,
        },
        AutomatonMissing {
            predicate: 15,
            offset: 688,
            op: Operator::Glob,
        },
        TriggersLength {
            offset: 1200,
            len: 36,
            expected: 40,
        },
        TriggersSlots {
            offset: 1204,
            declared: 7,
            patterns: 9,
        },
        TriggerEntry {
            offset: 1224,
            value: 99,
        },
        RuleNotIndexed {
            rule: 5,
            offset: 280,
        },
    ]
}

#[test]
fn every_load_error_renders_as_the_golden_file_says() {
    let july = common::compile_toml(JULY_19_0409.source);
    let rendered: String = every_variant()
        .iter()
        .map(|e| format!("{}\n", describe(e, &july)))
        .collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/diagnostics.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &rendered).unwrap();
    }
    let golden = std::fs::read_to_string(path).expect("golden file; run with UPDATE_GOLDEN=1");
    assert_eq!(rendered, golden);
}
