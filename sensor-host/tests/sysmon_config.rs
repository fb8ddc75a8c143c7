//! The Sysmon configuration importer: the corpus configurations import whole, every condition
//! and combination means what Sysmon documents, exclusions take precedence, and what cannot be
//! imported is reported where it is written. Every verdict is checked on the compiled engine
//! and on the reference matcher.

mod support;

use sensor_core::op::{Action, Level};
use sensor_host::event::{EventKind, PipeEvent};
use sensor_host::import::{Imported, Severity};
use sensor_host::sysmon_config::{self, import_str, ConfigError};
use support::{channel_file, corpus, corpus_files, Both};

const MODULAR: &str = "sysmon-modular/17_18_pipe_event";
const SWIFT: &str = "sysmon-config/sysmonconfig-export.xml";

/// Counts the entries (element children) of the `PipeEvent` filters with `onmatch` in `text`.
fn entries(text: &str, onmatch: &str) -> usize {
    let doc = roxmltree::Document::parse(text).expect("XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("PipeEvent") && n.attribute("onmatch") == Some(onmatch))
        .map(|n| n.children().filter(|c| c.is_element()).count())
        .sum()
}

#[test]
fn swiftonsecurity_config_imports_entry_by_entry() {
    let path = corpus(SWIFT);
    let imported = sysmon_config::import(&[&path]);
    assert!(
        imported.diagnostics.is_empty(),
        "{:#?}",
        imported.diagnostics
    );
    let text = std::fs::read_to_string(&path).expect("config");
    assert_eq!(imported.rules.len(), entries(&text, "include"));
    assert_eq!(entries(&text, "exclude"), 0);
    for imported in &imported.rules {
        let rule = &imported.rule;
        assert_eq!(
            (rule.level, rule.action),
            (Level::Informational, Action::Log)
        );
        let line = text.lines().nth(rule.origin.line - 1).expect("line");
        assert!(line.trim_start().starts_with("<PipeName"), "{line}");
        assert!(rule.id.starts_with("sysmonconfig-export.xml:"));
    }
}

#[test]
fn sysmon_modular_imports_as_one_merged_config() {
    let files = corpus_files(MODULAR);
    assert_eq!(files.len(), 30);
    let imported = sysmon_config::import(&files);
    assert!(
        imported.diagnostics.is_empty(),
        "{:#?}",
        imported.diagnostics
    );
    let mut includes = 0;
    let mut excludes = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("module");
        includes += entries(&text, "include");
        excludes += entries(&text, "exclude");
    }
    assert_eq!(imported.rules.len(), includes);
    for rule in &imported.rules {
        assert_eq!(rule.parts.len(), 1 + excludes, "{}", rule.rule.id);
        assert!(rule.rule.id.starts_with("include_"), "{}", rule.rule.id);
    }
}

/// The ids of the rules `event` matches, checked on engine and reference alike.
fn matched_ids(imported: &Imported<ConfigError>, events: &[PipeEvent]) -> Vec<Vec<String>> {
    let content = imported.content(1);
    let buf = channel_file(&content);
    let mut both = Both::new(&content, &buf);
    events
        .iter()
        .map(|ev| {
            let matched = both.matches(ev).expect("agreement");
            matched
                .iter()
                .map(|&i| content.rules[i].id.clone())
                .collect()
        })
        .collect()
}

fn event(kind: EventKind, pipe: &str, image: &str) -> PipeEvent {
    PipeEvent {
        kind,
        pipe_name: Some(pipe.into()),
        image_path: Some(image.into()),
        ..PipeEvent::default()
    }
}

