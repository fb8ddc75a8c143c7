//! Seed inputs built from the project's own rule sources and test cases.
//!
//! Seeds come from `sensor-host/content/` (the default rule set and the channel 291 history)
//! and `sensor-host/tests/cases/` (rule-language cases with their events). They are compiled
//! with the real compiler, so they start the fuzzer inside valid content with automata, which
//! raw mutation would take a long time to build. `examples/seeds.rs` writes them into
//! `corpus/<target>/`; `cargo fuzz cmin` then keeps only those that add coverage.

use std::path::{Path, PathBuf};

use sensor_core::schema::IPC;
use sensor_host::compile::compile;
use sensor_host::source;

use crate::bytes::Writer;
use crate::events::{write_event, write_long, write_scrambled, Input};
use crate::sensors::SensorChoice;
use crate::InterpreterInput;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ has a parent")
        .to_path_buf()
}

/// One rule source with the events written for it.
#[derive(Clone, Debug)]
pub struct Source {
    /// File stem, used to name seeds.
    pub name: String,
    /// Rule source text (TOML).
    pub rules: String,
    /// Events, as full IPC input arrays.
    pub events: Vec<Vec<Input>>,
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An event of a test case: template field names to strings, integers or arrays of code units.
fn case_event(table: &toml::Table) -> Vec<Input> {
    let mut event = vec![Input::Absent; IPC.field_count()];
    for (key, value) in table {
        let Some(field) = IPC.field_index(key) else {
            continue;
        };
        event[field] = match value {
            toml::Value::Integer(n) => Input::Int(*n as u64),
            toml::Value::String(s) => Input::text(s),
            toml::Value::Array(units) => Input::Str(
                units
                    .iter()
                    .filter_map(|u| u.as_integer())
                    .map(|u| u as u16)
                    .collect(),
            ),
            _ => Input::Absent,
        };
    }
    event
}

/// Every rule source of the repository, with its events: content files get none of their own,
/// test cases bring theirs.
pub fn sources() -> Vec<Source> {
    let root = repo_root().join("sensor-host");
    let mut out = Vec::new();
    for dir in ["content", "content/incident"] {
        for path in toml_files(&root.join(dir)) {
            out.push(Source {
                name: stem(&path),
                rules: std::fs::read_to_string(&path).expect("readable rule source"),
                events: Vec::new(),
            });
        }
    }
    for path in toml_files(&root.join("tests/cases")) {
        let text = std::fs::read_to_string(&path).expect("readable case");
        let case: toml::Table = text.parse().expect("a case is TOML");
        let Some(rules) = case.get("rules").and_then(|r| r.as_str()) else {
            continue;
        };
        let events = case
            .get("event")
            .and_then(|e| e.as_array())
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| e.as_table())
                    .map(case_event)
                    .collect()
            })
            .unwrap_or_default();
        out.push(Source {
            name: format!("case-{}", stem(&path)),
            rules: rules.to_owned(),
            events,
        });
    }
    out
}

/// Largest compiled seed kept. libFuzzer sizes its inputs after the largest seed, and the
/// default rule set (about 200 KiB of automata) would make every mutation slow; the other
/// sources cover the same operators in a few KiB.
pub const MAX_SEED_FILE: usize = 32 * 1024;

/// Compiles a source; `None` for sources written to be refused by the compiler.
pub fn compile_source(source: &Source) -> Option<Vec<u8>> {
    let content = source::parse(&source.rules, &source.name).ok()?;
    compile(&content).ok()
}

/// Compiles a source for seeding; `None` when it does not compile or is over
/// [`MAX_SEED_FILE`].
fn seed_file(source: &Source) -> Option<Vec<u8>> {
    compile_source(source).filter(|f| f.len() <= MAX_SEED_FILE)
}

/// Seeds for `channel_file`: every compiled source.
pub fn channel_file_seeds() -> Vec<(String, Vec<u8>)> {
    sources()
        .iter()
        .filter_map(|s| Some((s.name.clone(), seed_file(s)?)))
        .collect()
}

/// An event whose pipe name is a string of `count` units followed by a backslash, whose image
/// path is broken UTF-16, and whose other fields are the first probe event's.
fn write_stress_event(w: &mut Writer, count: u16) {
    let probe = crate::check::probe_events().swap_remove(0);
    w.u8(probe.len() as u8);
    for (i, input) in probe.iter().enumerate() {
        match i {
            1 => write_long(w, u16::from(b'a'), u16::from(b'\\'), count),
            2 => write_scrambled(w, &[12, 0, 13, 4, 5, 2, 15, 9, 8, 10, 11, 6, 1]),
            _ => input.write(w),
        }
    }
}

/// Seeds for `interpreter`: every compiled source with its own events and probe events, for
/// the fixed build, and the channel 291 history for build 7.11 as well; plus one event at the
/// longest string a sensor passes and one just over it.
pub fn interpreter_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for source in sources() {
        let Some(file) = seed_file(&source) else {
            continue;
        };
        let mut sensors = vec![("fixed", SensorChoice::Fixed)];
        if source.name.starts_with("C-00000291") {
            sensors.push(("7.11", SensorChoice::V7_11));
        }
        for (build, sensor) in sensors {
            let mut events: Vec<Vec<Input>> = source.events.iter().take(8).cloned().collect();
            events.extend(crate::check::probe_events());
            let input = InterpreterInput {
                reseal: false,
                sensor,
                file: file.clone(),
                events,
            };
            let mut bytes = input.encode();
            let mut w = Writer::default();
            write_stress_event(&mut w, 32_766);
            write_stress_event(&mut w, 32_767);
            bytes.extend_from_slice(&w.out);
            out.push((format!("{}-{build}", source.name), bytes));
        }
    }
    let mut short = Writer::default();
    short.u8(1);
    SensorChoice::Custom {
        supply: 21,
        max_string_units: 4,
        work_budget: 0,
    }
    .write(&mut short);
    let july = sources()
        .into_iter()
        .find(|s| s.name == "C-00000291-2024-07-19-0409")
        .and_then(|s| seed_file(&s))
        .expect("the 19 July file compiles");
    short.u32(july.len() as u32).bytes(&july);
    write_event(&mut short, &crate::check::probe_events()[0]);
    out.push(("july-custom-short-strings".into(), short.out));
    out
}

/// The rule sets the Miri test loads (`fuzz/miri/`): two small ones with automata, one of
/// them scanning broken UTF-16.
pub fn miri_samples() -> Vec<(String, Vec<u8>)> {
    [
        "case-unpaired_surrogates",
        "case-glob_wildcards_and_escapes",
    ]
    .iter()
    .map(|name| {
        let source = sources()
            .into_iter()
            .find(|s| s.name == *name)
            .unwrap_or_else(|| panic!("rule source {name} is gone"));
        let file = compile_source(&source).expect("the sample compiles");
        (name.trim_start_matches("case-").to_owned(), file)
    })
    .collect()
}

/// Seeds for a target, by name.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "channel_file" => channel_file_seeds(),
        "interpreter" => interpreter_seeds(),
        "structured" => crate::structured::seeds(),
        "differential" => crate::differential::differential_seeds(),
        "flawed_finds_291" => crate::differential::flawed_instance_seeds(),
        "flawed_finds_291_raw" => crate::differential::flawed_seeds(),
        _ => Vec::new(),
    }
}
