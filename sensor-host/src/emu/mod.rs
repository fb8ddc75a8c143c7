//! A Windows kernel-driver emulator around the sensor, and the flawed 2024 design run on it.
//!
//! The emulated kernel ([`kernel`]) has an address space built on the `x86_64` crate's page
//! types ([`mmu`]), nonpaged and paged pool with tags ([`pool`]), IRQL rules ([`irql`]), a
//! loaded-module list ([`modules`]) and bugchecks ([`bugcheck`]). On it runs the sensor driver
//! ([`driver`]): `DriverEntry`, content from the channel-file directory ([`disk`]), callbacks
//! for named-pipe requests ([`irp`]), content updates and unload, with either the real core or
//! the flawed 2024 model ([`flawed`]) as its engine. A [`machine`] keeps the disk across
//! boots; [`replay`] plays the 2024 history on one; [`trace`] records every bugcheck.
//!
//! No code in this tree is `unsafe`, and no emulated address is ever a host pointer: the flawed
//! model's out-of-bounds read lands in the emulated page table, never in host memory.
#![forbid(unsafe_code)]

pub mod bugcheck;
pub mod disk;
pub mod driver;
pub mod flawed;
pub mod irp;
pub mod irql;
pub mod kernel;
pub mod machine;
pub mod mmu;
pub mod modules;
pub mod pool;
pub mod replay;
pub mod trace;
