//! A content interpreter for kernel security sensors that content cannot crash.
//!
//! Data flows one way: untrusted channel-file bytes are checked once by [`RuleSet::load_into`]
//! (or [`RuleSet::load`]) into a validated, zero-copy view; [`RuleSet::evaluate`] runs one
//! event against that view in bounded time without allocating; [`ContentSlot`] swaps whole
//! rule sets atomically.
//!
//! The crate is `no_std`, contains no `unsafe`, and denies indexing, panicking and unchecked
//! arithmetic by lint, so that no byte string and no event can make it fault. See
//! `docs/design.md` in the repository for the reasoning behind each piece.
#![no_std]
#![forbid(unsafe_code)]
// Tests may index and panic: a failed assertion is their way of reporting.
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

#[cfg(test)]
extern crate std;

pub mod automaton;
pub mod channel;
pub mod crc32;
pub mod dictionary;
pub mod error;
pub mod eval;
mod fired;
pub mod fold;
mod index;
pub mod input;
pub mod limits;
pub mod op;
pub mod pipe;
pub mod program;
pub mod schema;
pub mod slot;
pub mod validate;

pub use error::LoadError;
pub use eval::{Counters, MatchBuffer, MatchSink, MatchedRule, Verdict};
pub use input::Value;
pub use op::Operator;
pub use schema::{FieldType, SensorDecl, TemplateType, FIELD_COUNT_IPC};
pub use slot::{Buffer, ContentSlot, Released, RollBackOutcome, SlotVerdict, UpdateOutcome};
pub use validate::{RuleInfo, RuleSet};