#[test]
fn sysmon_modular_logs_what_its_modules_say() {
    use EventKind::{Connect, Create};
    let imported = sysmon_config::import(&corpus_files(MODULAR));
    let evil = r"C:\Users\eve\beacon.exe";
    let chrome = r"C:\Program Files\Google\Chrome\Application\chrome.exe";
    let powershell = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
    let cases: [(PipeEvent, &[&str]); 10] = [
        (
            event(Create, r"\postex_1", evil),
            &["include_all.xml:5", "include_cobaltstrike.xml:10"],
        ),
        (
            event(Connect, r"\postex_1", evil),
            &["include_cobaltstrike.xml:10"],
        ),
        (
            event(Connect, r"\MSSE-42-server", evil),
            &["include_cobaltstrike.xml:5"],
        ),
        (event(Create, r"\lsass", evil), &[]),
        (event(Connect, r"\srvsvc", evil), &[]),
        (
            event(Connect, r"\srvsvc_1", evil),
            &["include_srvsvc.xml:5"],
        ),
        (event(Create, r"\mojo.5688.8052.1", chrome), &[]),
        (
            event(Create, r"\mojo.5688.8052.1", evil),
            &["include_all.xml:5"],
        ),
        (event(Connect, r"\mojo.5688.8052.1", evil), &[]),
        // `excludes any powershell.exe;powershell_ise.exe` holds unless the image contains
        // both names, which no image does: as Sysmon documents it, this Rule does not
        // exclude powershell.exe.
        (
            event(
                Connect,
                r"\PSHost.1.2.DefaultAppDomain.powershell",
                powershell,
            ),
            &["include_powershell.xml:5"],
        ),
    ];
    let events: Vec<PipeEvent> = cases.iter().map(|(e, _)| e.clone()).collect();
    let got = matched_ids(&imported, &events);
    for ((ev, expected), got) in cases.iter().zip(got) {
        assert_eq!(got, *expected, "{ev:?}");
    }
}

#[test]
fn swiftonsecurity_logs_what_its_config_says() {
    let imported = sysmon_config::import(&[corpus(SWIFT)]);
    let logged = |pipe: &str| {
        let ev = event(EventKind::Connect, pipe, r"C:\x.exe");
        !matched_ids(&imported, &[ev])[0].is_empty()
    };
    for pipe in [
        r"\paexec_x",
        r"\x\RemComSvc",
        r"\lsadump",
        r"\Posh_x",
        r"\MSSE-1-server",
        r"\postex_1",
        r"\atctl",
    ] {
        assert!(logged(pipe), "{pipe}");
    }
    for pipe in [r"\srvsvc", r"\lsass", r"\PSEXESVC", r"\MSSE-1-client"] {
        assert!(!logged(pipe), "{pipe}");
    }
}

/// A configuration whose `EventFiltering` is `body`.
fn config(body: &str) -> String {
    format!(
        "<Sysmon schemaversion=\"4.90\">\n<EventFiltering>\n{body}\n</EventFiltering>\n</Sysmon>\n"
    )
}

fn include_one(entry: &str) -> String {
    config(&format!(
        "<RuleGroup groupRelation=\"or\">\n<PipeEvent onmatch=\"include\">\n{entry}\n</PipeEvent>\n</RuleGroup>"
    ))
}

/// Whether each pipe name (with image `image`) is logged by `text`.
fn logged(text: &str, events: &[PipeEvent]) -> Vec<bool> {
    let imported = import_str(text, "t.xml");
    assert_eq!(imported.errors(), 0, "{:#?}", imported.diagnostics);
    matched_ids(&imported, events)
        .into_iter()
        .map(|ids| !ids.is_empty())
        .collect()
}

fn pipe(name: &str) -> PipeEvent {
    event(EventKind::Create, name, r"C:\Windows\System32\LSASS.EXE")
}

/// A condition, its value, and pipe names with whether the entry holds for them.
type ConditionCase = (&'static str, &'static str, &'static [(&'static str, bool)]);

