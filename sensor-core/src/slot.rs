//! The content slot: the active rule set, swapped whole.
//!
//! An update is validated completely before any reader can see it, so a rejected update leaves
//! the active rule set exactly as it was. The slot holds three rule-set cells, each under its
//! own reader-writer lock, and three roles for them: the active cell, the last-known-good (the
//! rule set the last update replaced, kept for rollback) and the spare, which is empty between
//! operations. An update validates straight into the spare cell
//! ([`RuleSet::load_into`]: no rule set is built on the stack, none is copied), then flips the
//! atomic index of the active cell, and the roles rotate; a rollback flips the index back to
//! the last-known-good. Readers evaluate under a read lock on the cell the index named when
//! they started, so an event sees the old rule set or the new one, never a mix. A writer only
//! ever locks cells that are not active, and waits only for readers already inside them, never
//! for the stream of new events, which go to the active one.
//!
//! The slot owns no memory: content buffers are the embedder's and are read in place. Every
//! operation that drops the slot's last reference to a buffer lists it in its outcome
//! ([`Released`]); when the call returns, no evaluation reads that buffer any more, and the
//! embedder may free it. Between operations the slot holds at most two buffers (active and
//! last-known-good).

use core::hint::spin_loop;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use sensor_sync::RwCell;

use crate::error::LoadError;
use crate::eval::{MatchSink, Verdict};
use crate::input::Value;
use crate::schema::SensorDecl;
use crate::validate::RuleSet;

/// Cells in a slot: active, last-known-good, and the spare an update is validated into.
const CELLS: usize = 3;
/// The active index when no rule set is active.
const NO_CELL: usize = CELLS;
/// Most buffers one operation can release: one per cell.
pub const MAX_RELEASED: usize = CELLS;

/// A content buffer, by address and length, as given to [`ContentSlot::update`]. Kept as
/// integers: for the embedder to free, never dereferenced. The slot tells buffers apart by
/// address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Address of the first byte.
    pub addr: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Buffer {
    /// The buffer `bytes` occupies.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            addr: bytes.as_ptr().addr(),
            len: bytes.len(),
        }
    }
}

/// The content buffers one slot operation released: the slot no longer reads them, and no
/// evaluation does once the operation has returned. Each buffer is listed once, by the
/// operation that dropped the slot's last reference to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    buffers: [Option<Buffer>; MAX_RELEASED],
}

impl Released {
    /// Nothing released.
    pub const NONE: Self = Self {
        buffers: [None; MAX_RELEASED],
    };

    fn push(&mut self, buffer: Buffer) {
        if self.iter().any(|b| b.addr == buffer.addr) {
            return;
        }
        if let Some(free) = self.buffers.iter_mut().find(|b| b.is_none()) {
            *free = Some(buffer);
        }
    }

    /// The released buffers.
    pub fn iter(&self) -> impl Iterator<Item = Buffer> + '_ {
        self.buffers.iter().flatten().copied()
    }

    /// How many buffers were released.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether nothing was released.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What an accepted update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Content version now active.
    pub version: u64,
    /// Content version it replaced, if any was active (now the last-known-good).
    pub replaced: Option<u64>,
    /// Buffers released: the previous last-known-good's, unless another cell still holds it.
    pub released: Released,
}

/// What a rollback did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollBackOutcome {
    /// Content version active again (the last-known-good).
    pub version: u64,
    /// Content version it replaced.
    pub replaced: Option<u64>,
    /// Buffers released: the replaced rule set's, unless another cell still holds it.
    pub released: Released,
}

/// One evaluation through the slot: the verdict and the content it was reached against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotVerdict {
    /// Version of the rule set that evaluated the event.
    pub content_version: u64,
    /// The verdict.
    pub verdict: Verdict,
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

impl SlotStats {
    const fn zero() -> Self {
        Self {
            events: AtomicU64::new(0),
            events_without_content: AtomicU64::new(0),
            matches: AtomicU64::new(0),
            missing_inputs: AtomicU64::new(0),
            type_mismatches: AtomicU64::new(0),
            oversized_inputs: AtomicU64::new(0),
            updates_accepted: AtomicU64::new(0),
            updates_rejected: AtomicU64::new(0),
        }
    }
}

/// One of the three cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CellId {
    A,
    B,
    C,
}

impl CellId {
    const fn index(self) -> usize {
        self as usize
    }

