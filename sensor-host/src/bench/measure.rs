//! Timing: every engine is run the same way, over the same events, for the same time.
//!
//! A measurement is a warm-up followed by several samples. Each sample runs batches of events
//! (cycling through the event set) until its time is up; its result is elapsed time divided by
//! events evaluated. The batch is sized from a first calibration so the clock is read about
//! twenty times a sample, whatever an event costs. The reported figure is the median sample.

use std::time::{Duration, Instant};

/// How long to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Time spent running before samples are taken.
    pub warmup: Duration,
    /// Samples taken.
    pub samples: usize,
    /// Time per sample.
    pub sample_time: Duration,
}

impl Budget {
    /// The budget of a full run: 0.2 s warm-up, seven samples of 0.15 s.
    pub const FULL: Budget = Budget {
        warmup: Duration::from_millis(200),
        samples: 7,
        sample_time: Duration::from_millis(150),
    };

    /// The budget of `--quick`: 10 ms warm-up, three samples of 25 ms.
    pub const QUICK: Budget = Budget {
        warmup: Duration::from_millis(10),
        samples: 3,
        sample_time: Duration::from_millis(25),
    };
}

/// The result of one measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Median nanoseconds per event over the samples.
    pub ns_per_event: f64,
    /// Nanoseconds per event of each sample, in the order taken.
    pub samples: Vec<f64>,
    /// Events evaluated in the samples (warm-up excluded).
    pub events: u64,
}

impl Timing {
    /// Events per second at the median.
    pub fn events_per_sec(&self) -> f64 {
        if self.ns_per_event > 0.0 {
            1e9 / self.ns_per_event
        } else {
            0.0
        }
    }

    /// Largest sample over smallest: how noisy the samples were.
    pub fn spread(&self) -> f64 {
        let min = self.samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.samples.iter().copied().fold(0.0, f64::max);
        if min > 0.0 {
            max / min
        } else {
            0.0
        }
    }
}

/// Runs an evaluation over the events in turn, in calibrated batches.
struct Runner<F> {
    eval: F,
    events: usize,
    next: usize,
    batch: usize,
}

impl<F: FnMut(usize)> Runner<F> {
    /// Sizes the batch so that a sample reads the clock about twenty times.
    fn new(events: usize, budget: Budget, eval: F) -> Self {
        assert!(events > 0, "nothing to measure");
        let mut runner = Self {
            eval,
            events,
            next: 0,
            batch: 1,
        };
        let per_batch = budget.sample_time.max(Duration::from_micros(200)) / 20;
        loop {
            let started = Instant::now();
            runner.run(runner.batch);
            let took = started.elapsed();
            if took >= per_batch / 4 || runner.batch >= 1 << 24 {
                let per_event = took.as_secs_f64() / runner.batch as f64;
                runner.batch =
                    ((per_batch.as_secs_f64() / per_event.max(1e-10)) as usize).clamp(1, 1 << 24);
                return runner;
            }
            runner.batch *= 4;
        }
    }

    fn run(&mut self, n: usize) {
        for _ in 0..n {
            (self.eval)(self.next);
            self.next += 1;
            if self.next == self.events {
                self.next = 0;
            }
        }
    }

    fn warm(&mut self, time: Duration) {
        let started = Instant::now();
        while started.elapsed() < time {
            self.run(self.batch);
        }
    }

    /// One sample: nanoseconds per event, and events run.
    fn sample(&mut self, time: Duration) -> (f64, u64) {
        let started = Instant::now();
        let mut done = 0u64;
        loop {
            self.run(self.batch);
            done += self.batch as u64;
            if started.elapsed() >= time {
                break;
            }
        }
        (started.elapsed().as_nanos() as f64 / done as f64, done)
    }
}

fn timing(samples: Vec<f64>, events: u64) -> Timing {
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    Timing {
        ns_per_event: sorted[sorted.len() / 2],
        samples,
        events,
    }
}

/// Measures `eval(i)`, the evaluation of event `i` of `events`, per event.
pub fn per_event(events: usize, budget: Budget, eval: impl FnMut(usize)) -> Timing {
    let mut runner = Runner::new(events, budget, eval);
    runner.warm(budget.warmup);
    let mut samples = Vec::with_capacity(budget.samples);
    let mut total = 0;
    for _ in 0..budget.samples.max(1) {
        let (ns, done) = runner.sample(budget.sample_time);
        samples.push(ns);
        total += done;
    }
    timing(samples, total)
}

