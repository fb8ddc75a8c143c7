//! The C ABI as a driver uses it, wrapped just enough for the scenario to read well. Every call
//! goes through the exported `extern "C"` functions of `sensor-ffi`.

use core::ffi::{c_char, c_void, CStr};
use core::mem::MaybeUninit;
use core::ptr;

use sensor_ffi::{
    sensor_slot_clear, sensor_slot_content, sensor_slot_destroy, sensor_slot_evaluate,
    sensor_slot_init, sensor_slot_roll_back, sensor_slot_rule_id, sensor_slot_stats,
    sensor_slot_update, NtStatus, SensorContentInfo, SensorMatch, SensorReleased, SensorSlot,
    SensorStats, SensorUpdateResult, SensorValue, SensorVerdict, SENSOR_STATUS_SUCCESS,
};

/// Most matches one evaluation reports here.
pub const MATCHES: usize = 8;

/// A slot in memory the caller owns.
pub struct Slot {
    handle: *mut SensorSlot,
}

/// The outcome of one evaluation.
#[derive(Clone, Copy)]
pub struct Evaluation {
    /// The status returned.
    pub status: NtStatus,
    /// The verdict.
    pub verdict: SensorVerdict,
    /// The matches stored.
    pub matches: [SensorMatch; MATCHES],
}

impl Evaluation {
    /// The matches stored.
    pub fn matches(&self) -> &[SensorMatch] {
        &self.matches[..(self.verdict.stored as usize).min(MATCHES)]
    }
}

impl Slot {
    /// Initialises a slot for `build` in `memory`.
    ///
    /// # Safety
    ///
    /// `memory` must be writable for `size` bytes and outlive the slot.
    pub unsafe fn init(memory: *mut c_void, size: usize, build: &CStr) -> Result<Self, NtStatus> {
        let mut handle = ptr::null_mut();
        // SAFETY: the caller's contract; `build` is NUL-terminated.
        let status = unsafe { sensor_slot_init(memory, size, build.as_ptr(), &mut handle) };
        if status == SENSOR_STATUS_SUCCESS {
            Ok(Self { handle })
        } else {
            Err(status)
        }
    }

    /// Offers `content`; the slot keeps it (it is `'static`) if it accepts it.
    pub fn update(&self, content: &'static [u8]) -> (NtStatus, SensorUpdateResult) {
        let mut result = MaybeUninit::<SensorUpdateResult>::uninit();
        // SAFETY: live handle; the content is 'static, so it outlives any hold on it.
        let status = unsafe {
            sensor_slot_update(
                self.handle,
                content.as_ptr(),
                content.len(),
                result.as_mut_ptr(),
            )
        };
        let result = if status == sensor_ffi::SENSOR_STATUS_INVALID_PARAMETER
            || status == sensor_ffi::SENSOR_STATUS_DATATYPE_MISALIGNMENT_ERROR
        {
            SensorUpdateResult {
                version: 0,
                replaced_version: 0,
                has_replaced: 0,
                reserved: 0,
                released: SensorReleased::NONE,
                error: sensor_ffi::SensorLoadError::NONE,
            }
        } else {
            // SAFETY: every other status writes the result.
            unsafe { result.assume_init() }
        };
        (status, result)
    }

    /// Evaluates one event.
    pub fn evaluate(&self, values: &[SensorValue]) -> Evaluation {
        let mut out = Evaluation {
            status: 0,
            verdict: SensorVerdict::default(),
            matches: [SensorMatch::default(); MATCHES],
        };
        // SAFETY: live handle; the values and their strings are borrowed for the call.
        out.status = unsafe {
            sensor_slot_evaluate(
                self.handle,
                values.as_ptr(),
                values.len(),
                out.matches.as_mut_ptr(),
                MATCHES,
                &mut out.verdict,
            )
        };
        out
    }

    /// Version of the active content, if any.
    pub fn active_version(&self) -> Option<u64> {
        let mut info = SensorContentInfo::default();
        // SAFETY: live handle, writable output.
        let status = unsafe { sensor_slot_content(self.handle, &mut info) };
        (status == SENSOR_STATUS_SUCCESS).then_some(info.content_version)
    }

    /// The id of rule `rule` of content `version`, copied into `buf`.
    pub fn rule_id<'b>(&self, version: u64, rule: u32, buf: &'b mut [u8; 32]) -> Option<&'b str> {
        let mut len = 0usize;
        // SAFETY: live handle; `buf` is writable for its length.
        let status = unsafe {
            sensor_slot_rule_id(
                self.handle,
                version,
                rule,
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len(),
                &mut len,
            )
        };
        if status != SENSOR_STATUS_SUCCESS {
            return None;
        }
        core::str::from_utf8(&buf[..len]).ok()
    }

    /// Rolls back to the last-known-good content.
    pub fn roll_back(&self) -> (NtStatus, u64, SensorReleased) {
        let mut version = 0;
        let mut released = SensorReleased::NONE;
        // SAFETY: live handle, writable outputs.
        let status = unsafe { sensor_slot_roll_back(self.handle, &mut version, &mut released) };
        (status, version, released)
    }

    /// Drops the active and last-known-good content; returns what it released.
    pub fn clear(&self) -> (NtStatus, SensorReleased) {
        let mut released = SensorReleased::NONE;
        // SAFETY: live handle, writable output.
        let status = unsafe { sensor_slot_clear(self.handle, &mut released) };
        (status, released)
    }

    /// The running totals.
    pub fn stats(&self) -> SensorStats {
        let mut stats = SensorStats::default();
        // SAFETY: live handle, writable output.
        unsafe { sensor_slot_stats(self.handle, &mut stats) };
        stats
    }

    /// Destroys the slot; returns what it released.
    pub fn destroy(self) -> (NtStatus, SensorReleased) {
        let mut released = SensorReleased::NONE;
        // SAFETY: live handle, used by nothing else after this.
        let status = unsafe { sensor_slot_destroy(self.handle, &mut released) };
        (status, released)
    }
}
