//! A bare-metal x86_64 test driver for sensor-core, booted by QEMU's PVH loader
//! (`qemu-system-x86_64 -kernel`), with page 0 and the stacks' guard pages unmapped, a
//! page-fault handler that prints a bugcheck-0x50 report and a double-fault handler (on its own
//! stack) that prints a bugcheck-0x7F report. It embeds the core unchanged, through
//! the same C ABI (`sensor-ffi`, with its panic handler) that a Windows driver links.
//!
//! Scenarios, chosen with `-append scenario=NAME`:
//! - `fixed`: the 2024 content history through sensor 7.11; the 19 July file is refused with
//!   the 21-versus-20 reason and evaluation goes on (see `sensor_test_workload::scenario`).
//! - `flawed`: the 2024 interpreter's access pattern (`flawed`), which takes a real page fault
//!   at CR2 = 0x9C.
//! - `windows-stack`: the slot's whole lifecycle (init, updates accepted and refused,
//!   evaluation, rollback, clear, destroy) on a 24 KiB stack with a guard page (`small_stack`).
#![no_std]
#![no_main]

mod boot;
mod clock;
mod exit;
mod flawed;
mod interrupts;
mod paging;
mod pvh;
mod serial;
mod small_stack;

use core::fmt;
use core::ptr::addr_of_mut;

use exit::{exit, Outcome};
use sensor_test_workload::scenario::{self, Platform};

/// Slot memory, as a driver would allocate it from nonpaged pool.
#[repr(C, align(16))]
struct SlotMemory([u8; 64 * 1024]);

static mut SLOT_MEMORY: SlotMemory = SlotMemory([0; 64 * 1024]);

struct Kernel {
    tsc_hz: u64,
}

impl fmt::Write for Kernel {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        serial::Serial.write_str(s)
    }
}

impl Platform for Kernel {
    fn ticks(&mut self) -> u64 {
        clock::tsc()
    }
    fn ticks_per_second(&self) -> u64 {
        self.tsc_hz
    }
    fn can_paint(&self) -> bool {
        // Interrupts are off, no red zone on this target, and the stack is 512 KiB.
        true
    }
}

fn scenario_name(cmdline: &str) -> &str {
    cmdline
        .split_ascii_whitespace()
        .find_map(|w| w.strip_prefix("scenario="))
        .unwrap_or("")
}

#[no_mangle]
extern "C" fn kmain(start_info: u32) -> ! {
    serial::init();
    interrupts::init();
    let holes = paging::init();
    println!(
        "sensor-test-kernel: long mode; unmapped: page 0, the guard pages at {:#x} and {:#x} ({holes} pages)",
        paging::guard_page(),
        paging::small_guard_page()
    );
    let cmdline = pvh::cmdline(start_info);
    let name = scenario_name(cmdline);
    println!("command line: {cmdline:?}");
    match name {
        "fixed" => {
            let tsc_hz = clock::calibrate();
            println!("clock: TSC {tsc_hz} Hz (calibrated against the PIT)");
            if tsc_hz == 0 {
                println!("result: FAIL: the PIT did not count");
                exit(Outcome::Fail);
            }
            let mut kernel = Kernel { tsc_hz };
            // SAFETY: the static slot memory is used by nothing else; 64 KiB, 16-byte aligned.
            let memory = addr_of_mut!(SLOT_MEMORY);
            let result = unsafe { scenario::fixed(&mut kernel, memory.cast(), 64 * 1024) };
            match result {
                Ok(_) => {
                    println!("result: pass");
                    exit(Outcome::Pass);
                }
                Err(failure) => {
                    println!("result: FAIL: {}", failure.0);
                    exit(Outcome::Fail);
                }
            }
        }
        "flawed" => {
            println!("scenario flawed: the 2024 interpreter, sensor 7.11 (20 inputs), content C-00000291-2024-07-19-0409");
            flawed::run();
            println!("result: FAIL: the flawed read did not fault");
            exit(Outcome::Fail);
        }
        "windows-stack" => {
            let memory = addr_of_mut!(SLOT_MEMORY);
            if small_stack::run(memory.cast(), 64 * 1024) {
                println!("result: pass: every call fitted in 24 KiB");
                exit(Outcome::Pass);
            }
            println!("result: FAIL: a call on the 24 KiB stack returned what it must not, or used more than its budget");
            exit(Outcome::Fail);
        }
        other => {
            println!(
                "result: FAIL: unknown scenario {other:?} (use -append scenario=fixed|flawed|windows-stack)"
            );
            exit(Outcome::Fail);
        }
    }
}

/// The embedder's panic hook that sensor-ffi's panic handler calls. A Windows driver would
/// bugcheck here; the test driver reports and fails the run.
#[no_mangle]
extern "C" fn sensor_panic(file: *const u8, file_len: usize, line: u32) -> ! {
    // SAFETY: sensor-ffi passes a 'static file name and its length.
    let file = unsafe { core::slice::from_raw_parts(file, file_len) };
    println!(
        "result: FAIL: panic at {}:{line}",
        core::str::from_utf8(file).unwrap_or("?")
    );
    exit(Outcome::Fail);
}