    fn from_index(index: usize) -> Option<Self> {
        match index {
            0 => Some(Self::A),
            1 => Some(Self::B),
            2 => Some(Self::C),
            _ => None,
        }
    }
}

/// What a cell holds. A cell that is not `loaded` holds an empty rule set.
struct Cell<'a> {
    rules: RuleSet<'a>,
    loaded: bool,
}

/// Content a cell holds: its buffer and version.
#[derive(Clone, Copy, Debug)]
struct Held {
    buffer: Buffer,
    version: u64,
}

/// A cell in a role, and the content it holds.
#[derive(Clone, Copy, Debug)]
struct Place {
    cell: CellId,
    held: Option<Held>,
}

impl Place {
    /// The same cell, holding nothing (about to be emptied).
    fn emptied(self) -> Self {
        Self {
            cell: self.cell,
            held: None,
        }
    }
}

/// Which cell plays which role: always the three cells, each once. Changed only by a writer,
/// under the slot's writer lock.
#[derive(Clone, Copy, Debug)]
struct Roles {
    active: Place,
    last_known_good: Place,
    spare: Place,
}

impl Roles {
    fn holds(&self, addr: usize) -> bool {
        [self.active, self.last_known_good, self.spare]
            .iter()
            .filter_map(|p| p.held)
            .any(|h| h.buffer.addr == addr)
    }
}

/// Holds the active rule set for one channel of one sensor.
pub struct ContentSlot<'a> {
    sensor: SensorDecl,
    cells: [RwCell<Cell<'a>>; CELLS],
    /// Index of the active cell, or [`NO_CELL`].
    active: AtomicUsize,
    /// The roles; its lock also serialises writers.
    roles: RwCell<Roles>,
    stats: SlotStats,
}

impl<'a> ContentSlot<'a> {
    /// An empty slot for `sensor`.
    pub const fn new(sensor: SensorDecl) -> Self {
        Self {
            sensor,
            cells: [
                RwCell::new(Cell {
                    rules: RuleSet::empty(),
                    loaded: false,
                }),
                RwCell::new(Cell {
                    rules: RuleSet::empty(),
                    loaded: false,
                }),
                RwCell::new(Cell {
                    rules: RuleSet::empty(),
                    loaded: false,
                }),
            ],
            active: AtomicUsize::new(NO_CELL),
            roles: RwCell::new(Roles {
                active: Place {
                    cell: CellId::A,
                    held: None,
                },
                last_known_good: Place {
                    cell: CellId::B,
                    held: None,
                },
                spare: Place {
                    cell: CellId::C,
                    held: None,
                },
            }),
            stats: SlotStats::zero(),
        }
    }

    /// The sensor declaration updates are validated against.
    pub fn sensor(&self) -> &SensorDecl {
        &self.sensor
    }

    /// Points the slot at another sensor build: drops all content (it was validated for the
    /// previous declaration) and returns the buffers that releases.
    ///
    /// With [`ContentSlot::new`] in a constant, this lets an embedder build a slot in place
    /// in memory of its own without a stack copy of the whole slot: copy the constant there,
    /// then set the sensor (what `sensor_slot_init` in `sensor-ffi` does).
    pub fn set_sensor(&mut self, sensor: SensorDecl) -> Released {
        let released = self.clear();
        self.sensor = sensor;
        released
    }

