//! The C structs of the ABI. Each is `#[repr(C)]` and mirrored member for member in
//! `include/sensor_core.h`; `tests/header.rs` compiles the header and checks every size and
//! offset against these definitions.

use core::ffi::c_void;

use sensor_core::op::{Action, Level};

use crate::error::SensorLoadError;

/// `SENSOR_VALUE_ABSENT`: the sensor supplies the field but has no value for this event. A
/// zero-initialised [`SensorValue`] is absent.
pub const SENSOR_VALUE_ABSENT: u32 = 0;
/// `SENSOR_VALUE_INT`: `integer` holds the value (integers and flag masks).
pub const SENSOR_VALUE_INT: u32 = 1;
/// `SENSOR_VALUE_STR`: `string` holds a counted UTF-16 string.
pub const SENSOR_VALUE_STR: u32 = 2;

/// `SENSOR_LEVEL_INFORMATIONAL`.
pub const SENSOR_LEVEL_INFORMATIONAL: u32 = Level::Informational as u32;
/// `SENSOR_LEVEL_LOW`.
pub const SENSOR_LEVEL_LOW: u32 = Level::Low as u32;
/// `SENSOR_LEVEL_MEDIUM`.
pub const SENSOR_LEVEL_MEDIUM: u32 = Level::Medium as u32;
/// `SENSOR_LEVEL_HIGH`.
pub const SENSOR_LEVEL_HIGH: u32 = Level::High as u32;
/// `SENSOR_LEVEL_CRITICAL`.
pub const SENSOR_LEVEL_CRITICAL: u32 = Level::Critical as u32;
/// `SENSOR_ACTION_LOG`: record the match in telemetry only.
pub const SENSOR_ACTION_LOG: u32 = Action::Log as u32;
/// `SENSOR_ACTION_ALERT`: raise a detection.
pub const SENSOR_ACTION_ALERT: u32 = Action::Alert as u32;
/// `SENSOR_ACTION_BLOCK`: raise a detection and deny the pipe operation.
pub const SENSOR_ACTION_BLOCK: u32 = Action::Block as u32;
/// `SENSOR_ACTION_NONE`: no rule matched.
pub const SENSOR_ACTION_NONE: u32 = u32::MAX;
/// Most buffers one call can release.
pub const SENSOR_MAX_RELEASED: usize = 3;
/// Most input values one event may carry (the core's `MAX_FIELDS`).
pub const SENSOR_MAX_VALUES: usize = sensor_core::limits::MAX_FIELDS;
/// Required alignment of content buffers, in bytes.
pub const SENSOR_CONTENT_ALIGN: usize = 8;

/// A counted UTF-16 string with the layout of the Windows `UNICODE_STRING`: lengths in bytes,
/// the buffer not NUL-terminated.
#[repr(C)]
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug)]
pub struct SensorUnicodeString {
    /// Length of the string in bytes (twice the code units); even.
    pub Length: u16,
    /// Size of the buffer in bytes; at least `Length`.
    pub MaximumLength: u16,
    /// The code units; may be null only when `Length` is 0. 2-byte aligned.
    pub Buffer: *const u16,
}

/// One input field's value for one event.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SensorValue {
    /// `SENSOR_VALUE_ABSENT`, `SENSOR_VALUE_INT` or `SENSOR_VALUE_STR`.
    pub kind: u32,
    /// Must be zero.
    pub reserved: u32,
    /// The value when `kind` is `SENSOR_VALUE_INT`.
    pub integer: u64,
    /// The value when `kind` is `SENSOR_VALUE_STR`.
    pub string: SensorUnicodeString,
}

/// One matched rule.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SensorMatch {
    /// Index of the rule in the content that evaluated the event.
    pub rule: u32,
    /// `SENSOR_LEVEL_*`.
    pub level: u32,
    /// `SENSOR_ACTION_*`.
    pub action: u32,
}

/// What one evaluation did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SensorVerdict {
    /// Version of the content the event was evaluated against (0 when none was active).
    pub content_version: u64,
    /// Work units spent.
    pub work: u64,
    /// The strongest action among matched rules, or `SENSOR_ACTION_NONE`.
    pub action: u32,
    /// Rules that matched.
    pub matched: u32,
    /// Matches written to the caller's array.
    pub stored: u32,
    /// Matches that did not fit the caller's array.
    pub dropped: u32,
    /// Predicates evaluated.
    pub predicates: u32,
    /// Predicates whose input the event did not carry (false, never a fault).
    pub missing_inputs: u32,
    /// Predicates whose input had the wrong type.
    pub type_mismatches: u32,
    /// Predicates whose string input was longer than the sensor declares.
    pub oversized_inputs: u32,
    /// Automaton scans that stopped on a quit byte.
    pub automaton_quits: u32,
    /// Zero.
    pub reserved: u32,
}

/// Running totals of a slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SensorStats {
    /// Events evaluated against content.
    pub events: u64,
    /// Events that arrived while no content was active.
    pub events_without_content: u64,
    /// Rule matches.
    pub matches: u64,
    /// Predicates that found their input missing.
    pub missing_inputs: u64,
    /// Predicates whose input had the wrong type.
    pub type_mismatches: u64,
    /// Predicates whose input was over the declared length.
    pub oversized_inputs: u64,
    /// Updates accepted.
    pub updates_accepted: u64,
    /// Updates refused.
    pub updates_rejected: u64,
}

/// The active content.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SensorContentInfo {
    /// Content version.
    pub content_version: u64,
    /// Upper bound on the work units of one evaluation.
    pub worst_case_work: u64,
    /// Channel number.
    pub channel: u32,
    /// Template type id.
    pub template_id: u16,
    /// Template type version.
    pub template_version: u16,
    /// Rules.
    pub rule_count: u32,
    /// Predicates.
    pub predicate_count: u32,
    /// Automata.
    pub automaton_count: u32,
    /// Input fields the template type declares.
    pub declared: u32,
    /// Input fields the sensor build supplies.
    pub supplied: u32,
    /// Zero.
    pub reserved: u32,
}

/// Content buffers the slot no longer reads: the embedder may free or reuse them.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SensorReleased {
    /// Entries of `buffers` in use.
    pub count: u32,
    /// Zero.
    pub reserved: u32,
    /// The released buffers, as the embedder passed them to `sensor_slot_update`.
    pub buffers: [*const c_void; SENSOR_MAX_RELEASED],
}

impl SensorReleased {
    /// Nothing released.
    pub const NONE: Self = Self {
        count: 0,
        reserved: 0,
        buffers: [core::ptr::null(); SENSOR_MAX_RELEASED],
    };
}

/// The outcome of `sensor_slot_update`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SensorUpdateResult {
    /// Version now active (accepted updates).
    pub version: u64,
    /// Version it replaced, when `has_replaced` is 1.
    pub replaced_version: u64,
    /// 1 when the update replaced active content.
    pub has_replaced: u32,
    /// Zero.
    pub reserved: u32,
    /// Buffers the slot released (accepted updates only).
    pub released: SensorReleased,
    /// Why the update was refused (`kind` 0 when accepted).
    pub error: SensorLoadError,
}
