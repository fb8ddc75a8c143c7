//! Bugchecks: the code, its name and its four arguments, as `KeBugCheckEx` takes them.
//!
//! This module owns the catalogue of the stop codes the emulated kernel raises and the meaning
//! of their arguments (from Microsoft's bug-check reference). It never decides *when* to stop:
//! the kernel does that, and a [`BugCheck`] value travelling up as an `Err` is what ends the
//! boot. Nothing here touches memory or host state.

use std::fmt;

/// A stop code the emulated kernel can raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BugCheckCode {
    /// 0x50: invalid system memory was referenced (cannot be caught by try-except).
    PageFaultInNonpagedArea,
    /// 0xBE: a driver wrote to read-only memory.
    AttemptedWriteToReadonlyMemory,
    /// 0xC4: Driver Verifier caught a rule violation; argument 1 says which.
    DriverVerifierDetectedViolation,
    /// 0xD1: a driver touched pageable or invalid memory at too high an IRQL.
    DriverIrqlNotLessOrEqual,
    /// 0xFC: a driver executed memory marked no-execute.
    AttemptedExecuteOfNoexecuteMemory,
}

impl BugCheckCode {
    /// Every code, for lookups.
    pub const ALL: [BugCheckCode; 5] = [
        Self::PageFaultInNonpagedArea,
        Self::AttemptedWriteToReadonlyMemory,
        Self::DriverVerifierDetectedViolation,
        Self::DriverIrqlNotLessOrEqual,
        Self::AttemptedExecuteOfNoexecuteMemory,
    ];

    /// The numeric stop code.
    pub const fn value(self) -> u32 {
        match self {
            Self::PageFaultInNonpagedArea => 0x50,
            Self::AttemptedWriteToReadonlyMemory => 0xBE,
            Self::DriverVerifierDetectedViolation => 0xC4,
            Self::DriverIrqlNotLessOrEqual => 0xD1,
            Self::AttemptedExecuteOfNoexecuteMemory => 0xFC,
        }
    }

    /// The symbolic name a debugger prints.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PageFaultInNonpagedArea => "PAGE_FAULT_IN_NONPAGED_AREA",
            Self::AttemptedWriteToReadonlyMemory => "ATTEMPTED_WRITE_TO_READONLY_MEMORY",
            Self::DriverVerifierDetectedViolation => "DRIVER_VERIFIER_DETECTED_VIOLATION",
            Self::DriverIrqlNotLessOrEqual => "DRIVER_IRQL_NOT_LESS_OR_EQUAL",
            Self::AttemptedExecuteOfNoexecuteMemory => "ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY",
        }
    }

    /// The code with numeric value `value`, if the emulator knows it.
    pub fn from_value(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.value() == value)
    }

    /// What each of the four arguments means, one line each.
    pub const fn argument_meanings(self) -> [&'static str; 4] {
        match self {
            Self::PageFaultInNonpagedArea => [
                "memory referenced",
                "access type: 0 = read, 2 = write, 10 = execute (page-fault error-code bits)",
                "address of the instruction that referenced the memory",
                "type of page fault: 2 = not present, 4 = address not canonical",
            ],
            Self::AttemptedWriteToReadonlyMemory => [
                "virtual address of the attempted write",
                "page-table entry contents",
                "reserved",
                "reserved",
            ],
            Self::DriverVerifierDetectedViolation => [
                "type of violation",
                "depends on argument 1",
                "depends on argument 1",
                "depends on argument 1",
            ],
            Self::DriverIrqlNotLessOrEqual => [
                "memory referenced",
                "IRQL at the time of the reference",
                "0 = read, 1 = write, 8 = execute",
                "address of the instruction that referenced the memory",
            ],
            Self::AttemptedExecuteOfNoexecuteMemory => [
                "virtual address of the attempted execute",
                "page-table entry contents",
                "reserved",
                "reserved",
            ],
        }
    }
}

