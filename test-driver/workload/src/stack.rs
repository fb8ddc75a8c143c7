//! Stack painting: fill the unused stack below the current frame with a pattern, run the call,
//! and find the deepest word the call overwrote.
//!
//! Valid where nothing else writes below the stack pointer while the call runs: the bare-metal
//! kernel (interrupts off, no red zone on `x86_64-unknown-none`) and a host thread (signals
//! aside). The figure includes the closure's own small frame and the return address.

const PATTERN: u64 = 0xCDCD_CDCD_CDCD_CDCD;

/// Bytes of stack one call used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackUse {
    /// Deepest byte written, measured from the stack pointer at the call.
    pub bytes: usize,
    /// The call went deeper than the painted region: `bytes` is a lower bound.
    pub saturated: bool,
}

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register; no memory access.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// Runs `f` with `depth` bytes of stack below the current frame painted; returns its result
/// and how much of that stack it used.
///
/// # Safety
///
/// `depth` bytes below the current stack pointer must be stack memory of this thread, mapped
/// and writable, and nothing but `f` may write there while it runs (no interrupt handler on
/// this stack, no signal handler).
#[inline(never)]
pub unsafe fn measure<R>(depth: usize, f: impl FnOnce() -> R) -> (R, StackUse) {
    let sp = stack_pointer() & !7;
    let bottom = sp - depth;
    let mut at = bottom;
    while at < sp {
        // SAFETY: inside [sp - depth, sp), which the caller promises is this thread's unused
        // stack.
        unsafe { (at as *mut u64).write_volatile(PATTERN) };
        at += 8;
    }
    let result = core::hint::black_box(f());
    let mut lowest = sp;
    let mut at = bottom;
    while at < sp {
        // SAFETY: as above.
        if unsafe { (at as *const u64).read_volatile() } != PATTERN {
            lowest = at;
            break;
        }
        at += 8;
    }
    let used = StackUse {
        bytes: sp - lowest,
        saturated: lowest == bottom,
    };
    (result, used)
}