    fn cell(&self, id: CellId) -> &RwCell<Cell<'a>> {
        let [a, b, c] = &self.cells;
        match id {
            CellId::A => a,
            CellId::B => b,
            CellId::C => c,
        }
    }

    /// Empties the cell of `place`, which has just left every role, waiting for the readers
    /// still inside it; lists its buffer in `released` unless a role still holds that buffer.
    fn release(&self, place: Place, roles: &Roles, released: &mut Released) {
        let Some(held) = place.held else {
            return;
        };
        let mut cell = self.cell(place.cell).write();
        cell.loaded = false;
        cell.rules.clear();
        drop(cell);
        if !roles.holds(held.buffer.addr) {
            released.push(held.buffer);
        }
    }

    /// Validates `bytes` into the spare cell and, only if valid, makes them the active rule
    /// set; the rule set they replace becomes the last-known-good, and the previous
    /// last-known-good is released.
    ///
    /// Refused: the error says why; the active rule set and the last-known-good are untouched
    /// and the slot keeps no reference to `bytes`. Updates, rollbacks and clears are serialised
    /// among themselves; evaluations go on during all of them.
    pub fn update(&self, bytes: &'a [u8]) -> Result<UpdateOutcome, LoadError> {
        let mut roles = self.roles.write();
        let Roles {
            active,
            last_known_good,
            spare,
        } = *roles;
        let loaded = {
            let mut cell = self.cell(spare.cell).write();
            let cell = &mut *cell;
            let loaded = cell
                .rules
                .load_into(bytes, &self.sensor)
                .map(|()| cell.rules.header().content_version);
            cell.loaded = loaded.is_ok();
            loaded
        };
        let version = loaded.inspect_err(|error| {
            self.stats.updates_rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!("content update refused: {error:?}");
        })?;
        let incoming = Place {
            cell: spare.cell,
            held: Some(Held {
                buffer: Buffer::of(bytes),
                version,
            }),
        };
        self.active.store(spare.cell.index(), Ordering::Release);
        let mut released = Released::NONE;
        if active.held.is_some() {
            *roles = Roles {
                active: incoming,
                last_known_good: active,
                spare: last_known_good.emptied(),
            };
            self.release(last_known_good, &roles, &mut released);
        } else {
            // Nothing was active (a new or cleared slot): nothing becomes last-known-good.
            *roles = Roles {
                active: incoming,
                last_known_good,
                spare: active,
            };
        }
        self.stats.updates_accepted.fetch_add(1, Ordering::Relaxed);
        Ok(UpdateOutcome {
            version,
            replaced: active.held.map(|h| h.version),
            released,
        })
    }

    /// Makes the last-known-good rule set active again and releases the one it replaces;
    /// `None`, and nothing changes, when there is no last-known-good.
    pub fn roll_back(&self) -> Option<RollBackOutcome> {
        let mut roles = self.roles.write();
        let Roles {
            active,
            last_known_good,
            spare,
        } = *roles;
        let restored = last_known_good.held?;
        self.active
            .store(last_known_good.cell.index(), Ordering::Release);
        *roles = Roles {
            active: last_known_good,
            last_known_good: spare,
            spare: active.emptied(),
        };
        let mut released = Released::NONE;
        self.release(active, &roles, &mut released);
        Some(RollBackOutcome {
            version: restored.version,
            replaced: active.held.map(|h| h.version),
            released,
        })
    }

    /// Drops the active rule set and the last-known-good (content deleted) and releases their
    /// buffers; the slot evaluates nothing until the next update.
    pub fn clear(&self) -> Released {
        let mut roles = self.roles.write();
        let Roles {
            active,
            last_known_good,
            spare,
        } = *roles;
        self.active.store(NO_CELL, Ordering::Release);
        *roles = Roles {
            active: active.emptied(),
            last_known_good: last_known_good.emptied(),
            spare,
        };
        let mut released = Released::NONE;
        self.release(active, &roles, &mut released);
        self.release(last_known_good, &roles, &mut released);
        released
    }

    /// Runs `f` on the active rule set under its read lock; `None` when no content is active.
    ///
    /// Never waits for a writer: a writer locks only cells that are not active, so a reader is
    /// turned away from a cell only when the cell stopped being active after the reader read
    /// the index (then it reads the index again), or when the cell's reader count is full
    /// (then it retries until a reader leaves).
    pub fn with_active<R>(&self, f: impl FnOnce(Option<&RuleSet<'a>>) -> R) -> R {
        loop {
            let Some(id) = CellId::from_index(self.active.load(Ordering::Acquire)) else {
                return f(None);
            };
            if let Ok(cell) = self.cell(id).try_read() {
                if cell.loaded {
                    return f(Some(&cell.rules));
                }
                // Emptied after the index was read: the index has moved on.
            }
            spin_loop();
        }
    }

    /// Evaluates one event against the active rule set; `None` when no content is active.
    pub fn evaluate(&self, inputs: &[Value<'_>], sink: &mut impl MatchSink) -> Option<SlotVerdict> {
        let evaluated = self.with_active(|rules| {
            rules.map(|r| SlotVerdict {
                content_version: r.header().content_version,
                verdict: r.evaluate(inputs, sink),
            })
        });
        match &evaluated {
            Some(v) => self.record(&v.verdict),
            None => {
                self.stats
                    .events_without_content
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        evaluated
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
