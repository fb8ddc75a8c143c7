//! Seed inputs built from the project's own rule sources and test cases.
//!
//! Seeds come from `sensor-host/content/` (the default rule set and the channel 291 history)
//! and `sensor-host/tests/cases/` (rule-language cases with their events). They are compiled
//! with the real compiler, so they start the fuzzer inside valid content with automata, which
//! raw mutation would take a long time to build. `examples/seeds.rs` writes them into
//! `corpus/<target>/`; `cargo fuzz cmin` then keeps only those that add coverage.

use std::path::{Path, PathBuf};

use sensor_core::schema::IPC;
use sensor_host::compile::{compile, compile_with, Layout};
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
    out.push(fired_overflow());
    out
}

/// Tag `i` of [`fired_overflow`]'s `contains-any`: `t00` to `t69`.
fn tag(i: usize) -> String {
    format!("t{i:02}")
}

fn tags(range: std::ops::Range<usize>) -> String {
    range.map(tag).collect()
}

/// A rule source whose events fire more distinct patterns than the interpreter's fired list
/// holds ([`sensor_core::limits::MAX_FIRED`], 64), so that seeds start inside the fallback:
/// the rule index ignored, every rule run, and the predicates of the overfull automaton tested
/// directly (operands compared). No repository source does this with a seed-sized file.
///
/// The list is one for the event, shared by every automaton, and holds keys: operands with the
/// same text and placement share one. The pipe name's dictionary holds `MANY`'s 70 tags (which
/// `BOTH`'s `contains-all` and `IMAGE`'s tags share), `\t00` at the start (`BOTH` and `NOT`),
/// `t69` at the end and `QUIET`'s name; the glob and the regex have a DFA each; the image
/// path's dictionary holds `IMAGE`'s file name, which every event's path ends with. The events
/// fire 3 keys; 64, the list just full (62 tags, `\t00` at the start, the image, and a
/// trailing `x` that keeps the glob and the regex quiet); 65, one over (the next tag); 74
/// (every tag in upper case: 70 tags, both ends, the image and the glob); and 72 (with a pipe
/// name `QUIET` must then compare directly: 69 tags, the end, the image and the regex).
pub fn fired_overflow() -> Source {
    let operands: Vec<String> = (0..70).map(|i| format!("'{}'", tag(i))).collect();
    let rules = format!(
        r#"channel = 291
version = 1
template = "ipc"

[[rule]]
id = "MANY"
title = "contains any of 70 tags"
level = "low"
[rule.where]
p = {{ field = "pipe_name", op = "contains-any", value = [{}] }}

[[rule]]
id = "BOTH"
title = "first and last tag, at the ends"
level = "medium"
condition = "all and (first or last)"
[rule.where]
all = {{ field = "pipe_name", op = "contains-all", value = ['t00', 't69'] }}
first = {{ field = "pipe_name", op = "begins-with", value = '\t00' }}
last = {{ field = "pipe_name", op = "ends-with", value = 't69' }}

[[rule]]
id = "GLOB"
title = "glob over the tags"
level = "low"
[rule.where]
p = {{ field = "pipe_name", op = "glob", value = '\t00*t6?' }}

[[rule]]
id = "RE"
title = "regex over the tags"
level = "high"
action = "alert"
[rule.where]
p = {{ field = "pipe_name", op = "regex", value = 't6[0-9]$' }}

[[rule]]
id = "QUIET"
title = "indexed, fired by no tag event"
level = "low"
[rule.where]
p = {{ field = "pipe_name", op = "equals", value = '\quiet' }}

[[rule]]
id = "IMAGE"
title = "image on another automaton"
level = "low"
condition = "image and tag"
[rule.where]
image = {{ field = "image_path", op = "image", value = "rundll32.exe" }}
tag = {{ field = "pipe_name", op = "contains-any", value = ['t05', 't69'] }}

[[rule]]
id = "NOT"
title = "unindexed: not the first tag"
level = "informational"
[rule.where]
p = {{ field = "pipe_name", op = "begins-with", value = '\t00', negate = true }}
"#,
        operands.join(", ")
    );
    let base = crate::check::probe_events().swap_remove(0);
    let event = |pipe: String, image: Option<&str>| {
        let mut e = base.clone();
        e[1] = Input::text(&pipe);
        if let Some(image) = image {
            e[2] = Input::text(image);
        }
        e
    };
    let events = vec![
        event(r"\t05".into(), Some(r"C:\Windows\System32\rundll32.exe")),
        event(format!(r"\{}x", tags(0..62)), None),
        event(format!(r"\{}x", tags(0..63)), None),
        event(
            format!(r"\{}", tags(0..70).to_uppercase()),
            Some("RUNDLL32.EXE"),
        ),
        event(format!(r"\quiet{}", tags(1..70)), None),
    ];
    Source {
        name: "fired-list-overflow".into(),
        rules,
        events,
    }
}

