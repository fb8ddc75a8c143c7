//! `cargo bench -p sensor-host --bench evaluate`: the per-event cost of the core beside its
//! peers, under divan's statistics. The same engines and fixtures as `sensor-host bench`
//! (`src/bench/`), which also covers 10,000 rules, the OTRF events, the end-to-end scan and
//! the JSON/plot output; this file is for quick A/B work on the engine.
//!
//! Every benchmark runs the whole synthetic event stream (2,000 events) per iteration and
//! counts events, so divan's throughput column reads as events per second. Before anything is
//! timed, `main` checks with a counting global allocator that the core's evaluate does not
//! allocate, and panics if it does.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use divan::counter::ItemsCount;
use divan::Bencher;
use sensor_core::{MatchBuffer, RuleSet, Value, FIELD_COUNT_IPC};
use sensor_host::bench::alloc::{self, CountingAlloc};
use sensor_host::bench::checks::Twin;
use sensor_host::bench::events::EventSet;
use sensor_host::bench::generate::{self, BuiltSet};
use sensor_host::bench::peers::{check_agreement, Floor, Naive, RegexSetPeer};
use sensor_host::bench::{small_set, SENSOR, SIGMA_DEFAULT};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const SETS: [&str; 3] = ["sigma", "generated-100", "generated-1000"];
const EVENTS: usize = 2_000;
const SEED: u64 = 291;

type Inputs = Vec<[Value<'static>; FIELD_COUNT_IPC]>;

struct Fixture {
    set: &'static BuiltSet,
    rules: RuleSet<'static>,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let events: &'static EventSet = Box::leak(Box::new(EventSet::synthetic(EVENTS, SEED)));
        events.inputs()
    })
}

/// The rule set called `name`, compiled and loaded once per process.
fn fixture(name: &str) -> &'static Fixture {
    static FIXTURES: OnceLock<Mutex<HashMap<String, &'static Fixture>>> = OnceLock::new();
    let mut map = FIXTURES
        .get_or_init(Default::default)
        .lock()
        .expect("fixture lock");
    map.entry(name.to_owned()).or_insert_with(|| {
        let set = match name.strip_prefix("generated-") {
            Some(n) => generate::build(n.parse().expect("a size"), SEED),
            None => small_set(Path::new(SIGMA_DEFAULT)),
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let set: &'static BuiltSet = Box::leak(Box::new(set));
        let rules = RuleSet::load(set.bytes.as_bytes(), &SENSOR)
            .unwrap_or_else(|e| panic!("{name}: refused: {e:?}"));
        Box::leak(Box::new(Fixture { set, rules }))
    })
}

fn max_units() -> usize {
    usize::from(SENSOR.max_string_units)
}

fn main() {
    for name in SETS {
        let f = fixture(name);
        let mut naive = Naive::new(&f.set.content, max_units()).expect("naive evaluator");
        let sample = EventSet::synthetic(500, SEED);
        check_agreement(&f.rules, &mut naive, None, None, &sample, 500)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut matches = MatchBuffer::<64>::default();
        let inputs = inputs();
        let ((), allocations) = alloc::counting(|| {
            for values in inputs {
                matches.clear();
                black_box(f.rules.evaluate(values, &mut matches));
            }
        });
        assert_eq!(allocations, 0, "{name}: evaluate allocated");
    }
    divan::main();
}

#[divan::bench(args = SETS)]
fn ours(bencher: Bencher, name: &str) {
    let f = fixture(name);
    let mut matches = MatchBuffer::<64>::default();
    bencher.counter(ItemsCount::new(EVENTS)).bench_local(|| {
        for values in inputs() {
            matches.clear();
            black_box(f.rules.evaluate(black_box(values), &mut matches));
        }
    });
}

#[divan::bench(args = SETS)]
fn naive(bencher: Bencher, name: &str) {
    let f = fixture(name);
    let mut naive = Naive::new(&f.set.content, max_units()).expect("naive evaluator");
    bencher.counter(ItemsCount::new(EVENTS)).bench_local(|| {
        for values in inputs() {
            black_box(naive.evaluate(black_box(values), |r| {
                black_box(r);
            }));
        }
    });
}

#[divan::bench(args = SETS)]
fn regexset(bencher: Bencher, name: &str) {
    let f = fixture(name);
    let mut peer = RegexSetPeer::new(&f.set.content, max_units()).expect("RegexSet");
    bencher.counter(ItemsCount::new(EVENTS)).bench_local(|| {
        for values in inputs() {
            black_box(peer.evaluate(black_box(values), |r| {
                black_box(r);
            }));
        }
    });
}

#[divan::bench(args = SETS)]
fn floor(bencher: Bencher, name: &str) {
    let floor = Floor::new(&fixture(name).set.content);
    bencher.counter(ItemsCount::new(EVENTS)).bench_local(|| {
        for values in inputs() {
            black_box(floor.pass(black_box(values)));
        }
    });
}

/// The core's checks and meter, in the bench-only twin (`src/bench/checks.rs`).
#[divan::bench(args = SETS, consts = [true, false])]
fn twin<const CHECKED: bool>(bencher: Bencher, name: &str) {
    let f = fixture(name);
    let twin = Twin::new(f.set.bytes.as_bytes(), &SENSOR).expect("twin");
    let mut matches = MatchBuffer::<64>::default();
    bencher.counter(ItemsCount::new(EVENTS)).bench_local(|| {
        for values in inputs() {
            matches.clear();
            black_box(twin.evaluate::<CHECKED>(black_box(values), &mut matches));
        }
    });
}

/// `RuleSet::load` of the channel file, bytes per second.
#[divan::bench(args = SETS)]
fn load(bencher: Bencher, name: &str) {
    let bytes = fixture(name).set.bytes.as_bytes();
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench_local(|| black_box(RuleSet::load(black_box(bytes), &SENSOR).is_ok()));
}
