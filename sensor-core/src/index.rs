//! The rule index: which rules an event can make match, from the slots it fired.
//!
//! The triggers section lists, under each *slot* (what an automaton reports: a DFA's pattern, a
//! dictionary's key), the rules that cannot match unless that slot fired, plus the
//! *unindexed* rules that run on every event. This module checks the section's shape at load
//! and, per event, walks the lists of the fired slots and the unindexed list together in rule
//! order, each rule once. Whether skipping the other rules is exact is checked by
//! [`crate::validate`] (every indexed rule's program, in three-valued logic); this module never
//! evaluates a rule.

use crate::channel::{ChannelFile, TRIGGERS_HEADER, TRIGGER_WORD};
use crate::error::{LoadError, Section};
use crate::fired::Fired;
use crate::limits::MAX_FIRED;

/// The validated shape of a triggers section: where its three lists start, in words after its
/// header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RuleIndex {
    unindexed: usize,
    slots: usize,
    entries: usize,
}

/// A run of words still to read in one list of the walk.
#[derive(Clone, Copy, Default)]
struct Cursor {
    at: u32,
    end: u32,
}

impl RuleIndex {
    /// Checks the triggers section for a file whose automata report `patterns` slots in all
    /// and which has `rules` rules. `None`: the section is empty, every rule runs.
    pub(crate) fn load(
        file: &ChannelFile<'_>,
        patterns: usize,
        rules: usize,
    ) -> Result<Option<Self>, LoadError> {
        let words = file.count(Section::Triggers);
        if words == 0 {
            return Ok(None);
        }
        let offset = file.section_offset(Section::Triggers);
        let length = LoadError::TriggersLength {
            offset,
            len: words.saturating_mul(TRIGGER_WORD),
            expected: TRIGGERS_HEADER,
        };
        let header = file.triggers_header().ok_or(length)?;
        if header.reserved != 0 {
            return Err(LoadError::ReservedNotZero {
                offset: offset.saturating_add(12),
            });
        }
        let usize_of = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        let index = Self {
            unindexed: usize_of(header.unindexed),
            slots: usize_of(header.slots),
            entries: usize_of(header.entries),
        };
        if index.slots != patterns {
            return Err(LoadError::TriggersSlots {
                offset: offset.saturating_add(4),
                declared: header.slots,
                patterns,
            });
        }
        let expected = index
            .words_after_header()
            .and_then(|w| w.checked_mul(TRIGGER_WORD)?.checked_add(TRIGGERS_HEADER));
        let len = file
            .trigger_words()
            .saturating_mul(TRIGGER_WORD)
            .saturating_add(TRIGGERS_HEADER);
        if expected != Some(len) {
            return Err(LoadError::TriggersLength {
                offset,
                len,
                expected: expected.unwrap_or(usize::MAX),
            });
        }
        index.check_lists(file, rules)?;
        Ok(Some(index))
    }

    fn words_after_header(&self) -> Option<usize> {
        self.unindexed
            .checked_add(self.slots)?
            .checked_add(1)?
            .checked_add(self.entries)
    }

    fn starts(&self) -> usize {
        self.unindexed
    }

    fn first_entry(&self) -> usize {
        self.unindexed.saturating_add(self.slots).saturating_add(1)
    }

    /// Every list in order and in range; slot starts running from 0 to the entry count.
    fn check_lists(&self, file: &ChannelFile<'_>, rules: usize) -> Result<(), LoadError> {
        increasing(file, 0, self.unindexed, rules)?;
        let mut previous = 0usize;
        for slot in 0..=self.slots {
            let at = self.starts().saturating_add(slot);
            let start = word(file, at).map_or(usize::MAX, |w| w);
            let last = slot == self.slots;
            let fits = start >= previous
                && start <= self.entries
                && (slot != 0 || start == 0)
                && (!last || start == self.entries);
            if !fits {
                return Err(entry_error(file, at));
            }
            if slot != 0 {
                let first = self.first_entry();
                increasing(
                    file,
                    first.saturating_add(previous),
                    first.saturating_add(start),
                    rules,
                )?;
            }
            previous = start;
        }
        Ok(())
    }

    /// Whether `rule` runs on every event.
    pub(crate) fn is_unindexed(&self, file: &ChannelFile<'_>, rule: usize) -> bool {
        search(file, 0, self.unindexed, rule)
    }

    /// Whether `rule` is listed under `slot`.
    pub(crate) fn lists(&self, file: &ChannelFile<'_>, slot: usize, rule: usize) -> bool {
        match self.slot_range(file, slot) {
            Some(range) => search(file, range.at as usize, range.end as usize, rule),
            None => false,
        }
    }

