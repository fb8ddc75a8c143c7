//! The JSON fast path of the Sysmon reader against serde_json, the parser it stands in for.
//!
//! `sensor_host::json_object` reads a record's members in one pass and declines what it does
//! not handle; the reader then falls back to serde_json. Its contract, checked here on any
//! bytes: it never takes text serde_json refuses, the raw values it hands out are the ones
//! serde_json borrows for the same keys, and a string it decodes reads as serde_json reads it.
//! The whole reader (`parse_line`) runs on the same text and must not panic.

use std::collections::BTreeMap;

use sensor_host::json_object::{decode_string, members};
use sensor_host::sysmon::parse_line;
use serde_json::value::RawValue;

/// Runs the checks on `data`; returns whether the fast path took it as an object.
pub fn sysmon_json(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let _ = parse_line(text);
    check_decoded(text);
    let mut seen = Vec::new();
    let taken = members(text, |key, raw| {
        seen.push((key, raw));
        Some(())
    });
    if taken.is_none() {
        return false;
    }
    let theirs = serde_json::from_str::<BTreeMap<&str, &RawValue>>(text)
        .unwrap_or_else(|e| panic!("the fast path took an object serde_json refuses: {e}"));
    let theirs: BTreeMap<&str, &str> = theirs.iter().map(|(k, v)| (*k, v.get())).collect();
    // serde_json keeps the last of a repeated key, as collecting into a map does.
    let ours: BTreeMap<&str, &str> = seen.iter().copied().collect();
    assert_eq!(
        ours, theirs,
        "the fast path and serde_json read different members"
    );
    for (_, raw) in seen {
        check_decoded(raw);
    }
    true
}

/// If `decode_string` takes `raw`, serde_json reads the same string from it.
fn check_decoded(raw: &str) {
    let mut ours = String::new();
    if decode_string(raw, &mut ours).is_none() {
        return;
    }
    let theirs: String = serde_json::from_str(raw)
        .unwrap_or_else(|e| panic!("decode_string took a string serde_json refuses: {e}"));
    assert_eq!(
        ours, theirs,
        "decode_string and serde_json read different strings"
    );
}
