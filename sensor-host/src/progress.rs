//! Progress of long scans, on standard error when it is a terminal and never otherwise.
//!
//! Nothing is drawn for the first [`DELAY`], so short scans stay silent; after that one line is
//! redrawn at most every [`INTERVAL`], and [`Progress::finish`] clears it. When standard error
//! is not a terminal (a pipe, a file, CI), nothing is ever written, so logs and scripts never
//! see progress. [`CountingReader`] counts the bytes a scan has read, to show how far it is.
//!
//! ```no_run
//! use std::io::BufReader;
//! use sensor_host::progress::{CountingReader, Progress};
//!
//! let file = std::fs::File::open("events.jsonl")?;
//! let size = file.metadata()?.len();
//! let reader = CountingReader::new(file);
//! let read = reader.counter();
//! let input = BufReader::new(reader);
//! let mut progress = Progress::stderr(Some(size));
//! // for each event: progress.update(read.get(), events, matched);
//! progress.finish();
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::Cell;
use std::io::{self, IsTerminal, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a scan runs before progress is first shown.
pub const DELAY: Duration = Duration::from_millis(500);
/// The least time between two redraws.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// How many calls of [`Progress::update`] go by between two readings of the clock.
pub const CLOCK_EVERY: u64 = 64;

/// Clears the terminal line the cursor is on and returns to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// A progress line.
#[derive(Debug)]
pub struct Progress<W: Write> {
    out: W,
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    total: Option<u64>,
    calls: u64,
}

impl Progress<io::Stderr> {
    /// Progress on standard error, drawn only if standard error is a terminal. `total` is the
    /// size of the input in bytes, when known.
    pub fn stderr(total: Option<u64>) -> Self {
        let stderr = io::stderr();
        let enabled = stderr.is_terminal();
        Self::new(stderr, enabled, total)
    }
}

impl<W: Write> Progress<W> {
    /// Progress written to `out` if `enabled`, starting now.
    pub fn new(out: W, enabled: bool, total: Option<u64>) -> Self {
        Self::starting(out, enabled, total, Instant::now())
    }

    /// Progress written to `out` if `enabled`, starting at `start`.
    pub fn starting(out: W, enabled: bool, total: Option<u64>, start: Instant) -> Self {
        Self {
            out,
            enabled,
            start,
            last: None,
            total,
            calls: 0,
        }
    }

    /// Reports `done` bytes read, `events` evaluated and `matched` events with matches.
    ///
    /// Reading the clock costs about as much as evaluating a small event, so it is read only
    /// when progress is shown at all, and then on every [`CLOCK_EVERY`]th call.
    pub fn update(&mut self, done: u64, events: u64, matched: u64) {
        self.calls = self.calls.wrapping_add(1);
        if self.enabled && self.calls.is_multiple_of(CLOCK_EVERY) {
            self.update_at(Instant::now(), done, events, matched);
        }
    }

    /// [`update`](Self::update) as of `now`.
    pub fn update_at(&mut self, now: Instant, done: u64, events: u64, matched: u64) {
        if !self.enabled || now.saturating_duration_since(self.start) < DELAY {
            return;
        }
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < INTERVAL)
        {
            return;
        }
        self.last = Some(now);
        let share = match self.total {
            Some(total) if total > 0 => format!(", {}%", done.min(total) * 100 / total),
            _ => String::new(),
        };
        let elapsed = now.saturating_duration_since(self.start).as_secs();
        // Progress is a courtesy: a terminal that cannot be written to must not stop the scan.
        let _ = write!(
            self.out,
            "{CLEAR_LINE}scanning: {events} events, {matched} with matches{share}, {elapsed} s"
        );
        let _ = self.out.flush();
    }

    /// Clears the progress line, if one was drawn.
    pub fn finish(&mut self) {
        if self.last.take().is_some() {
            let _ = write!(self.out, "{CLEAR_LINE}");
            let _ = self.out.flush();
        }
    }
}

/// The number of bytes a [`CountingReader`] has read, readable while the reader is in use.
#[derive(Clone, Debug, Default)]
pub struct ByteCount(Rc<Cell<u64>>);

impl ByteCount {
    /// Bytes read so far.
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

/// A reader that counts the bytes read through it.
#[derive(Debug)]
pub struct CountingReader<R> {
    inner: R,
    count: ByteCount,
}

impl<R: Read> CountingReader<R> {
    /// Counts what is read from `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            count: ByteCount::default(),
        }
    }

    /// A handle on the count.
    pub fn counter(&self) -> ByteCount {
        self.count.clone()
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let count = &self.count.0;
        count.set(count.get().saturating_add(n as u64));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(progress: Progress<Vec<u8>>) -> String {
        String::from_utf8(progress.out).expect("UTF-8")
    }

    #[test]
    fn never_writes_when_disabled() {
        let start = Instant::now();
        let mut p = Progress::starting(Vec::new(), false, Some(100), start);
        p.update_at(start + Duration::from_secs(60), 50, 10, 1);
        p.finish();
        assert_eq!(drawn(p), "");
    }

    #[test]
    fn short_scans_stay_silent() {
        let start = Instant::now();
        let mut p = Progress::starting(Vec::new(), true, None, start);
        p.update_at(start + DELAY / 2, 1, 1, 0);
        p.finish();
        assert_eq!(drawn(p), "");
    }

    #[test]
    fn long_scans_redraw_at_most_every_interval_and_clear_at_the_end() {
        let start = Instant::now();
        let mut p = Progress::starting(Vec::new(), true, Some(200), start);
        let t = start + DELAY;
        p.update_at(t, 50, 10, 1);
        p.update_at(t + INTERVAL / 2, 60, 12, 1);
        p.update_at(t + INTERVAL + Duration::from_secs(1), 300, 20, 2);
        p.finish();
        let expected = format!(
            "{CLEAR_LINE}scanning: 10 events, 1 with matches, 25%, 0 s\
             {CLEAR_LINE}scanning: 20 events, 2 with matches, 100%, 1 s{CLEAR_LINE}"
        );
        assert_eq!(drawn(p), expected);
    }

    #[test]
    fn counting_reader_counts_bytes_read() {
        let mut reader = CountingReader::new(&b"hello world"[..]);
        let count = reader.counter();
        let mut buf = [0u8; 4];
        reader.read_exact(&mut buf).expect("read");
        assert_eq!(count.get(), 4);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).expect("read");
        assert_eq!(count.get(), 11);
    }
}
