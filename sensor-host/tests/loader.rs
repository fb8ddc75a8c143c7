//! The loader against hostile bytes: every refusal the core can give, provoked one at a time by
//! a targeted change to a valid file, and blind damage (truncation, bit flips) that must end in
//! a typed error or a rule set that still evaluates within its declared bound.

mod common;

use common::{compile_toml, Patient};
use regex_automata::dfa::{dense, StartKind};
use sensor_core::channel::{AUTOMATA_HEADER, AUTOMATON_ENTRY, HEADER_LEN};
use sensor_core::error::{LoadError, ProgramFault, Section};
use sensor_core::limits::MAX_FILE_BYTES;
use sensor_core::program::Instruction;
use sensor_core::schema::{SensorDecl, SENSOR_7_11, SENSOR_FIXED};
use sensor_core::{Operator, RuleSet, Value};
use sensor_host::content::ContentBuf;

const BASE: &str = r#"
channel = 291
version = 7
template = "ipc"

[[rule]]
id = "T-1"
title = "equals or regex"
level = "high"
condition = "name or re"
[rule.where]
name = { field = "pipe_name", op = "equals", value = ['\alpha', '\beta'] }
re = { field = "pipe_name", op = "regex", value = 'gamma[0-9]' }

[[rule]]
id = "T-2"
title = "image and kind"
level = "low"
condition = "img and kind and any21"
[rule.where]
img = { field = "image_path", op = "image", value = 'x.exe' }
kind = { field = "event_kind", op = "num-equals", value = 1 }
any21 = { field = "remote_client", op = "wildcard" }
"#;

// Record indices in BASE, in the order the compiler lays them out.
/// Recognises the refusal a case expects.
type Expect = fn(&LoadError) -> bool;
/// A deliberate fault.
type Change = fn(&mut Patient);

const P_EQUALS: usize = 0;
const P_REGEX: usize = 1;
const P_IMAGE: usize = 2;
const D_PIPE_NAME: usize = 1;

fn base() -> Patient {
    Patient::new(&compile_toml(BASE))
}

fn load_with(p: &Patient, sensor: &SensorDecl) -> Result<(), LoadError> {
    let buf = p.aligned();
    RuleSet::load(buf.as_bytes(), sensor).map(drop)
}

fn refusal(p: &mut Patient) -> LoadError {
    p.reseal();
    load_with(p, &SENSOR_FIXED).expect_err("the change must be refused")
}

#[test]
fn the_base_file_loads_for_both_sensors() {
    let p = base();
    load_with(&p, &SENSOR_FIXED).unwrap();
    load_with(&p, &SENSOR_7_11).unwrap();
}

#[test]
fn file_level_faults() {
    let huge = vec![0u8; MAX_FILE_BYTES + 1];
    assert!(matches!(
        RuleSet::load(&huge, &SENSOR_FIXED),
        Err(LoadError::TooLarge { .. })
    ));
    let p = base();
    assert!(matches!(
        RuleSet::load(&p.bytes[..10], &SENSOR_FIXED),
        Err(LoadError::Truncated { len: 10, .. })
    ));
    let cases: [(Change, Expect); 5] = [
        (
            |p| {
                p.put(0, b"XXXX");
            },
            |e| matches!(e, LoadError::BadMagic { found } if found == b"XXXX"),
        ),
        (
            |p| {
                p.put_u16(4, 1);
            },
            |e| matches!(e, LoadError::UnsupportedFormat { version: 1 }),
        ),
        (
            |p| {
                p.put_u16(6, 32);
            },
            |e| matches!(e, LoadError::BadHeaderLength { len: 32 }),
        ),
        (
            |p| {
                p.put(40, &[1]);
            },
            |e| matches!(e, LoadError::ReservedNotZero { offset: 40 }),
        ),
        (
            |p| {
                p.put_u16(12, 9);
            },
            |e| matches!(e, LoadError::UnknownTemplate { id: 9, version: 1 }),
        ),
    ];
    for (i, (change, expected)) in cases.into_iter().enumerate() {
        let mut p = base();
        change(&mut p);
        let e = load_with(&p, &SENSOR_FIXED).unwrap_err();
        assert!(expected(&e), "case {i}: {e:?}");
    }
    let mut longer = base();
    longer.bytes.push(0);
    assert!(matches!(
        load_with(&longer, &SENSOR_FIXED),
        Err(LoadError::BodyLength { .. })
    ));
    let mut flipped = base();
    let last = flipped.bytes.len() - 1;
    flipped.bytes[last] ^= 1;
    assert!(matches!(
        load_with(&flipped, &SENSOR_FIXED),
        Err(LoadError::Checksum { .. })
    ));
}

