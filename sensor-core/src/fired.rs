//! The slots one event fired: a short sorted list of rule-index slots, on the stack.
//!
//! The automata report slots (a DFA's patterns, a dictionary's keys) while they scan an event's
//! fields; this list keeps each distinct one once, so the interpreter can look a predicate's
//! slots up and the rule index can walk the rules listed under them. It holds at most
//! [`MAX_FIRED`] slots: an automaton that would add one more is marked *overfull* instead, and
//! the interpreter then answers that automaton's predicates without the list (see
//! [`crate::eval`]). It never allocates.

use crate::limits::{MAX_AUTOMATA, MAX_FIRED};

/// Distinct pattern slots fired by one event, in increasing order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fired {
    slots: [u32; MAX_FIRED],
    len: usize,
    overfull: u32,
    scanned: u32,
}

const _: () = assert!(MAX_AUTOMATA <= u32::BITS as usize);

impl Fired {
    /// An empty list, for an event on which the automata of `scanned` (by bit) are about to scan.
    pub(crate) fn new(scanned: u32) -> Self {
        Self {
            slots: [0; MAX_FIRED],
            len: 0,
            overfull: 0,
            scanned,
        }
    }

    /// The slots held, in increasing order.
    pub(crate) fn slots(&self) -> &[u32] {
        self.slots.get(..self.len).unwrap_or_default()
    }

    /// Adds `slot`; returns `false` when it is new and the list is full.
    pub(crate) fn insert(&mut self, slot: u32) -> bool {
        let at = match self.slots().binary_search(&slot) {
            Ok(_) => return true,
            Err(at) => at,
        };
        if self.len >= MAX_FIRED {
            return false;
        }
        let moved = self.len.saturating_sub(at).saturating_add(1);
        let mut carry = slot;
        for cell in self.slots.iter_mut().skip(at).take(moved) {
            core::mem::swap(cell, &mut carry);
        }
        self.len = self.len.saturating_add(1);
        true
    }

    /// Whether `slot` fired.
    pub(crate) fn contains(&self, slot: u32) -> bool {
        self.slots().binary_search(&slot).is_ok()
    }

    /// Marks automaton `index` as having fired more patterns than the list holds.
    pub(crate) fn mark_overfull(&mut self, index: usize) {
        self.overfull |= bit(index).unwrap_or(0);
    }

    /// Whether automaton `index` is overfull: its patterns cannot be looked up here.
    pub(crate) fn is_overfull(&self, index: usize) -> bool {
        bit(index).is_none_or(|bit| self.overfull & bit != 0)
    }

    /// Whether any automaton is overfull.
    pub(crate) fn any_overfull(&self) -> bool {
        self.overfull != 0
    }

    /// Marks the automata of `mask` as having scanned the event.
    pub(crate) fn mark_scanned(&mut self, mask: u32) {
        self.scanned |= mask;
    }

    /// Whether automaton `index` has scanned the event. An index past the mask counts as
    /// scanned and, by [`Fired::is_overfull`], overfull: nothing waits on it or trusts it.
    pub(crate) fn is_scanned(&self, index: usize) -> bool {
        bit(index).is_none_or(|bit| self.scanned & bit != 0)
    }
}

/// Automaton `index`'s bit in a mask, if it has one.
pub(crate) fn bit(index: usize) -> Option<u32> {
    1u32.checked_shl(u32::try_from(index).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_distinct_slots_sorted_until_full() {
        let mut f = Fired::new(0);
        for slot in [9, 3, 9, 1, 3] {
            assert!(f.insert(slot));
        }
        assert_eq!(f.slots(), &[1, 3, 9]);
        assert!(f.contains(3) && !f.contains(4));
        for slot in 100..100 + (MAX_FIRED as u32 - 3) {
            assert!(f.insert(slot));
        }
        assert_eq!(f.slots().len(), MAX_FIRED);
        assert!(f.insert(9), "a slot already held still fits");
        assert!(!f.insert(2), "a new slot does not");
        assert!(f.slots().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn overfull_marks_are_per_automaton() {
        let mut f = Fired::new(0);
        assert!(!f.any_overfull());
        f.mark_overfull(5);
        assert!(f.is_overfull(5) && !f.is_overfull(4) && f.any_overfull());
        assert!(f.is_overfull(40), "an index past the mask is never trusted");
    }

    #[test]
    fn scanned_marks_are_per_automaton() {
        let mut f = Fired::new(0);
        assert!(!f.is_scanned(2));
        f.mark_scanned(0b100);
        assert!(f.is_scanned(2) && !f.is_scanned(3) && !f.any_overfull());
        assert!(Fired::new(0b1000).is_scanned(3));
        assert!(
            f.is_scanned(40),
            "an index past the mask is never waited on"
        );
    }
}
