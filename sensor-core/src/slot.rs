//! The content slot: the active rule set, swapped whole.
//!
//! An update is validated completely before the slot is touched, so a rejected update leaves
//! the active rule set exactly as it was. The slot holds two rule-set cells and the index of
//! the active one: a writer fills the inactive cell, then flips the index. Readers evaluate
//! under a read lock on the cell the index named when they started, so an event sees the old
//! rule set or the new one, never a mix; and a writer waits only for readers already inside
//! the inactive cell, never for the stream of new events, which go to the active one. The rule
//! set an update replaces is kept as the last-known-good, for rollback. The slot owns no
//! memory: content buffers are the embedder's and must outlive it.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use spin::{Mutex, RwLock};

use crate::error::LoadError;
use crate::eval::{MatchSink, Verdict};
use crate::input::Value;
use crate::schema::SensorDecl;
use crate::validate::RuleSet;

/// What an accepted update replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Content version now active.
    pub version: u64,
    /// Content version it replaced, if any was active.
    pub replaced: Option<u64>,
}

/// Running totals across every evaluation and update of a slot.
#[derive(Debug, Default)]
pub struct SlotStats {
    /// Events evaluated against a rule set.
    pub events: AtomicU64,
    /// Events that arrived while no rule set was active.
    pub events_without_content: AtomicU64,
    /// Rule matches.
    pub matches: AtomicU64,
    /// Predicates that found their input missing.
    pub missing_inputs: AtomicU64,
    /// Predicates whose input had the wrong type.
    pub type_mismatches: AtomicU64,
    /// Predicates whose input was over the declared length.
    pub oversized_inputs: AtomicU64,
    /// Updates accepted.
    pub updates_accepted: AtomicU64,
    /// Updates refused.
    pub updates_rejected: AtomicU64,
}

/// Holds the active rule set for one channel of one sensor.
pub struct ContentSlot<'a> {
    sensor: SensorDecl,
    cells: [RwLock<Option<RuleSet<'a>>>; 2],
    active: AtomicUsize,
    writer: Mutex<Option<RuleSet<'a>>>,
    stats: SlotStats,
}

impl<'a> ContentSlot<'a> {
    /// An empty slot for `sensor`.
    pub fn new(sensor: SensorDecl) -> Self {
        Self {
            sensor,
            cells: [RwLock::new(None), RwLock::new(None)],
            active: AtomicUsize::new(0),
            writer: Mutex::new(None),
            stats: SlotStats::default(),
        }
    }

    /// The sensor declaration updates are validated against.
    pub fn sensor(&self) -> &SensorDecl {
        &self.sensor
    }

    fn cell(&self, index: usize) -> Option<&RwLock<Option<RuleSet<'a>>>> {
        self.cells.get(index & 1)
    }

    /// Installs `next` as the active rule set; returns the one it replaced. The caller holds
    /// the writer lock.
    fn install(&self, next: Option<RuleSet<'a>>) -> Option<RuleSet<'a>> {
        let current = self.active.load(Ordering::Acquire) & 1;
        let previous = self.cell(current).and_then(|c| c.read().clone());
        let inactive = current ^ 1;
        if let Some(cell) = self.cell(inactive) {
            *cell.write() = next;
        }
        self.active.store(inactive, Ordering::Release);
        previous
    }

    /// Validates `bytes` and, only if valid, makes them the active rule set.
    pub fn update(&self, bytes: &'a [u8]) -> Result<UpdateOutcome, LoadError> {
        let rules = RuleSet::load(bytes, &self.sensor).inspect_err(|error| {
            self.stats.updates_rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!("content update refused: {error:?}");
        })?;
        let version = rules.header().content_version;
        let mut last_known_good = self.writer.lock();
        let previous = self.install(Some(rules));
        let replaced = previous.as_ref().map(|r| r.header().content_version);
        if previous.is_some() {
            *last_known_good = previous;
        }
        self.stats.updates_accepted.fetch_add(1, Ordering::Relaxed);
        Ok(UpdateOutcome { version, replaced })
    }

    /// Makes the last-known-good rule set active again; returns its version, or `None` when
    /// there is none.
    pub fn roll_back(&self) -> Option<u64> {
        let mut last_known_good = self.writer.lock();
        let previous = last_known_good.take()?;
        let version = previous.header().content_version;
        self.install(Some(previous));
        Some(version)
    }

    /// Drops the active rule set (content deleted); the slot evaluates nothing until the next
    /// update.
    pub fn clear(&self) {
        let mut last_known_good = self.writer.lock();
        self.install(None);
        *last_known_good = None;
    }

    /// Runs `f` on the active rule set under its read lock.
    pub fn with_active<R>(&self, f: impl FnOnce(Option<&RuleSet<'a>>) -> R) -> R {
        match self.cell(self.active.load(Ordering::Acquire)) {
            Some(cell) => f(cell.read().as_ref()),
            None => f(None),
        }
    }

    /// Evaluates one event against the active rule set; `None` when no content is active.
    pub fn evaluate(&self, inputs: &[Value<'_>], sink: &mut impl MatchSink) -> Option<Verdict> {
        let verdict = self.with_active(|rules| rules.map(|r| r.evaluate(inputs, sink)));
        match &verdict {
            Some(v) => self.record(v),
            None => {
                self.stats
                    .events_without_content
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        verdict
    }

    fn record(&self, verdict: &Verdict) {
        let s = &self.stats;
        let c = &verdict.counters;
        s.events.fetch_add(1, Ordering::Relaxed);
        s.matches
            .fetch_add(u64::from(verdict.matched), Ordering::Relaxed);
        s.missing_inputs
            .fetch_add(u64::from(c.missing_inputs), Ordering::Relaxed);
        s.type_mismatches
            .fetch_add(u64::from(c.type_mismatches), Ordering::Relaxed);
        s.oversized_inputs
            .fetch_add(u64::from(c.oversized_inputs), Ordering::Relaxed);
    }

    /// Running totals.
    pub fn stats(&self) -> &SlotStats {
        &self.stats
    }
}
