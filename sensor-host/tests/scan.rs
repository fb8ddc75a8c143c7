//! `scan` over real Sysmon data: the OTRF Security-Datasets named-pipe events (MIT licence, see
//! shared/corpus/otrf/LICENSE), through the built-in rule set.

use std::io::BufReader;

use sensor_core::schema::SENSOR_FIXED;
use sensor_core::RuleSet;
use sensor_host::builtin::{compile_builtin, DEFAULT_RULES};
use sensor_host::scan::{scan, Format, ScanSummary};

const OTRF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/otrf/sysmon-pipe-events.jsonl"
);

/// Scans `input` with the built-in rule set; returns the JSON lines written and the summary.
fn scan_jsonl(input: &str) -> (String, ScanSummary) {
    scan_buffered(input, 8192)
}

/// The JSON objects `scan` wrote, one a line.
fn verdicts(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// [`scan_jsonl`], reading through a buffer of `capacity` bytes.
fn scan_buffered(input: &str, capacity: usize) -> (String, ScanSummary) {
    let content = compile_builtin("default.toml", DEFAULT_RULES);
    let rules = RuleSet::load(content.as_bytes(), &SENSOR_FIXED).unwrap();
    let mut out = Vec::new();
    let summary = scan(
        &rules,
        BufReader::with_capacity(capacity, input.as_bytes()),
        Format::Jsonl,
        &mut out,
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

#[test]
fn jsonl_output_has_one_line_per_input_line_in_order() {
    let input = std::fs::read_to_string(OTRF).unwrap();
    let (out, summary) = scan_jsonl(&input);
    assert_eq!(out.lines().count(), input.lines().count());
    for (i, line) in out.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["line"], i + 1);
        assert!(v["matches"].is_array(), "line {}: {line}", i + 1);
    }
    assert_eq!(summary.errors, 0);
    assert!(
        summary.events_matched > 0,
        "the default rules find nothing in OTRF"
    );
}

#[test]
fn a_malformed_line_gets_an_error_object_and_the_scan_goes_on() {
    let input = "{\"EventID\": 17, \"PipeName\": \"\\\\postex_1\"}\nnot json\n\n{\"EventID\": 4688}\n{\"EventID\": \"18\", \"PipeName\": \"\\\\lsass\", \"Image\": \"C:\\\\Windows\\\\System32\\\\lsass.exe\"}\n";
    let (out, summary) = scan_jsonl(input);
    let lines = verdicts(&out);
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["matches"][0]["id"], "PIPE-0001");
    assert_eq!(lines[0]["matches"][0]["action"], "block");
    for (i, line) in lines.iter().enumerate().skip(1).take(3) {
        assert_eq!(line["line"], i + 1);
        assert!(line["error"].is_string(), "{line}");
    }
    assert_eq!(lines[4]["matches"], serde_json::json!([]));
    assert_eq!((summary.events, summary.errors), (2, 3));
}

#[test]
fn each_line_is_read_afresh() {
    // The scan parses every line into one event, reusing its strings: a key that a line lacks
    // must not keep the previous line's value.
    let input = "{\"EventID\": 17, \"PipeName\": \"\\\\postex_1\"}\n{\"EventID\": 17}\n";
    let (out, summary) = scan_jsonl(input);
    let lines = verdicts(&out);
    assert_eq!(lines[0]["matches"][0]["id"], "PIPE-0001");
    assert_eq!(lines[1]["matches"], serde_json::json!([]));
    assert_eq!((summary.events, summary.events_matched), (2, 1));
}

#[test]
fn lines_read_in_place_or_gathered_across_refills_scan_alike() {
    // With a large buffer most lines are parsed where they lie; with a tiny one every line is
    // gathered across refills. Blank lines and a last line without a newline are in both.
    let mut input = String::new();
    for (i, line) in std::fs::read_to_string(OTRF).unwrap().lines().enumerate() {
        input.push_str(line);
        input.push_str(if i % 97 == 0 { "\n\n" } else { "\n" });
    }
    input.push_str("{\"EventID\": 18, \"PipeName\": \"\\\\lsass\"}");
    let in_place = scan_buffered(&input, 1 << 16);
    assert_eq!(in_place, scan_buffered(&input, 16));
    assert_eq!(in_place.0.lines().count(), input.lines().count());
    assert_eq!(
        in_place.1.errors,
        input.lines().filter(|l| l.is_empty()).count()
    );
}
