//! `sensor-host scan`: Sysmon named-pipe events from JSON lines, through a validated rule set,
//! to one verdict per input line (`jsonl`) or a readable report (`text`).

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

use sensor_core::{MatchBuffer, RuleSet};
use serde::Serialize;

use crate::event::{EncodedEvent, PipeEvent};
use crate::sysmon::JsonlReader;

/// Most matches reported for one event; further matches are counted as dropped.
pub const MAX_MATCHES_PER_EVENT: usize = 64;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per input line, in order.
    Jsonl,
    /// A readable report with a summary by rule and by level.
    Text,
}

/// What a scan saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Input lines, blank ones included.
    pub lines: usize,
    /// Lines that were pipe events.
    pub events: usize,
    /// Lines that could not be read as pipe events.
    pub errors: usize,
    /// Events at least one rule matched.
    pub events_matched: usize,
    /// Matches per rule index.
    pub per_rule: BTreeMap<usize, usize>,
}

#[derive(Serialize)]
struct MatchOut<'a> {
    id: &'a str,
    title: &'a str,
    level: &'a str,
    action: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    author: &'a str,
}

#[derive(Serialize)]
struct LineOut<'a> {
    line: usize,
    matches: Vec<MatchOut<'a>>,
}

#[derive(Serialize)]
struct ErrorOut {
    line: usize,
    error: String,
}

/// Scans `input` (JSON lines), writing per-event results to `out`.
pub fn scan(
    rules: &RuleSet<'_>,
    input: impl BufRead,
    format: Format,
    out: impl Write,
) -> io::Result<ScanSummary> {
    scan_events(rules, jsonl_inputs(input), format, out, |_| {})
}

/// One input of a scan: its number (a line, or an event log record) and the event it holds, or
/// why it holds none.
pub type Input = (usize, Result<PipeEvent, String>);

/// Where a scan's inputs come from, one at a time, into an event the scan keeps.
pub trait Inputs {
    /// Reads the next input into `event`: its number, and whether it holds an event (if not,
    /// why; `event` then holds nothing in particular).
    fn next_into(&mut self, event: &mut PipeEvent) -> Option<(usize, Result<(), String>)>;
}

/// Inputs that arrive as owned events, such as event log records.
#[derive(Debug)]
pub struct OwnedInputs<I>(I);

impl<I: Iterator<Item = Input>> Inputs for OwnedInputs<I> {
    fn next_into(&mut self, event: &mut PipeEvent) -> Option<(usize, Result<(), String>)> {
        let (number, parsed) = self.0.next()?;
        Some((number, parsed.map(|e| *event = e)))
    }
}

/// The inputs of JSON lines, numbered by line; blank lines are inputs that hold no event.
/// Each line is parsed into the scan's event, so that a scan does not build one a line.
#[derive(Debug)]
pub struct JsonlInputs<R> {
    reader: JsonlReader<R>,
    next: usize,
    pending: Option<(usize, Result<(), String>)>,
}

/// The inputs of JSON lines read from `input`.
pub fn jsonl_inputs<R: BufRead>(input: R) -> JsonlInputs<R> {
    JsonlInputs {
        reader: JsonlReader::new(input),
        next: 1,
        pending: None,
    }
}

impl<R: BufRead> Inputs for JsonlInputs<R> {
    fn next_into(&mut self, event: &mut PipeEvent) -> Option<(usize, Result<(), String>)> {
        if self.pending.is_none() {
            let (line, parsed) = self.reader.read_into(event)?;
            self.pending = Some((line, parsed.map_err(|e| e.to_string())));
        }
        let line = self.pending.as_ref()?.0;
        if self.next < line {
            self.next += 1;
            return Some((self.next - 1, Err("blank line: not an event".to_owned())));
        }
        self.next = line + 1;
        self.pending.take()
    }
}

