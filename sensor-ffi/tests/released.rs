//! The released-buffer reports (the core slot's own, passed through the C ABI) are safe, exact
//! and complete: random update / refused update / rollback / clear sequences, with every buffer
//! zeroed the moment a call reports it released, while other threads evaluate without pause.
//! Every verdict must equal a fresh, independent load of the content version it names, so a
//! buffer the slot still read after its release would show up as a wrong verdict; after every
//! call the buffers not yet released must be exactly the active and the last-known-good content
//! (nothing held longer than needed); and at the end every accepted buffer must have been
//! released exactly once.
// Tests: a failed assertion is how they report, and they call the C ABI the way C does (each
// call's contract is the function's own `# Safety` section).
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/header.rs"]
mod header;

use std::collections::HashMap;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use fixtures::{probes, Content, Event, STEMS};
use sensor_core::schema;
use sensor_core::{MatchBuffer, RuleSet, Value};
use sensor_ffi::*;

/// What a fresh load of each version says about each probe: matched rule indices and counters.
type Expected = HashMap<u64, Vec<(Vec<u32>, u32, u32)>>;

fn core_values(event: &Event) -> Vec<Value<'_>> {
    event
        .values
        .iter()
        .map(|v| match v.kind {
            SENSOR_VALUE_INT => Value::Int(v.integer),
            SENSOR_VALUE_STR => Value::Str(unsafe {
                std::slice::from_raw_parts(v.string.Buffer, usize::from(v.string.Length / 2))
            }),
            _ => Value::Absent,
        })
        .collect()
}

fn expected(events: &[Event]) -> Expected {
    let mut out = HashMap::new();
    for stem in STEMS {
        let content = Content::fixture(stem);
        let Ok(rules) = RuleSet::load(content.bytes(), &schema::SENSOR_7_11) else {
            continue;
        };
        let per_event = events
            .iter()
            .map(|e| {
                let mut sink = MatchBuffer::<8>::default();
                let v = rules.evaluate(&core_values(e), &mut sink);
                let rules = sink.as_slice().iter().map(|m| m.rule).collect();
                (rules, v.counters.predicates, v.matched)
            })
            .collect();
        out.insert(rules.header().content_version, per_event);
    }
    out
}

/// Probe events shared by the reader threads; never mutated after construction.
struct Events(Vec<Event>);
// SAFETY: the events own their UTF-16 strings and nothing mutates them while threads read them.
unsafe impl Send for Events {}
unsafe impl Sync for Events {}

struct Handle(*mut SensorSlot);
// SAFETY: the slot is built for concurrent evaluation and update (spin locks and atomics); the
// raw handle is only a way to reach it from several test threads.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

