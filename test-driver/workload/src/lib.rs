//! What the bare-metal test driver runs, written once so that its host twin (`host-bench`)
//! runs exactly the same code: the compiled Channel File 291 history embedded with
//! `include_bytes!`, a reproducible stream of pipe events built without a heap, the expected
//! verdict of every event, stack painting, and the `fixed` scenario itself. Everything reaches
//! the core through the C ABI of `sensor-ffi`, as a Windows driver would.
#![no_std]

pub mod content;
pub mod event;
pub mod scenario;
pub mod slot;
pub mod stack;
