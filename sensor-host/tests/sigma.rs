//! The Sigma importer: every `pipe_created` rule of the corpus imports with its metadata and
//! behaves as its authors documented (`tests/sigma/cases.toml`, checked on the compiled engine
//! and the reference matcher alike), and what cannot be imported is reported where it is
//! written.

mod support;

use std::collections::BTreeSet;

use sensor_core::op::{Action, Level};
use sensor_host::event::{EventKind, PipeEvent};
use sensor_host::import::Severity;
use sensor_host::sigma::{self, Importer, SigmaError};
use sensor_host::sysmon;
use support::{channel_file, corpus, corpus_files, event, Both};

const RULES: &str = "sigma/pipe_created";

/// A top-level `key: value` of a rule file, read line by line, independently of the importer.
fn top_level(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
        .map(|v| v.trim().trim_matches('\'').to_owned())
}

#[test]
fn every_corpus_rule_imports_with_its_metadata() {
    let files = corpus_files(RULES);
    let imported = sigma::import(&[corpus(RULES)]);
    assert_eq!(imported.errors(), 0, "{:#?}", imported.diagnostics);
    assert_eq!(imported.rules.len(), files.len());
    assert_eq!(files.len(), 21, "the corpus README counts 21 rules");
    for (file, rule) in files.iter().zip(&imported.rules) {
        let text = std::fs::read_to_string(file).expect("rule file");
        let rule = &rule.rule;
        let name = file.display();
        assert_eq!(Some(&rule.id), top_level(&text, "id").as_ref(), "{name}");
        assert_eq!(
            Some(&rule.title),
            top_level(&text, "title").as_ref(),
            "{name}"
        );
        assert_eq!(
            Some(&rule.author),
            top_level(&text, "author").as_ref(),
            "{name}"
        );
        let level = top_level(&text, "level").expect("level");
        assert_eq!(rule.level.name(), level, "{name}");
        assert_eq!(rule.action, Action::Alert);
        assert!(rule.origin.file.ends_with(".yml") && rule.origin.line == 1);
    }
}

#[test]
fn the_only_diagnostic_is_the_deprecated_rule() {
    let imported = sigma::import(&[corpus(RULES)]);
    let [warning] = &imported.diagnostics[..] else {
        panic!("{:#?}", imported.diagnostics);
    };
    assert_eq!(warning.severity, Severity::Warning);
    assert_eq!(warning.kind, SigmaError::Deprecated);
    assert!(warning
        .location
        .file
        .ends_with("deprecated__pipe_created_psexec_pipes_artifacts.yml"));
    assert_eq!(
        (warning.location.line, warning.location.text.as_str()),
        (3, "deprecated")
    );
}

#[test]
fn corpus_rules_behave_as_documented() {
    let imported = sigma::import(&[corpus(RULES)]);
    let content = imported.content(1);
    let buf = channel_file(&content);
    let mut both = Both::new(&content, &buf);
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sigma/cases.toml"
    ))
    .expect("cases");
    let cases: toml::Table = toml::from_str(&text).expect("cases parse");
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases["case"].as_array().expect("[[case]]") {
        let id = case["rule"].as_str().expect("rule");
        let Some(index) = content.rules.iter().position(|r| r.id == id) else {
            failures.push(format!("{id}: no such rule"));
            continue;
        };
        covered.insert(id.to_owned());
        for (key, expected) in [("match", true), ("miss", false)] {
            let events = case[key].as_array().expect(key);
            assert!(!events.is_empty(), "{id}: no {key} events");
            for table in events {
                let ev = event(table.as_table().expect("event table"));
                checked += 1;
                match both.matches(&ev) {
                    Ok(matched) if matched.contains(&index) == expected => {}
                    Ok(matched) => {
                        failures.push(format!("{id} {key} {table}: matched {matched:?}"))
                    }
                    Err(disagreement) => failures.push(format!("{id} {table}: {disagreement}")),
                }
            }
        }
    }
    let all: BTreeSet<String> = content.rules.iter().map(|r| r.id.clone()).collect();
    assert_eq!(covered, all, "every corpus rule needs a case");
    assert!(
        failures.is_empty(),
        "{checked} events, failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_redsun_regression_event_matches_exactly_its_rule() {
    let imported = sigma::import(&[corpus(RULES)]);
    let content = imported.content(1);
    let buf = channel_file(&content);
    let mut both = Both::new(&content, &buf);
    let dir = corpus("sigma/regression_data");
    let json = std::fs::read_to_string(dir.join(
        "pipe_created_win_exploit_redsun_named_pipe__9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b.json",
    ))
    .expect("regression event");
    let (ev, _) = sysmon::parse_line(&json).expect("pipe event");
    let matched = both.matches(&ev).expect("agreement");
    let ids: Vec<&str> = matched
        .iter()
        .map(|&i| content.rules[i].id.as_str())
        .collect();
    assert_eq!(ids, ["9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b"]);
}

