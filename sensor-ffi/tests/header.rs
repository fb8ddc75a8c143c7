//! `include/sensor_core.h` agrees with the library: every constant has the library's value,
//! every struct the library's size, alignment and member offsets (checked by a C compiler), and
//! every prototype the library's signature. Nothing is in one and missing from the other.
// Tests: a failed assertion is how they report, and they call the C ABI the way C does (each
// call's contract is the function's own `# Safety` section).
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[path = "support/header.rs"]
mod header;

use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::process::Command;

use sensor_ffi::error::{fault, kind};
use sensor_ffi::*;

fn rust_constants() -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    let mut put = |name: &str, value: u64| {
        assert!(m.insert(name.to_string(), value).is_none(), "{name} twice");
    };
    let status = |s: NtStatus| u64::from(s.cast_unsigned());
    put("SENSOR_ABI_VERSION", u64::from(SENSOR_ABI_VERSION));
    put("SENSOR_STATUS_SUCCESS", status(SENSOR_STATUS_SUCCESS));
    put("SENSOR_STATUS_NO_CONTENT", status(SENSOR_STATUS_NO_CONTENT));
    put(
        "SENSOR_STATUS_INVALID_PARAMETER",
        status(SENSOR_STATUS_INVALID_PARAMETER),
    );
    put(
        "SENSOR_STATUS_BUFFER_TOO_SMALL",
        status(SENSOR_STATUS_BUFFER_TOO_SMALL),
    );
    put(
        "SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR",
        status(SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR),
    );
    put("SENSOR_STATUS_NOT_FOUND", status(SENSOR_STATUS_NOT_FOUND));
    put(
        "SENSOR_STATUS_VERSION_MISMATCH",
        status(SENSOR_STATUS_VERSION_MISMATCH),
    );
    put(
        "SENSOR_STATUS_CONTENT_REFUSED",
        status(SENSOR_STATUS_CONTENT_REFUSED),
    );
    put("SENSOR_NONE32", u64::from(error::SENSOR_NONE32));
    put("SENSOR_NONE16", u64::from(error::SENSOR_NONE16));
    put("SENSOR_NONE64", error::SENSOR_NONE64);
    put(
        "SENSOR_BUILD_NAME_BYTES",
        error::SENSOR_BUILD_NAME_BYTES as u64,
    );
    for (name, value) in [
        ("TOO_LARGE", kind::TOO_LARGE),
        ("TRUNCATED", kind::TRUNCATED),
        ("BAD_MAGIC", kind::BAD_MAGIC),
        ("UNSUPPORTED_FORMAT", kind::UNSUPPORTED_FORMAT),
        ("BAD_HEADER_LENGTH", kind::BAD_HEADER_LENGTH),
        ("RESERVED_NOT_ZERO", kind::RESERVED_NOT_ZERO),
        ("BODY_LENGTH", kind::BODY_LENGTH),
        ("CHECKSUM", kind::CHECKSUM),
        ("SECTION_MISALIGNED", kind::SECTION_MISALIGNED),
        ("SECTION_OVERLAP", kind::SECTION_OVERLAP),
        ("SECTION_OUT_OF_BOUNDS", kind::SECTION_OUT_OF_BOUNDS),
        ("SECTION_LENGTH", kind::SECTION_LENGTH),
        ("TOO_MANY", kind::TOO_MANY),
        ("UNKNOWN_TEMPLATE", kind::UNKNOWN_TEMPLATE),
        ("TEMPLATE_NOT_SUPPLIED", kind::TEMPLATE_NOT_SUPPLIED),
        ("FIELD_OUT_OF_TEMPLATE", kind::FIELD_OUT_OF_TEMPLATE),
        ("UNKNOWN_FIELD_TYPE", kind::UNKNOWN_FIELD_TYPE),
        ("FIELD_TYPE_MISMATCH", kind::FIELD_TYPE_MISMATCH),
        ("DUPLICATE_FIELD", kind::DUPLICATE_FIELD),
        ("UNKNOWN_OPERATOR", kind::UNKNOWN_OPERATOR),
        ("BAD_FLAGS", kind::BAD_FLAGS),
        (
            "PREDICATE_FIELD_OUT_OF_TEMPLATE",
            kind::PREDICATE_FIELD_OUT_OF_TEMPLATE,
        ),
        ("FIELD_UNDECLARED", kind::FIELD_UNDECLARED),
        ("OPERATOR_FIELD_TYPE", kind::OPERATOR_FIELD_TYPE),
        ("OPERAND_COUNT", kind::OPERAND_COUNT),
        ("OPERANDS_OUT_OF_BOUNDS", kind::OPERANDS_OUT_OF_BOUNDS),
        ("OPERAND_WEIGHT", kind::OPERAND_WEIGHT),
        ("OPERAND_OUT_OF_BOUNDS", kind::OPERAND_OUT_OF_BOUNDS),
        ("OPERAND_TOO_LONG", kind::OPERAND_TOO_LONG),
        ("AUTOMATON_OUT_OF_BOUNDS", kind::AUTOMATON_OUT_OF_BOUNDS),
        ("PATTERN_OUT_OF_BOUNDS", kind::PATTERN_OUT_OF_BOUNDS),
        ("AUTOMATON_FIELD", kind::AUTOMATON_FIELD),
        ("AUTOMATON_DIRECTORY", kind::AUTOMATON_DIRECTORY),
        ("AUTOMATON_MISALIGNED", kind::AUTOMATON_MISALIGNED),
        ("AUTOMATON_INVALID", kind::AUTOMATON_INVALID),
        ("AUTOMATON_UNUSABLE", kind::AUTOMATON_UNUSABLE),
        ("BAD_RULE_TEXT", kind::BAD_RULE_TEXT),
        ("UNKNOWN_LEVEL", kind::UNKNOWN_LEVEL),
        ("UNKNOWN_ACTION", kind::UNKNOWN_ACTION),
        ("PROGRAM_BOUNDS", kind::PROGRAM_BOUNDS),
        ("PROGRAM", kind::PROGRAM),
        ("PREDICATE_OUT_OF_BOUNDS", kind::PREDICATE_OUT_OF_BOUNDS),
        ("FIELD_NOT_SUPPLIED", kind::FIELD_NOT_SUPPLIED),
        (
            "DECLARED_FIELD_NOT_SUPPLIED",
            kind::DECLARED_FIELD_NOT_SUPPLIED,
        ),
        ("OVER_BUDGET", kind::OVER_BUDGET),
        ("AUTOMATON_KIND", kind::AUTOMATON_KIND),
        ("AUTOMATON_MISSING", kind::AUTOMATON_MISSING),
        ("TRIGGERS_LENGTH", kind::TRIGGERS_LENGTH),
        ("TRIGGERS_SLOTS", kind::TRIGGERS_SLOTS),
        ("TRIGGER_ENTRY", kind::TRIGGER_ENTRY),
        ("RULE_NOT_INDEXED", kind::RULE_NOT_INDEXED),
    ] {
        put(&format!("SENSOR_ERROR_{name}"), u64::from(value));
    }
    for (name, value) in [
        ("FIELDS", error::SENSOR_SECTION_FIELDS),
        ("RULES", error::SENSOR_SECTION_RULES),
        ("PREDICATES", error::SENSOR_SECTION_PREDICATES),
        ("OPERANDS", error::SENSOR_SECTION_OPERANDS),
        ("PROGRAM", error::SENSOR_SECTION_PROGRAM),
        ("STRINGS", error::SENSOR_SECTION_STRINGS),
        ("AUTOMATA", error::SENSOR_SECTION_AUTOMATA),
        ("TRIGGERS", error::SENSOR_SECTION_TRIGGERS),
    ] {
        put(&format!("SENSOR_SECTION_{name}"), u64::from(value));
    }
    for (name, value) in [
        ("UNKNOWN_OPCODE", fault::UNKNOWN_OPCODE),
        ("BAD_ARGUMENT", fault::BAD_ARGUMENT),
        ("STACK_UNDERFLOW", fault::STACK_UNDERFLOW),
        ("STACK_OVERFLOW", fault::STACK_OVERFLOW),
        ("UNBALANCED", fault::UNBALANCED),
    ] {
        put(&format!("SENSOR_FAULT_{name}"), u64::from(value));
    }
    put("SENSOR_VALUE_ABSENT", u64::from(SENSOR_VALUE_ABSENT));
    put("SENSOR_VALUE_INT", u64::from(SENSOR_VALUE_INT));
    put("SENSOR_VALUE_STR", u64::from(SENSOR_VALUE_STR));
    put("SENSOR_MAX_VALUES", SENSOR_MAX_VALUES as u64);
    put("SENSOR_CONTENT_ALIGN", SENSOR_CONTENT_ALIGN as u64);
    put("SENSOR_MAX_RELEASED", SENSOR_MAX_RELEASED as u64);
    put(
        "SENSOR_LEVEL_INFORMATIONAL",
        u64::from(SENSOR_LEVEL_INFORMATIONAL),
    );
    put("SENSOR_LEVEL_LOW", u64::from(SENSOR_LEVEL_LOW));
    put("SENSOR_LEVEL_MEDIUM", u64::from(SENSOR_LEVEL_MEDIUM));
    put("SENSOR_LEVEL_HIGH", u64::from(SENSOR_LEVEL_HIGH));
    put("SENSOR_LEVEL_CRITICAL", u64::from(SENSOR_LEVEL_CRITICAL));
    put("SENSOR_ACTION_LOG", u64::from(SENSOR_ACTION_LOG));
    put("SENSOR_ACTION_ALERT", u64::from(SENSOR_ACTION_ALERT));
    put("SENSOR_ACTION_BLOCK", u64::from(SENSOR_ACTION_BLOCK));
    put("SENSOR_ACTION_NONE", u64::from(SENSOR_ACTION_NONE));
    m
}

