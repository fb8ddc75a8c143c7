//! End to end: `scan` over a Sysmon JSON-lines file, as `sensor-host scan` runs it (read, parse,
//! encode, evaluate, write one JSON verdict a line), with the output going to `io::sink()` so the
//! terminal is not measured. Reports the rate, the heap operations per record and the heap's
//! high-water mark above where it started: flat memory means that mark does not grow with the
//! file.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use sensor_core::schema::SensorDecl;
use sensor_core::RuleSet;
use serde::Serialize;

use crate::diag::describe;
use crate::scan::{scan, Format, ScanSummary};

use super::alloc;
use super::generate::BuiltSet;

/// One end-to-end measurement.
#[derive(Clone, Debug, Serialize)]
pub struct ScanRow {
    /// Always `"scan"`, to tell these rows from the evaluation rows in a JSON stream.
    pub mode: &'static str,
    /// Rule set name.
    pub rule_set: String,
    /// Rules in it.
    pub rules: usize,
    /// The input file.
    pub file: String,
    /// Its size.
    pub file_bytes: u64,
    /// Lines read.
    pub lines: usize,
    /// Lines that were pipe events.
    pub events: usize,
    /// Lines that were not.
    pub errors: usize,
    /// Events some rule matched.
    pub events_matched: usize,
    /// Passes over the file; the figures below are the median pass.
    pub runs: usize,
    /// Seconds for one pass.
    pub seconds: f64,
    /// Records (lines) per second.
    pub records_per_sec: f64,
    /// Input megabytes (10^6 bytes) per second.
    pub mb_per_sec: f64,
    /// Heap operations per record over a whole pass, JSON parsing and output included; `None`
    /// when the counting allocator is not installed.
    pub allocations_per_record: Option<f64>,
    /// Highest live heap during a pass, above the live heap before it; `None` as above.
    pub heap_peak_bytes: Option<usize>,
}

/// Scans `path` with `set` `runs` times and reports the median pass.
pub fn measure(
    set: &BuiltSet,
    sensor: &SensorDecl,
    path: &Path,
    runs: usize,
) -> Result<ScanRow, String> {
    let bytes = set.bytes.as_bytes();
    let rules = RuleSet::load(bytes, sensor)
        .map_err(|e| format!("{}: refused: {}", set.name, describe(&e, bytes)))?;
    let file_bytes = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let counting = alloc::installed();
    let mut passes: Vec<(Duration, u64, usize)> = Vec::new();
    let mut summary = ScanSummary::default();
    for _ in 0..runs.max(1) {
        let input = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let input = BufReader::with_capacity(1 << 16, input);
        let live = alloc::live_bytes();
        alloc::reset_peak();
        let started = Instant::now();
        let (result, allocations) =
            alloc::counting(|| scan(&rules, input, Format::Jsonl, io::sink()));
        let took = started.elapsed();
        summary = result.map_err(|e| format!("{}: {e}", path.display()))?;
        passes.push((took, allocations, alloc::peak_bytes().saturating_sub(live)));
    }
    passes.sort_by_key(|p| p.0);
    let (took, allocations, peak) = passes[passes.len() / 2];
    let secs = took.as_secs_f64().max(1e-9);
    let lines = summary.lines.max(1);
    Ok(ScanRow {
        mode: "scan",
        rule_set: set.name.clone(),
        rules: rules.rule_count(),
        file: path.display().to_string(),
        file_bytes,
        lines: summary.lines,
        events: summary.events,
        errors: summary.errors,
        events_matched: summary.events_matched,
        runs: passes.len(),
        seconds: secs,
        records_per_sec: summary.lines as f64 / secs,
        mb_per_sec: file_bytes as f64 / 1e6 / secs,
        allocations_per_record: counting.then(|| allocations as f64 / lines as f64),
        heap_peak_bytes: counting.then_some(peak),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::events::OTRF_DEFAULT;
    use crate::bench::{small_set, SIGMA_DEFAULT};
    use sensor_core::schema::SENSOR_FIXED;

    #[test]
    fn scans_the_otrf_file() {
        let set = small_set(Path::new(SIGMA_DEFAULT)).expect("small set");
        let row = measure(&set, &SENSOR_FIXED, Path::new(OTRF_DEFAULT), 1).expect("scan");
        assert_eq!(row.lines, 1103);
        assert_eq!(row.events + row.errors, row.lines);
        assert!(row.records_per_sec > 0.0);
        // This crate's unit tests install the counting allocator. Other tests share the heap,
        // so only the figures' presence is certain here.
        assert!(row.allocations_per_record.is_some());
        assert!(row.heap_peak_bytes.is_some());
    }
}
