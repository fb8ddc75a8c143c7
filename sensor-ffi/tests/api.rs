//! The C ABI called from Rust as a C embedder would: argument checks, the 21-versus-20 refusal
//! with its typed reason, evaluation through `UNICODE_STRING`-shaped values, read-back.
// Tests: a failed assertion is how they report, and they call the C ABI the way C does (each
// call's contract is the function's own `# Safety` section).
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/header.rs"]
mod header;

use std::ffi::CStr;
use std::ptr;

use fixtures::{pipe, probes, Content, Event, APRIL_24, JULY_0409, V};
use sensor_core::schema::{self, ipc};
use sensor_core::{ContentSlot, MatchBuffer, RuleSet, Value};
use sensor_ffi::error::kind;
use sensor_ffi::*;

/// Slot memory from the heap, 16-byte aligned.
struct Memory(Vec<u128>);

impl Memory {
    fn new() -> Self {
        Self(vec![0u128; sensor_slot_size().div_ceil(16)])
    }
    fn ptr(&mut self) -> *mut std::ffi::c_void {
        self.0.as_mut_ptr().cast()
    }
    fn size(&self) -> usize {
        self.0.len() * 16
    }
}

struct Slot {
    _memory: Memory,
    handle: *mut SensorSlot,
}

impl Slot {
    fn new(build: &CStr) -> Self {
        let mut memory = Memory::new();
        let mut handle = ptr::null_mut();
        let status =
            unsafe { sensor_slot_init(memory.ptr(), memory.size(), build.as_ptr(), &mut handle) };
        assert_eq!(status, SENSOR_STATUS_SUCCESS);
        assert_eq!(handle.cast(), memory.ptr());
        Self {
            _memory: memory,
            handle,
        }
    }

    fn update(&self, content: &Content) -> (NtStatus, SensorUpdateResult) {
        let mut result = std::mem::MaybeUninit::<SensorUpdateResult>::uninit();
        let status = unsafe {
            sensor_slot_update(
                self.handle,
                content.ptr(),
                content.len(),
                result.as_mut_ptr(),
            )
        };
        assert_ne!(status, SENSOR_STATUS_INVALID_PARAMETER);
        (status, unsafe { result.assume_init() })
    }

    fn evaluate(&self, event: &Event) -> (NtStatus, SensorVerdict, Vec<SensorMatch>) {
        let mut matches = [SensorMatch::default(); 8];
        let mut verdict = SensorVerdict::default();
        let status = unsafe {
            sensor_slot_evaluate(
                self.handle,
                event.values.as_ptr(),
                event.values.len(),
                matches.as_mut_ptr(),
                matches.len(),
                &mut verdict,
            )
        };
        let stored = verdict.stored as usize;
        (status, verdict, matches[..stored].to_vec())
    }

    fn rule_id(&self, version: u64, rule: u32) -> (NtStatus, String) {
        let mut buf = [0 as std::ffi::c_char; 32];
        let mut len = 0usize;
        let status = unsafe {
            sensor_slot_rule_id(
                self.handle,
                version,
                rule,
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
            )
        };
        if status != SENSOR_STATUS_SUCCESS {
            return (status, String::new());
        }
        let id = unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), len);
        (status, id)
    }

    fn stats(&self) -> SensorStats {
        let mut stats = SensorStats::default();
        assert_eq!(
            unsafe { sensor_slot_stats(self.handle, &mut stats) },
            SENSOR_STATUS_SUCCESS
        );
        stats
    }

    fn destroy(self) -> Vec<*const std::ffi::c_void> {
        let mut released = SensorReleased::NONE;
        assert_eq!(
            unsafe { sensor_slot_destroy(self.handle, &mut released) },
            SENSOR_STATUS_SUCCESS
        );
        released.buffers[..released.count as usize].to_vec()
    }
}

