//! A counting global allocator, so `sensor-host bench` can show that evaluation does not
//! allocate and that `scan` keeps its heap flat.
//!
//! It forwards to the system allocator and counts, per thread, every `alloc`, `alloc_zeroed`
//! and `realloc` (a heap operation on the event path whichever it is); across threads it keeps
//! the live heap bytes and their high-water mark. It counts only where it is installed: the
//! `sensor-host` binary installs it with
//!
//! ```ignore
//! #[global_allocator] static ALLOC: sensor_host::bench::alloc::CountingAlloc = sensor_host::bench::alloc::CountingAlloc;
//! ```
//!
//! the criterion-style bench (`benches/evaluate.rs`) and this crate's unit tests install their
//! own. Where it is not installed, [`installed`] is false and the bench reports allocations as
//! unknown rather than zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The counting allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

thread_local! {
    // `const`-initialised and without a destructor, so the allocator may touch it at any time.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn count(grown: usize) {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get().wrapping_add(1)));
    let live = LIVE.fetch_add(grown, Relaxed).wrapping_add(grown);
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counting
// around it touches only atomics and a `const` thread-local `Cell`, and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            count(new_size);
        }
        p
    }
}

/// Heap operations (`alloc`, `alloc_zeroed`, `realloc`) made by the calling thread so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

/// Heap bytes allocated and not yet freed, all threads together.
pub fn live_bytes() -> usize {
    LIVE.load(Relaxed)
}

/// The most live heap bytes since the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Relaxed)
}

/// Restarts the high-water mark at the current live bytes.
pub fn reset_peak() {
    PEAK.store(live_bytes(), Relaxed);
}

/// Whether [`CountingAlloc`] is the global allocator of this program: allocates once and looks.
pub fn installed() -> bool {
    let before = allocations();
    std::hint::black_box(vec![0u8; 32]);
    allocations() != before
}

/// Runs `f` and returns its result with the allocations it made on this thread.
pub fn counting<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = allocations();
    let r = f();
    (r, allocations().wrapping_sub(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The crate's unit-test binary counts, so the harness's own tests can check for zero.
    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc;

    #[test]
    fn counts_this_threads_allocations() {
        assert!(installed());
        let ((), n) = counting(|| {
            let mut v: Vec<u64> = Vec::with_capacity(4);
            v.extend(0..100);
            std::hint::black_box(&v);
        });
        assert!(n >= 2, "one alloc and at least one realloc, counted {n}");
        let ((), none) = counting(|| {
            std::hint::black_box([0u8; 64]);
        });
        assert_eq!(none, 0);
    }

    #[test]
    fn peak_sees_a_large_block() {
        reset_peak();
        let big = std::hint::black_box(vec![1u8; 64 << 20]);
        drop(big);
        assert!(peak_bytes() >= 64 << 20, "peak {}", peak_bytes());
        assert!(live_bytes() < peak_bytes());
    }
}