#[test]
fn all_sixteen_conditions() {
    let cases: [ConditionCase; 16] = [
        ("is", r"\Ab", &[(r"\aB", true), (r"\ab1", false)]),
        ("is not", r"\ab", &[(r"\AB", false), (r"\x", true)]),
        (
            "is any",
            r"\a;\b",
            &[(r"\B", true), (r"\c", false), (r"\a;\b", false)],
        ),
        ("contains", "mid", &[("xMIDx", true), ("mi", false)]),
        (
            "contains any",
            "q;mid",
            &[("xmidx", true), ("xqx", true), ("x", false)],
        ),
        (
            "contains all",
            "msse-;-server",
            &[(r"\MSSE-1-SERVER", true), (r"\msse-1", false)],
        ),
        ("excludes", "mid", &[("xmidx", false), ("x", true)]),
        (
            "excludes any",
            "a;b",
            &[("ab", false), ("a", true), ("x", true)],
        ),
        (
            "excludes all",
            "a;b",
            &[("ab", false), ("a", false), ("x", true)],
        ),
        (
            "begin with",
            r"\PSHost",
            &[(r"\pshost.1", true), (r"x\PSHost", false)],
        ),
        (
            "not begin with",
            r"\PSHost",
            &[(r"\pshost.1", false), (r"x\PSHost", true)],
        ),
        (
            "end with",
            "-SERVER",
            &[("a-server", true), ("a-server1", false)],
        ),
        (
            "not end with",
            "-server",
            &[("a-server", false), ("a-server1", true)],
        ),
        ("less than", "m", &[("L", true), ("M", false), ("n", false)]),
        ("more than", "m", &[("N", true), ("M", false), ("ma", true)]),
        (
            "image",
            "lsass.exe",
            &[
                (r"\dir\LSASS.EXE", true),
                ("lsass.exe", true),
                (r"\dir\lsass", false),
            ],
        ),
    ];
    for (condition, value, pipes) in cases {
        let text = include_one(&format!(
            "<PipeName condition=\"{condition}\">{value}</PipeName>"
        ));
        let events: Vec<PipeEvent> = pipes.iter().map(|(p, _)| pipe(p)).collect();
        let expected: Vec<bool> = pipes.iter().map(|(_, m)| *m).collect();
        assert_eq!(logged(&text, &events), expected, "{condition}");
    }
    let image = |value: &str| include_one(&format!("<Image condition=\"image\">{value}</Image>"));
    let lsass = [pipe(r"\x")];
    assert_eq!(logged(&image("lsass.exe"), &lsass), [true]);
    assert_eq!(
        logged(&image(r"c:\windows\system32\lsass.exe"), &lsass),
        [true]
    );
    assert_eq!(logged(&image(r"system32\lsass.exe"), &lsass), [false]);
    assert_eq!(logged(&image("lsass"), &lsass), [false]);
    let default_is = include_one(r"<PipeName>\ab</PipeName>");
    assert_eq!(
        logged(&default_is, &[pipe(r"\AB"), pipe(r"\abc")]),
        [true, false]
    );
}

#[test]
fn group_relations() {
    let entries = r"<PipeName condition='begin with'>\a</PipeName>
<PipeName condition='end with'>z</PipeName>
<Image condition='end with'>lsass.exe</Image>";
    let filter = |relation: &str| {
        let open = match relation {
            "" => String::new(),
            r => format!("<RuleGroup groupRelation=\"{r}\">"),
        };
        let close = if relation.is_empty() {
            ""
        } else {
            "</RuleGroup>"
        };
        config(&format!(
            "{open}<PipeEvent onmatch=\"include\">{entries}</PipeEvent>{close}"
        ))
    };
    let other_image = |name: &str| event(EventKind::Create, name, r"C:\x.exe");
    let events = [
        pipe(r"\a1"),
        pipe(r"\bz"),
        other_image(r"\az"),
        other_image(r"\a"),
        pipe(r"\az"),
    ];
    assert_eq!(
        logged(&filter("or"), &events),
        [true, true, true, true, true]
    );
    assert_eq!(
        logged(&filter("and"), &events),
        [false, false, false, false, true]
    );
    assert_eq!(
        logged(&filter("And"), &events),
        [false, false, false, false, true]
    );
    // Outside any RuleGroup: same field `or`, different fields `and`.
    assert_eq!(
        logged(&filter(""), &events),
        [true, true, false, false, true]
    );
    let rules = include_one(
        r"<Rule groupRelation='or'><PipeName condition='is'>\a</PipeName><PipeName condition='is'>\b</PipeName></Rule>
<Rule><PipeName condition='begin with'>\c</PipeName><PipeName condition='end with'>d</PipeName></Rule>",
    );
    let events = [
        pipe(r"\A"),
        pipe(r"\b"),
        pipe(r"\cd"),
        pipe(r"\c"),
        pipe(r"\d"),
    ];
    assert_eq!(logged(&rules, &events), [true, true, true, false, false]);
}