#[test]
fn section_directory_faults() {
    let rules = Patient::directory(Section::Rules);
    let fields = Patient::directory(Section::Fields);
    let strings = Patient::directory(Section::Strings);
    let mut p = base();
    let at = p.get_u32(rules);
    assert!(matches!(
        refusal(p.put_u32(rules, at + 4)),
        LoadError::SectionMisaligned {
            section: Section::Rules,
            ..
        }
    ));
    assert!(matches!(
        refusal(base().put_u32(rules, 0)),
        LoadError::SectionOverlap { section: Section::Rules, min, .. } if min > 0
    ));
    assert!(matches!(
        refusal(base().put_u32(strings + 4, 1 << 30)),
        LoadError::SectionOutOfBounds {
            section: Section::Strings,
            ..
        }
    ));
    let mut p = base();
    let len = p.get_u32(rules + 4);
    assert!(matches!(
        refusal(p.put_u32(rules + 4, len - 8)),
        LoadError::SectionLength {
            section: Section::Rules,
            record: 32,
            ..
        }
    ));
    assert!(matches!(
        refusal(base().put_u32(fields + 4, 33 * 4)),
        LoadError::TooMany {
            section: Section::Fields,
            count: 33,
            max: 32
        }
    ));
}

#[test]
fn template_and_field_faults() {
    let no_ipc = SensorDecl {
        supplies: &[],
        ..SENSOR_FIXED
    };
    assert!(matches!(
        load_with(&base(), &no_ipc),
        Err(LoadError::TemplateNotSupplied {
            channel: 291,
            id: 1,
            version: 1,
            ..
        })
    ));
    let mut p = base();
    let d = p.record(Section::Fields, D_PIPE_NAME);
    let d0 = p.record(Section::Fields, 0);
    assert!(matches!(
        refusal(p.put(d, &[25])),
        LoadError::FieldOutOfTemplate {
            field: 25,
            declared: 21,
            ..
        }
    ));
    assert!(matches!(
        refusal(base().put(d + 1, &[9])),
        LoadError::UnknownFieldType { tag: 9, .. }
    ));
    assert!(matches!(
        refusal(base().put(d + 1, &[2])),
        LoadError::FieldTypeMismatch { field: 1, .. }
    ));
    assert!(matches!(
        refusal(base().put(d, &[0, 2])),
        LoadError::DuplicateField { field: 0, offset } if offset == d
    ));
    assert!(matches!(
        refusal(base().put(d0 + 2, &[1])),
        LoadError::ReservedNotZero { offset } if offset == d0 + 2
    ));
}

