//! The content slot under concurrent use: readers evaluating while a writer swaps rule sets,
//! rolls back and offers updates that must be refused; and the slot's report of the content
//! buffers it released, against a model of what it must hold.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use sensor_core::schema::{SENSOR_7_11, SENSOR_FIXED};
use sensor_core::{Buffer, ContentSlot, MatchedRule, Released, Value};
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

fn version(slot: &ContentSlot<'_>) -> Option<u64> {
    slot.with_active(|r| r.map(|r| r.header().content_version))
}

fn addrs(released: Released) -> Vec<usize> {
    let mut v: Vec<usize> = released.iter().map(|b| b.addr).collect();
    v.sort_unstable();
    v
}

fn addr(buf: &ContentBuf) -> usize {
    Buffer::of(buf.as_bytes()).addr
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
                    let matched = v.verdict.matched;
                    assert!(matched == 3 || matched == 5, "a mix: {v:?}");
                    assert_eq!(
                        u64::from(matched),
                        v.content_version,
                        "the verdict names another version than the one that evaluated"
                    );
                    assert_eq!(rules, (0..matched).collect::<Vec<_>>());
                    seen += 1;
                }
            });
        }
        for round in 0..500 {
            let next = if round % 2 == 0 { &five } else { &three };
            slot.update(next.as_bytes()).unwrap();
            assert!(slot.update(bad.as_bytes()).is_err());
            if round % 7 == 0 {
                let back = slot.roll_back().expect("a last-known-good");
                slot.update(next.as_bytes()).unwrap();
                assert_ne!(back.version, 0);
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    let stats = slot.stats();
    assert_eq!(stats.updates_accepted.load(Ordering::Relaxed), 501 + 72);
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
    assert_eq!(version(&slot), Some(5));
    let back = slot.roll_back().unwrap();
    assert_eq!((back.version, back.replaced), (3, Some(5)));
    assert_eq!(version(&slot), Some(3));
    assert!(slot.roll_back().is_none());
    let fixed = ContentSlot::new(SENSOR_FIXED);
    assert!(fixed.update(bad.as_bytes()).is_ok());
    slot.clear();
    assert_eq!(version(&slot), None);
    assert!(slot.evaluate(&[], &mut |_| true).is_none());
}

#[test]
fn each_operation_reports_the_buffers_it_released() {
    let [a, b, c, d] = [3, 4, 5, 6].map(all_matching);
    let bad = ContentBuf::new(&common::compile_toml(JULY_19_0409.source));
    let slot = ContentSlot::new(SENSOR_7_11);
    assert!(slot.update(a.as_bytes()).unwrap().released.is_empty());
    assert!(
        slot.update(b.as_bytes()).unwrap().released.is_empty(),
        "a is the last-known-good"
    );
    let outcome = slot.update(c.as_bytes()).unwrap();
    assert_eq!(addrs(outcome.released), [addr(&a)]);
    assert_eq!(
        outcome.released.iter().next(),
        Some(Buffer::of(a.as_bytes())),
        "address and length"
    );
    assert!(
        slot.update(bad.as_bytes()).is_err(),
        "refused: nothing moves"
    );
    // Rolling back releases the rule set it replaces at once.
    let back = slot.roll_back().unwrap();
    assert_eq!((back.version, addrs(back.released)), (4, vec![addr(&c)]));
    assert!(slot.roll_back().is_none());
    // After a rollback there is no last-known-good, so the next update releases nothing.
    assert!(slot.update(d.as_bytes()).unwrap().released.is_empty());
    let mut both = vec![addr(&b), addr(&d)];
    both.sort_unstable();
    assert_eq!(addrs(slot.clear()), both);
    assert!(slot.clear().is_empty());
    assert!(slot.roll_back().is_none());
    assert!(slot.update(a.as_bytes()).unwrap().replaced.is_none());
}

#[test]
fn set_sensor_drops_the_content_validated_for_the_previous_build() {
    let three = all_matching(3);
    let five = all_matching(5);
    let july = ContentBuf::new(&common::compile_toml(JULY_19_0409.source));
    let mut slot = ContentSlot::new(SENSOR_7_11);
    slot.update(three.as_bytes()).unwrap();
    slot.update(five.as_bytes()).unwrap();
    assert!(
        slot.update(july.as_bytes()).is_err(),
        "7.11 refuses field 21"
    );
    let mut both = vec![addr(&three), addr(&five)];
    both.sort_unstable();
    assert_eq!(addrs(slot.set_sensor(SENSOR_FIXED)), both);
    assert_eq!((version(&slot), slot.sensor().build), (None, "fixed"));
    assert!(slot.roll_back().is_none());
    assert!(
        slot.update(july.as_bytes()).is_ok(),
        "the fixed build supplies it"
    );
}

#[test]
fn a_buffer_held_twice_is_released_once_and_only_when_nothing_holds_it() {
    let [a, b, c] = [3, 4, 5].map(all_matching);
    let slot = ContentSlot::new(SENSOR_7_11);
    slot.update(a.as_bytes()).unwrap();
    slot.update(a.as_bytes()).unwrap();
    // Active a, last-known-good a: the old last-known-good (none) goes; a stays.
    assert!(slot.update(b.as_bytes()).unwrap().released.is_empty());
    assert_eq!(
        addrs(slot.update(c.as_bytes()).unwrap().released),
        [addr(&a)]
    );
    // Offering the last-known-good again: the new active holds it, so it is not released.
    assert!(slot.update(b.as_bytes()).unwrap().released.is_empty());
    let mut held = vec![addr(&b), addr(&c)];
    held.sort_unstable();
    assert_eq!(addrs(slot.clear()), held);
    slot.update(a.as_bytes()).unwrap();
    slot.update(a.as_bytes()).unwrap();
    assert_eq!(addrs(slot.clear()), [addr(&a)], "listed once");
}

/// Random update, refused-update, rollback and clear sequences against a model that knows
/// only the two roles (active, last-known-good): each operation must release exactly the
/// buffers that left both roles, and the active version must be the model's.
#[test]
fn released_buffers_are_exactly_those_that_left_every_role() {
    let contents: Vec<ContentBuf> = (1..=6).map(all_matching).collect();
    let bad = ContentBuf::new(&common::compile_toml(JULY_19_0409.source));
    let mut state = 0x0291_2024_0719_u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let slot = ContentSlot::new(SENSOR_7_11);
    // (address, version) of the model's active and last-known-good.
    type Held = Option<(usize, u64)>;
    let (mut active, mut lkg): (Held, Held) = (None, None);
    let mut released_total = 0;
    for step in 0..2_000 {
        let before: Vec<usize> = [active, lkg].into_iter().flatten().map(|h| h.0).collect();
        let released = match next(10) {
            0..=5 => {
                let i = next(contents.len() as u64) as usize;
                let outcome = slot.update(contents[i].as_bytes()).unwrap();
                assert_eq!(outcome.replaced, active.map(|h| h.1), "step {step}");
                if active.is_some() {
                    lkg = active;
                }
                active = Some((addr(&contents[i]), outcome.version));
                outcome.released
            }
            6 => {
                assert!(slot.update(bad.as_bytes()).is_err());
                Released::NONE
            }
            7..=8 => match (slot.roll_back(), lkg.take()) {
                (Some(back), Some(model)) => {
                    assert_eq!(back.version, model.1, "step {step}");
                    active = Some(model);
                    back.released
                }
                (None, None) => Released::NONE,
                (got, want) => panic!("step {step}: rolled back {got:?}, model {want:?}"),
            },
            _ => {
                (active, lkg) = (None, None);
                slot.clear()
            }
        };
        let after: Vec<usize> = [active, lkg].into_iter().flatten().map(|h| h.0).collect();
        let mut gone: Vec<usize> = before.into_iter().filter(|b| !after.contains(b)).collect();
        gone.sort_unstable();
        gone.dedup();
        assert_eq!(addrs(released), gone, "step {step}");
        released_total += gone.len();
        assert_eq!(version(&slot), active.map(|h| h.1), "step {step}");
    }
    assert!(released_total > 100, "the sequence released buffers");
}
