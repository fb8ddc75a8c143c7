//! A content interpreter for kernel security sensors that content cannot crash.
//!
//! Data flows one way: untrusted channel-file bytes are checked once by [`RuleSet::load`] into a
//! validated, zero-copy view; [`RuleSet::evaluate`] runs one event against that view in bounded
//! time without allocating; [`ContentSlot`] swaps whole rule sets atomically.
//!
//! The crate is `no_std`, contains no `unsafe`, and denies indexing, panicking and unchecked
//! arithmetic by lint, so that no byte string and no event can make it fault. See
//! `docs/design.md` in the repository for the reasoning behind each piece.
#![no_std]
#![forbid(unsafe_code)]

pub mod input;
pub mod limits;
pub mod op;
pub mod schema;

pub use input::Value;
pub use op::Operator;
pub use schema::{FieldType, SensorDecl, TemplateType, FIELD_COUNT_IPC};