fn ids(slot: &Slot, version: u64, matches: &[SensorMatch]) -> Vec<String> {
    matches
        .iter()
        .map(|m| {
            let (status, id) = slot.rule_id(version, m.rule);
            assert_eq!(status, SENSOR_STATUS_SUCCESS);
            id
        })
        .collect()
}

#[test]
fn sensor_7_11_runs_april_content_refuses_the_19_july_file_and_keeps_evaluating() {
    let slot = Slot::new(c"7.11");
    let april = Content::fixture(APRIL_24);
    let july = Content::fixture(JULY_0409);
    let (status, result) = slot.update(&april);
    assert_eq!(status, SENSOR_STATUS_SUCCESS);
    assert_eq!(result.version, 2024042400);
    assert_eq!(result.has_replaced, 0);
    assert_eq!(result.error.kind, 0);
    assert_eq!(result.released.count, 0);

    let events = probes(20);
    let expected: [&[&str]; 7] = [
        &["IPC-0001"],
        &["IPC-0002"],
        &["IPC-0003"],
        &["IPC-0004"],
        &[],
        &[],
        &[],
    ];
    for (event, want) in events.iter().zip(expected) {
        let (status, verdict, matches) = slot.evaluate(event);
        assert_eq!(status, SENSOR_STATUS_SUCCESS);
        assert_eq!(verdict.content_version, 2024042400);
        assert_eq!(ids(&slot, verdict.content_version, &matches), want);
        assert_eq!(
            verdict.missing_inputs, 0,
            "every rule reads only fields 0..19"
        );
        let action = if want.is_empty() {
            SENSOR_ACTION_NONE
        } else {
            SENSOR_ACTION_BLOCK
        };
        assert_eq!(verdict.action, action);
    }

    // The 19 July 04:09 file: refused with the 21-versus-20 reason, naming rule and field.
    let (status, result) = slot.update(&july);
    assert_eq!(status.cast_unsigned(), 0xE291_002B);
    assert_eq!(status, status::content_refused(kind::FIELD_NOT_SUPPLIED));
    let e = result.error;
    assert_eq!(e.kind, kind::FIELD_NOT_SUPPLIED);
    assert_eq!(e.channel, 291);
    assert_eq!(e.rule, 5, "IPC-0006 is the sixth rule");
    assert_eq!(e.field, 20, "the 21st input field, 0-based");
    assert_eq!(e.declared, 21);
    assert_eq!(e.supplied, 20);
    assert_eq!(e.build_name(), b"7.11");
    assert_ne!(e.predicate, error::SENSOR_NONE32);
    assert!(e.offset < july.len() as u64);
    let july_rules = RuleSet::load(july.bytes(), &schema::SENSOR_FIXED).unwrap();
    assert_eq!(july_rules.rule(e.rule as usize).unwrap().id, "IPC-0006");
    assert_eq!(result.released.count, 0);

    // The April content is still active and still evaluates.
    let mut info = SensorContentInfo::default();
    assert_eq!(
        unsafe { sensor_slot_content(slot.handle, &mut info) },
        SENSOR_STATUS_SUCCESS
    );
    assert_eq!(info.content_version, 2024042400);
    assert_eq!((info.channel, info.rule_count), (291, 4));
    assert_eq!((info.declared, info.supplied), (21, 20));
    for (event, want) in events.iter().zip(expected) {
        let (_, verdict, matches) = slot.evaluate(event);
        assert_eq!(ids(&slot, verdict.content_version, &matches), want);
    }
    let stats = slot.stats();
    assert_eq!(stats.updates_accepted, 1);
    assert_eq!(stats.updates_rejected, 1);
    assert_eq!(stats.events, 14);
    assert_eq!(stats.matches, 8);
    // The refused buffer was never held: destroy releases only the April one.
    assert_eq!(slot.destroy(), vec![april.ptr().cast()]);
}