/// Largest compiled seed kept. libFuzzer sizes its inputs after the largest seed, and the
/// default rule set (about 200 KiB of automata) would make every mutation slow; the other
/// sources cover the same operators in at most 35 KiB (the 19 July file is 26 KiB).
pub const MAX_SEED_FILE: usize = 40 * 1024;

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

/// A source compiled with a dense row for each dictionary's root alone, so that its other
/// states take the sparse path (transitions and fail links); `None` when that gives the same
/// file as [`seed_file`] (no dictionary deeper than its root) or no file.
fn sparse_seed_file(source: &Source) -> Option<Vec<u8>> {
    let content = source::parse(&source.rules, &source.name).ok()?;
    let layout = Layout {
        dense_bytes: 0,
        ..Layout::default()
    };
    let sparse = compile_with(&content, layout).ok()?.bytes;
    (sparse.len() <= MAX_SEED_FILE && Some(&sparse) != seed_file(source).as_ref()).then_some(sparse)
}

/// Largest DFA of a split seed, smallest first: small enough that a field's few globs or
/// regexes take several DFAs, so that the sensor's lanes (DFAs of one field scanning together)
/// are in the seeds. A limit some pattern does not fit alone refuses the source.
const SPLIT_DFA_BYTES: [usize; 3] = [4 * 1024, 6 * 1024, 8 * 1024];

/// A source compiled with the smallest DFAs of [`SPLIT_DFA_BYTES`] that compile it; `None`
/// when that gives the same file as [`seed_file`] (one DFA a field already) or none compiles.
fn split_seed_file(source: &Source) -> Option<Vec<u8>> {
    let content = source::parse(&source.rules, &source.name).ok()?;
    let split = SPLIT_DFA_BYTES.iter().find_map(|&dfa_bytes| {
        let layout = Layout {
            dfa_bytes,
            ..Layout::default()
        };
        compile_with(&content, layout).ok()
    })?;
    let split = split.bytes;
    (split.len() <= MAX_SEED_FILE && Some(&split) != seed_file(source).as_ref()).then_some(split)
}

/// Each source's seed file, and its sparse and split variants where there are some, under their
/// names.
pub fn seed_files(source: &Source) -> Vec<(String, Vec<u8>)> {
    let dense = seed_file(source).map(|f| (source.name.clone(), f));
    let sparse = sparse_seed_file(source).map(|f| (format!("{}-sparse", source.name), f));
    let split = split_seed_file(source).map(|f| (format!("{}-split", source.name), f));
    dense.into_iter().chain(sparse).chain(split).collect()
}

