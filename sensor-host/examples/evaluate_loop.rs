//! Evaluates the synthetic events of `sensor-host bench` against a generated rule set, over and
//! over for a while, and prints ns per event: a loop to point `perf record` at, with nothing but
//! `RuleSet::evaluate` in it once the set is compiled.
//!
//! `cargo run --release -p sensor-host --example evaluate_loop -- 10000 15` (rules, seconds,
//! and optionally the number of events, 2,000 as in the bench by default, a cache file, and
//! the engine: `core` by default, or the bench's twin interpreter, `checked` or `unchecked`, to
//! see where the cost of the run-time checks goes).
//! Rules `sigma` loads the bench's Sigma set instead of a generated one. A cache file that exists
//! is loaded in place of compiling (the 10,000-rule set takes minutes); one that does not is
//! written once the set is compiled, so that builds compared one after the other run the same
//! bytes.
//! docs/performance.md, "Where the time goes", was measured with it.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use sensor_core::{MatchBuffer, RuleSet, Value, Verdict};
use sensor_host::bench::checks::Twin;
use sensor_host::bench::events::EventSet;
use sensor_host::bench::{self, generate, SENSOR};
use sensor_host::content::ContentBuf;

const EVENTS: u64 = 2_000;
const SEED: u64 = 291;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let rules = args.next();
    let mut number = |default: u64| -> Result<u64, String> {
        args.next()
            .map_or(Ok(default), |a| a.parse().map_err(|e| format!("{a}: {e}")))
    };
    let run_for = Duration::from_secs(number(15)?);
    let count = usize::try_from(number(EVENTS)?).map_err(|e| e.to_string())?;
    let (name, bytes) = content(rules.as_deref(), args.next().as_deref().map(Path::new))?;
    let engine = args.next().unwrap_or_else(|| "core".into());
    let loaded =
        RuleSet::load(bytes.as_bytes(), &SENSOR).map_err(|e| format!("{name}: refused: {e:?}"))?;
    let twin = Twin::new(bytes.as_bytes(), &SENSOR).map_err(|e| format!("{name}: twin: {e:?}"))?;
    let evaluate: &dyn Fn(&[Value<'_>], &mut MatchBuffer<64>) -> Verdict = match engine.as_str() {
        "core" => &|values, matches| loaded.evaluate(values, matches),
        "checked" => &|values, matches| twin.evaluate::<true>(values, matches),
        "unchecked" => &|values, matches| twin.evaluate::<false>(values, matches),
        other => return Err(format!("{other}: the engine is core, checked or unchecked")),
    };
    let events = EventSet::synthetic(count, SEED);
    let inputs = events.inputs();
    let mut matches = MatchBuffer::<64>::default();
    let started = Instant::now();
    let mut rounds = 0u32;
    while started.elapsed() < run_for {
        for values in &inputs {
            matches.clear();
            black_box(evaluate(black_box(values), &mut matches));
        }
        rounds += 1;
    }
    let evaluations = f64::from(rounds) * inputs.len() as f64;
    let ns = started.elapsed().as_nanos() as f64 / evaluations;
    println!("{name}, {engine}: {ns:.0} ns per event over {rounds} rounds");
    Ok(())
}

/// The rule set's name and compiled bytes: read from `cache` if it exists, else compiled (and
/// written to `cache` when one is named).
fn content(rules: Option<&str>, cache: Option<&Path>) -> Result<(String, ContentBuf), String> {
    let name = rules.unwrap_or("1000");
    if let Some(path) = cache.filter(|p| p.exists()) {
        let bytes = ContentBuf::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok((format!("{name} (from {})", path.display()), bytes));
    }
    let set = match name {
        "sigma" => bench::sigma_set(Path::new(bench::SIGMA_DEFAULT))?,
        n => generate::build(n.parse().map_err(|e| format!("{n}: {e}"))?, SEED)?,
    };
    if let Some(path) = cache {
        std::fs::write(path, set.bytes.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((set.name, set.bytes))
}
