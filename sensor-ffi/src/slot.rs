//! The exported functions: a content slot in caller-provided memory.
//!
//! Every pointer argument is checked for null and alignment, every size against what is written
//! through it; what cannot be checked (that memory is valid, that a content buffer stays
//! unchanged while the slot holds it) is the caller's contract, stated on each function and in
//! `docs/embedding.md`.

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};
use core::ptr::{self, addr_of_mut};
use core::sync::atomic::{AtomicU64, Ordering};

use sensor_core::eval::{MatchSink, MatchedRule};
use sensor_core::slot::MAX_RELEASED;
use sensor_core::{schema, ContentSlot, Released, Value};

use crate::error::SensorLoadError;
use crate::status::{
    NtStatus, SENSOR_STATUS_BUFFER_TOO_SMALL, SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR,
    SENSOR_STATUS_INVALID_PARAMETER, SENSOR_STATUS_NOT_FOUND, SENSOR_STATUS_NO_CONTENT,
    SENSOR_STATUS_SUCCESS, SENSOR_STATUS_VERSION_MISMATCH,
};
use crate::types::{
    SensorContentInfo, SensorMatch, SensorReleased, SensorStats, SensorUpdateResult, SensorValue,
    SensorVerdict, SENSOR_ACTION_NONE, SENSOR_CONTENT_ALIGN, SENSOR_MAX_RELEASED,
    SENSOR_MAX_VALUES, SENSOR_VALUE_ABSENT, SENSOR_VALUE_INT, SENSOR_VALUE_STR,
};

/// Version of this ABI; bumped on any incompatible change to a function or struct.
pub const SENSOR_ABI_VERSION: u32 = 1;

/// Longest sensor build name `sensor_slot_init` reads, NUL excluded.
const MAX_BUILD_NAME: usize = 63;

const MAGIC_LIVE: u64 = u64::from_le_bytes(*b"SNSRSLOT");
const MAGIC_DEAD: u64 = u64::from_le_bytes(*b"DEADSLOT");

/// A content slot living in memory the embedder provides. Opaque to C.
pub struct SensorSlot {
    magic: AtomicU64,
    slot: ContentSlot<'static>,
}

/// An empty slot, for `sensor_slot_init` to copy into place; its sensor is replaced there.
#[allow(clippy::declare_interior_mutable_const)] // copied once per init, never shared
const EMPTY_SLOT: ContentSlot<'static> = ContentSlot::new(schema::SENSOR_7_11);

// Every buffer one core operation can release fits one `sensor_released`.
const _: () = assert!(MAX_RELEASED == SENSOR_MAX_RELEASED);

// Pool allocations are 16-byte aligned on x64 (MEMORY_ALLOCATION_ALIGNMENT); the embedding
// guide promises that suffices.
const _: () = assert!(align_of::<SensorSlot>() <= 16);

/// The slot behind a handle, if the handle is non-null, aligned and names a live slot.
///
/// # Safety
///
/// A non-null, aligned `slot` must point to memory readable for `size_of::<SensorSlot>()` bytes
/// that `sensor_slot_init` initialised and that stays valid for `'s`.
unsafe fn live<'s>(slot: *const SensorSlot) -> Option<&'s SensorSlot> {
    if slot.is_null() || !slot.is_aligned() {
        return None;
    }
    // SAFETY: non-null and aligned; the caller promises the memory holds an initialised slot
    // (the magic check below catches a destroyed one).
    let slot = unsafe { &*slot };
    (slot.magic.load(Ordering::Acquire) == MAGIC_LIVE).then_some(slot)
}

/// Whether `p` may be written as a `T`: non-null and aligned.
fn writable<T>(p: *mut T) -> bool {
    !p.is_null() && p.is_aligned()
}

/// The core's report of released buffers, as C sees it.
fn released(from: Released) -> SensorReleased {
    let mut out = SensorReleased::NONE;
    for (slot, buffer) in out.buffers.iter_mut().zip(from.iter()) {
        *slot = ptr::without_provenance(buffer.addr);
        out.count = out.count.saturating_add(1);
    }
    out
}