/// Seeds for `channel_file`: every compiled source, and its sparse variant.
pub fn channel_file_seeds() -> Vec<(String, Vec<u8>)> {
    sources().iter().flat_map(seed_files).collect()
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

/// The `interpreter` seeds of one compiled file of `source`, named after `name`: its events and
/// the probe events for the fixed build, and for build 7.11 too when it is channel 291 history.
fn interpreter_seeds_of(
    source: &Source,
    name: &str,
    file: &[u8],
    out: &mut Vec<(String, Vec<u8>)>,
) {
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
            file: file.to_vec(),
            events,
        };
        let mut bytes = input.encode();
        let mut w = Writer::default();
        write_stress_event(&mut w, 32_766);
        write_stress_event(&mut w, 32_767);
        bytes.extend_from_slice(&w.out);
        out.push((format!("{name}-{build}"), bytes));
    }
}

/// Seeds for `interpreter`: every compiled source (and its sparse variant) with its own events
/// and probe events, for the fixed build, and the channel 291 history for build 7.11 as well;
/// plus one event at the longest string a sensor passes and one just over it.
pub fn interpreter_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for source in sources() {
        for (name, file) in seed_files(&source) {
            interpreter_seeds_of(&source, &name, &file, &mut out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::without_index;
    use crate::events::values;
    use sensor_core::schema::SENSOR_FIXED;
    use sensor_core::RuleSet;
    use sensor_host::content::ContentBuf;

    /// The overflow seed reaches the fallback where it says it does: with the list just full
    /// the index still skips `QUIET`, one pattern more and every rule runs (as many predicates
    /// as without the index); and the verdicts are those the rules say, either way.
    #[test]
    fn the_overflow_source_crosses_the_fired_list_where_it_says() {
        let source = fired_overflow();
        let file = compile_source(&source).expect("the overflow source compiles");
        assert!(file.len() <= MAX_SEED_FILE, "{} bytes", file.len());
        let buf = ContentBuf::new(&file);
        let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap();
        assert!(rules.indexed());
        let stripped = without_index(&file).unwrap();
        let plain_buf = ContentBuf::new(&stripped);
        let plain = RuleSet::load(plain_buf.as_bytes(), &SENSOR_FIXED).unwrap();
        let expected: [(&[&str], bool); 5] = [
            (&["MANY", "IMAGE", "NOT"], false),
            (&["MANY", "IMAGE"], false),
            (&["MANY", "IMAGE"], true),
            (&["MANY", "BOTH", "GLOB", "IMAGE"], true),
            (&["MANY", "RE", "IMAGE", "NOT"], true),
        ];
        assert_eq!(source.events.len(), expected.len());
        for (i, (event, (ids, overflows))) in source.events.iter().zip(expected).enumerate() {
            let inputs = values(event);
            let mut matched = Vec::new();
            let with = rules.evaluate(&inputs, &mut |m: sensor_core::MatchedRule| {
                matched.push(rules.rule(m.rule as usize).unwrap().id);
                true
            });
            let without = plain.evaluate(&inputs, &mut |_| true);
            assert_eq!(matched, ids, "event {i}");
            assert_eq!(
                (with.matched, with.action),
                (without.matched, without.action)
            );
            let (p, q) = (with.counters.predicates, without.counters.predicates);
            if overflows {
                assert_eq!(
                    p, q,
                    "event {i} should overflow the fired list, so every rule runs \
                     (if the compiler now groups patterns otherwise, recalibrate the events)"
                );
            } else {
                assert!(
                    p < q,
                    "event {i} should fit the fired list, so the index skips rules ({p} vs {q})"
                );
            }
        }
    }

    /// The split variants put the sensor's lanes in the seeds (and in the stack measurement,
    /// which loads every seed file): some seed has DFAs that scan one field together.
    #[test]
    fn some_split_seed_scans_in_lanes() {
        let laned: Vec<String> = sources()
            .iter()
            .flat_map(seed_files)
            .filter(|(name, _)| name.ends_with("-split"))
            .filter(|(_, file)| {
                let buf = ContentBuf::new(file);
                RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).is_ok_and(|r| r.laned_automata() > 0)
            })
            .map(|(name, _)| name)
            .collect();
        assert!(!laned.is_empty(), "no split seed scans in lanes");
    }
}
