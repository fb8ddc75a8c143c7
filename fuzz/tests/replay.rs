//! Every corpus and artifact file of every fuzz target, replayed through the target's harness as
//! an ordinary test on stable. A corpus file that stops passing, or a crash input whose bug
//! returns, fails `cargo test`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use sensor_core::schema::SENSOR_FIXED;
use sensor_core::RuleSet;
use sensor_fuzz::check::{self, probe_events};
use sensor_fuzz::differential::{flawed_instances_run, flawed_run, Found};
use sensor_fuzz::events::values;
use sensor_fuzz::{Harness, Reached, TARGETS};
use sensor_host::content::ContentBuf;

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
}

struct Replay {
    files: usize,
    loaded: usize,
    matched: usize,
    failures: Vec<String>,
}

fn replay(target: &str, harness: Harness) -> Replay {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files(&root.join("corpus").join(target));
    let artifacts = files(&root.join("artifacts").join(target));
    let mut out = Replay {
        files: corpus.len() + artifacts.len(),
        loaded: 0,
        matched: 0,
        failures: Vec::new(),
    };
    for path in corpus.iter().chain(&artifacts) {
        let data = std::fs::read(path).expect("readable corpus file");
        match catch_unwind(AssertUnwindSafe(|| harness(&data))) {
            Ok(Reached { loaded, matched }) => {
                out.loaded += usize::from(loaded);
                out.matched += matched;
            }
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                out.failures.push(format!("{}: {why}", path.display()));
            }
        }
    }
    out
}

fn replay_target(target: &str) {
    let harness = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|&(_, h)| h)
        .expect("a known target");
    let r = replay(target, harness);
    assert!(r.failures.is_empty(), "{}", r.failures.join("\n"));
    assert!(r.files > 0, "the {target} corpus is empty");
    assert!(
        r.loaded > 0 && r.matched > 0,
        "no {target} corpus file reaches a loaded rule set that matches ({} files, {} loaded)",
        r.files,
        r.loaded
    );
    println!(
        "{target}: {} files, {} loaded content, {} matches",
        r.files, r.loaded, r.matched
    );
}

#[test]
fn channel_file_corpus_and_artifacts() {
    replay_target("channel_file");
}

#[test]
fn interpreter_corpus_and_artifacts() {
    replay_target("interpreter");
}

#[test]
fn structured_corpus_and_artifacts() {
    replay_target("structured");
}

#[test]
fn differential_corpus_and_artifacts() {
    replay_target("differential");
}

/// What Miri can afford: the channel files in `fuzz/miri/` (small compiled rule sets with
/// automata), each loaded once and run against the probe events, so that regex-automata's
/// unsafe DFA deserialization, the DFA scan and the aligned content buffer run under Miri's
/// checks. Run with
/// `MIRIFLAGS=-Zmiri-disable-isolation cargo +nightly miri test -p sensor-fuzz --test replay miri`.
#[test]
fn miri_sample_with_automata() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("miri");
    let mut scanned = 0;
    for path in files(&dir) {
        let data = std::fs::read(&path).expect("readable sample");
        let buf = ContentBuf::new(&data);
        let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED)
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        scanned += usize::from(rules.automaton_count() > 0);
        for event in probe_events() {
            check::evaluation(&rules, &values(&event));
        }
    }
    assert!(scanned >= 2, "fuzz/miri/ needs two rule sets with automata");
}

/// The two `flawed_finds_291` targets: their corpora (content the flawed model survives) must
/// still not bugcheck it, and every crash they found must still bugcheck it and still be
/// refused by the fixed loader for build 7.11.
fn replay_flawed(target: &str, run: fn(&[u8]) -> Option<Found>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files(&root.join("corpus").join(target));
    assert!(!corpus.is_empty(), "the {target} corpus is empty");
    let mut failures = Vec::new();
    for path in &corpus {
        let data = std::fs::read(path).expect("readable corpus file");
        if let Some(found) = run(&data) {
            failures.push(format!(
                "{}: corpus input bugchecks: {}",
                path.display(),
                found.halt.bugcheck
            ));
        }
    }
    for path in files(&root.join("artifacts").join(target)) {
        let data = std::fs::read(&path).expect("readable artifact");
        match run(&data) {
            None => failures.push(format!(
                "{}: no longer bugchecks the flawed model",
                path.display()
            )),
            Some(found) if found.fixed.is_ok() => failures.push(format!(
                "{}: bugchecks the flawed model, and the fixed loader takes it",
                path.display()
            )),
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn flawed_finds_291_corpus_and_artifacts() {
    replay_flawed("flawed_finds_291", flawed_instances_run);
}

#[test]
fn flawed_finds_291_raw_corpus_and_artifacts() {
    replay_flawed("flawed_finds_291_raw", flawed_run);
}

/// The `sysmon_json` target checks a JSON reader, not content: its corpus must pass, and a fair
/// part of it (most of it is text the fast path declines, on purpose) must reach the fast path.
#[test]
fn sysmon_json_corpus_and_artifacts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files(&root.join("corpus/sysmon_json"));
    let artifacts = files(&root.join("artifacts/sysmon_json"));
    assert!(!corpus.is_empty(), "the sysmon_json corpus is empty");
    let mut taken = 0;
    for path in corpus.iter().chain(&artifacts) {
        let data = std::fs::read(path).expect("readable corpus file");
        taken += usize::from(sensor_fuzz::sysmon_json::sysmon_json(&data));
    }
    assert!(
        taken * 5 > corpus.len(),
        "{taken} of {} taken",
        corpus.len()
    );
}

#[test]
fn every_target_has_a_replay_test() {
    let this = include_str!("replay.rs");
    for (target, _) in TARGETS {
        assert!(
            this.contains(&format!("replay_target(\"{target}\")")),
            "{target} is not replayed"
        );
    }
}

#[test]
fn seeds_pass_their_harness_and_reach_evaluation() {
    for (target, harness) in TARGETS {
        let seeds = sensor_fuzz::seeds::seeds(target);
        let mut matched = 0;
        let mut refused = Vec::new();
        for (name, bytes) in &seeds {
            let reached = harness(bytes);
            if !reached.loaded {
                refused.push(name.as_str());
            }
            matched += reached.matched;
        }
        println!("{target}: {} seeds; refused: {refused:?}", seeds.len());
        assert!(
            refused.len() * 4 <= seeds.len(),
            "{target}: most seeds load nothing: {refused:?}"
        );
        assert!(
            !refused.iter().any(|n| n.ends_with("-fixed")),
            "{target}: a seed for the fixed build loads nothing: {refused:?}"
        );
        assert!(matched > 0, "no {target} seed matches a rule");
    }
}