/// Reads a NUL-terminated name of at most [`MAX_BUILD_NAME`] bytes.
///
/// # Safety
///
/// `name` must be non-null and readable up to and including its NUL, or for
/// `MAX_BUILD_NAME + 1` bytes, whichever comes first.
unsafe fn c_name<'n>(name: *const c_char) -> Option<&'n str> {
    let mut len = 0usize;
    loop {
        // SAFETY: `len <= MAX_BUILD_NAME` and no NUL was seen before `len`, so the caller's
        // contract covers reading byte `len`.
        let byte = unsafe { name.add(len).read() };
        if byte == 0 {
            break;
        }
        if len >= MAX_BUILD_NAME {
            return None;
        }
        len = len.saturating_add(1);
    }
    // SAFETY: the `len` bytes before the NUL were just read, so they are readable.
    let bytes = unsafe { core::slice::from_raw_parts(name.cast::<u8>(), len) };
    core::str::from_utf8(bytes).ok()
}

/// The ABI version of the library ([`SENSOR_ABI_VERSION`]); compare with the header's.
#[no_mangle]
pub extern "C" fn sensor_abi_version() -> u32 {
    SENSOR_ABI_VERSION
}

/// Bytes of memory a slot needs.
#[no_mangle]
pub extern "C" fn sensor_slot_size() -> usize {
    size_of::<SensorSlot>()
}

/// Alignment the slot memory needs (at most 16).
#[no_mangle]
pub extern "C" fn sensor_slot_align() -> usize {
    align_of::<SensorSlot>()
}

