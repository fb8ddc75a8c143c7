//! `sensor-host compile --sigma / --sysmon-config` and `scan` of an event log, as a user runs
//! them: what is written, what is reported, and the exit status.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use support::corpus;
use support::evtx_log::sample_log;

fn sensor_host(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sensor-host"))
        .args(args)
        .output()
        .expect("sensor-host runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("import_cli");
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn corpus_sigma_rules_compile_and_scan_an_event_log() {
    let out = scratch("sigma.sys");
    let rules = corpus("sigma/pipe_created");
    let o = sensor_host(&[
        "compile",
        "--sigma",
        rules.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("21 rules"), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("warning: the rule is deprecated"));
    let log = scratch("sample.evtx");
    std::fs::write(&log, sample_log()).expect("write the log");
    let o = sensor_host(&[
        "scan",
        "--content",
        out.to_str().unwrap(),
        "--events",
        log.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "matches: {}", text(&o.stderr));
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let records: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(records, [1, 4, 5]);
    assert_eq!(
        lines[0]["matches"][0]["title"],
        "RedSun - Named Pipe Created"
    );
    assert_eq!(
        lines[0]["matches"][0]["author"],
        "Swachchhanda Shrawan Poudel (Nextron Systems), @unresolvedhost"
    );
    assert_eq!(lines[1]["matches"].as_array().map(Vec::len), Some(0));
    assert!(
        !text(&o.stderr).contains("scanning"),
        "no progress off a terminal"
    );
}

#[test]
fn a_rule_that_cannot_be_imported_stops_the_compile_unless_skipped() {
    let bad = scratch("bad.yml");
    std::fs::write(
        &bad,
        "title: T\nid: R\nlevel: low\nlogsource:\n    category: pipe_created\ndetection:\n    sel:\n        ProcessGuid: x\n    condition: sel\n",
    )
    .expect("write rule");
    let good = corpus("sigma/pipe_created/rules__pipe_created_hktl_koh_default_pipe.yml");
    let out = scratch("partial.sys");
    let args = |extra: &'static [&'static str]| {
        let mut args = vec![
            "compile".to_owned(),
            "--sigma".into(),
            bad.display().to_string(),
            good.display().to_string(),
            "-o".into(),
            out.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let refuse = args(&[]);
    let o = sensor_host(&refuse.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("bad.yml:8:9: error: field `ProcessGuid`"),
        "{stderr}"
    );
    assert!(stderr.contains("--skip-unsupported"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
    let skip = args(&["--skip-unsupported"]);
    let o = sensor_host(&skip.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("bad.yml:8:9: error"));
    assert!(text(&o.stdout).contains("1 rules"), "{}", text(&o.stdout));
    assert!(out.exists());
}

#[test]
fn sysmon_modules_compile_as_one_configuration() {
    let out = scratch("modular.sys");
    let mut args = vec!["compile".to_owned(), "--sysmon-config".into()];
    let dir = corpus("sysmon-modular/17_18_pipe_event");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("modules")
        .map(|e| e.expect("entry").path().display().to_string())
        .collect();
    files.sort();
    args.extend(files);
    args.extend(["-o".into(), out.display().to_string()]);
    let o = sensor_host(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("16 rules"), "{stdout}");
    assert!(stdout.contains("include_cobaltstrike.xml:10"), "{stdout}");
}
