//! Host side of the sensor: everything that needs `std`.
//!
//! Front-ends turn rule sources into [`ir`]; [`compile`] lays the IR out as a channel file that
//! `sensor-core` validates; event sources feed events through the core; the command line in
//! `main.rs` ties them together.

pub mod bench;
pub mod builtin;
pub mod compile;
pub mod condition;
pub mod content;
pub mod diag;
pub mod dictionary;
pub mod emu;
pub mod event;
pub mod evtx;
pub mod import;
pub mod ir;
pub mod json_object;
pub mod progress;
pub mod reference;
pub mod rules;
pub mod run;
pub mod scan;
pub mod sigma;
pub mod source;
pub mod synth;
pub mod sysmon;
pub mod sysmon_config;
