//! Status codes: every function that can fail returns an `NTSTATUS`.
//!
//! Generic failures use the Windows codes a driver developer already knows. Content refusals use
//! a customer-defined facility, `0x291` (the channel of July 2024), so that one 32-bit value names
//! the exact reason: `0xE291_0000 | kind`, where `kind` (1 to 0xFFF) is a [`crate::error`] kind
//! code; codes from 0x1000 up in that facility are other custom errors. Every value here is
//! mirrored in `include/sensor_core.h` and never changes meaning.

/// An `NTSTATUS`: negative values are errors, `0..=0x7FFF_FFFF` success or information.
pub type NtStatus = i32;

const fn status(bits: u32) -> NtStatus {
    bits.cast_signed()
}

/// `STATUS_SUCCESS`.
pub const SENSOR_STATUS_SUCCESS: NtStatus = 0;
/// Informational (`NT_SUCCESS` is true): no content is active, so nothing was evaluated, or
/// there is no content to describe.
pub const SENSOR_STATUS_NO_CONTENT: NtStatus = status(0x6291_0001);
/// `STATUS_INVALID_PARAMETER`: a null, misused or out-of-range argument, an unknown value kind,
/// a malformed `UNICODE_STRING`, or a handle that is not a live slot.
pub const SENSOR_STATUS_INVALID_PARAMETER: NtStatus = status(0xC000_000D);
/// `STATUS_BUFFER_TOO_SMALL`: the slot memory, or an output buffer, is too small.
pub const SENSOR_STATUS_BUFFER_TOO_SMALL: NtStatus = status(0xC000_0023);
/// `STATUS_DATATYPE_MISALIGNMENT_ERROR`: slot memory or content not aligned as required.
pub const SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR: NtStatus = status(0xC000_02C5);
/// `STATUS_NOT_FOUND`: unknown sensor build, no last-known-good content to roll back to, or no
/// such rule.
pub const SENSOR_STATUS_NOT_FOUND: NtStatus = status(0xC000_0225);
/// The active content is not the version the caller named (it was replaced meanwhile).
pub const SENSOR_STATUS_VERSION_MISMATCH: NtStatus = status(0xE291_1001);
/// Base of content refusals: the status of a refusal is this value ORed with its kind code.
pub const SENSOR_STATUS_CONTENT_REFUSED: NtStatus = status(0xE291_0000);

/// The status reporting a content refusal of `kind` (a `SENSOR_ERROR_*` code, 1 to 0xFFF).
pub const fn content_refused(kind: u32) -> NtStatus {
    status(0xE291_0000 | (kind & 0xFFF))
}
