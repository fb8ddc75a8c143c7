//! Data-driven rule-language cases: each file in `tests/cases/` holds rule source, events and
//! the rules each event must match (or the error loading must give). Every file is run; all
//! failures are reported together.
//!
//! Case file keys: `rules` (rule source text), `sensor` ("7.11" or "fixed", default "fixed"),
//! `load_error` (expected `LoadError` variant name, when the content must be refused), and
//! `[[event]]` tables whose keys are template field names plus `expect` (rule ids, in order)
//! and optionally `action` (the decisive action's name).

mod common;

use std::path::Path;

use sensor_core::schema::{self, IPC};
use sensor_core::{MatchBuffer, RuleSet, Value};
use sensor_host::content::ContentBuf;
use toml::Table;

fn field_value(v: &toml::Value, units: &mut Vec<u16>) -> Result<(), String> {
    match v {
        toml::Value::String(s) => {
            units.extend(s.encode_utf16());
            Ok(())
        }
        toml::Value::Array(a) => {
            for u in a {
                let n = u.as_integer().ok_or("code-unit arrays hold integers")?;
                units.push(u16::try_from(n).map_err(|e| e.to_string())?);
            }
            Ok(())
        }
        other => Err(format!("not a string: {other}")),
    }
}

fn run_event(rules: &RuleSet<'_>, event: &Table) -> Result<(), String> {
    let mut strings: Vec<(usize, Vec<u16>)> = Vec::new();
    let mut inputs = [Value::Absent; schema::FIELD_COUNT_IPC];
    for (key, v) in event {
        if key == "expect" || key == "action" {
            continue;
        }
        let field = IPC
            .field_index(key)
            .ok_or_else(|| format!("unknown field {key}"))?;
        match v {
            toml::Value::Integer(n) => inputs[field] = Value::Int(*n as u64),
            other => {
                let mut units = Vec::new();
                field_value(other, &mut units)?;
                strings.push((field, units));
            }
        }
    }
    for (field, units) in &strings {
        inputs[*field] = Value::Str(units);
    }
    let mut matches = MatchBuffer::<64>::default();
    let verdict = rules.evaluate(&inputs[..rules.supplied()], &mut matches);
    if verdict.counters.work > rules.worst_case_work() {
        return Err(format!(
            "work {} over the bound {}",
            verdict.counters.work,
            rules.worst_case_work()
        ));
    }
    let got: Vec<&str> = matches
        .as_slice()
        .iter()
        .map(|m| rules.rule(m.rule as usize).map_or("?", |r| r.id))
        .collect();
    let want: Vec<&str> = event
        .get("expect")
        .and_then(|e| e.as_array())
        .ok_or("event lacks expect")?
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    if got != want {
        return Err(format!("matched {got:?}, expected {want:?}"));
    }
    if let Some(action) = event.get("action").and_then(|a| a.as_str()) {
        let got = verdict.action.map_or("none", |a| a.name());
        if got != action {
            return Err(format!("decisive action {got}, expected {action}"));
        }
    }
    Ok(())
}

fn run_case(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Table = text.parse().map_err(|e| format!("{e}"))?;
    let source = case["rules"].as_str().ok_or("rules must be a string")?;
    let build = case
        .get("sensor")
        .and_then(|s| s.as_str())
        .unwrap_or("fixed");
    let sensor = schema::sensor(build).ok_or("unknown sensor")?;
    let buf = ContentBuf::new(&common::compile_toml(source));
    let loaded = RuleSet::load(buf.as_bytes(), sensor);
    match (loaded, case.get("load_error").and_then(|e| e.as_str())) {
        (Err(e), Some(want)) => {
            let got = format!("{e:?}");
            if got.starts_with(want) {
                Ok(())
            } else {
                Err(format!("refused with {got}, expected {want}"))
            }
        }
        (Err(e), None) => Err(format!("refused: {e:?}")),
        (Ok(_), Some(want)) => Err(format!("loaded, expected refusal {want}")),
        (Ok(rules), None) => {
            let events = case
                .get("event")
                .and_then(|e| e.as_array())
                .ok_or("no [[event]]")?;
            for (i, event) in events.iter().enumerate() {
                let event = event.as_table().ok_or("event must be a table")?;
                run_event(&rules, event).map_err(|e| format!("event {i}: {e}"))?;
            }
            Ok(())
        }
    }
}

#[test]
fn rule_language_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "only {} cases", paths.len());
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| run_case(p).err().map(|e| format!("{}: {e}", p.display())))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