/// Argument 1 values of [`BugCheckCode::DriverVerifierDetectedViolation`] the emulator raises.
pub mod verifier {
    /// A zero-byte pool allocation (2: IRQL, 3: pool type, 4: 0).
    pub const ZERO_BYTE_ALLOCATION: u64 = 0x00;
    /// Paged pool allocated above `APC_LEVEL` (2: IRQL, 3: pool type, 4: size).
    pub const PAGED_ALLOCATION_AT_HIGH_IRQL: u64 = 0x01;
    /// Nonpaged pool allocated above `DISPATCH_LEVEL` (2: IRQL, 3: pool type, 4: size).
    pub const NONPAGED_ALLOCATION_AT_HIGH_IRQL: u64 = 0x02;
    /// A free of an address no allocation returned (2: the address).
    pub const FREE_OF_BAD_ADDRESS: u64 = 0x10;
    /// Paged pool freed above `APC_LEVEL` (2: IRQL, 3: pool type, 4: address).
    pub const PAGED_FREE_AT_HIGH_IRQL: u64 = 0x11;
    /// Nonpaged pool freed above `DISPATCH_LEVEL` (2: IRQL, 3: pool type, 4: address).
    pub const NONPAGED_FREE_AT_HIGH_IRQL: u64 = 0x12;
    /// `KeRaiseIrql` to a lower or invalid IRQL (2: current, 3: requested).
    pub const BAD_RAISE_IRQL: u64 = 0x30;
    /// `KeLowerIrql` to a higher or invalid IRQL (2: current, 3: requested).
    pub const BAD_LOWER_IRQL: u64 = 0x31;
    /// A driver unloaded with pool still allocated (2: paged bytes, 3: nonpaged bytes,
    /// 4: allocations not freed).
    pub const UNLOAD_WITH_POOL_ALLOCATED: u64 = 0x60;
}

/// Argument 4 of [`BugCheckCode::PageFaultInNonpagedArea`]: the type of page fault.
pub mod fault_type {
    /// `NONPAGED_BUGCHECK_NOT_PRESENT_PAGE_TABLE`: nothing is mapped at the address.
    pub const NOT_PRESENT: u64 = 0x02;
    /// `NONPAGED_BUGCHECK_VA_NOT_CANONICAL`: the address is not canonical.
    pub const VA_NOT_CANONICAL: u64 = 0x04;
}

/// A stop: the code and its four arguments. Once raised, the boot is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugCheck {
    /// The stop code.
    pub code: BugCheckCode,
    /// The four arguments, as `KeBugCheckEx` received them.
    pub args: [u64; 4],
}

impl BugCheck {
    /// A stop with `code` and `args`.
    pub const fn new(code: BugCheckCode, args: [u64; 4]) -> Self {
        Self { code, args }
    }

    /// A Driver Verifier stop with violation type `kind`.
    pub const fn verifier(kind: u64, arg2: u64, arg3: u64, arg4: u64) -> Self {
        Self::new(
            BugCheckCode::DriverVerifierDetectedViolation,
            [kind, arg2, arg3, arg4],
        )
    }

    /// The symbolic name of the code.
    pub const fn name(&self) -> &'static str {
        self.code.name()
    }
}

impl fmt::Display for BugCheck {
    /// The one-line form of a blue screen or an event log entry:
    /// `0x00000050 (0x9c, 0x0, 0xfffff806715114ed, 0x2) PAGE_FAULT_IN_NONPAGED_AREA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.args;
        write!(
            f,
            "{:#010x} ({a:#x}, {b:#x}, {c:#x}, {d:#x}) {}",
            self.code.value(),
            self.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_have_distinct_names() {
        for code in BugCheckCode::ALL {
            assert_eq!(BugCheckCode::from_value(code.value()), Some(code));
        }
        assert_eq!(BugCheckCode::from_value(0x1234), None);
        let names: std::collections::BTreeSet<_> =
            BugCheckCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), BugCheckCode::ALL.len());
    }

    #[test]
    fn displays_like_a_stop_line() {
        let stop = BugCheck::new(
            BugCheckCode::PageFaultInNonpagedArea,
            [0xffff_8405_0000_0074, 0, 0xffff_f806_7151_14ed, 2],
        );
        assert_eq!(
            stop.to_string(),
            "0x00000050 (0xffff840500000074, 0x0, 0xfffff806715114ed, 0x2) PAGE_FAULT_IN_NONPAGED_AREA"
        );
    }
}