#[test]
fn the_fixed_build_accepts_the_19_july_file_and_its_field_21_rule_matches() {
    let slot = Slot::new(c"fixed");
    let july = Content::fixture(JULY_0409);
    assert_eq!(slot.update(&july).0, SENSOR_STATUS_SUCCESS);
    let events = probes(21);
    let (_, verdict, matches) = slot.evaluate(&events[5]);
    assert_eq!(
        ids(&slot, verdict.content_version, &matches),
        ["IPC-0005", "IPC-0006"]
    );
    // The same event from a 20-field sensor: field 21 is missing, the rule is false, no fault.
    let short = pipe(20, 2, r"\gruntsvc", r"C:\Windows\System32\svchost.exe", 1);
    let (status, verdict, matches) = slot.evaluate(&short);
    assert_eq!(status, SENSOR_STATUS_SUCCESS);
    assert_eq!(ids(&slot, verdict.content_version, &matches), ["IPC-0005"]);
    assert_eq!(verdict.missing_inputs, 1);
    slot.destroy();
}

#[test]
fn init_checks_every_argument() {
    let mut memory = Memory::new();
    let mut handle = ptr::null_mut();
    let size = memory.size();
    let p = memory.ptr();
    unsafe {
        assert_eq!(
            sensor_slot_init(ptr::null_mut(), size, c"7.11".as_ptr(), &mut handle),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_init(p, size, ptr::null(), &mut handle),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_init(p, size, c"7.11".as_ptr(), ptr::null_mut()),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_init(p, sensor_slot_size() - 1, c"7.11".as_ptr(), &mut handle),
            SENSOR_STATUS_BUFFER_TOO_SMALL
        );
        let mut roomy = vec![0u128; size / 16 + 1];
        assert_eq!(
            sensor_slot_init(
                roomy.as_mut_ptr().byte_add(8).cast(),
                size,
                c"7.11".as_ptr(),
                &mut handle
            ),
            SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR
        );
        assert_eq!(
            sensor_slot_init(p, size, c"7.12".as_ptr(), &mut handle),
            SENSOR_STATUS_NOT_FOUND
        );
        let long = [b'x' as std::ffi::c_char; 100];
        assert_eq!(
            sensor_slot_init(p, size, long.as_ptr(), &mut handle),
            SENSOR_STATUS_INVALID_PARAMETER,
            "a name without a NUL in its first 64 bytes"
        );
        assert!(handle.is_null(), "no failed init wrote a handle");
    }
    assert!(sensor_slot_align() <= 16);
    assert_eq!(sensor_abi_version(), SENSOR_ABI_VERSION);
}