    fn slot_range(&self, file: &ChannelFile<'_>, slot: usize) -> Option<Cursor> {
        if slot >= self.slots {
            return None;
        }
        let at = self.starts().checked_add(slot)?;
        let first = self.first_entry();
        let start = first.checked_add(word(file, at)?)?;
        let end = first.checked_add(word(file, at.checked_add(1)?)?)?;
        Some(Cursor {
            at: u32::try_from(start).ok()?,
            end: u32::try_from(end).ok()?,
        })
    }

    /// Whether the slots `first..first + count` (one automaton's) list no rule at all: the index
    /// never needs to know whether they fired.
    pub(crate) fn lists_none(&self, file: &ChannelFile<'_>, first: usize, count: usize) -> bool {
        let start = |slot: usize| {
            self.starts()
                .checked_add(slot)
                .and_then(|at| word(file, at))
        };
        let end = first.checked_add(count).filter(|&end| end <= self.slots);
        match end {
            Some(end) => start(first).is_some_and(|s| Some(s) == start(end)),
            None => false,
        }
    }

    /// Calls `visit(rule, entries, fired)` for every unindexed rule and every rule listed under
    /// a slot of `fired`, in increasing rule order, each once; `entries` is how many list entries
    /// named it, for the work meter. The lists are those of the slots fired when the walk
    /// starts; `visit` may add slots (of lazy automata, under which nothing is listed).
    pub(crate) fn walk(
        &self,
        file: &ChannelFile<'_>,
        fired: &mut Fired,
        mut visit: impl FnMut(usize, usize, &mut Fired),
    ) {
        let mut cursors = [Cursor::default(); MAX_FIRED + 1];
        let mut used = 0usize;
        let lists = core::iter::once(Cursor {
            at: 0,
            end: u32::try_from(self.unindexed).unwrap_or(0),
        })
        .chain(
            fired
                .slots()
                .iter()
                .filter_map(|&slot| self.slot_range(file, usize::try_from(slot).ok()?)),
        );
        for (cursor, list) in cursors.iter_mut().zip(lists) {
            *cursor = list;
            used = used.saturating_add(1);
        }
        let cursors = cursors.get_mut(..used).unwrap_or_default();
        while let Some(rule) = next_rule(file, cursors) {
            let mut entries = 0usize;
            for cursor in cursors.iter_mut() {
                if cursor.at < cursor.end && word(file, cursor.at as usize) == Some(rule) {
                    cursor.at = cursor.at.saturating_add(1);
                    entries = entries.saturating_add(1);
                }
            }
            visit(rule, entries, fired);
        }
    }
}

/// The least rule at the head of any cursor; a cursor whose word cannot be read is closed.
fn next_rule(file: &ChannelFile<'_>, cursors: &mut [Cursor]) -> Option<usize> {
    let mut least: Option<usize> = None;
    for cursor in cursors.iter_mut() {
        if cursor.at >= cursor.end {
            continue;
        }
        match word(file, cursor.at as usize) {
            Some(rule) => least = Some(least.map_or(rule, |l| l.min(rule))),
            None => cursor.at = cursor.end,
        }
    }
    least
}

fn word(file: &ChannelFile<'_>, at: usize) -> Option<usize> {
    file.trigger_word(at).and_then(|w| usize::try_from(w).ok())
}

fn entry_error(file: &ChannelFile<'_>, at: usize) -> LoadError {
    LoadError::TriggerEntry {
        offset: file
            .section_offset(Section::Triggers)
            .saturating_add(TRIGGERS_HEADER)
            .saturating_add(at.saturating_mul(TRIGGER_WORD)),
        value: file.trigger_word(at).unwrap_or(0),
    }
}

/// Words `start..end` are rule indices below `rules`, strictly increasing.
fn increasing(
    file: &ChannelFile<'_>,
    start: usize,
    end: usize,
    rules: usize,
) -> Result<(), LoadError> {
    let mut previous: Option<usize> = None;
    for at in start..end {
        match word(file, at) {
            Some(rule) if rule < rules && previous.is_none_or(|p| p < rule) => {
                previous = Some(rule);
            }
            _ => return Err(entry_error(file, at)),
        }
    }
    Ok(())
}

/// Whether the increasing words `start..end` hold `rule`.
fn search(file: &ChannelFile<'_>, start: usize, end: usize, rule: usize) -> bool {
    let (mut low, mut high) = (start, end);
    while low < high {
        let mid = low.saturating_add(high.saturating_sub(low) / 2);
        match word(file, mid) {
            Some(w) if w == rule => return true,
            Some(w) if w < rule => low = mid.saturating_add(1),
            Some(_) => high = mid,
            None => return false,
        }
    }
    false
}