/// Initialises an empty content slot for sensor build `build` ("7.11", "fixed") in `memory`
/// and stores the handle (the same address) in `*slot`.
///
/// Returns `SENSOR_STATUS_INVALID_PARAMETER` for a null pointer or an unreadable name,
/// `SENSOR_STATUS_BUFFER_TOO_SMALL` when `memory_size < sensor_slot_size()`,
/// `SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR` when `memory` is not aligned to
/// `sensor_slot_align()`, and `SENSOR_STATUS_NOT_FOUND` for an unknown build.
///
/// # Safety
///
/// `memory` must be writable for `memory_size` bytes, not in use by anything else, and stay
/// valid until `sensor_slot_destroy` returns. `build` must be a NUL-terminated string (at most
/// 63 bytes are read before the NUL). `slot` must be writable. No other call may use `memory`
/// while this one runs.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_init(
    memory: *mut c_void,
    memory_size: usize,
    build: *const c_char,
    slot: *mut *mut SensorSlot,
) -> NtStatus {
    if memory.is_null() || build.is_null() || !writable(slot) {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    if memory_size < size_of::<SensorSlot>() {
        return SENSOR_STATUS_BUFFER_TOO_SMALL;
    }
    let target = memory.cast::<SensorSlot>();
    if !target.is_aligned() {
        return SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR;
    }
    // SAFETY: `build` is non-null and the caller promises it is NUL-terminated.
    let Some(name) = (unsafe { c_name(build) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    let Some(sensor) = schema::sensor(name) else {
        return SENSOR_STATUS_NOT_FOUND;
    };
    // Field by field, so that the large `ContentSlot` is built in place: a constant empty slot
    // is copied into the caller's memory (built by value here, it would take a stack copy as
    // large as the slot), then pointed at the sensor build.
    // SAFETY: `target` is non-null, aligned and writable for a whole `SensorSlot` (checked size,
    // caller's contract); nothing else uses it. Only the field's address is taken.
    let slot_memory = unsafe { addr_of_mut!((*target).slot) };
    // SAFETY: as above.
    unsafe { slot_memory.write(EMPTY_SLOT) };
    // SAFETY: just initialised; nothing else uses it. Nothing was loaded, so nothing is released.
    unsafe { (*slot_memory).set_sensor(*sensor) };
    // SAFETY: as above; the magic goes last, with release ordering, so a slot that reads as
    // live is fully written.
    unsafe { addr_of_mut!((*target).magic).write(AtomicU64::new(0)) };
    // SAFETY: the magic was just initialised.
    unsafe { (*target).magic.store(MAGIC_LIVE, Ordering::Release) };
    // SAFETY: `slot` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { slot.write(target) };
    SENSOR_STATUS_SUCCESS
}

/// Destroys a slot. Every content buffer it still held is listed in `*released` (up to three);
/// afterwards the embedder may free them and the slot memory.
///
/// # Safety
///
/// `slot` must come from `sensor_slot_init` and not be destroyed yet; no other call may use the
/// slot during or after this one. `released` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_destroy(
    slot: *mut SensorSlot,
    released: *mut SensorReleased,
) -> NtStatus {
    // SAFETY: the caller passes a handle from `sensor_slot_init`.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(released) {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    if live
        .magic
        .compare_exchange(MAGIC_LIVE, MAGIC_DEAD, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    // Clearing releases every buffer the slot still holds (the active content and the
    // last-known-good; the third cell is empty between calls).
    let held = live.slot.clear();
    // SAFETY: the slot was live and no other call uses it (caller's contract); it is dropped
    // once, and the magic already reads dead so no later call touches it.
    unsafe { ptr::drop_in_place(addr_of_mut!((*slot).slot)) };
    // SAFETY: `released` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { released.write(crate::slot::released(held)) };
    SENSOR_STATUS_SUCCESS
}

/// Validates `content` against the slot's sensor build and, only if it is valid, makes it the
/// active content. The rule set it replaces is kept as last-known-good, and the previous
/// last-known-good is released.
///
/// Accepted: returns `SENSOR_STATUS_SUCCESS`; `result` holds the new and replaced versions and
/// the buffers this update released. Refused: returns `0xE291_0000 | kind`
/// (`SENSOR_STATUS_CONTENT_REFUSED | kind`) and `result->error` says why and where; the
/// active content is untouched and the slot does not keep `content`.
///
/// # Safety
///
/// `slot` must be a live slot. `content` must be readable for `content_len` bytes, 8-byte
/// aligned, and — if the update is accepted — stay valid and unchanged until a later call lists
/// it as released (or `sensor_slot_destroy` returns). `result` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_update(
    slot: *mut SensorSlot,
    content: *const u8,
    content_len: usize,
    result: *mut SensorUpdateResult,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(result) || content.is_null() || isize::try_from(content_len).is_err() {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    if !content.addr().is_multiple_of(SENSOR_CONTENT_ALIGN) {
        return SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR;
    }
    // SAFETY: non-null, length at most isize::MAX (checked), readable (caller's contract). The
    // 'static lifetime is the caller's promise to keep the bytes until the slot reports them
    // released; a refused update keeps no reference.
    let bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(content, content_len) };
    let (status, out) = match live.slot.update(bytes) {
        Ok(outcome) => {
            let out = SensorUpdateResult {
                version: outcome.version,
                replaced_version: outcome.replaced.unwrap_or(0),
                has_replaced: u32::from(outcome.replaced.is_some()),
                reserved: 0,
                released: released(outcome.released),
                error: SensorLoadError::NONE,
            };
            (SENSOR_STATUS_SUCCESS, out)
        }
        Err(error) => {
            let error = SensorLoadError::from(&error);
            let out = SensorUpdateResult {
                version: 0,
                replaced_version: 0,
                has_replaced: 0,
                reserved: 0,
                released: SensorReleased::NONE,
                error,
            };
            (error.status(), out)
        }
    };
    // SAFETY: `result` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { result.write(out) };
    status
}

/// Makes the last-known-good content active again and stores its version in `*version`; the
/// content it replaces is released at once and listed in `*released` (afterwards there is no
/// last-known-good). Returns `SENSOR_STATUS_NOT_FOUND` (and changes nothing) when there is none.
///
/// # Safety
///
/// `slot` must be a live slot; `version` and `released` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_roll_back(
    slot: *mut SensorSlot,
    version: *mut u64,
    released: *mut SensorReleased,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(version) || !writable(released) {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    let Some(outcome) = live.slot.roll_back() else {
        return SENSOR_STATUS_NOT_FOUND;
    };
    // SAFETY: both pointers are non-null and aligned (checked) and writable (caller's contract).
    unsafe { version.write(outcome.version) };
    // SAFETY: as above.
    unsafe { released.write(crate::slot::released(outcome.released)) };
    SENSOR_STATUS_SUCCESS
}

/// Drops the active content and the last-known-good (content deleted) and lists their buffers
/// in `*released`: events are not evaluated until the next accepted update.
///
/// # Safety
///
/// `slot` must be a live slot; `released` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_clear(
    slot: *mut SensorSlot,
    released: *mut SensorReleased,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(released) {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    let freed = live.slot.clear();
    // SAFETY: `released` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { released.write(crate::slot::released(freed)) };
    SENSOR_STATUS_SUCCESS
}

/// Writes matches into the caller's array and counts what does not fit.
struct ArraySink {
    items: *mut SensorMatch,
    capacity: usize,
    stored: usize,
}

impl MatchSink for ArraySink {
    fn push(&mut self, matched: MatchedRule) -> bool {
        if self.stored >= self.capacity {
            return false;
        }
        let item = SensorMatch {
            rule: matched.rule,
            level: u32::from(matched.level as u8),
            action: u32::from(matched.action as u8),
        };
        // SAFETY: `stored < capacity`, and the caller of `sensor_slot_evaluate` promised
        // `items` writable for `capacity` elements (non-null and aligned, checked there).
        unsafe { self.items.add(self.stored).write(item) };
        self.stored = self.stored.saturating_add(1);
        true
    }
}

/// Converts one C value; `None` for a malformed one.
fn value(v: &SensorValue) -> Option<Value<'_>> {
    if v.reserved != 0 {
        return None;
    }
    match v.kind {
        SENSOR_VALUE_ABSENT => Some(Value::Absent),
        SENSOR_VALUE_INT => Some(Value::Int(v.integer)),
        SENSOR_VALUE_STR => {
            let s = v.string;
            if !s.Length.is_multiple_of(2) || s.Length > s.MaximumLength {
                return None;
            }
            let units = usize::from(s.Length / 2);
            if units == 0 {
                return Some(Value::Str(&[]));
            }
            if s.Buffer.is_null() || !s.Buffer.is_aligned() {
                return None;
            }
            // SAFETY: non-null, aligned, and the caller of `sensor_slot_evaluate` promised
            // `Length` bytes readable and unchanged for the duration of the call; the borrow
            // does not outlive it.
            Some(Value::Str(unsafe {
                core::slice::from_raw_parts(s.Buffer, units)
            }))
        }
        _ => None,
    }
}

/// Evaluates one event against the active content. `values[i]` is input field `i`; a sensor
/// build that supplies 20 fields passes 20 values. Matches go to `matches` (up to
/// `match_capacity`; the rest are counted in `verdict->dropped`).
///
/// Returns `SENSOR_STATUS_SUCCESS`, or `SENSOR_STATUS_NO_CONTENT` (a success status) when no
/// content is active, or `SENSOR_STATUS_INVALID_PARAMETER` — and evaluates nothing — for a
/// malformed value (unknown kind, non-zero reserved, odd `Length`, `Length > MaximumLength`,
/// null or misaligned `Buffer` with `Length > 0`) or more than `SENSOR_MAX_VALUES` values.
///
/// # Safety
///
/// `slot` must be a live slot. `values` must be readable for `value_count` elements (may be
/// null when `value_count` is 0), and every string buffer readable for its `Length` bytes and
/// unchanged during the call. `matches` must be writable for `match_capacity` elements (may be
/// null when `match_capacity` is 0). `verdict` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_evaluate(
    slot: *mut SensorSlot,
    values: *const SensorValue,
    value_count: usize,
    matches: *mut SensorMatch,
    match_capacity: usize,
    verdict: *mut SensorVerdict,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(verdict)
        || value_count > SENSOR_MAX_VALUES
        || (value_count > 0 && (values.is_null() || !values.is_aligned()))
        || (match_capacity > 0 && !writable(matches))
        || isize::try_from(match_capacity).is_err()
    {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    let given: &[SensorValue] = if value_count == 0 {
        &[]
    } else {
        // SAFETY: non-null, aligned, at most SENSOR_MAX_VALUES elements (checked), readable and
        // initialised (caller's contract).
        unsafe { core::slice::from_raw_parts(values, value_count) }
    };
    let mut inputs = [Value::Absent; SENSOR_MAX_VALUES];
    for (input, given) in inputs.iter_mut().zip(given) {
        let Some(v) = value(given) else {
            return SENSOR_STATUS_INVALID_PARAMETER;
        };
        *input = v;
    }
    let inputs = inputs.get(..value_count).unwrap_or_default();
    let mut sink = ArraySink {
        items: matches,
        capacity: match_capacity,
        stored: 0,
    };
    // The core counts the event in the slot's statistics and names the content version.
    let (status, out) = match live.slot.evaluate(inputs, &mut sink) {
        Some(sensor_core::SlotVerdict {
            content_version,
            verdict: v,
        }) => (
            SENSOR_STATUS_SUCCESS,
            SensorVerdict {
                content_version,
                work: v.counters.work,
                action: v.action.map_or(SENSOR_ACTION_NONE, |a| u32::from(a as u8)),
                matched: v.matched,
                stored: u32::try_from(sink.stored).unwrap_or(u32::MAX),
                dropped: v.dropped,
                predicates: v.counters.predicates,
                missing_inputs: v.counters.missing_inputs,
                type_mismatches: v.counters.type_mismatches,
                oversized_inputs: v.counters.oversized_inputs,
                automaton_quits: v.counters.automaton_quits,
                reserved: 0,
            },
        ),
        None => (
            SENSOR_STATUS_NO_CONTENT,
            SensorVerdict {
                action: SENSOR_ACTION_NONE,
                ..SensorVerdict::default()
            },
        ),
    };
    // SAFETY: `verdict` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { verdict.write(out) };
    status
}

/// Copies the slot's running totals into `*stats`.
///
/// # Safety
///
/// `slot` must be a live slot; `stats` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_stats(
    slot: *mut SensorSlot,
    stats: *mut SensorStats,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(stats) {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    let s = live.slot.stats();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let out = SensorStats {
        events: load(&s.events),
        events_without_content: load(&s.events_without_content),
        matches: load(&s.matches),
        missing_inputs: load(&s.missing_inputs),
        type_mismatches: load(&s.type_mismatches),
        oversized_inputs: load(&s.oversized_inputs),
        updates_accepted: load(&s.updates_accepted),
        updates_rejected: load(&s.updates_rejected),
    };
    // SAFETY: `stats` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { stats.write(out) };
    SENSOR_STATUS_SUCCESS
}

/// Describes the active content in `*info`; `SENSOR_STATUS_NO_CONTENT` when there is none.
///
/// # Safety
///
/// `slot` must be a live slot; `info` must be writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_content(
    slot: *mut SensorSlot,
    info: *mut SensorContentInfo,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(info) {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    let n = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let described = live.slot.with_active(|rules| {
        rules.map(|r| {
            let h = r.header();
            SensorContentInfo {
                content_version: h.content_version,
                worst_case_work: r.worst_case_work(),
                channel: h.channel,
                template_id: h.template_id,
                template_version: h.template_version,
                rule_count: n(r.rule_count()),
                predicate_count: n(r.predicate_count()),
                automaton_count: n(r.automaton_count()),
                declared: n(r.template().field_count()),
                supplied: n(r.supplied()),
                reserved: 0,
            }
        })
    });
    let (status, out) = match described {
        Some(out) => (SENSOR_STATUS_SUCCESS, out),
        None => (SENSOR_STATUS_NO_CONTENT, SensorContentInfo::default()),
    };
    // SAFETY: `info` is non-null and aligned (checked) and writable (caller's contract).
    unsafe { info.write(out) };
    status
}

/// Copies the id of rule `rule` of the active content, NUL-terminated, into `id`, and its length
/// (without the NUL) into `*id_len`, provided the active content is version `content_version`
/// (from a verdict); otherwise `SENSOR_STATUS_VERSION_MISMATCH`. `SENSOR_STATUS_NOT_FOUND` for
/// no such rule, `SENSOR_STATUS_NO_CONTENT` when nothing is active, and
/// `SENSOR_STATUS_BUFFER_TOO_SMALL` (with `*id_len` set to the length needed, NUL excluded) when
/// `id_capacity` cannot hold the id and its NUL.
///
/// # Safety
///
/// `slot` must be a live slot; `id` must be writable for `id_capacity` bytes; `id_len` must be
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sensor_slot_rule_id(
    slot: *mut SensorSlot,
    content_version: u64,
    rule: u32,
    id: *mut c_char,
    id_capacity: usize,
    id_len: *mut usize,
) -> NtStatus {
    // SAFETY: the caller passes a live handle.
    let Some(live) = (unsafe { live(slot) }) else {
        return SENSOR_STATUS_INVALID_PARAMETER;
    };
    if !writable(id_len) || id.is_null() || isize::try_from(id_capacity).is_err() {
        return SENSOR_STATUS_INVALID_PARAMETER;
    }
    let index = usize::try_from(rule).unwrap_or(usize::MAX);
    live.slot.with_active(|rules| {
        let Some(r) = rules else {
            return SENSOR_STATUS_NO_CONTENT;
        };
        if r.header().content_version != content_version {
            return SENSOR_STATUS_VERSION_MISMATCH;
        }
        let Some(info) = r.rule(index) else {
            return SENSOR_STATUS_NOT_FOUND;
        };
        let text = info.id.as_bytes();
        // SAFETY: `id_len` is non-null and aligned (checked) and writable (caller's contract).
        unsafe { id_len.write(text.len()) };
        if text.len() >= id_capacity {
            return SENSOR_STATUS_BUFFER_TOO_SMALL;
        }
        // SAFETY: `id` is writable for `id_capacity > text.len()` bytes (caller's contract), and
        // cannot overlap the content's string pool, which the slot only reads.
        unsafe { ptr::copy_nonoverlapping(text.as_ptr(), id.cast::<u8>(), text.len()) };
        // SAFETY: `text.len() < id_capacity`, so this byte is inside the caller's buffer.
        unsafe { id.add(text.len()).write(0) };
        SENSOR_STATUS_SUCCESS
    })
}