#[test]
fn predicate_faults() {
    let p = base();
    let eq = p.record(Section::Predicates, P_EQUALS);
    let re = p.record(Section::Predicates, P_REGEX);
    assert_ne!(
        p.bytes[eq + 3],
        0,
        "the equals predicate is tested by an automaton"
    );
    assert_ne!(
        p.bytes[re + 3],
        0,
        "the regex predicate is tested by an automaton"
    );
    let dictionary = p.bytes[eq + 3];
    let cases: Vec<(Patient, Expect)> = vec![
        (patched(eq + 1, &[99]), |e| {
            matches!(
                e,
                LoadError::UnknownOperator {
                    predicate: 0,
                    tag: 99,
                    ..
                }
            )
        }),
        (patched(eq + 2, &[0x80]), |e| {
            matches!(
                e,
                LoadError::BadFlags {
                    predicate: 0,
                    flags: 0x80,
                    ..
                }
            )
        }),
        (patched(eq, &[30]), |e| {
            matches!(e, LoadError::PredicateFieldOutOfTemplate { field: 30, .. })
        }),
        (patched(eq, &[18]), |e| {
            matches!(e, LoadError::FieldUndeclared { field: 18, .. })
        }),
        (patched(eq, &[0]), |e| {
            matches!(e, LoadError::OperatorFieldType { field: 0, .. })
        }),
        (patched(eq + 8, &0u64.to_le_bytes()), |e| {
            matches!(e, LoadError::OperandCount { count: 0, .. })
        }),
        (patched(eq + 4, &1000u32.to_le_bytes()), |e| {
            matches!(e, LoadError::OperandsOutOfBounds { first: 1000, .. })
        }),
        (patched(eq + 16, &99u32.to_le_bytes()), |e| {
            matches!(e, LoadError::OperandWeight { declared: 99, .. })
        }),
        (patched(eq + 3, &[9]), |e| {
            matches!(
                e,
                LoadError::AutomatonOutOfBounds {
                    automaton: 8,
                    available: 3,
                    ..
                }
            )
        }),
        (patched(eq + 20, &99u32.to_le_bytes()), |e| {
            matches!(
                e,
                LoadError::PatternOutOfBounds {
                    pattern: 100,
                    available: 2,
                    ..
                }
            )
        }),
        (patched(re + 3, &[dictionary]), |e| {
            matches!(
                e,
                LoadError::AutomatonKind {
                    op: Operator::Regex,
                    dictionary: true,
                    ..
                }
            )
        }),
        (patched(re + 3, &[0]), |e| {
            matches!(
                e,
                LoadError::AutomatonMissing {
                    op: Operator::Regex,
                    ..
                }
            )
        }),
        (patched(re + 4, &5u32.to_le_bytes()), |e| {
            matches!(e, LoadError::OperandCount { .. })
        }),
        (patched(re, &[2]), |e| {
            matches!(
                e,
                LoadError::AutomatonField {
                    field: 2,
                    scans: 1,
                    ..
                }
            )
        }),
    ];
    for (i, (mut p, expected)) in cases.into_iter().enumerate() {
        let e = refusal(&mut p);
        assert!(expected(&e), "case {i}: {e:?}");
    }
    let mut direct = patched(eq + 3, &[0]);
    assert!(
        load_with(direct.reseal(), &SENSOR_FIXED).is_err(),
        "a predicate the index relies on cannot lose its automaton"
    );
    let mut stray = base();
    let direct_cmp = stray.record(Section::Predicates, P_IMAGE);
    assert!(matches!(
        refusal(stray.put(direct_cmp + 3, &[0]).put_u32(direct_cmp + 20, 1)),
        LoadError::ReservedNotZero { offset } if offset == direct_cmp + 20
    ));
}

/// The triggers section's words after its 16-byte header, and its start.
fn triggers(p: &Patient) -> (usize, [u32; 3]) {
    let at = p.get_u32(Patient::directory(Section::Triggers)) as usize;
    (at, [p.get_u32(at), p.get_u32(at + 4), p.get_u32(at + 8)])
}

#[test]
fn rule_index_faults() {
    let p = base();
    let (at, [unindexed, slots, entries]) = triggers(&p);
    assert_eq!(unindexed, 0, "both rules of the base file are indexed");
    assert_eq!(
        slots, 4,
        "two equals operands, a regex and an image operand"
    );
    let first_entry = at + 16 + 4 * (unindexed + slots + 1) as usize;

    let mut wrong_slots = base();
    assert!(matches!(
        refusal(wrong_slots.put_u32(at + 4, slots + 1)),
        LoadError::TriggersSlots {
            declared: 5,
            patterns: 4,
            ..
        }
    ));
    let mut wrong_length = base();
    assert!(matches!(
        refusal(wrong_length.put_u32(at + 8, entries + 1)),
        LoadError::TriggersLength { .. }
    ));
    let mut out_of_range = base();
    assert!(matches!(
        refusal(out_of_range.put_u32(first_entry, 99)),
        LoadError::TriggerEntry { value: 99, offset } if offset == first_entry
    ));
    let mut reserved = base();
    assert!(matches!(
        refusal(reserved.put_u32(at + 12, 1)),
        LoadError::ReservedNotZero { offset } if offset == at + 12
    ));

    let mut unlisted = base();
    for k in 0..entries as usize {
        let word = first_entry + 4 * k;
        if unlisted.get_u32(word) == 0 {
            unlisted.put_u32(word, 1);
        }
    }
    assert!(matches!(
        refusal(&mut unlisted),
        LoadError::RuleNotIndexed { rule: 0, .. }
    ));
}

fn patched(at: usize, bytes: &[u8]) -> Patient {
    let mut p = base();
    p.put(at, bytes);
    p
}

#[test]
fn operand_faults() {
    let p = base();
    let o = p.record(Section::Operands, 0);
    assert!(matches!(
        refusal(&mut patched(o, &1_000_000u32.to_le_bytes())),
        LoadError::OperandOutOfBounds {
            operand: 0,
            start: 1_000_000,
            ..
        }
    ));
    assert!(matches!(
        refusal(&mut patched(o + 4, &5000u32.to_le_bytes())),
        LoadError::OperandTooLong {
            operand: 0,
            units: 5000,
            ..
        }
    ));
}