/// Imports one inline rule file.
fn import(text: &str) -> sensor_host::import::Imported<SigmaError> {
    let mut importer = Importer::default();
    importer.add_source(text, "t.yml");
    importer.finish()
}

/// A rule whose detection is `detection` (indented four spaces).
fn rule(detection: &str) -> String {
    format!(
        "title: T\nid: R1\nauthor: A\nlevel: high\nlogsource:\n    product: windows\n    category: pipe_created\ndetection:\n{detection}"
    )
}

/// The one error importing `text` gives, as `line:column: text: message`.
fn error(text: &str) -> String {
    let imported = import(text);
    assert!(imported.rules.is_empty(), "imported: {text}");
    let [d] = &imported.diagnostics[..] else {
        panic!("one diagnostic expected: {:#?}", imported.diagnostics);
    };
    assert_eq!(d.severity, Severity::Error);
    let l = &d.location;
    format!("{}:{}: {}: {}", l.line, l.column, l.text, d.kind)
}

/// Compiles an inline rule and reports whether each event matches it.
fn decide(text: &str, events: &[PipeEvent]) -> Vec<bool> {
    let imported = import(text);
    assert_eq!(imported.errors(), 0, "{:#?}", imported.diagnostics);
    let content = imported.content(1);
    let buf = channel_file(&content);
    let mut both = Both::new(&content, &buf);
    events
        .iter()
        .map(|ev| !both.matches(ev).expect("agreement").is_empty())
        .collect()
}

fn pipe(name: &str) -> PipeEvent {
    PipeEvent {
        pipe_name: Some(name.into()),
        ..PipeEvent::default()
    }
}

