//! Time: the TSC, calibrated against the PIT (channel 2, gated through port 0x61, counting
//! down from a known latch at 1.193182 MHz). Under TCG, QEMU's PIT follows the host clock and
//! the TSC the host's TSC, so the ratio is the host's TSC rate.

use x86_64::instructions::port::Port;

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 50;

/// Reads the time-stamp counter.
pub fn tsc() -> u64 {
    // SAFETY: rdtsc has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC ticks per second: the median of five 50 ms measurements against the PIT (one can be
/// stretched by the host descheduling QEMU).
pub fn calibrate() -> u64 {
    let mut samples = [0u64; 5];
    for s in samples.iter_mut() {
        *s = calibrate_once();
    }
    samples.sort_unstable();
    samples[2]
}

fn calibrate_once() -> u64 {
    let latch = PIT_HZ * CALIBRATION_MS / 1000;
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: the PIT and the system control port; only channel 2 (the speaker timer, whose
    // output is kept off the speaker) is programmed.
    unsafe {
        let g = gate.read();
        gate.write((g & !0x02) | 0x01);
        command.write(0xB0); // channel 2, lobyte/hibyte, mode 0, binary
        channel2.write((latch & 0xFF) as u8);
        channel2.write((latch >> 8) as u8);
        let start = tsc();
        let mut spins = 0u64;
        while gate.read() & 0x20 == 0 {
            spins += 1;
            if spins > 1_000_000_000 {
                return 0;
            }
        }
        let end = tsc();
        (end - start) * 1000 / CALIBRATION_MS
    }
}
