//! Real events through real content: the 1103 Sysmon pipe events of the OTRF corpus against the
//! 21 Sigma rules, the SwiftOnSecurity configuration and the merged sysmon-modular modules.
//!
//! - On every event, the compiled engine and the reference matcher agree.
//! - The matches are kept in golden files under `tests/golden/`, each hit with the parts of the
//!   rule (Sigma search identifiers, Sysmon include entries) that held for it. A change in what
//!   matches fails the test with a diff; after checking the change is right, regenerate with
//!   `UPDATE_GOLDEN=1 cargo test -p sensor-host --test otrf`.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use sensor_host::event::{EventKind, PipeEvent};
use sensor_host::import::{self, Imported, ImportedRule};
use sensor_host::sysmon::{self, SysmonMeta};
use sensor_host::{sigma, sysmon_config};
use support::{channel_file, corpus, corpus_files, Both};

const EVENTS: &str = "otrf/sysmon-pipe-events.jsonl";

/// The OTRF events with their line numbers.
fn otrf_events() -> Vec<(usize, PipeEvent, SysmonMeta)> {
    let text = std::fs::read_to_string(corpus(EVENTS)).expect("OTRF corpus");
    text.lines()
        .zip(1..)
        .map(|(record, line)| {
            let (event, meta) =
                sysmon::parse_line(record).unwrap_or_else(|e| panic!("line {line}: {e}"));
            (line, event, meta)
        })
        .collect()
}

/// One content's run over the corpus.
struct Run {
    /// What the golden file says about the content, for its header.
    header: &'static str,
    rules: Vec<ImportedRule>,
}

impl Run {
    fn new<K>(header: &'static str, imported: Imported<K>) -> Self {
        assert_eq!(
            imported.errors(),
            0,
            "{header}: the corpus content imports without errors"
        );
        Self {
            header,
            rules: imported.rules,
        }
    }

    /// Checks engine and reference agree on every event and renders the golden text.
    fn golden(&self, events: &[(usize, PipeEvent, SysmonMeta)]) -> String {
        let content = import::content(&self.rules, 1);
        let buf = channel_file(&content);
        let mut both = Both::new(&content, &buf);
        let mut out = String::new();
        let mut per_rule: BTreeMap<usize, usize> = BTreeMap::new();
        let mut with_matches = 0;
        for (line, event, meta) in events {
            let matched = both
                .matches(event)
                .unwrap_or_else(|e| panic!("{}: line {line}: {e}", self.header));
            if matched.is_empty() {
                continue;
            }
            with_matches += 1;
            let _ = writeln!(out, "line {line}: {}", describe(event, meta));
            for &index in &matched {
                *per_rule.entry(index).or_default() += 1;
                let _ = writeln!(out, "    {}", self.hit(&both, index, event));
            }
        }
        let mut summary = format!(
            "{}\n#\n# {} events, {} with matches, {} matches.\n",
            self.header,
            events.len(),
            with_matches,
            per_rule.values().sum::<usize>()
        );
        for (&index, n) in &per_rule {
            let rule = &self.rules[index].rule;
            let _ = writeln!(summary, "# {n:>5}  {} {}", rule.id, rule.title);
        }
        summary + "\n" + &out
    }

    /// One matched rule and the parts of it that held.
    fn hit(&self, both: &Both<'_>, index: usize, event: &PipeEvent) -> String {
        let imported = &self.rules[index];
        let rule = &imported.rule;
        let held: Vec<&str> = imported
            .parts
            .iter()
            .filter(|part| {
                let supplied = both.rules.supplied();
                both.reference
                    .expr_holds(index, &part.expr, event, supplied)
            })
            .map(|part| part.name.as_str())
            .collect();
        let author = match rule.author.as_str() {
            "" => String::new(),
            author => format!(" (by {author})"),
        };
        format!(
            "{} {} \"{}\"{author}: {}",
            rule.level.name(),
            rule.id,
            rule.title,
            held.join(", ")
        )
    }
}

