//! C ABI over `sensor-core`, for Windows kernel drivers and other C embedders.
//!
//! The core stays free of `unsafe`; this crate holds all of it, at the boundary: a content slot
//! initialised in caller-provided memory and reached through an opaque handle, content updates
//! from caller-owned buffers with `NTSTATUS` results and a typed refusal reason, one-event
//! evaluation over `UNICODE_STRING`-shaped strings and integers, and read-back of matches,
//! counters and the active content. The C declarations are in `include/sensor_core.h`; how to
//! link this into a WDM/KMDF or windows-drivers-rs driver, and at which IRQL each call is valid,
//! is in `docs/embedding.md`.
//!
//! Content buffers stay the embedder's: the slot reads them in place (no copy, no allocation)
//! and each call that can drop a buffer lists the ones the slot released, as the core reports
//! them (`sensor_core::Released`), so the embedder knows when to free them.
//!
//! With the `panic-handler` feature the crate needs no `std`: it provides the panic handler,
//! which calls the embedder's `sensor_panic`. The core has no reachable panic; the handler is
//! there because a `no_std` final artifact must name one.
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

// Without the `panic-handler` feature (host builds, tests), std provides the panic handler
// and, with `panic = "unwind"`, the unwinding runtime a `staticlib` needs.
#[cfg(any(test, not(feature = "panic-handler")))]
extern crate std;

pub mod error;
pub mod slot;
pub mod status;
pub mod types;

pub use error::SensorLoadError;
pub use slot::*;
pub use status::*;
pub use types::*;

/// Link shim for Linux: the precompiled `core` of `*-linux-gnu` targets is built for unwinding
/// and names the personality routine even though `panic = "abort"` never unwinds. Not part of
/// the API (the header test lists it as the one exception); never called.
#[cfg(all(feature = "panic-handler", not(test), target_os = "linux"))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[cfg(all(feature = "panic-handler", not(test)))]
mod panic {
    extern "C" {
        /// Provided by the embedder; must not return (a kernel driver bugchecks).
        fn sensor_panic(file: *const core::ffi::c_char, file_len: usize, line: u32) -> !;
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        let (file, line) = info.location().map_or(("", 0), |l| (l.file(), l.line()));
        // SAFETY: the embedder provides `sensor_panic` with this signature (docs/embedding.md);
        // the file name is a valid, 'static byte string.
        unsafe { sensor_panic(file.as_ptr().cast(), file.len(), line) }
    }
}
