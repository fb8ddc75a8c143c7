//! A reader-writer cell on one atomic word, for `sensor-core`'s content slot.
//!
//! `sensor-core` forbids `unsafe`, and a lock that hands out references to the value it guards
//! cannot be written without it, so the lock lives here, in a crate of its own that holds
//! nothing else. It replaces `spin::RwLock`, whose reader registration panics when the reader
//! count would overflow: a panic the optimizer cannot remove, which the core's link-time
//! panic check (`proof/no-panic/check.sh --slot`) reported. Here the reader count is checked
//! before it is raised, so a reader that cannot register is refused and nothing can panic.
//!
//! The state is one `AtomicUsize`: bit 0 is the writer bit, the rest counts readers in units of
//! [`READER`]. The policy is the one the content slot needs:
//!
//! - a reader never waits: [`RwCell::try_read`] registers with a compare-and-swap or is refused
//!   at once (a writer holds or waits for the cell, or [`MAX_READERS`] readers are inside);
//! - a writer ([`RwCell::write`]) claims the writer bit, which turns every later reader away,
//!   then waits only for the readers already inside to leave. It never waits for readers that
//!   arrive after it, so a stream of readers cannot starve it.
//!
//! Spinning is all the waiting there is (`core::hint::spin_loop`): the caller decides at which
//! priority a writer may spin (in a Windows driver, `PASSIVE_LEVEL`; see `docs/embedding.md`).
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

#[cfg(test)]
extern crate std;

use core::cell::UnsafeCell;
use core::fmt;
use core::hint::spin_loop;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The writer bit of the state word.
const WRITER: usize = 1;
/// One reader, in the state word.
pub const READER: usize = 2;
/// Most readers a cell admits at once; the next is refused with [`ReadRefused::Full`]. A
/// quarter of the address space: unreachable by real threads, and far enough from overflow
/// that the count can never wrap.
pub const MAX_READERS: usize = usize::MAX / 4;
/// The state word with [`MAX_READERS`] readers inside.
const FULL: usize = MAX_READERS * READER;

/// Why [`RwCell::try_read`] refused a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadRefused {
    /// A writer holds the cell or is waiting for the readers inside it.
    Writer,
    /// [`MAX_READERS`] readers are inside.
    Full,
}

/// A value shared by readers and replaced by one writer at a time.
pub struct RwCell<T> {
    state: AtomicUsize,
    value: UnsafeCell<T>,
}

// SAFETY: the cell hands out `&T` to several threads at once (so `T: Sync`) and `&mut T` to one
// thread at a time, possibly another than the one that made it (so `T: Send`); the state word
// guarantees that the two never overlap (see `try_read` and `write`). The same bounds as
// `std::sync::RwLock`.
unsafe impl<T: Send + Sync> Sync for RwCell<T> {}

impl<T> RwCell<T> {
    /// A cell holding `value`, with no reader and no writer.
    pub const fn new(value: T) -> Self {
        Self {
            state: AtomicUsize::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Registers a reader, or refuses it without waiting.
    ///
    /// Refused while a writer holds the cell or waits for its readers, and when
    /// [`MAX_READERS`] readers are inside; the count is checked before it is raised, so it
    /// never overflows.
    pub fn try_read(&self) -> Result<ReadGuard<'_, T>, ReadRefused> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & WRITER != 0 {
                return Err(ReadRefused::Writer);
            }
            let next = match state.checked_add(READER) {
                Some(next) if state < FULL => next,
                _ => return Err(ReadRefused::Full),
            };
            // Acquire: pairs with the release of the last writer, whose writes the reader sees.
            match self.state.compare_exchange_weak(
                state,
                next,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(ReadGuard { cell: self }),
                Err(now) => state = now,
            }
        }
    }

    /// Takes the cell for writing: claims the writer bit (waiting for another writer to finish
    /// first), which turns away every reader from then on, then waits for the readers already
    /// inside to leave.
    pub fn write(&self) -> WriteGuard<'_, T> {
        loop {
            if self.state.fetch_or(WRITER, Ordering::Acquire) & WRITER == 0 {
                break;
            }
            while self.state.load(Ordering::Relaxed) & WRITER != 0 {
                spin_loop();
            }
        }
        // No reader can register now; the count only falls. Acquire: pairs with each leaving
        // reader's release, so their reads happen before the writer's writes.
        while self.state.load(Ordering::Acquire) != WRITER {
            spin_loop();
        }
        WriteGuard { cell: self }
    }

    /// The value, through exclusive access to the cell (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Readers inside the cell now (a snapshot, for diagnostics and tests).
    pub fn readers(&self) -> usize {
        (self.state.load(Ordering::Relaxed) & !WRITER) / READER
    }
}