#[test]
fn update_checks_its_arguments_and_content_alignment() {
    let slot = Slot::new(c"7.11");
    let april = Content::fixture(APRIL_24);
    let mut result = std::mem::MaybeUninit::<SensorUpdateResult>::uninit();
    unsafe {
        assert_eq!(
            sensor_slot_update(slot.handle, ptr::null(), 10, result.as_mut_ptr()),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_update(slot.handle, april.ptr(), april.len(), ptr::null_mut()),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_update(
                ptr::null_mut(),
                april.ptr(),
                april.len(),
                result.as_mut_ptr()
            ),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_update(slot.handle, april.ptr(), usize::MAX, result.as_mut_ptr()),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        // A copy at an address 4 mod 8: refused before the core looks at it.
        let mut shifted = vec![0u64; april.len() / 8 + 2];
        let at = shifted.as_mut_ptr().cast::<u8>().add(4);
        ptr::copy_nonoverlapping(april.ptr(), at, april.len());
        assert_eq!(
            sensor_slot_update(slot.handle, at, april.len(), result.as_mut_ptr()),
            SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR
        );
    }
    // Refusals of malformed content carry their kind in the status.
    let mut garbage = april.bytes().to_vec();
    garbage[0] = b'X';
    let (status, result) = slot.update(&Content::new(&garbage));
    assert_eq!(status, status::content_refused(kind::BAD_MAGIC));
    assert_eq!(result.error.kind, kind::BAD_MAGIC);
    let (status, result) = slot.update(&Content::new(&april.bytes()[..40]));
    assert_eq!(status, status::content_refused(kind::TRUNCATED));
    assert_eq!((result.error.value, result.error.bound), (40, 128));
    let mut flipped = april.bytes().to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    let (status, _) = slot.update(&Content::new(&flipped));
    assert_eq!(status, status::content_refused(kind::CHECKSUM));
    assert_eq!(slot.stats().updates_rejected, 3);
    slot.destroy();
}

fn value_status(slot: &Slot, mutate: impl FnOnce(&mut Event)) -> NtStatus {
    let mut event = pipe(20, 1, r"\srvsvc", r"C:\Windows\System32\rundll32.exe", 0);
    mutate(&mut event);
    slot.evaluate(&event).0
}

#[test]
fn evaluate_refuses_malformed_values_and_evaluates_nothing() {
    let slot = Slot::new(c"7.11");
    let april = Content::fixture(APRIL_24);
    assert_eq!(slot.update(&april).0, SENSOR_STATUS_SUCCESS);
    assert_eq!(value_status(&slot, |_| {}), SENSOR_STATUS_SUCCESS);
    type Mutation = fn(&mut Event);
    let cases: [(&str, Mutation); 6] = [
        ("odd Length", |e| {
            e.values[ipc::PIPE_NAME].string.Length -= 1
        }),
        ("Length > MaximumLength", |e| {
            e.values[ipc::PIPE_NAME].string.MaximumLength -= 2
        }),
        ("null Buffer", |e| {
            e.values[ipc::PIPE_NAME].string.Buffer = ptr::null()
        }),
        ("misaligned Buffer", |e| {
            let b = e.values[ipc::PIPE_NAME].string.Buffer;
            e.values[ipc::PIPE_NAME].string.Buffer = unsafe { b.byte_add(1) };
        }),
        ("unknown kind", |e| e.values[ipc::PROCESS_ID].kind = 7),
        ("reserved not zero", |e| {
            e.values[ipc::PROCESS_ID].reserved = 1
        }),
    ];
    for (name, mutate) in cases {
        assert_eq!(
            value_status(&slot, mutate),
            SENSOR_STATUS_INVALID_PARAMETER,
            "{name}"
        );
    }
    // An empty string with a null buffer is fine (RtlInitUnicodeString(NULL)).
    assert_eq!(
        value_status(&slot, |e| {
            e.values[ipc::USER].kind = SENSOR_VALUE_STR;
        }),
        SENSOR_STATUS_SUCCESS
    );
    let mut verdict = SensorVerdict::default();
    let mut matches = [SensorMatch::default(); 1];
    let big = Event::new(33, &[]);
    unsafe {
        assert_eq!(
            sensor_slot_evaluate(
                slot.handle,
                big.values.as_ptr(),
                33,
                ptr::null_mut(),
                0,
                &mut verdict
            ),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_evaluate(
                slot.handle,
                ptr::null(),
                3,
                ptr::null_mut(),
                0,
                &mut verdict
            ),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_evaluate(
                slot.handle,
                big.values.as_ptr(),
                20,
                ptr::null_mut(),
                1,
                &mut verdict
            ),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_evaluate(
                slot.handle,
                big.values.as_ptr(),
                20,
                matches.as_mut_ptr(),
                1,
                ptr::null_mut()
            ),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        // No values at all: every predicate's input is missing; nothing faults.
        assert_eq!(
            sensor_slot_evaluate(
                slot.handle,
                ptr::null(),
                0,
                matches.as_mut_ptr(),
                1,
                &mut verdict
            ),
            SENSOR_STATUS_SUCCESS
        );
    }
    assert_eq!(verdict.matched, 0);
    assert!(verdict.missing_inputs > 0);
    // Only the successful evaluations were counted: valid event, empty string, no values.
    assert_eq!(slot.stats().events, 3);
    slot.destroy();
}

#[test]
fn matches_beyond_the_callers_array_are_counted_as_dropped() {
    let slot = Slot::new(c"fixed");
    let july = Content::fixture(JULY_0409);
    assert_eq!(slot.update(&july).0, SENSOR_STATUS_SUCCESS);
    let events = probes(21);
    let event = &events[5];
    let mut one = [SensorMatch::default(); 1];
    let mut verdict = SensorVerdict::default();
    for (matches, capacity, stored) in [(one.as_mut_ptr(), 1usize, 1u32), (ptr::null_mut(), 0, 0)] {
        let status = unsafe {
            sensor_slot_evaluate(
                slot.handle,
                event.values.as_ptr(),
                event.values.len(),
                matches,
                capacity,
                &mut verdict,
            )
        };
        assert_eq!(status, SENSOR_STATUS_SUCCESS);
        assert_eq!((verdict.matched, verdict.stored), (2, stored));
        assert_eq!(verdict.dropped, 2 - stored);
    }
    assert_eq!(one[0].rule, 4);
    assert_eq!(one[0].level, SENSOR_LEVEL_CRITICAL);
    slot.destroy();
}

#[test]
fn no_content_is_a_success_status_that_evaluates_nothing() {
    let slot = Slot::new(c"7.11");
    let (status, verdict, matches) = slot.evaluate(&probes(20)[0]);
    assert_eq!(status, SENSOR_STATUS_NO_CONTENT);
    assert!(status >= 0, "NT_SUCCESS");
    assert_eq!(
        (verdict.content_version, verdict.action),
        (0, SENSOR_ACTION_NONE)
    );
    assert!(matches.is_empty());
    let mut info = SensorContentInfo::default();
    assert_eq!(
        unsafe { sensor_slot_content(slot.handle, &mut info) },
        SENSOR_STATUS_NO_CONTENT
    );
    assert_eq!(slot.rule_id(0, 0).0, SENSOR_STATUS_NO_CONTENT);
    let stats = slot.stats();
    assert_eq!((stats.events, stats.events_without_content), (0, 1));
    slot.destroy();
}

#[test]
fn rule_ids_are_read_only_for_the_named_version() {
    let slot = Slot::new(c"7.11");
    let april = Content::fixture(APRIL_24);
    assert_eq!(slot.update(&april).0, SENSOR_STATUS_SUCCESS);
    assert_eq!(
        slot.rule_id(2024042400, 3),
        (SENSOR_STATUS_SUCCESS, "IPC-0004".into())
    );
    assert_eq!(
        slot.rule_id(2024030500, 3).0,
        SENSOR_STATUS_VERSION_MISMATCH
    );
    assert_eq!(slot.rule_id(2024042400, 4).0, SENSOR_STATUS_NOT_FOUND);
    let mut small = [0 as std::ffi::c_char; 8];
    let mut len = 0usize;
    let status = unsafe {
        sensor_slot_rule_id(
            slot.handle,
            2024042400,
            0,
            small.as_mut_ptr(),
            small.len(),
            &mut len,
        )
    };
    assert_eq!(status, SENSOR_STATUS_BUFFER_TOO_SMALL);
    assert_eq!(len, 8, "the length needed, NUL excluded");
    slot.destroy();
}

#[test]
fn roll_back_and_clear_follow_the_core_and_report_released_buffers() {
    let slot = Slot::new(c"7.11");
    let march = Content::fixture("C-00000291-2024-03-05");
    let april = Content::fixture(APRIL_24);
    let mut version = 0u64;
    let mut released = SensorReleased::NONE;
    unsafe {
        assert_eq!(
            sensor_slot_roll_back(slot.handle, &mut version, &mut released),
            SENSOR_STATUS_NOT_FOUND
        );
    }
    assert_eq!(slot.update(&march).0, SENSOR_STATUS_SUCCESS);
    let (_, result) = slot.update(&april);
    assert_eq!(
        (result.has_replaced, result.replaced_version),
        (1, 2024030500)
    );
    unsafe {
        assert_eq!(
            sensor_slot_roll_back(slot.handle, &mut version, &mut released),
            SENSOR_STATUS_SUCCESS
        );
    }
    assert_eq!(version, 2024030500);
    assert_eq!(
        (released.count, released.buffers[0]),
        (1, april.ptr().cast()),
        "the rollback releases the April content it replaced"
    );
    let (_, verdict, _) = slot.evaluate(&probes(20)[1]);
    assert_eq!(verdict.content_version, 2024030500);
    unsafe {
        assert_eq!(
            sensor_slot_clear(slot.handle, &mut released),
            SENSOR_STATUS_SUCCESS
        );
    }
    assert_eq!(
        (released.count, released.buffers[0]),
        (1, march.ptr().cast())
    );
    assert_eq!(slot.evaluate(&probes(20)[1]).0, SENSOR_STATUS_NO_CONTENT);
    assert_eq!(slot.update(&april).0, SENSOR_STATUS_SUCCESS);
    assert_eq!(slot.destroy(), vec![april.ptr().cast()]);
}

#[test]
fn a_destroyed_slot_is_refused_by_every_call() {
    let slot = Slot::new(c"7.11");
    let handle = slot.handle;
    let _memory = {
        let Slot { _memory, handle: h } = slot;
        let mut released = SensorReleased::NONE;
        assert_eq!(
            unsafe { sensor_slot_destroy(h, &mut released) },
            SENSOR_STATUS_SUCCESS
        );
        _memory
    };
    let mut released = SensorReleased::NONE;
    let mut stats = SensorStats::default();
    let mut verdict = SensorVerdict::default();
    unsafe {
        assert_eq!(
            sensor_slot_destroy(handle, &mut released),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_stats(handle, &mut stats),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_evaluate(handle, ptr::null(), 0, ptr::null_mut(), 0, &mut verdict),
            SENSOR_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            sensor_slot_stats(handle.byte_add(8), &mut stats),
            SENSOR_STATUS_INVALID_PARAMETER
        );
    }
}

/// The FFI's statistics are the core slot's own (`ContentSlot::evaluate` counts and names the
/// content version): compare with a core slot fed the same events, through the `Debug` form,
/// which lists every counter the core has (a new core counter fails this test until
/// `sensor_slot_stats` reports it too).
#[test]
fn the_ffi_keeps_the_same_counters_as_the_core_slot() {
    let slot = Slot::new(c"7.11");
    let april = Content::fixture(APRIL_24);
    let july = Content::fixture(JULY_0409);
    let core = ContentSlot::new(schema::SENSOR_7_11);
    let mut sink = MatchBuffer::<8>::default();
    let events = probes(20);
    let short = Event::new(3, &[(ipc::PIPE_NAME, V::Str(r"\srvsvc"))]);
    let mut feed = |event: &Event| {
        slot.evaluate(event);
        let values: Vec<Value<'_>> = event
            .values
            .iter()
            .map(|v| match v.kind {
                SENSOR_VALUE_INT => Value::Int(v.integer),
                SENSOR_VALUE_STR => Value::Str(unsafe {
                    std::slice::from_raw_parts(v.string.Buffer, usize::from(v.string.Length / 2))
                }),
                _ => Value::Absent,
            })
            .collect();
        core.evaluate(&values, &mut sink);
    };
    feed(&events[0]);
    assert!(slot.update(&april).0 == SENSOR_STATUS_SUCCESS && core.update(april.bytes()).is_ok());
    for event in events.iter().chain([&short]) {
        feed(event);
    }
    assert!(slot.update(&july).0 != SENSOR_STATUS_SUCCESS && core.update(july.bytes()).is_err());
    let ffi = format!("{:?}", slot.stats()).replace("SensorStats", "SlotStats");
    assert_eq!(ffi, format!("{:?}", core.stats()));
    slot.destroy();
}
