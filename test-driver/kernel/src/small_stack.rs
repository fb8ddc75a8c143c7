//! The `windows-stack` scenario: a driver's whole use of the slot on a stack the size of a
//! Windows x64 kernel thread's (KERNEL_STACK_SIZE, 24 KiB) with an unmapped guard page below it.
//!
//! Every call runs on the 24 KiB stack: init, an accepted update, evaluations, the refused
//! 19 July 04:09 update, the 05:27 update, a rollback, clear and destroy. Before each call the
//! 24 KiB are painted, and afterwards the deepest byte written is reported. A call that did not
//! fit would run into the guard page; the page fault cannot be delivered on the exhausted stack,
//! so the CPU would raise a double fault, reported as bugcheck 0x7F with argument 8 as Windows
//! would (UNEXPECTED_KERNEL_MODE_TRAP, EXCEPTION_DOUBLE_FAULT). That is what an update did
//! before the core validated content into place (about 91 KiB of stack).

use core::ffi::c_void;
use core::ptr::addr_of;

use sensor_ffi::{
    status, SensorReleased, SENSOR_STATUS_NOT_FOUND, SENSOR_STATUS_NO_CONTENT,
    SENSOR_STATUS_SUCCESS,
};
use sensor_test_workload::content::{Fixture, APRIL_24, JULY_19_0409, JULY_19_0527};
use sensor_test_workload::event::{Event, Stream};
use sensor_test_workload::scenario::{SUPPLIED, UPDATE_STACK_BUDGET, WINDOWS_KERNEL_STACK};
use sensor_test_workload::slot::Slot;

use crate::println;

extern "C" {
    static __small_stack_top: u8;
}

/// The most stack any one call may use here: half the Windows stack, so that the calls also
/// fit the 12 KiB that some x64 kernel paths have, with room left for the driver's own frames.
pub const CALL_STACK_BUDGET: usize = UPDATE_STACK_BUDGET;

const PATTERN: u64 = 0xA5A5_5A5A_A5A5_5A5A;

fn small_stack() -> (usize, usize) {
    let top = addr_of!(__small_stack_top) as usize;
    (top - WINDOWS_KERNEL_STACK, top)
}

/// Calls `f(arg)` with the stack pointer at the top of the 24 KiB stack; returns the bytes of
/// it that the call used (measured by painting).
fn on_small_stack(f: extern "C" fn(*mut c_void), arg: *mut c_void) -> usize {
    let (bottom, top) = small_stack();
    for at in (bottom..top).step_by(8) {
        // SAFETY: the 24 KiB below `top` are reserved for this scenario, mapped, and unused
        // while we run on the boot stack.
        unsafe { (at as *mut u64).write_volatile(PATTERN) };
    }
    // SAFETY: the region below `top` is reserved for this and used by nothing else; r12
    // (callee-saved, so `f` preserves it) carries the old stack pointer back.
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
    let lowest = (bottom..top)
        .step_by(8)
        // SAFETY: as above; the call has returned.
        .find(|&at| unsafe { (at as *const u64).read_volatile() } != PATTERN)
        .unwrap_or(top);
    top - lowest
}

