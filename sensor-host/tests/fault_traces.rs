//! Golden fault traces: the first bugcheck of the flawed replay in each memory layout, as JSON
//! and as rendered text, compared byte for byte with `tests/golden/`. Run with
//! `UPDATE_GOLDEN=1` to rewrite the golden files after an intended change, and review the diff.

use std::path::PathBuf;

use sensor_host::emu::replay::{replay, Design, Layout, ReplayOptions};
use sensor_host::emu::trace::{self, FaultTrace, FORMAT, VERSION};

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn first_trace(layout: Layout) -> FaultTrace {
    let report = replay(&ReplayOptions {
        design: Design::Flawed,
        layout,
        events: 120,
        ..ReplayOptions::default()
    })
    .unwrap_or_else(|e| panic!("replay failed: {e}"));
    report
        .traces
        .into_iter()
        .next()
        .expect("the flawed replay bugchecks")
}

/// Compares `actual` with the golden file `name`, or rewrites it under `UPDATE_GOLDEN=1`.
fn golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
        panic!(
            "{} differs from the output at line {}:\n  golden: {:?}\n  actual: {:?}\nrun with UPDATE_GOLDEN=1 to accept the new output",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

fn check_layout(layout: Layout) {
    let trace = first_trace(layout);
    let name = layout.name();
    golden(&format!("fault-trace-{name}.json"), &trace.to_json());
    golden(&format!("fault-trace-{name}.txt"), &trace::render(&trace));
    let stored = trace::read(&golden_path(&format!("fault-trace-{name}.json"))).unwrap();
    assert_eq!(
        stored, trace,
        "the golden JSON parses back to the same trace"
    );
}

#[test]
fn golden_trace_seed_layout() {
    check_layout(Layout::Seed);
}

#[test]
fn golden_trace_dump_layout() {
    check_layout(Layout::Dump);
}

#[test]
fn rendering_shows_what_a_windbg_user_looks_for() {
    let trace = first_trace(Layout::Dump);
    assert_eq!((trace.format.as_str(), trace.version), (FORMAT, VERSION));
    let text = trace::render(&trace);
    for needle in [
        "PAGE_FAULT_IN_NONPAGED_AREA (50)",
        "Arg1: ffff840500000074, memory referenced",
        "Arg3: fffff806715114ed",
        "BUGCHECK_CODE:  50",
        "READ_ADDRESS:   ffff840500000074 Paged pool",
        "MM_INTERNAL_CODE:  2",
        "IMAGE_NAME:  sensoragent.sys",
        "FAULTING_MODULE: fffff80671430000 sensoragent",
        "SYMBOL_NAME:  sensoragent+e14ed",
        "fffff806`715114ed mov r9,qword ptr [r8]",
        "r8=ffff840500000074 r11=0000000000000014",
        "RULE:                5 IPC-0006",
        "on input field 20 (remote_client), field 21 of 21",
        "INPUT_COUNT:         20 supplied; the template type declares 21",
        "CHANNEL_FILE:        C-00000291-2024-07-19-0409.sys",
        "CONTENT_VERSION:     2024071904 (channel 291)",
        "TRIGGERING_EVENT:    #",
        "BOOT:                1 (2024-07-19 04:09)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn traces_of_another_format_or_version_are_refused() {
    let mut json: serde_json::Value =
        serde_json::from_str(&first_trace(Layout::Seed).to_json()).unwrap();
    json["version"] = 2.into();
    let err = trace::parse(&json.to_string()).unwrap_err();
    assert!(
        err.to_string().contains("version 2 is not supported"),
        "{err}"
    );
    json["version"] = 1.into();
    json["bugcheck"]["args"][0] = "156".into();
    assert!(
        trace::parse(&json.to_string()).is_err(),
        "hex values need 0x"
    );
    json["format"] = "minidump".into();
    assert!(trace::parse(&json.to_string())
        .unwrap_err()
        .to_string()
        .contains("minidump"));
}