#[test]
fn what_cannot_be_imported_is_reported_where_it_is_written() {
    let cases = [
        (
            "    sel:\n        ProcessGuid: '{x}'\n    condition: sel\n",
            "10:9: ProcessGuid: field `ProcessGuid` cannot be tested: the IPC template has no process GUID field",
        ),
        (
            "    sel:\n        CommandLine: x\n    condition: sel\n",
            "10:9: CommandLine: field `CommandLine` is not in the pipe_created taxonomy (PipeName, Image, EventType, ProcessId, ProcessGuid, User)",
        ),
        (
            "    sel:\n        PipeName|base64: x\n    condition: sel\n",
            "10:9: PipeName|base64: modifier `base64` is not supported (contains, startswith, endswith, re, all and re's i, m, s are)",
        ),
        (
            "    sel:\n        PipeName|contains|startswith: x\n    condition: sel\n",
            "10:9: PipeName|contains|startswith: modifiers `contains` and `startswith` cannot be combined",
        ),
        (
            "    sel:\n        PipeName|contains|i: x\n    condition: sel\n",
            "10:9: PipeName|contains|i: modifier `i` applies to `re` only",
        ),
        (
            "    sel:\n        PipeName|re: '(unclosed'\n    condition: sel\n",
            "10:22: '(unclosed': invalid regular expression: unclosed group",
        ),
        (
            "    sel:\n        PipeName|re: '\\bword\\b'\n    condition: sel\n",
            "10:22: '\\bword\\b': cannot compile: pattern \"\\\\bword\\\\b\" cannot be used: unsupported regex feature for DFAs: cannot build DFAs for regexes with Unicode word boundaries; switch to ASCII word boundaries, or heuristically enable Unicode word boundaries or use a different regex engine",
        ),
        (
            "    sel:\n        PipeName: x\n    condition: sel and not filter\n",
            "11:28: filter: condition: unknown identifier `filter`",
        ),
        (
            "    sel:\n        PipeName: x\n    condition: 'sel | count() > 5'\n",
            "11:16: 'sel | count() > 5': aggregations in conditions are not supported",
        ),
        (
            "    sel:\n        - x\n        - y\n    condition: sel\n",
            "10:11: x: keyword searches (values without a field) are not supported",
        ),
        (
            "    sel:\n        PipeName|contains: null\n    condition: sel\n",
            "10:28: null: `null` takes no modifiers",
        ),
        (
            "    sel:\n        ProcessId: 12a\n    condition: sel\n",
            "10:20: 12a: `ProcessId` is an integer field; `12a` is not an unsigned integer",
        ),
        (
            "    sel:\n        ProcessId|startswith: 12\n    condition: sel\n",
            "10:31: 12: `ProcessId` is an integer field: it takes exact values and null, not `startswith`",
        ),
        (
            "    sel:\n        PipeName: []\n    condition: sel\n",
            "10:19: [: an empty list of values matches nothing",
        ),
        (
            "    sel:\n        PipeName: x\n    timeframe: 5m\n    condition: sel\n",
            "11:5: timeframe: timeframes are not supported",
        ),
        (
            "    sel:\n        PipeName: x\n",
            "9:5: : missing key `condition`",
        ),
    ];
    for (detection, expected) in cases {
        assert_eq!(error(&rule(detection)), expected, "{detection}");
    }
}

#[test]
fn metadata_errors_and_yaml_errors_are_located() {
    let no_id = rule("    sel:\n        PipeName: x\n    condition: sel\n").replace("id: R1\n", "");
    assert_eq!(error(&no_id), "1:1: : missing key `id`");
    let level =
        rule("    sel:\n        PipeName: x\n    condition: sel\n").replace("high", "severe");
    assert_eq!(error(&level), "4:8: severe: unknown level `severe`");
    assert_eq!(
        error("title: [\n"),
        "2:1: : invalid YAML: while parsing a node, did not find expected node content"
    );
    assert_eq!(
        error("title: a\ntitle: b\n"),
        "2:1: title: key `title` is written twice"
    );
}

#[test]
fn other_log_sources_are_noted_not_imported() {
    let text = rule("    sel:\n        Image: x\n    condition: sel\n")
        .replace("pipe_created", "process_creation");
    let imported = import(&text);
    assert!(imported.rules.is_empty());
    assert_eq!(imported.errors(), 0);
    let [note] = &imported.diagnostics[..] else {
        panic!("{:#?}", imported.diagnostics);
    };
    assert_eq!(note.severity, Severity::Note);
    assert_eq!(
        note.kind,
        SigmaError::OtherLogSource("windows/process_creation".into())
    );
    assert_eq!(note.rule.as_deref(), Some("R1 \"T\""));
}

#[test]
fn one_bad_rule_leaves_the_others_and_duplicate_ids_are_refused() {
    let good = rule("    sel:\n        PipeName: '\\x'\n    condition: sel\n");
    let bad = rule("    sel:\n        ProcessGuid: x\n    condition: sel\n").replace("R1", "R2");
    let mut importer = Importer::default();
    importer.add_source(&format!("{good}---\n{bad}"), "two.yml");
    importer.add_source(&good, "again.yml");
    let imported = importer.finish();
    let ids: Vec<&str> = imported.rules.iter().map(|r| r.rule.id.as_str()).collect();
    assert_eq!(ids, ["R1"]);
    let errors: Vec<String> = imported
        .diagnostics
        .iter()
        .map(|d| format!("{}:{}: {}", d.location.file, d.location.line, d.kind))
        .collect();
    assert_eq!(
        errors,
        [
            "two.yml:22: field `ProcessGuid` cannot be tested: the IPC template has no process GUID field",
            "again.yml:1: rule id `R1` is already used at two.yml:1",
        ]
    );
    let shown = imported.diagnostics[0].to_string();
    assert!(
        shown.ends_with("= rule R2 \"T\" was not imported"),
        "{shown}"
    );
}