/// Overwrites the regex predicate's automaton with `blob`, which must not be longer, and
/// shortens its directory entry to fit.
fn with_automaton(blob: &[u8]) -> Patient {
    let mut p = base();
    let re = p.record(Section::Predicates, P_REGEX);
    let index = usize::from(p.bytes[re + 3]) - 1;
    let section = p.get_u32(Patient::directory(Section::Automata)) as usize;
    let entry = section + AUTOMATA_HEADER + AUTOMATON_ENTRY * index;
    let start = section + p.get_u32(entry) as usize;
    assert!(blob.len() <= p.get_u32(entry + 4) as usize);
    p.put(start, blob);
    p.put_u32(entry + 4, blob.len() as u32);
    p.reseal();
    p
}

#[test]
fn automaton_faults() {
    let mut p = base();
    let entry = p.get_u32(Patient::directory(Section::Automata)) as usize + AUTOMATA_HEADER;
    assert!(matches!(
        refusal(p.put_u32(entry + 12, 1)),
        LoadError::AutomatonDirectory { automaton: 0, .. }
    ));
    let mut p = base();
    let start =
        p.get_u32(Patient::directory(Section::Automata)) as usize + p.get_u32(entry) as usize;
    assert!(matches!(
        refusal(p.put(start, &[0; 8])),
        LoadError::AutomatonInvalid { automaton: 0, .. }
    ));
    let anchored_only = dense::Builder::new()
        .configure(dense::DFA::config().start_kind(StartKind::Anchored))
        .build("gamma[0-9]")
        .unwrap();
    let (bytes, pad) = anchored_only.to_bytes_little_endian();
    let p = with_automaton(&bytes[pad..]);
    let raw = usize::from(p.bytes[p.record(Section::Predicates, P_REGEX) + 3]) - 1;
    assert!(matches!(
        load_with(&p, &SENSOR_FIXED),
        Err(LoadError::AutomatonUnusable { automaton, .. }) if automaton == raw
    ));
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&base().bytes);
    let buf = ContentBuf::new(&shifted);
    assert!(matches!(
        RuleSet::load(&buf.as_bytes()[1..], &SENSOR_FIXED),
        Err(LoadError::AutomatonMisaligned { automaton: 0, .. })
    ));
}

#[test]
fn rule_and_program_faults() {
    let p = base();
    let r = p.record(Section::Rules, 0);
    let i0 = p.record(Section::Program, 0);
    let cases: Vec<(Patient, Expect)> = vec![
        (patched(r + 4, &60_000u16.to_le_bytes()), |e| {
            matches!(e, LoadError::BadRuleText { rule: 0, .. })
        }),
        (patched(r + 18, &[9]), |e| {
            matches!(
                e,
                LoadError::UnknownLevel {
                    rule: 0,
                    tag: 9,
                    ..
                }
            )
        }),
        (patched(r + 19, &[9]), |e| {
            matches!(
                e,
                LoadError::UnknownAction {
                    rule: 0,
                    tag: 9,
                    ..
                }
            )
        }),
        (patched(r + 24, &0u32.to_le_bytes()), |e| {
            matches!(
                e,
                LoadError::ProgramBounds {
                    rule: 0,
                    len: 0,
                    ..
                }
            )
        }),
        (patched(r + 28, &1u32.to_le_bytes()), |e| {
            matches!(e, LoadError::ReservedNotZero { .. })
        }),
        (patched(i0, &0xFF00_0000u32.to_le_bytes()), |e| {
            matches!(
                e,
                LoadError::Program {
                    rule: 0,
                    pc: 0,
                    fault: ProgramFault::UnknownOpcode(0xFF),
                    ..
                }
            )
        }),
        (
            patched(i0, &Instruction::Pred(999).encode().to_le_bytes()),
            |e| {
                matches!(
                    e,
                    LoadError::PredicateOutOfBounds {
                        rule: 0,
                        pc: 0,
                        predicate: 999,
                        available: 5,
                        ..
                    }
                )
            },
        ),
    ];
    for (i, (mut p, expected)) in cases.into_iter().enumerate() {
        let e = refusal(&mut p);
        assert!(expected(&e), "case {i}: {e:?}");
    }
}

#[test]
fn a_rule_reading_field_21_is_refused_for_7_11_naming_rule_field_and_counts() {
    let july = compile_toml(sensor_host::builtin::JULY_19_0409.source);
    let buf = ContentBuf::new(&july);
    let e = RuleSet::load(buf.as_bytes(), &SENSOR_7_11).unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::FieldNotSupplied {
                channel: 291,
                rule: 5,
                field: 20,
                declared: 21,
                supplied: 20,
                build: "7.11",
                ..
            }
        ),
        "{e:?}"
    );
    let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap();
    assert_eq!(rules.rule(5).unwrap().id, "IPC-0006");
}