fn evaluate_and_check(slot: &Handle, events: &[Event], expected: &Expected) -> u64 {
    let mut checked = 0;
    for (i, event) in events.iter().enumerate() {
        let mut matches = [SensorMatch::default(); 8];
        let mut verdict = SensorVerdict::default();
        let status = unsafe {
            sensor_slot_evaluate(
                slot.0,
                event.values.as_ptr(),
                event.values.len(),
                matches.as_mut_ptr(),
                matches.len(),
                &mut verdict,
            )
        };
        if status == SENSOR_STATUS_NO_CONTENT {
            continue;
        }
        assert_eq!(status, SENSOR_STATUS_SUCCESS);
        let want = &expected
            .get(&verdict.content_version)
            .unwrap_or_else(|| panic!("verdict names unknown version {}", verdict.content_version))
            [i];
        let got: Vec<u32> = matches[..verdict.stored as usize]
            .iter()
            .map(|m| m.rule)
            .collect();
        assert_eq!(
            (&got, verdict.predicates, verdict.matched),
            (&want.0, want.1, want.2),
            "probe {i} against version {}",
            verdict.content_version
        );
        checked += 1;
    }
    checked
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run(seed: u64, steps: usize, readers: usize) {
    let events = Arc::new(Events(probes(20)));
    let expected = Arc::new(expected(&events.0));
    let mut memory = vec![0u128; sensor_slot_size().div_ceil(16)];
    let mut handle = ptr::null_mut();
    let status = unsafe {
        sensor_slot_init(
            memory.as_mut_ptr().cast(),
            memory.len() * 16,
            c"7.11".as_ptr(),
            &mut handle,
        )
    };
    assert_eq!(status, SENSOR_STATUS_SUCCESS);
    let slot = Arc::new(Handle(handle));
    let stop = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..readers)
        .map(|_| {
            let (slot, events, expected, stop, checked) = (
                slot.clone(),
                events.clone(),
                expected.clone(),
                stop.clone(),
                checked.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = evaluate_and_check(&slot, &events.0, &expected);
                    checked.fetch_add(n, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // Buffers by address: the content, whether the slot accepted it, whether it was released.
    let mut live: HashMap<usize, (Content, bool)> = HashMap::new();
    let mut released_total = 0usize;
    let mut accepted_total = 0usize;
    let mut release = |live: &mut HashMap<usize, (Content, bool)>, r: &SensorReleased| {
        assert!(r.count as usize <= SENSOR_MAX_RELEASED);
        for &b in &r.buffers[..r.count as usize] {
            let (mut content, accepted) = live
                .remove(&(b as usize))
                .unwrap_or_else(|| panic!("released {b:?}, which is not held"));
            assert!(accepted, "released a buffer the slot never accepted");
            // What freeing it to the pool would do; then it is freed (dropped) for real.
            content.scribble();
            released_total += 1;
        }
    };
    let mut rng = Rng(seed);
    // (version, buffer address) of the active and the last-known-good content.
    type Held = Option<(u64, usize)>;
    let (mut active, mut last_known_good): (Held, Held) = (None, None);
    for step in 0..steps {
        match rng.below(10) {
            0..=5 => {
                let stem = STEMS[rng.below(STEMS.len() as u64) as usize];
                let content = Content::fixture(stem);
                let mut result = std::mem::MaybeUninit::<SensorUpdateResult>::uninit();
                let status = unsafe {
                    sensor_slot_update(slot.0, content.ptr(), content.len(), result.as_mut_ptr())
                };
                let result = unsafe { result.assume_init() };
                let addr = content.ptr() as usize;
                if status == SENSOR_STATUS_SUCCESS {
                    accepted_total += 1;
                    assert_eq!(result.replaced_version, active.map_or(0, |a| a.0));
                    if active.is_some() {
                        last_known_good = active;
                    }
                    active = Some((result.version, addr));
                    live.insert(addr, (content, true));
                    release(&mut live, &result.released);
                } else {
                    assert_eq!(stem, fixtures::JULY_0409, "step {step}");
                    assert_eq!(result.released.count, 0);
                    // The slot keeps nothing of a refused update: free it at once.
                    drop(content);
                }
            }
            6..=7 => {
                let mut version = 0;
                let mut released = SensorReleased::NONE;
                let status = unsafe { sensor_slot_roll_back(slot.0, &mut version, &mut released) };
                match last_known_good.take() {
                    Some(v) => {
                        assert_eq!((status, version), (SENSOR_STATUS_SUCCESS, v.0));
                        active = Some(v);
                        release(&mut live, &released);
                    }
                    None => assert_eq!(status, SENSOR_STATUS_NOT_FOUND),
                }
            }
            8 => {
                let mut released = SensorReleased::NONE;
                let status = unsafe { sensor_slot_clear(slot.0, &mut released) };
                assert_eq!(status, SENSOR_STATUS_SUCCESS);
                (active, last_known_good) = (None, None);
                release(&mut live, &released);
            }
            _ => {
                checked.fetch_add(
                    evaluate_and_check(&slot, &events.0, &expected),
                    Ordering::Relaxed,
                );
            }
        }
        // Exactly the active and the last-known-good buffers are held between calls.
        let mut held: Vec<usize> = live.keys().copied().collect();
        held.sort_unstable();
        let mut want: Vec<usize> = [active, last_known_good]
            .into_iter()
            .flatten()
            .map(|(_, addr)| addr)
            .collect();
        want.sort_unstable();
        assert_eq!(held, want, "step {step}: buffers not yet released");
        let mut info = SensorContentInfo::default();
        let status = unsafe { sensor_slot_content(slot.0, &mut info) };
        match active {
            Some((v, _)) => assert_eq!((status, info.content_version), (SENSOR_STATUS_SUCCESS, v)),
            None => assert_eq!(status, SENSOR_STATUS_NO_CONTENT),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("reader thread");
    }
    let mut released = SensorReleased::NONE;
    assert_eq!(
        unsafe { sensor_slot_destroy(slot.0, &mut released) },
        SENSOR_STATUS_SUCCESS
    );
    release(&mut live, &released);
    assert!(live.is_empty(), "destroy released every buffer still held");
    assert_eq!(
        released_total, accepted_total,
        "each accepted buffer released once"
    );
    assert!(checked.load(Ordering::Relaxed) > 0);
}

#[test]
fn released_buffers_are_never_read_again_single_threaded() {
    // Under Miri (which reports any read of a freed buffer as undefined behaviour) a few short
    // sequences; natively, more and longer.
    let (seeds, steps): (u64, usize) = if cfg!(miri) { (2, 30) } else { (20, 200) };
    for seed in 1..=seeds {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), steps, 0);
    }
}

#[test]
fn released_buffers_are_never_read_again_while_other_threads_evaluate() {
    run(0xC0FF_EE00_0291, if cfg!(miri) { 20 } else { 400 }, 3);
}