/// The inputs of an event log, numbered by `EventRecordID`; records that cannot be read are
/// inputs that hold no event (numbered 0 when the damage hides their number).
pub fn evtx_inputs<R: std::io::Read + std::io::Seek>(
    events: crate::evtx::EvtxEvents<R>,
) -> OwnedInputs<impl Iterator<Item = Input>> {
    OwnedInputs(events.map(|read| match read {
        Ok(e) => (e.record as usize, Ok(e.event)),
        Err(crate::evtx::EvtxError::Event { record, error }) => {
            (record as usize, Err(error.to_string()))
        }
        Err(e) => (0, Err(e.to_string())),
    }))
}

/// Scans numbered inputs, writing per-input results to `out`; `progress` sees the summary after
/// each input.
pub fn scan_events(
    rules: &RuleSet<'_>,
    mut inputs: impl Inputs,
    format: Format,
    mut out: impl Write,
    mut progress: impl FnMut(&ScanSummary),
) -> io::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let mut event = PipeEvent::default();
    let mut encoded = EncodedEvent::new();
    let mut matches = MatchBuffer::<MAX_MATCHES_PER_EVENT>::default();
    let supplied = rules.supplied();
    while let Some((number, parsed)) = inputs.next_into(&mut event) {
        summary.lines += 1;
        if let Err(e) = parsed {
            summary.errors += 1;
            report_error(&mut out, format, number, e)?;
            continue;
        }
        summary.events += 1;
        encoded.encode(&event);
        matches.clear();
        rules.evaluate(&encoded.values()[..supplied], &mut matches);
        if !matches.as_slice().is_empty() {
            summary.events_matched += 1;
        }
        for m in matches.as_slice() {
            *summary.per_rule.entry(m.rule as usize).or_default() += 1;
        }
        report_event(&mut out, format, rules, number, &event, matches.as_slice())?;
        progress(&summary);
    }
    if format == Format::Text {
        write_summary(&mut out, rules, &summary)?;
    }
    out.flush()?;
    Ok(summary)
}

fn report_error(
    out: &mut impl Write,
    format: Format,
    line: usize,
    error: String,
) -> io::Result<()> {
    match format {
        Format::Jsonl => {
            serde_json::to_writer(&mut *out, &ErrorOut { line, error })?;
            writeln!(out)
        }
        Format::Text => writeln!(out, "line {line}: error: {error}"),
    }
}

fn report_event(
    out: &mut impl Write,
    format: Format,
    rules: &RuleSet<'_>,
    line: usize,
    event: &PipeEvent,
    matched: &[sensor_core::MatchedRule],
) -> io::Result<()> {
    let infos = matched.iter().filter_map(|m| rules.rule(m.rule as usize));
    match format {
        Format::Jsonl => {
            let matches = infos
                .map(|r| MatchOut {
                    id: r.id,
                    title: r.title,
                    level: r.level.name(),
                    action: r.action.name(),
                    author: r.author,
                })
                .collect();
            serde_json::to_writer(&mut *out, &LineOut { line, matches })?;
            writeln!(out)
        }
        Format::Text if matched.is_empty() => Ok(()),
        Format::Text => {
            writeln!(
                out,
                "line {line}: {} by {}",
                event.pipe_name.as_deref().unwrap_or("(no pipe name)"),
                event.image_path.as_deref().unwrap_or("(no image)")
            )?;
            for r in infos {
                writeln!(out, "    {:<13} {:<38} {}", r.level.name(), r.id, r.title)?;
            }
            Ok(())
        }
    }
}

fn write_summary(out: &mut impl Write, rules: &RuleSet<'_>, s: &ScanSummary) -> io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{} lines, {} pipe events, {} with matches, {} errors",
        s.lines, s.events, s.events_matched, s.errors
    )?;
    let mut by_level: BTreeMap<_, usize> = BTreeMap::new();
    writeln!(out, "matches by rule:")?;
    for (&rule, &n) in &s.per_rule {
        if let Some(r) = rules.rule(rule) {
            *by_level.entry(std::cmp::Reverse(r.level)).or_default() += n;
            writeln!(
                out,
                "  {n:>7}  {:<13} {:<38} {}",
                r.level.name(),
                r.id,
                r.title
            )?;
        }
    }
    writeln!(out, "matches by level:")?;
    for (std::cmp::Reverse(level), n) in by_level {
        writeln!(out, "  {n:>7}  {}", level.name())?;
    }
    Ok(())
}
