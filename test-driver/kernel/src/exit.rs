//! Leaving QEMU through `-device isa-debug-exit,iobase=0xf4,iosize=0x04`: writing `v` ends
//! QEMU with status `(v << 1) | 1`, so each outcome has its own status.

use x86_64::instructions::port::Port;

/// How the run ended; the value written to the exit port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Outcome {
    /// The scenario passed (QEMU status 33).
    Pass = 0x10,
    /// The scenario failed a check, or panicked (QEMU status 35).
    Fail = 0x11,
    /// Bugcheck 0x50 PAGE_FAULT_IN_NONPAGED_AREA (QEMU status 161).
    PageFaultInNonpagedArea = 0x50,
    /// Bugcheck 0x7F UNEXPECTED_KERNEL_MODE_TRAP: any other exception, including a double
    /// fault from a stack overflow (QEMU status 255).
    UnexpectedKernelModeTrap = 0x7F,
}

/// Ends the run.
pub fn exit(outcome: Outcome) -> ! {
    // SAFETY: the isa-debug-exit port; writing it ends QEMU.
    unsafe { Port::<u32>::new(0xF4).write(outcome as u32) };
    // Without the device (not under the runner): stop here.
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