#[test]
fn exclusions_take_precedence() {
    let text = config(
        r#"<RuleGroup groupRelation="or"><PipeEvent onmatch="include">
<PipeName condition="begin with">\a</PipeName>
<PipeName condition="begin with">\b</PipeName>
</PipeEvent></RuleGroup>
<RuleGroup groupRelation="or"><PipeEvent onmatch="exclude">
<PipeName condition="is">\a1</PipeName>
<Rule groupRelation="and"><PipeName condition="begin with">\b</PipeName><Image condition="image">lsass.exe</Image></Rule>
</PipeEvent></RuleGroup>"#,
    );
    let other = event(EventKind::Create, r"\b2", r"C:\x.exe");
    let events = [pipe(r"\a2"), pipe(r"\a1"), pipe(r"\b2"), other, pipe(r"\c")];
    assert_eq!(logged(&text, &events), [true, false, false, true, false]);
    let exclude_only = config(
        r#"<RuleGroup groupRelation="or"><PipeEvent onmatch="exclude"><PipeName condition="is">\a1</PipeName></PipeEvent></RuleGroup>"#,
    );
    assert_eq!(
        logged(&exclude_only, &[pipe(r"\a1"), pipe(r"\a2")]),
        [false, true]
    );
    let imported = import_str(&exclude_only, "only.xml");
    assert_eq!(imported.rules[0].rule.id, "only.xml:not-excluded");
    let log_all = config(r#"<PipeEvent onmatch="exclude"/>"#);
    assert_eq!(logged(&log_all, &[pipe(r"\x")]), [true]);
    let log_none = config(
        r#"<PipeEvent onmatch="include"/><PipeEvent onmatch="exclude"><PipeName>\x</PipeName></PipeEvent>"#,
    );
    assert!(import_str(&log_none, "t.xml").rules.is_empty());
    let other_events = config(r#"<ProcessCreate onmatch="exclude"/>"#);
    let imported = import_str(&other_events, "t.xml");
    assert!(imported.rules.is_empty() && imported.diagnostics.is_empty());
}

#[test]
fn rules_are_named_as_sysmon_names_them() {
    let text = config(
        r#"<RuleGroup name="group" groupRelation="or"><PipeEvent onmatch="include">
<PipeName name="entry" condition="is">\a</PipeName>
<PipeName condition="contains any">\b;\c</PipeName>
<Rule name="rule"><PipeName name="inner" condition="is">\d</PipeName></Rule>
<Rule><PipeName name="inner" condition="is">\e</PipeName></Rule>
</PipeEvent></RuleGroup>
<RuleGroup groupRelation="or"><PipeEvent onmatch="include"><Image condition="end with">x.exe</Image></PipeEvent></RuleGroup>"#,
    );
    let imported = import_str(&text, "dir/named.xml");
    let named: Vec<(&str, &str)> = imported
        .rules
        .iter()
        .map(|r| (r.rule.id.as_str(), r.rule.title.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("named.xml:4", "entry"),
            ("named.xml:5", "group"),
            ("named.xml:6", "rule"),
            ("named.xml:7", "inner"),
            ("named.xml:9", "Image end with x.exe"),
        ]
    );
}

#[test]
fn event_type_and_process_id() {
    use EventKind::{Connect, Create};
    let text = include_one(
        r"<Rule><EventType>CreatePipe</EventType><ProcessId condition='is any'>4;8</ProcessId></Rule>
<Rule><EventType condition='contains'>pipe</EventType><ProcessId condition='is not'>8</ProcessId></Rule>",
    );
    let with = |kind, pid| PipeEvent {
        kind,
        process_id: Some(pid),
        ..pipe(r"\x")
    };
    let events = [
        with(Create, 4),
        with(Connect, 4),
        with(Connect, 8),
        with(Create, 8),
    ];
    assert_eq!(logged(&text, &events), [true, true, false, true]);
    let never = include_one("<EventType>OpenPipe</EventType>");
    let imported = import_str(&never, "t.xml");
    assert_eq!(imported.diagnostics[0].severity, Severity::Warning);
    assert_eq!(
        imported.diagnostics[0].kind,
        ConfigError::EventTypeNeverMatches
    );
    assert_eq!(logged(&never, &[pipe(r"\x")]), [false]);
}

/// The diagnostics of importing `text`, as `line:column: text: message`.
fn diagnostics(text: &str) -> Vec<String> {
    import_str(text, "t.xml")
        .diagnostics
        .iter()
        .map(|d| {
            let l = &d.location;
            format!("{}:{}: {}: {}", l.line, l.column, l.text, d.kind)
        })
        .collect()
}

#[test]
fn what_cannot_be_imported_is_reported_where_it_is_written() {
    let cases = [
        (
            include_one("<ProcessGuid>{x}</ProcessGuid>"),
            "5:1: <ProcessGuid>{x}</ProcessGuid>: field `ProcessGuid` cannot be tested: the IPC template has no field for it",
        ),
        (
            include_one("<PipeNmae>x</PipeNmae>"),
            "5:1: <PipeNmae>x</PipeNmae>: `PipeNmae` is not a PipeEvent field (PipeName, Image, User, ProcessId, EventType, ProcessGuid, RuleName, UtcTime)",
        ),
        (
            include_one("<PipeName condition=\"starts with\">x</PipeName>"),
            "5:22: starts with: unknown condition `starts with`",
        ),
        (
            include_one("<ProcessId condition=\"less than\">4</ProcessId>"),
            "5:23: less than: `ProcessId` takes `is`, `is not` and `is any`, not `less than`",
        ),
        (
            include_one("<ProcessId>four</ProcessId>"),
            "5:12: four: `four` is not an unsigned integer",
        ),
        (
            include_one("<PipeName condition=\"contains any\">;;</PipeName>"),
            "5:36: ;;: the list of values is empty",
        ),
        (
            config("<PipeEvent onmatch=\"log\"/>"),
            "3:21: log: `onmatch` must be `include` or `exclude`, found `log`",
        ),
        (
            config("<RuleGroup groupRelation=\"xor\"><PipeEvent onmatch=\"include\"/></RuleGroup>"),
            "3:27: xor: `groupRelation` must be `and` or `or`, found `xor`",
        ),
        (
            "<Sysmon>\n<EventFiltering>\n<PipeEvent onmatch='include'>\n</EventFiltering>".into(),
            "4:1: </EventFiltering>: invalid XML: expected 'PipeEvent' tag, not 'EventFiltering' at 4:1",
        ),
        (
            "<Config/>".into(),
            "1:1: <Config/>: the root element is `Config`, not `Sysmon`",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(diagnostics(&text), [expected], "{text}");
    }
}

#[test]
fn a_bad_entry_leaves_the_others() {
    let text = config(
        r#"<RuleGroup groupRelation="or"><PipeEvent onmatch="include">
<PipeName>\a</PipeName>
<UtcTime>x</UtcTime>
</PipeEvent></RuleGroup>
<RuleGroup groupRelation="or"><PipeEvent onmatch="exclude">
<RuleName>x</RuleName>
</PipeEvent></RuleGroup>"#,
    );
    let imported = import_str(&text, "t.xml");
    let ids: Vec<&str> = imported.rules.iter().map(|r| r.rule.id.as_str()).collect();
    assert_eq!(ids, ["t.xml:4"]);
    let reported: Vec<(Severity, Option<&str>)> = imported
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.rule.as_deref()))
        .collect();
    assert_eq!(
        reported,
        [
            (Severity::Error, Some("include t.xml:5")),
            (Severity::Error, Some("exclude t.xml:8")),
        ]
    );
    let shown = imported.diagnostics[0].to_string();
    let expected = "\
t.xml:5:1: error: field `UtcTime` cannot be tested: the IPC template has no field for it
  |
5 | <UtcTime>x</UtcTime>
  | ^^^^^^^^^^^^^^^^^^^^
  = rule include t.xml:5 was not imported";
    assert_eq!(shown, expected);
}

#[test]
fn unreadable_files_are_reported() {
    let imported = sysmon_config::import(&["/nonexistent/config.xml"]);
    assert!(imported.rules.is_empty());
    assert_eq!(
        imported.diagnostics[0].location.file,
        "/nonexistent/config.xml"
    );
    assert!(matches!(imported.diagnostics[0].kind, ConfigError::Io(_)));
}
