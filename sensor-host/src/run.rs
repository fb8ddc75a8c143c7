//! The main job, `sensor-host run`: a sensor with the built-in rule set evaluates a synthetic
//! named-pipe event stream, receives the 19 July 2024 content update halfway, and reports what
//! it detected, what it refused and how fast it went.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use sensor_core::{ContentSlot, MatchedRule, SensorDecl};

use crate::builtin::{compile_builtin, DEFAULT_RULES, JULY_19_0409};
use crate::diag::describe;
use crate::event::{EncodedEvent, PipeEvent};
use crate::synth::{Generator, SynthConfig};

/// What the main job runs.
#[derive(Clone, Copy, Debug)]
pub struct RunConfig {
    /// Events to evaluate.
    pub events: u64,
    /// Seed of the synthetic stream.
    pub seed: u64,
    /// The sensor build.
    pub sensor: SensorDecl,
}

/// Matches of one rule over the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleTally {
    /// Rule id.
    pub id: String,
    /// Level name.
    pub level: &'static str,
    /// Title.
    pub title: String,
    /// Matches.
    pub matches: u64,
}

/// A content update and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateRecord {
    /// Channel file name.
    pub file: String,
    /// After how many events it arrived.
    pub at_event: u64,
    /// `None` when accepted; the refusal otherwise.
    pub refused: Option<String>,
}

/// What the main job saw.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Sensor build.
    pub build: &'static str,
    /// Events evaluated.
    pub events: u64,
    /// Events for which a rule set was active.
    pub evaluated: u64,
    /// Time spent generating, encoding and evaluating.
    pub elapsed: Duration,
    /// Matches per rule, by rule id.
    pub rules: Vec<RuleTally>,
    /// Content updates.
    pub updates: Vec<UpdateRecord>,
    /// Predicates that found an input missing.
    pub missing_inputs: u64,
    /// Highest work units one event took.
    pub max_work: u64,
}

struct Phase<'s, 'c> {
    slot: &'s ContentSlot<'c>,
    generator: Generator,
    event: PipeEvent,
    encoded: EncodedEvent,
    tallies: BTreeMap<String, RuleTally>,
    max_work: u64,
}

impl Phase<'_, '_> {
    fn events(&mut self, n: u64) {
        let mut counts = vec![0u64; self.slot.with_active(|r| r.map_or(0, |r| r.rule_count()))];
        let supplied = self.slot.with_active(|r| r.map_or(0, |r| r.supplied()));
        for _ in 0..n {
            self.generator.fill(&mut self.event);
            self.encoded.encode(&self.event);
            let values = self.encoded.values();
            let mut sink = |m: MatchedRule| {
                if let Some(c) = counts.get_mut(m.rule as usize) {
                    *c += 1;
                }
                true
            };
            if let Some(v) = self.slot.evaluate(&values[..supplied], &mut sink) {
                self.max_work = self.max_work.max(v.verdict.counters.work);
            }
        }
        self.slot.with_active(|rules| {
            let Some(rules) = rules else { return };
            for (i, n) in counts.into_iter().enumerate() {
                let Some(info) = rules.rule(i) else { continue };
                self.tallies
                    .entry(info.id.to_owned())
                    .or_insert_with(|| RuleTally {
                        id: info.id.to_owned(),
                        level: info.level.name(),
                        title: info.title.to_owned(),
                        matches: 0,
                    })
                    .matches += n;
            }
        });
    }
}

fn deliver<'c>(slot: &ContentSlot<'c>, file: &str, bytes: &'c [u8], at_event: u64) -> UpdateRecord {
    UpdateRecord {
        file: file.to_owned(),
        at_event,
        refused: slot.update(bytes).err().map(|e| describe(&e, bytes)),
    }
}

/// Runs the main job.
pub fn run(config: RunConfig) -> RunReport {
    let default = compile_builtin("default.toml", DEFAULT_RULES);
    let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
    let slot = ContentSlot::new(config.sensor);
    let mut updates = Vec::new();
    let started = Instant::now();
    let mut phase = Phase {
        slot: &slot,
        generator: Generator::new(SynthConfig {
            seed: config.seed,
            ..SynthConfig::default()
        }),
        event: PipeEvent::default(),
        encoded: EncodedEvent::new(),
        tallies: BTreeMap::new(),
        max_work: 0,
    };
    updates.push(deliver(phase.slot, "default.sys", default.as_bytes(), 0));
    let half = config.events / 2;
    phase.events(half);
    let name = format!("{}.sys", JULY_19_0409.name);
    updates.push(deliver(phase.slot, &name, july.as_bytes(), half));
    phase.events(config.events - half);
    let elapsed = started.elapsed();
    let stats = slot.stats();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    RunReport {
        build: config.sensor.build,
        events: config.events,
        evaluated: load(&stats.events),
        elapsed,
        rules: phase.tallies.into_values().collect(),
        updates,
        missing_inputs: load(&stats.missing_inputs),
        max_work: phase.max_work,
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sensor build {}", self.build)?;
        writeln!(f, "content updates:")?;
        for u in &self.updates {
            match &u.refused {
                None => writeln!(
                    f,
                    "  after {:>9} events  {:<34} accepted",
                    u.at_event, u.file
                )?,
                Some(why) => writeln!(
                    f,
                    "  after {:>9} events  {:<34} REFUSED, previous content kept\n      {why}",
                    u.at_event, u.file
                )?,
            }
        }
        let rejected = self.updates.iter().filter(|u| u.refused.is_some()).count();
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        };
        writeln!(
            f,
            "events processed: {} ({} evaluated)",
            self.events, self.evaluated
        )?;
        writeln!(f, "content rejected: {rejected}")?;
        writeln!(f, "missing inputs: {}", self.missing_inputs)?;
        writeln!(f, "most work for one event: {} units", self.max_work)?;
        writeln!(
            f,
            "events per second: {rate:.0} ({:.3} s, generation and encoding included)",
            secs
        )?;
        writeln!(f, "matches per rule:")?;
        for r in &self.rules {
            writeln!(
                f,
                "  {:>8}  {:<10} {:<13} {}",
                r.matches, r.id, r.level, r.title
            )?;
        }
        Ok(())
    }
}