fn describe(event: &PipeEvent, meta: &SysmonMeta) -> String {
    let kind = match event.kind {
        EventKind::Create => "created",
        EventKind::Connect => "connected",
    };
    format!(
        "{kind} {} by {} ({})",
        event.pipe_name.as_deref().unwrap_or("-"),
        event.image_path.as_deref().unwrap_or("-"),
        meta.dataset.as_deref().unwrap_or("-")
    )
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file, or writes it when `UPDATE_GOLDEN` is set.
fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(10)
            .map(|(i, (e, a))| format!("line {}:\n  golden: {e}\n  actual: {a}", i + 1))
            .collect();
        panic!(
            "{name} differs ({} golden lines, {} actual):\n{}",
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

const SIGMA_HEADER: &str = "\
# The 21 SigmaHQ pipe_created rules (shared/corpus/sigma, Detection Rule License 1.1: rule
# authors are named with every hit) over the OTRF Security-Datasets Sysmon events 17 and 18
# (shared/corpus/otrf, MIT). Each hit lists the search identifiers that held.";

const SWIFT_HEADER: &str = "\
# The PipeEvent filters of sysmon-config by SwiftOnSecurity (shared/corpus/sysmon-config,
# CC BY 4.0, https://creativecommons.org/licenses/by/4.0/) over the OTRF Security-Datasets Sysmon
# events 17 and 18 (shared/corpus/otrf, MIT): the events this configuration logs, and by which
# include entry.";

const MODULAR_HEADER: &str = "\
# The 30 PipeEvent modules of sysmon-modular by Olaf Hartong (shared/corpus/sysmon-modular, MIT),
# merged, over the OTRF Security-Datasets Sysmon events 17 and 18 (shared/corpus/otrf, MIT): the
# events this configuration logs, and by which include entry.";

#[test]
fn sigma_rules_over_otrf() {
    let run = Run::new(SIGMA_HEADER, sigma::import(&[corpus("sigma/pipe_created")]));
    check_golden("otrf_sigma.txt", &run.golden(&otrf_events()));
}

#[test]
fn swiftonsecurity_config_over_otrf() {
    let imported = sysmon_config::import(&[corpus("sysmon-config/sysmonconfig-export.xml")]);
    let run = Run::new(SWIFT_HEADER, imported);
    check_golden("otrf_swiftonsecurity.txt", &run.golden(&otrf_events()));
}

#[test]
fn sysmon_modular_over_otrf() {
    let imported = sysmon_config::import(&corpus_files("sysmon-modular/17_18_pipe_event"));
    let run = Run::new(MODULAR_HEADER, imported);
    check_golden("otrf_sysmon_modular.txt", &run.golden(&otrf_events()));
}

/// Variants of an event that move it across case, presence and kind boundaries.
fn variants(event: &PipeEvent) -> [PipeEvent; 4] {
    let map = |f: fn(&str) -> String| PipeEvent {
        pipe_name: event.pipe_name.as_deref().map(f),
        image_path: event.image_path.as_deref().map(f),
        ..event.clone()
    };
    let flipped = match event.kind {
        EventKind::Create => EventKind::Connect,
        EventKind::Connect => EventKind::Create,
    };
    [
        map(str::to_uppercase),
        map(str::to_lowercase),
        PipeEvent {
            image_path: None,
            ..event.clone()
        },
        PipeEvent {
            kind: flipped,
            ..event.clone()
        },
    ]
}

/// The Sigma rules and the SwiftOnSecurity filters on four variants of each OTRF event. (The
/// merged sysmon-modular rules, which repeat 83 exclude tests in each of 16 rules, are checked on
/// the events themselves above: their variants would cost the unoptimized engine half a minute.)
#[test]
fn engine_and_reference_agree_on_variants_of_every_event() {
    let mut rules = sigma::import(&[corpus("sigma/pipe_created")]).rules;
    let swift = sysmon_config::import(&[corpus("sysmon-config/sysmonconfig-export.xml")]);
    rules.extend(swift.rules);
    let content = import::content(&rules, 1);
    let buf = channel_file(&content);
    let mut both = Both::new(&content, &buf);
    let mut matched = 0;
    for (line, event, _) in otrf_events() {
        for variant in variants(&event) {
            let ids = both
                .matches(&variant)
                .unwrap_or_else(|e| panic!("line {line} {variant:?}: {e}"));
            matched += ids.len();
        }
    }
    assert!(matched > 0, "the variants must exercise matching rules");
}
