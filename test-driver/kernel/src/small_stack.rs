//! The `windows-stack` scenario: the calls a driver makes, on a stack the size of a Windows x64
//! kernel thread's (KERNEL_STACK_SIZE, 24 KiB) with an unmapped guard page below it.
//!
//! Evaluation must fit. An update, today, does not (stack painting measures about 91 KiB): it
//! runs into the guard page, the page fault cannot be delivered on the exhausted stack, and the
//! CPU raises a double fault, which the handler reports as bugcheck 0x7F with argument 8, as
//! Windows would (UNEXPECTED_KERNEL_MODE_TRAP, EXCEPTION_DOUBLE_FAULT). `run.sh windows-stack`
//! expects exactly that until the core's update path is made to fit; then the expectation flips.

use core::ffi::c_void;
use core::ptr::addr_of;

use sensor_test_workload::content::{APRIL_24, JULY_19_0527};
use sensor_test_workload::event::{Event, Stream};
use sensor_test_workload::scenario::SUPPLIED;
use sensor_test_workload::slot::Slot;

use crate::println;

extern "C" {
    static __small_stack_top: u8;
}

/// Calls `f(arg)` with the stack pointer at the top of the 24 KiB stack.
fn on_small_stack(f: extern "C" fn(*mut c_void), arg: *mut c_void) {
    let top = addr_of!(__small_stack_top) as usize;
    // SAFETY: the 24 KiB region below `top` is reserved for this and used by nothing else;
    // r12 (callee-saved, so `f` preserves it) carries the old stack pointer back.
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {top}",
            "call {f}",
            "mov rsp, r12",
            top = in(reg) top,
            f = in(reg) f,
            in("rdi") arg,
            out("r12") _,
            clobber_abi("C"),
        );
    }
}

extern "C" fn evaluate_batch(arg: *mut c_void) {
    // SAFETY: `arg` is the `&Slot` passed by `run`, alive for the call.
    let slot = unsafe { &*arg.cast::<Slot>() };
    let mut stream = Stream::new(0x24);
    let mut event = Event::default();
    let mut matched = 0;
    for _ in 0..100 {
        stream.fill(&mut event);
        let values = event.values();
        matched += slot.evaluate(&values[..SUPPLIED]).verdict.matched;
    }
    println!("evaluate: 100 events on a 24 KiB stack: ok ({matched} matches)");
}

extern "C" fn update(arg: *mut c_void) {
    // SAFETY: as above.
    let slot = unsafe { &*arg.cast::<Slot>() };
    let (status, _) = slot.update(JULY_19_0527.bytes());
    println!(
        "update on a 24 KiB stack: returned status {:#010x}",
        status.cast_unsigned()
    );
}

/// Runs the scenario; returns if the update fitted.
pub fn run(memory: *mut c_void, size: usize) -> bool {
    println!(
        "scenario windows-stack: 24 KiB stack, guard page at {:#x}",
        crate::paging::small_guard_page()
    );
    // SAFETY: the caller's slot memory, unused by anything else.
    let Ok(slot) = (unsafe { Slot::init(memory, size, c"7.11") }) else {
        println!("sensor_slot_init failed");
        return false;
    };
    let (status, _) = slot.update(APRIL_24.bytes());
    println!(
        "update (on the 512 KiB boot stack): status {:#010x}",
        status.cast_unsigned()
    );
    let arg = core::ptr::addr_of!(slot).cast_mut().cast::<c_void>();
    on_small_stack(evaluate_batch, arg);
    println!("update of C-00000291-2024-07-19-0527 on the 24 KiB stack:");
    on_small_stack(update, arg);
    true
}