/// One call of the lifecycle.
#[derive(Clone, Copy)]
enum Step {
    Init,
    Update(&'static Fixture),
    Evaluate,
    RollBack,
    Clear,
    Destroy,
}

/// What the steps share; reached through the `arg` pointer of the call on the small stack.
struct Run {
    memory: *mut c_void,
    size: usize,
    slot: Option<Slot>,
    step: Step,
    /// What the call returned, for the report: status and a number (version, matches).
    status: i32,
    value: u64,
    released: u32,
}

extern "C" fn call(arg: *mut c_void) {
    // SAFETY: `arg` is the `&mut Run` that `run` passes, alive and unaliased for the call.
    let run = unsafe { &mut *arg.cast::<Run>() };
    let none = SensorReleased::NONE;
    match (run.step, &run.slot) {
        (Step::Init, _) => {
            // SAFETY: the caller's slot memory, unused by anything else.
            match unsafe { Slot::init(run.memory, run.size, c"7.11") } {
                Ok(slot) => {
                    run.slot = Some(slot);
                    run.status = SENSOR_STATUS_SUCCESS;
                }
                Err(status) => run.status = status,
            }
        }
        (Step::Update(f), Some(slot)) => {
            let (status, result) = slot.update(f.bytes());
            (run.status, run.value) = (status, result.version);
            run.released = result.released.count;
        }
        (Step::Evaluate, Some(slot)) => {
            let mut stream = Stream::new(0x24);
            let mut event = Event::default();
            let mut matched = 0u64;
            run.status = SENSOR_STATUS_SUCCESS;
            for _ in 0..100 {
                stream.fill(&mut event);
                let values = event.values();
                let eval = slot.evaluate(&values[..SUPPLIED]);
                if eval.status != SENSOR_STATUS_SUCCESS {
                    run.status = eval.status;
                }
                matched += u64::from(eval.verdict.matched);
            }
            run.value = matched;
        }
        (Step::RollBack, Some(slot)) => {
            let (status, version, released) = slot.roll_back();
            (run.status, run.value, run.released) = (status, version, released.count);
        }
        (Step::Clear, Some(slot)) => {
            let (status, released) = slot.clear();
            (run.status, run.released) = (status, released.count);
        }
        (Step::Destroy, _) => {
            let (status, released) = match run.slot.take() {
                Some(slot) => slot.destroy(),
                None => (SENSOR_STATUS_NOT_FOUND, none),
            };
            (run.status, run.released) = (status, released.count);
        }
        (_, None) => run.status = SENSOR_STATUS_NOT_FOUND,
    }
}

/// A call and what it must return: step, name, status, value and released count (`None`: not
/// checked; an evaluation with content must match something).
type Expected = (Step, &'static str, i32, Option<u64>, Option<u32>);

/// Runs the scenario; returns whether every call fitted and did what it must.
pub fn run(memory: *mut c_void, size: usize) -> bool {
    let (bottom, top) = small_stack();
    println!(
        "scenario windows-stack: 24 KiB stack at {bottom:#x}..{top:#x}, guard page at {:#x}",
        crate::paging::small_guard_page()
    );
    let mut run = Run {
        memory,
        size,
        slot: None,
        step: Step::Init,
        status: 0,
        value: 0,
        released: 0,
    };
    let refused = status::content_refused(sensor_ffi::error::kind::FIELD_NOT_SUPPLIED);
    let steps: [Expected; 12] = [
        (
            Step::Init,
            "sensor_slot_init",
            SENSOR_STATUS_SUCCESS,
            None,
            None,
        ),
        (
            Step::Evaluate,
            "evaluate, no content",
            SENSOR_STATUS_NO_CONTENT,
            Some(0),
            None,
        ),
        (
            Step::Update(&APRIL_24),
            "update C-00000291-2024-04-24",
            SENSOR_STATUS_SUCCESS,
            Some(2024042400),
            Some(0),
        ),
        (
            Step::Evaluate,
            "evaluate",
            SENSOR_STATUS_SUCCESS,
            None,
            None,
        ),
        (
            Step::Update(&JULY_19_0409),
            "update C-00000291-2024-07-19-0409",
            refused,
            Some(0),
            Some(0),
        ),
        (
            Step::Update(&JULY_19_0527),
            "update C-00000291-2024-07-19-0527",
            SENSOR_STATUS_SUCCESS,
            Some(2024071905),
            Some(0),
        ),
        (
            Step::Evaluate,
            "evaluate",
            SENSOR_STATUS_SUCCESS,
            None,
            None,
        ),
        (
            Step::RollBack,
            "roll back",
            SENSOR_STATUS_SUCCESS,
            Some(2024042400),
            Some(1),
        ),
        (
            Step::Evaluate,
            "evaluate",
            SENSOR_STATUS_SUCCESS,
            None,
            None,
        ),
        (Step::Clear, "clear", SENSOR_STATUS_SUCCESS, None, Some(1)),
        (
            Step::Update(&JULY_19_0527),
            "update C-00000291-2024-07-19-0527",
            SENSOR_STATUS_SUCCESS,
            Some(2024071905),
            Some(0),
        ),
        (
            Step::Destroy,
            "sensor_slot_destroy",
            SENSOR_STATUS_SUCCESS,
            None,
            Some(1),
        ),
    ];
    let mut deepest = 0;
    let mut ok = true;
    for (step, name, status, value, released) in steps {
        (run.step, run.status, run.value, run.released) = (step, 0, 0, 0);
        let used = on_small_stack(call, core::ptr::addr_of_mut!(run).cast());
        deepest = deepest.max(used);
        let evaluated = matches!(step, Step::Evaluate) && status == SENSOR_STATUS_SUCCESS;
        let good = run.status == status
            && value.is_none_or(|v| v == run.value)
            && (!evaluated || run.value > 0)
            && released.is_none_or(|r| r == run.released)
            && used <= CALL_STACK_BUDGET;
        println!(
            "{name} on the 24 KiB stack: status {:#010x} value {} released {}, {used} bytes of stack{}",
            run.status.cast_unsigned(),
            run.value,
            run.released,
            if good { "" } else { ": UNEXPECTED" }
        );
        if evaluated && good {
            println!(
                "evaluate: 100 events on a 24 KiB stack: ok ({} matches)",
                run.value
            );
        }
        ok &= good;
    }
    println!(
        "deepest call: {deepest} bytes of the 24 KiB stack (budget per call {CALL_STACK_BUDGET})"
    );
    ok
}