#[test]
fn a_declared_but_unread_field_21_is_refused_for_7_11() {
    let src = r#"
channel = 291
version = 1
template = "ipc"
[[rule]]
id = "U-1"
title = "reads only the pipe name, yet declares field 21"
level = "low"
condition = "pipe"
[rule.where]
pipe = { field = "pipe_name", op = "equals", value = '\x' }
unread = { field = "remote_client", op = "num-equals", value = 1 }
"#;
    let buf = ContentBuf::new(&compile_toml(src));
    assert!(matches!(
        RuleSet::load(buf.as_bytes(), &SENSOR_7_11),
        Err(LoadError::DeclaredFieldNotSupplied {
            field: 20,
            declared: 21,
            supplied: 20,
            ..
        })
    ));
    RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap();
}

#[test]
fn content_over_the_work_budget_is_refused() {
    let tight = SensorDecl {
        work_budget: 10,
        ..SENSOR_FIXED
    };
    assert!(matches!(
        load_with(&base(), &tight),
        Err(LoadError::OverBudget { budget: 10, .. })
    ));
}

#[test]
fn load_into_fills_a_rule_set_in_place_and_a_refusal_leaves_it_empty() {
    let buf = base().aligned();
    let empty = format!("{:?}", RuleSet::empty());
    let mut rules = RuleSet::empty();
    let by_value = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap();
    rules.load_into(buf.as_bytes(), &SENSOR_FIXED).unwrap();
    assert_eq!(format!("{rules:?}"), format!("{by_value:?}"));
    assert_eq!((rules.rule_count(), rules.automaton_count()), (2, 3));
    // Refused after its automaton was written into place (the budget is checked last): the
    // set must not keep it, nor anything else of the earlier load.
    let tight = SensorDecl {
        work_budget: 10,
        ..SENSOR_FIXED
    };
    assert!(matches!(
        rules.load_into(buf.as_bytes(), &tight),
        Err(LoadError::OverBudget { budget: 10, .. })
    ));
    assert_eq!(format!("{rules:?}"), empty);
    let mut inputs = [Value::Absent; 21];
    inputs[1] = Value::Str(&[0x5C, 0x61]);
    let v = rules.evaluate(&inputs, &mut |_| true);
    assert_eq!((v.matched, rules.worst_case_work()), (0, 0));
    rules.load_into(buf.as_bytes(), &SENSOR_FIXED).unwrap();
    assert_eq!(format!("{rules:?}"), format!("{by_value:?}"));
    rules.clear();
    assert_eq!(format!("{rules:?}"), empty);
}

/// Evaluates a few events against whatever loaded, checking the work bound.
fn exercise(rules: &RuleSet<'_>) {
    let names: [&[u16]; 3] = [&[0x5C, 0x61], &[], &[0xD800, 0x67, 0x61]];
    for name in names {
        let mut inputs = [Value::Absent; 21];
        inputs[1] = Value::Str(name);
        inputs[2] = Value::Str(name);
        inputs[0] = Value::Int(1);
        let supplied = rules.supplied();
        let mut sink = |_| true;
        let v = rules.evaluate(&inputs[..supplied], &mut sink);
        assert!(v.counters.work <= rules.worst_case_work());
    }
}

#[test]
fn truncation_at_every_offset_is_refused() {
    let p = base();
    for len in 0..p.bytes.len() {
        let buf = ContentBuf::new(&p.bytes[..len]);
        assert!(
            RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).is_err(),
            "len {len}"
        );
    }
}

#[test]
fn every_single_bit_flip_loads_or_fails_typed() {
    let p = base();
    for bit in 0..p.bytes.len() * 8 {
        let mut q = Patient::new(&p.bytes);
        q.bytes[bit / 8] ^= 1 << (bit % 8);
        let raw = q.aligned();
        if let Ok(rules) = RuleSet::load(raw.as_bytes(), &SENSOR_FIXED) {
            exercise(&rules);
        }
        if bit / 8 >= HEADER_LEN {
            q.reseal();
        }
        let sealed = q.aligned();
        if let Ok(rules) = RuleSet::load(sealed.as_bytes(), &SENSOR_FIXED) {
            exercise(&rules);
        }
    }
}
