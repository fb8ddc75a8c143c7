//! Event log files (`.evtx`) through the `evtx` crate, on logs written by
//! `support::evtx_log` (the corpus has no real `.evtx` file).

mod support;

use sensor_host::event::EventKind;
use sensor_host::evtx::{self, EvtxError};
use sensor_host::sigma;
use support::evtx_log::{sample_log, CHUNK, FILE_HEADER};
use support::{channel_file, corpus, Both};

#[test]
fn sysmon_pipe_records_are_read_and_others_skipped() {
    let mut events = evtx::from_bytes(sample_log()).expect("a log");
    let read: Vec<_> = events.by_ref().map(|e| e.expect("a pipe event")).collect();
    assert_eq!(events.skipped(), 2);
    let summary: Vec<(u64, EventKind, Option<&str>, Option<u64>)> = read
        .iter()
        .map(|e| {
            (
                e.record,
                e.event.kind,
                e.event.pipe_name.as_deref(),
                e.event.process_id,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, EventKind::Create, Some("\\REDSUN"), Some(15596)),
            (4, EventKind::Connect, Some("\\srvsvc"), Some(4204)),
            (5, EventKind::Create, Some("\\PSEXESVC"), Some(700)),
        ]
    );
    let redsun = &read[0];
    assert_eq!(
        redsun.event.image_path.as_deref(),
        Some("C:\\Users\\x\\Downloads\\RedSun.exe")
    );
    assert_eq!(redsun.event.user.as_deref(), Some("WKS7\\x"));
    assert_eq!(redsun.meta.host.as_deref(), Some("wks7.contoso.local"));
    assert_eq!(
        redsun.meta.utc_time.as_deref(),
        Some("2026-04-20 10:00:00.000")
    );
    assert_eq!(
        redsun.meta.process_guid.as_deref(),
        Some("{b669e388-a0f3-5edf-5d00-000000000300}")
    );
}

#[test]
fn events_from_a_log_meet_the_sigma_rules() {
    let imported = sigma::import(&[corpus("sigma/pipe_created")]);
    let content = imported.content(1);
    let buf = channel_file(&content);
    let mut both = Both::new(&content, &buf);
    let matched: Vec<Vec<&str>> = evtx::from_bytes(sample_log())
        .expect("a log")
        .map(|e| {
            let event = e.expect("a pipe event").event;
            let ids = both.matches(&event).expect("agreement");
            ids.iter().map(|&i| content.rules[i].id.as_str()).collect()
        })
        .collect();
    assert_eq!(
        matched,
        [
            vec!["9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b"],
            vec![],
            vec!["f3f3a972-f982-40ad-b63c-bca6afdfad7c"],
        ]
    );
}

#[test]
fn damage_is_reported_not_hidden() {
    let mut log = sample_log();
    let last = log.len() - CHUNK + 600;
    log[last] ^= 0xff;
    let results: Vec<Result<u64, String>> = evtx::from_bytes(log)
        .expect("a log")
        .map(|r| r.map(|e| e.record).map_err(|e| e.to_string()))
        .collect();
    assert_eq!(
        results,
        [
            Err("record: Failed to parse record number 1".into()),
            Ok(4),
            Ok(5)
        ]
    );
    let mut no_chunk = sample_log();
    no_chunk[FILE_HEADER] = b'X';
    let results: Vec<_> = evtx::from_bytes(no_chunk).expect("a log").collect();
    assert!(
        matches!(results.as_slice(), [Err(EvtxError::Chunk { chunk: 0, .. })]),
        "{results:?}"
    );
    let written =
        std::env::temp_dir().join(format!("sensor-host-evtx-{}.evtx", std::process::id()));
    std::fs::write(&written, sample_log()).expect("temp file");
    let from_file = evtx::open(&written).expect("a log").count();
    std::fs::remove_file(&written).expect("remove temp file");
    assert_eq!(from_file, 3);
    assert!(matches!(
        evtx::open(std::path::Path::new("/nonexistent.evtx")),
        Err(EvtxError::Open(_))
    ));
}