/// Names of every public constant in `sensor-ffi/src`, spelled as the header spells them.
fn constants_in_source() -> Vec<String> {
    let mut names = Vec::new();
    for file in ["status.rs", "error.rs", "types.rs", "slot.rs"] {
        let text = std::fs::read_to_string(header::root().join("sensor-ffi/src").join(file))
            .expect("source file");
        let mut module = "";
        for line in text.lines() {
            let t = line.trim();
            if let Some(m) = t.strip_prefix("pub mod ") {
                module = m.trim_end_matches(" {");
            } else if t == "}" && !line.starts_with(' ') {
                module = "";
            }
            // Module-level constants only (associated constants of impls are not ABI).
            let indent = line.len() - line.trim_start().len();
            let module_level = indent == 0 || (indent == 4 && !module.is_empty());
            let Some(rest) = t.strip_prefix("pub const ").filter(|_| module_level) else {
                continue;
            };
            if rest.starts_with("fn ") {
                continue;
            }
            let name = rest.split(':').next().unwrap_or_default().trim();
            names.push(match module {
                "kind" => format!("SENSOR_ERROR_{name}"),
                "fault" => format!("SENSOR_FAULT_{name}"),
                _ => name.to_string(),
            });
        }
    }
    names.sort();
    names
}

#[test]
fn every_constant_agrees_and_none_is_missing() {
    let rust = rust_constants();
    let header: BTreeMap<String, u64> = header::defines(&header::header_text())
        .into_iter()
        .collect();
    let mut mismatched = Vec::new();
    for (name, value) in &rust {
        match header.get(name) {
            Some(h) if h == value => {}
            Some(h) => mismatched.push(format!("{name}: header {h:#x}, library {value:#x}")),
            None => mismatched.push(format!("{name}: missing from the header")),
        }
    }
    for name in header.keys() {
        if !rust.contains_key(name) {
            mismatched.push(format!("{name}: in the header, not in the library"));
        }
    }
    assert!(mismatched.is_empty(), "{mismatched:#?}");
    let source = constants_in_source();
    let listed: Vec<String> = rust.keys().cloned().collect();
    let unlisted: Vec<&String> = source.iter().filter(|n| !rust.contains_key(*n)).collect();
    assert!(
        unlisted.is_empty(),
        "constants in sensor-ffi/src missing from this test's table: {unlisted:?} (listed: {listed:?})"
    );
}