#[test]
fn values_follow_sigma_semantics() {
    let text = rule(concat!(
        "    glob:\n        PipeName: '\\a*b?\\*'\n",
        "    ends:\n        PipeName|endswith: '\\'\n",
        "    both:\n        PipeName|startswith|all: ['\\x', '\\xy']\n",
        "    wild:\n        PipeName|contains: 'k*l\\'\n",
        "    condition: 1 of them\n",
    ));
    let names = [
        ("\\A__B_*", true),
        ("\\ab1", false),
        ("\\AxBy*x", false),
        ("\\q\\", true),
        ("\\xyz", true),
        ("\\x", false),
        ("zKzzL\\z", true),
        ("zKzzL", false),
    ];
    let events: Vec<PipeEvent> = names.iter().map(|(n, _)| pipe(n)).collect();
    let expected: Vec<bool> = names.iter().map(|(_, m)| *m).collect();
    assert_eq!(decide(&text, &events), expected);
}

#[test]
fn regex_flags_and_case() {
    let text = rule("    sel:\n        PipeName|re|i|s: '^\\\\ab.c$'\n    condition: sel\n");
    let events = [pipe("\\AB\nC"), pipe("\\abxc"), pipe("x\\abxc")];
    assert_eq!(decide(&text, &events), [true, true, false]);
    let text = rule("    sel:\n        PipeName|re: 'Ab'\n    condition: sel\n");
    assert_eq!(decide(&text, &[pipe("xAbx"), pipe("xabx")]), [true, false]);
}

#[test]
fn event_type_process_id_user_and_null() {
    let text = rule(concat!(
        "    sel:\n        EventType: connectpipe\n        ProcessId: [4, 8]\n",
        "        User|endswith: '\\SYSTEM'\n",
        "    condition: sel\n",
    ));
    let base = PipeEvent {
        kind: EventKind::Connect,
        process_id: Some(8),
        user: Some("NT AUTHORITY\\system".into()),
        ..PipeEvent::default()
    };
    let events = [
        base.clone(),
        PipeEvent {
            kind: EventKind::Create,
            ..base.clone()
        },
        PipeEvent {
            process_id: Some(5),
            ..base.clone()
        },
        PipeEvent {
            user: None,
            ..base.clone()
        },
    ];
    assert_eq!(decide(&text, &events), [true, false, false, false]);
    let never = rule("    sel:\n        EventType: OpenPipe\n    condition: sel\n");
    let imported = import(&never);
    assert_eq!(imported.rules.len(), 1);
    assert_eq!(
        imported.diagnostics[0].kind,
        SigmaError::EventTypeNeverMatches
    );
    assert_eq!(decide(&never, &[pipe("x")]), [false]);
    let null = rule("    sel:\n        Image: [null, '']\n    condition: sel\n");
    let with_image = PipeEvent {
        image_path: Some("C:\\a.exe".into()),
        ..PipeEvent::default()
    };
    assert_eq!(decide(&null, &[pipe("x"), with_image]), [true, false]);
}

#[test]
fn lists_of_conditions_and_missing_level() {
    let text =
        rule("    a:\n        PipeName: x\n    b:\n        PipeName: y\n    condition: [a, b]\n")
            .replace("level: high\n", "");
    let imported = import(&text);
    assert_eq!(imported.rules[0].rule.level, Level::Informational);
    assert_eq!(imported.diagnostics[0].kind, SigmaError::NoLevel);
    assert_eq!(
        decide(&text, &[pipe("X"), pipe("y"), pipe("z")]),
        [true, true, false]
    );
}
