//! Which content buffers a slot may still read, so the embedder learns when it may free one.
//!
//! `sensor_core::ContentSlot` borrows content and documents how it keeps it: two rule-set
//! cells and the index of the active one (an update writes the inactive cell, then flips the
//! index), plus the rule set the last update replaced, kept as last-known-good for rollback.
//! The ledger mirrors exactly those three places with the buffer each one holds, operation by
//! operation, under the same serialisation (the FFI's own lock is held across each slot
//! operation). A buffer is released when none of the three holds it any more. Every place a
//! buffer leaves has had its write lock taken by the core (a writer waits for the readers inside
//! a cell before it overwrites it), so once the operation returns no evaluation can still be
//! reading a released buffer.
//!
//! The test `tests/ledger.rs` drives random update / rollback / clear sequences, overwrites
//! every buffer as soon as the ledger releases it, and checks each evaluation against a fresh
//! load of the content that should be active: if the core kept a buffer longer than the ledger
//! thinks, that test reads the overwritten bytes and fails.

/// A content buffer, by address and length (kept as integers: the ledger never dereferences).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Address of the first byte, as the embedder passed it.
    pub addr: usize,
    /// Length in bytes.
    pub len: usize,
}

/// Buffers a single operation released; at most three (every place the slot has).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Released {
    items: [Option<Buffer>; 3],
}

impl Released {
    fn push(&mut self, buffer: Buffer) {
        if self.contains(buffer.addr) {
            return;
        }
        if let Some(free) = self.items.iter_mut().find(|i| i.is_none()) {
            *free = Some(buffer);
        }
    }

    fn contains(&self, addr: usize) -> bool {
        self.items.iter().flatten().any(|b| b.addr == addr)
    }

    /// The released buffers.
    pub fn iter(&self) -> impl Iterator<Item = Buffer> + '_ {
        self.items.iter().flatten().copied()
    }
}

/// The mirror of one slot's three places.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    cells: [Option<Buffer>; 2],
    active: usize,
    last_known_good: Option<Buffer>,
}

impl Ledger {
    /// The ledger of an empty slot.
    pub const fn new() -> Self {
        Self {
            cells: [None, None],
            active: 0,
            last_known_good: None,
        }
    }

    fn holds(&self, addr: usize) -> bool {
        self.cells
            .iter()
            .chain(core::iter::once(&self.last_known_good))
            .flatten()
            .any(|b| b.addr == addr)
    }

    fn cell_mut(&mut self, index: usize) -> Option<&mut Option<Buffer>> {
        self.cells.get_mut(index & 1)
    }

    fn cell(&self, index: usize) -> Option<Buffer> {
        self.cells.get(index & 1).copied().flatten()
    }

    /// `next` goes into the inactive cell, which becomes active; returns the previous active
    /// buffer and the one the inactive cell held.
    fn install(&mut self, next: Option<Buffer>) -> (Option<Buffer>, Option<Buffer>) {
        let previous = self.cell(self.active);
        let inactive = self.active ^ 1;
        let displaced = self
            .cell_mut(inactive)
            .and_then(|c| core::mem::replace(c, next));
        self.active = inactive;
        (previous, displaced)
    }

    fn release(&self, candidates: impl IntoIterator<Item = Option<Buffer>>) -> Released {
        let mut released = Released::default();
        for buffer in candidates.into_iter().flatten() {
            if !self.holds(buffer.addr) {
                released.push(buffer);
            }
        }
        released
    }

    /// The slot accepted `buffer` (`ContentSlot::update` returned `Ok`).
    pub fn accepted(&mut self, buffer: Buffer) -> Released {
        let (previous, displaced) = self.install(Some(buffer));
        let mut dropped_last_known_good = None;
        if previous.is_some() {
            dropped_last_known_good = core::mem::replace(&mut self.last_known_good, previous);
        }
        self.release([displaced, dropped_last_known_good])
    }

    /// The slot rolled back (`ContentSlot::roll_back` returned `Some`). Returns `None`, and
    /// changes nothing, when there was no last-known-good.
    pub fn rolled_back(&mut self) -> Option<Released> {
        let last_known_good = self.last_known_good.take()?;
        let (previous, displaced) = self.install(Some(last_known_good));
        Some(self.release([previous, displaced]))
    }

    /// The slot was cleared (`ContentSlot::clear`).
    pub fn cleared(&mut self) -> Released {
        let (previous, displaced) = self.install(None);
        let last_known_good = self.last_known_good.take();
        self.release([previous, displaced, last_known_good])
    }

    /// Every buffer the slot may read: what destroying the slot releases.
    pub fn retained(&self) -> Released {
        Ledger::new().release([self.cells[0], self.cells[1], self.last_known_good])
    }

    /// The buffer of the active rule set, if any.
    pub fn active(&self) -> Option<Buffer> {
        self.cell(self.active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(addr: usize) -> Buffer {
        Buffer { addr, len: 8 }
    }

    fn addrs(r: Released) -> std::vec::Vec<usize> {
        let mut v: std::vec::Vec<usize> = r.iter().map(|b| b.addr).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn a_buffer_is_released_by_the_second_update_after_it() {
        let mut l = Ledger::new();
        assert!(addrs(l.accepted(b(1))).is_empty());
        assert!(addrs(l.accepted(b(2))).is_empty(), "1 is last-known-good");
        assert_eq!(addrs(l.accepted(b(3))), [1]);
        assert_eq!(addrs(l.accepted(b(4))), [2]);
        assert_eq!(addrs(l.retained()), [3, 4]);
    }

    #[test]
    fn rollback_releases_nothing_it_reinstalls_and_the_replaced_buffer_stays_until_overwritten() {
        let mut l = Ledger::new();
        l.accepted(b(1));
        l.accepted(b(2));
        // Cells [2, 1], last-known-good 1; rollback writes 1 into the inactive cell (it held 1).
        assert!(addrs(l.rolled_back().unwrap()).is_empty());
        assert_eq!(l.active(), Some(b(1)));
        // 2 is no longer active nor last-known-good, but still sits in a cell.
        assert_eq!(addrs(l.retained()), [1, 2]);
        assert!(l.rolled_back().is_none());
        assert_eq!(addrs(l.accepted(b(3))), [2]);
        assert_eq!(addrs(l.retained()), [1, 3]);
    }

    #[test]
    fn clear_releases_all_but_the_buffer_left_in_the_previously_active_cell() {
        let mut l = Ledger::new();
        l.accepted(b(1));
        l.accepted(b(2));
        l.accepted(b(3));
        // Cells [2, 3], active 1, last-known-good 2. Clear writes nothing into cell 0 (which
        // held 2), drops the last-known-good (2 again) and leaves 3 in the cell it was active in.
        assert!(addrs(l.cleared()).contains(&2));
        assert_eq!(addrs(l.retained()), [3]);
        assert_eq!(l.active(), None);
        assert_eq!(addrs(l.accepted(b(4))), [3]);
        assert_eq!(addrs(l.retained()), [4]);
    }

    #[test]
    fn the_same_buffer_twice_is_released_once_and_only_when_no_place_holds_it() {
        let mut l = Ledger::new();
        l.accepted(b(1));
        l.accepted(b(1));
        assert_eq!(addrs(l.retained()), [1]);
        assert!(addrs(l.accepted(b(2))).is_empty());
        assert_eq!(addrs(l.accepted(b(3))), [1]);
    }
}
