//! The `sensor-host` binary as a user runs it: exit codes, the July 2024 diagnostic, and a scan
//! of the OTRF Sysmon events (MIT licence, shared/corpus/otrf/LICENSE).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sensor_host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sensor-host"))
        .args(args)
        .output()
        .expect("sensor-host runs")
}

fn content(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("content")
        .join(rel)
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn compile(source: &str, name: &str) -> String {
    let out = scratch(name);
    let o = sensor_host(&["compile", &content(source), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.display().to_string()
}

#[test]
fn run_prints_the_summary_and_refuses_the_july_update() {
    let o = sensor_host(&["run", "--events", "20000"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "events processed: 20000",
        "content rejected: 1",
        "events per second:",
        "REFUSED, previous content kept",
        "PIPE-0001",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn validate_names_rule_field_and_counts_for_7_11_and_accepts_for_fixed() {
    let july = compile("incident/C-00000291-2024-07-19-0409.toml", "july.sys");
    let o = sensor_host(&["validate", &july, "--sensor", "7.11"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    for needle in [
        "IPC-0006",
        "input field 20 (remote_client)",
        "sensor 7.11 supplies 20 of the 21 input fields",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
    let o = sensor_host(&["validate", &july, "--sensor", "fixed"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout).unwrap().contains("6 rules"));
}

#[test]
fn scan_writes_one_line_per_otrf_event_and_exits_1_on_matches() {
    let rules = compile("default.toml", "default.sys");
    let events = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/otrf/sysmon-pipe-events.jsonl"
    );
    let o = sensor_host(&["scan", "--content", &rules, "--events", events]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let input_lines = std::fs::read_to_string(events).unwrap().lines().count();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap().lines().count(),
        input_lines
    );
    let o = sensor_host(&[
        "scan",
        "--content",
        &rules,
        "--events",
        events,
        "--format",
        "text",
    ]);
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("matches by level:"));
}

#[test]
fn bad_input_exits_2_with_a_reason() {
    let missing = scratch("does-not-exist.sys");
    let o = sensor_host(&["validate", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let garbage = scratch("garbage.sys");
    std::fs::write(&garbage, [b'x'; 200]).unwrap();
    let o = sensor_host(&["validate", garbage.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8(o.stderr)
        .unwrap()
        .contains("not a channel file"));
}
