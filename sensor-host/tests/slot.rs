//! The content slot under concurrent use: readers evaluating while a writer swaps rule sets
//! and offers updates that must be refused.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use sensor_core::schema::{SENSOR_7_11, SENSOR_FIXED};
use sensor_core::{ContentSlot, MatchedRule, Value};
use sensor_host::builtin::JULY_19_0409;
use sensor_host::content::ContentBuf;

/// A rule set of `n` rules that all match a pipe named `\x`, at content version `n`.
fn all_matching(n: usize) -> ContentBuf {
    let mut src = format!("channel = 291\nversion = {n}\ntemplate = \"ipc\"\n");
    for i in 0..n {
        src.push_str(&format!(
            "[[rule]]\nid = \"R{i}\"\ntitle = \"t\"\nlevel = \"low\"\n[rule.where]\np = {{ field = \"pipe_name\", op = \"equals\", value = '\\x' }}\n"
        ));
    }
    ContentBuf::new(&common::compile_toml(&src))
}

#[test]
fn readers_see_whole_rule_sets_only_while_a_writer_swaps() {
    let three = all_matching(3);
    let five = all_matching(5);
    let bad = ContentBuf::new(&common::compile_toml(JULY_19_0409.source));
    let slot = ContentSlot::new(SENSOR_7_11);
    slot.update(three.as_bytes()).unwrap();
    let done = AtomicBool::new(false);
    let name: Vec<u16> = r"\x".encode_utf16().collect();
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let mut inputs = [Value::Absent; 20];
                inputs[1] = Value::Str(&name);
                let mut seen = 0u64;
                while !done.load(Ordering::Relaxed) || seen == 0 {
                    let mut rules = Vec::with_capacity(5);
                    let mut sink = |m: MatchedRule| {
                        rules.push(m.rule);
                        true
                    };
                    let v = slot
                        .evaluate(&inputs, &mut sink)
                        .expect("content stays active");
                    assert!(v.matched == 3 || v.matched == 5, "a mix: {v:?}");
                    assert_eq!(rules, (0..v.matched).collect::<Vec<_>>());
                    seen += 1;
                }
            });
        }
        for round in 0..500 {
            let next = if round % 2 == 0 { &five } else { &three };
            slot.update(next.as_bytes()).unwrap();
            assert!(slot.update(bad.as_bytes()).is_err());
        }
        done.store(true, Ordering::Relaxed);
    });
    let stats = slot.stats();
    assert_eq!(stats.updates_accepted.load(Ordering::Relaxed), 501);
    assert_eq!(stats.updates_rejected.load(Ordering::Relaxed), 500);
}

#[test]
fn a_refused_update_keeps_the_active_set_and_rollback_restores_the_previous() {
    let three = all_matching(3);
    let five = all_matching(5);
    let bad = ContentBuf::new(&common::compile_toml(JULY_19_0409.source));
    let slot = ContentSlot::new(SENSOR_7_11);
    assert!(slot.evaluate(&[], &mut |_| true).is_none());
    slot.update(three.as_bytes()).unwrap();
    let outcome = slot.update(five.as_bytes()).unwrap();
    assert_eq!((outcome.version, outcome.replaced), (5, Some(3)));
    assert!(slot.update(bad.as_bytes()).is_err());
    let version =
        |slot: &ContentSlot<'_>| slot.with_active(|r| r.map(|r| r.header().content_version));
    assert_eq!(version(&slot), Some(5));
    assert_eq!(slot.roll_back(), Some(3));
    assert_eq!(version(&slot), Some(3));
    assert_eq!(slot.roll_back(), None);
    let fixed = ContentSlot::new(SENSOR_FIXED);
    assert!(fixed.update(bad.as_bytes()).is_ok());
    slot.clear();
    assert_eq!(version(&slot), None);
}