#[test]
fn every_prototype_matches_the_library_signature() {
    let header = header::prototypes(&header::header_text());
    let rust = header::rust_signatures();
    let mut problems = Vec::new();
    for (sig, imported) in &rust {
        match header.iter().find(|h| h.name == sig.name) {
            Some(h) if h == sig => {}
            Some(h) => problems.push(format!("{}:\n  header  {h:?}\n  library {sig:?}", sig.name)),
            None => problems.push(format!(
                "{} ({}) is not declared in the header",
                sig.name,
                if *imported { "imported" } else { "exported" }
            )),
        }
    }
    for h in &header {
        if !rust.iter().any(|(s, _)| s.name == h.name) {
            problems.push(format!(
                "{} is declared in the header, not in the library",
                h.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let exported = rust.iter().filter(|(_, imported)| !imported).count();
    assert_eq!(exported, 12, "the exported API is twelve functions");
}

struct Layout {
    c_name: &'static str,
    size: usize,
    align: usize,
    members: Vec<(&'static str, usize)>,
}

macro_rules! layout {
    ($ty:ty, $c:literal, [$($field:ident),* $(,)?]) => {
        Layout {
            c_name: $c,
            size: size_of::<$ty>(),
            align: align_of::<$ty>(),
            members: vec![$((stringify!($field), offset_of!($ty, $field))),*],
        }
    };
}

fn layouts() -> Vec<Layout> {
    vec![
        layout!(
            SensorLoadError,
            "sensor_load_error",
            [
                kind,
                section,
                channel,
                template_id,
                template_version,
                rule,
                predicate,
                operand,
                automaton,
                pc,
                field,
                declared,
                supplied,
                op,
                detail,
                offset,
                value,
                bound,
                build
            ]
        ),
        layout!(
            SensorUnicodeString,
            "sensor_unicode_string",
            [Length, MaximumLength, Buffer]
        ),
        layout!(
            SensorValue,
            "sensor_value",
            [kind, reserved, integer, string]
        ),
        layout!(SensorMatch, "sensor_match", [rule, level, action]),
        layout!(
            SensorVerdict,
            "sensor_verdict",
            [
                content_version,
                work,
                action,
                matched,
                stored,
                dropped,
                predicates,
                missing_inputs,
                type_mismatches,
                oversized_inputs,
                automaton_quits,
                reserved
            ]
        ),
        layout!(
            SensorStats,
            "sensor_stats",
            [
                events,
                events_without_content,
                matches,
                missing_inputs,
                type_mismatches,
                oversized_inputs,
                updates_accepted,
                updates_rejected
            ]
        ),
        layout!(
            SensorContentInfo,
            "sensor_content_info",
            [
                content_version,
                worst_case_work,
                channel,
                template_id,
                template_version,
                rule_count,
                predicate_count,
                automaton_count,
                declared,
                supplied,
                reserved
            ]
        ),
        layout!(
            SensorReleased,
            "sensor_released",
            [count, reserved, buffers]
        ),
        layout!(
            SensorUpdateResult,
            "sensor_update_result",
            [
                version,
                replaced_version,
                has_replaced,
                reserved,
                released,
                error
            ]
        ),
    ]
}

fn cc(source: &str, name: &str, std: &str) {
    let dir = std::env::temp_dir().join(format!("sensor-ffi-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(name);
    std::fs::write(&file, source).expect("write C file");
    let include = header::root().join("include");
    let output = Command::new("cc")
        .args([
            &format!("-std={std}"),
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-fsyntax-only",
        ])
        .arg("-I")
        .arg(&include)
        .arg(&file)
        .output()
        .expect("run cc (a C compiler is required for this test)");
    assert!(
        output.status.success(),
        "cc -std={std} rejected {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_struct_has_the_library_layout() {
    let header_structs = header::structs(&header::header_text());
    let layouts = layouts();
    let names: Vec<&str> = header_structs.iter().map(|s| s.name.as_str()).collect();
    let expected: Vec<&str> = layouts.iter().map(|l| l.c_name).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort_unstable();
    let mut sorted_expected = expected.clone();
    sorted_expected.sort_unstable();
    assert_eq!(
        sorted_names, sorted_expected,
        "struct typedefs in the header"
    );
    let mut c = String::from("#include <stddef.h>\n#include \"sensor_core.h\"\n");
    for l in &layouts {
        let s = header_structs
            .iter()
            .find(|s| s.name == l.c_name)
            .expect("listed");
        let members: Vec<&str> = l.members.iter().map(|(m, _)| *m).collect();
        assert_eq!(s.members, members, "members of {}", l.c_name);
        c.push_str(&format!(
            "_Static_assert(sizeof({0}) == {1}, \"size of {0}\");\n\
             _Static_assert(_Alignof({0}) == {2}, \"alignment of {0}\");\n",
            l.c_name, l.size, l.align
        ));
        for (member, offset) in &l.members {
            c.push_str(&format!(
                "_Static_assert(offsetof({0}, {1}) == {2}, \"offset of {0}.{1}\");\n",
                l.c_name, member, offset
            ));
        }
    }
    cc(&c, "layout.c", "c11");
}

#[test]
fn the_header_compiles_on_its_own_as_c99_and_c11() {
    let source =
        "#include \"sensor_core.h\"\nint main(void) { return (int)sensor_abi_version(); }\n";
    cc(source, "alone99.c", "c99");
    cc(source, "alone11.c", "c11");
}

#[test]
fn the_refusal_macros_decode_the_status() {
    let source = "#include \"sensor_core.h\"\n\
        _Static_assert(SENSOR_IS_CONTENT_REFUSAL((sensor_status)0xE291002B), \"refusal\");\n\
        _Static_assert(SENSOR_REFUSAL_KIND((sensor_status)0xE291002B) == SENSOR_ERROR_FIELD_NOT_SUPPLIED, \"kind\");\n\
        _Static_assert(!SENSOR_IS_CONTENT_REFUSAL(SENSOR_STATUS_CONTENT_REFUSED), \"base alone\");\n\
        _Static_assert(!SENSOR_IS_CONTENT_REFUSAL(SENSOR_STATUS_VERSION_MISMATCH), \"other code\");\n\
        _Static_assert(!SENSOR_IS_CONTENT_REFUSAL(SENSOR_STATUS_INVALID_PARAMETER), \"generic\");\n";
    cc(source, "macros.c", "c11");
    assert_eq!(
        status::content_refused(kind::FIELD_NOT_SUPPLIED).cast_unsigned(),
        0xE291_002B
    );
}