/// A calibrated evaluation, ready to give samples; see [`runner`] and [`interleaved`].
pub trait Sampler {
    /// Runs for `time` without recording.
    fn warm(&mut self, time: Duration);
    /// Runs for `time`; returns nanoseconds per event and events run.
    fn sample(&mut self, time: Duration) -> (f64, u64);
}

impl<F: FnMut(usize)> Sampler for Runner<F> {
    fn warm(&mut self, time: Duration) {
        Runner::warm(self, time);
    }

    fn sample(&mut self, time: Duration) -> (f64, u64) {
        Runner::sample(self, time)
    }
}

/// Calibrates `eval` over `events` for [`interleaved`].
pub fn runner<'a>(
    events: usize,
    budget: Budget,
    eval: impl FnMut(usize) + 'a,
) -> Box<dyn Sampler + 'a> {
    Box::new(Runner::new(events, budget, eval))
}

/// Measures several evaluations of the same events with their samples taken in turns: round
/// `k` samples every engine once, starting with engine `k mod n`. A change in machine load
/// (this runs on shared machines) then falls on every engine alike instead of on whichever was
/// being measured at the time. Timings come back in the order of `runners`.
pub fn interleaved(budget: Budget, runners: &mut [Box<dyn Sampler + '_>]) -> Vec<Timing> {
    let n = runners.len();
    for r in runners.iter_mut() {
        r.warm(budget.warmup / n.max(1) as u32);
    }
    let mut samples = vec![Vec::with_capacity(budget.samples); n];
    let mut events = vec![0u64; n];
    for round in 0..budget.samples.max(1) {
        for j in 0..n {
            let i = (round + j) % n;
            let (ns, done) = runners[i].sample(budget.sample_time);
            samples[i].push(ns);
            events[i] += done;
        }
    }
    samples
        .into_iter()
        .zip(events)
        .map(|(s, e)| timing(s, e))
        .collect()
}

/// Measures one call of `f` (a load, a build) as the median of repeated calls within `budget`.
pub fn per_call(budget: Budget, mut f: impl FnMut()) -> Duration {
    let timing = per_event(1, budget, |_| f());
    Duration::from_nanos(timing.ns_per_event as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(micros: u64) -> impl FnMut(usize) {
        move |_| {
            let until = Instant::now() + Duration::from_micros(micros);
            while Instant::now() < until {}
        }
    }

    #[test]
    fn measures_at_least_the_known_cost() {
        let budget = Budget {
            warmup: Duration::ZERO,
            samples: 3,
            sample_time: Duration::from_millis(20),
        };
        let timing = per_event(7, budget, spin(50));
        // A busy machine can only make it slower; a unit or counting error would be far off.
        assert!(
            (50_000.0..50_000_000.0).contains(&timing.ns_per_event),
            "{timing:?}"
        );
        assert_eq!(timing.samples.len(), 3);
        assert!(timing.events >= 3);
        assert!((timing.events_per_sec() * timing.ns_per_event - 1e9).abs() < 1.0);
    }

    #[test]
    fn engines_take_their_samples_in_turns() {
        use std::cell::RefCell;
        let log = RefCell::new(String::new());
        let mark = |c: char| {
            let mut log = log.borrow_mut();
            if !log.ends_with(c) {
                log.push(c);
            }
        };
        let budget = Budget {
            warmup: Duration::ZERO,
            samples: 3,
            sample_time: Duration::from_millis(5),
        };
        let mut runners = [
            runner(3, budget, |i| {
                mark('a');
                spin(20)(i)
            }),
            runner(3, budget, |i| {
                mark('b');
                spin(5)(i)
            }),
            runner(3, budget, |i| {
                mark('c');
                spin(1)(i)
            }),
        ];
        let timings = interleaved(budget, &mut runners);
        drop(runners);
        // Calibration a b c, then rounds a b c | b c a | c a b; neighbours with the same letter
        // run back to back and show once.
        assert_eq!(*log.borrow(), "abcabcbcacab");
        let ns: Vec<f64> = timings.iter().map(|t| t.ns_per_event).collect();
        assert!(
            ns[0] >= 20_000.0 && ns[1] >= 5_000.0 && ns[2] >= 1_000.0,
            "{ns:?}"
        );
        assert!(timings.iter().all(|t| t.samples.len() == 3));
    }

    #[test]
    fn visits_every_event_in_turn() {
        let mut seen = [0u32; 5];
        per_event(5, Budget::QUICK, |i| seen[i] += 1);
        let (min, max) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
        assert!(max - min <= 1, "{seen:?}");
    }
}