impl<T: Default> Default for RwCell<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> fmt::Debug for RwCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("RwCell")
            .field("writer", &(state & WRITER != 0))
            .field("readers", &self.readers())
            .finish_non_exhaustive()
    }
}

/// Shared access to the value of a [`RwCell`]; the reader leaves when it is dropped.
pub struct ReadGuard<'c, T> {
    cell: &'c RwCell<T>,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard is a registered reader, so no writer holds the cell: a writer
        // takes it only once the reader count is zero, and no reader registers while the
        // writer bit is set. Shared references may coexist.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        // Release: the reader's reads happen before a writer that sees the count fall. The count
        // includes this reader, so it cannot wrap below zero.
        self.cell.state.fetch_sub(READER, Ordering::Release);
    }
}

/// Exclusive access to the value of a [`RwCell`]; the writer leaves when it is dropped.
pub struct WriteGuard<'c, T> {
    cell: &'c RwCell<T>,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the writer bit and the reader count is zero (see `write`):
        // no other reference to the value exists.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only reference through the guard.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        // Release: the writer's writes happen before any reader or writer that takes the cell
        // next. Readers cannot register while the bit is set, so the state is exactly WRITER.
        self.cell.state.fetch_and(!WRITER, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::thread;
    use std::vec::Vec;

    #[test]
    fn readers_share_and_a_writer_excludes_them() {
        let cell = RwCell::new(1u32);
        let a = cell.try_read().unwrap();
        let b = cell.try_read().unwrap();
        assert_eq!((*a, *b, cell.readers()), (1, 1, 2));
        drop((a, b));
        let mut w = cell.write();
        *w = 2;
        assert_eq!(cell.try_read().err(), Some(ReadRefused::Writer));
        drop(w);
        assert_eq!(*cell.try_read().unwrap(), 2);
        assert_eq!(cell.readers(), 0);
    }

    #[test]
    fn a_reader_over_the_limit_is_refused_and_the_count_never_wraps() {
        let cell = RwCell::new(0u8);
        cell.state.store(FULL - READER, Ordering::Relaxed);
        let last = cell.try_read().expect("the last admitted reader");
        assert_eq!(cell.readers(), MAX_READERS);
        assert_eq!(cell.try_read().err(), Some(ReadRefused::Full));
        assert_eq!(
            cell.readers(),
            MAX_READERS,
            "a refused reader leaves no trace"
        );
        drop(last);
        assert!(cell.try_read().is_ok());
        cell.state.store(usize::MAX & !WRITER, Ordering::Relaxed);
        assert_eq!(cell.try_read().err(), Some(ReadRefused::Full));
    }

    #[test]
    fn a_writer_waits_for_the_readers_inside_but_turns_new_ones_away() {
        let cell = RwCell::new(0u64);
        let inside = cell.try_read().unwrap();
        let writing = AtomicBool::new(false);
        thread::scope(|s| {
            let writer = s.spawn(|| {
                let mut w = cell.write();
                writing.store(true, Ordering::SeqCst);
                *w = 7;
            });
            // Wait until the writer has claimed the bit: then a new reader is refused although
            // the reader inside still holds the cell.
            while cell.state.load(Ordering::SeqCst) & WRITER == 0 {
                spin_loop();
            }
            assert_eq!(cell.try_read().err(), Some(ReadRefused::Writer));
            assert!(!writing.load(Ordering::SeqCst), "the writer did not wait");
            assert_eq!(*inside, 0);
            drop(inside);
            writer.join().unwrap();
        });
        assert_eq!(*cell.try_read().unwrap(), 7);
    }

    #[test]
    fn readers_never_see_a_half_written_value() {
        const ROUNDS: u64 = if cfg!(miri) { 20 } else { 20_000 };
        let cell = RwCell::new([0u64; 8]);
        let done = AtomicBool::new(false);
        thread::scope(|s| {
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let mut seen = 0u64;
                        while !done.load(Ordering::Relaxed) {
                            if let Ok(v) = cell.try_read() {
                                assert!(v.iter().all(|&x| x == v[0]), "a mix: {:?}", *v);
                                seen += 1;
                            }
                        }
                        seen
                    })
                })
                .collect();
            let writers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        for _ in 0..ROUNDS {
                            let mut w = cell.write();
                            let next = w[0] + 1;
                            for x in w.iter_mut() {
                                *x = next;
                            }
                        }
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            done.store(true, Ordering::Relaxed);
            for r in readers {
                r.join().unwrap();
            }
        });
        assert_eq!(
            cell.try_read().unwrap()[7],
            2 * ROUNDS,
            "two writers never overlapped"
        );
    }
}
