//! The bare-metal driver's `fixed` scenario, run on the host with the same workload code: the
//! baseline that time per event under QEMU is compared with. Prints the same report lines as
//! the kernel and exits 0 on pass, 1 on failure.

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use sensor_test_workload::scenario::{self, Platform};

struct Host {
    start: Instant,
    out: std::io::Stdout,
}

impl fmt::Write for Host {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

impl Platform for Host {
    fn ticks(&mut self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
    fn ticks_per_second(&self) -> u64 {
        1_000_000_000
    }
    fn can_paint(&self) -> bool {
        // The scenario runs on a thread with an 8 MiB stack, all of it mapped up front.
        true
    }
}

fn main() -> ExitCode {
    let worker = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let mut host = Host {
                start: Instant::now(),
                out: std::io::stdout(),
            };
            let mut memory = vec![0u128; sensor_ffi::sensor_slot_size().div_ceil(16)];
            let size = memory.len() * 16;
            // SAFETY: `memory` is ours, 16-byte aligned and large enough; it outlives the call.
            let result = unsafe { scenario::fixed(&mut host, memory.as_mut_ptr().cast(), size) };
            match result {
                Ok(_) => {
                    println!("result: pass (host)");
                    true
                }
                Err(failure) => {
                    println!("result: FAIL: {}", failure.0);
                    false
                }
            }
        })
        .expect("spawn the scenario thread");
    match worker.join() {
        Ok(true) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
