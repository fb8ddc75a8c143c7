//! One boot of the emulated kernel: address space, pools, IRQL and module list behind the calls a
//! driver makes, and the bugcheck that ends the boot.
//!
//! Every memory access a driver makes names the instruction address it stands for, so a fault
//! becomes a bugcheck with the four arguments Windows would report: not-present and
//! non-canonical addresses at `APC_LEVEL` or below stop with 0x50, any fault above it (and any
//! touch of pageable memory above it, as under Driver Verifier's IRQL checking) with 0xD1,
//! protection faults with 0xBE or 0xFC. Once a bugcheck is raised every further call returns it:
//! the boot is over. This module owns those rules; it never decides what a driver does and it
//! never outlives its boot (a reboot is a new `Kernel`).

use x86_64::structures::idt::PageFaultErrorCode;

use super::bugcheck::{fault_type, verifier, BugCheck, BugCheckCode};
use super::irql::{Irql, IrqlState};
use super::mmu::{error_code, Access, AddressSpace, FaultKind, PageFault, PAGEABLE};
use super::modules::{ModuleError, ModuleList};
use super::pool::{PoolTag, PoolType, Pools};

/// The result of a kernel call: the value, or the bugcheck that ended the boot.
pub type KResult<T> = Result<T, BugCheck>;

/// Size of a `UNICODE_STRING` on x64: `Length`, `MaximumLength`, padding, `Buffer`.
pub const UNICODE_STRING_SIZE: u64 = 16;
/// Most UTF-16 code units a `UNICODE_STRING` holds (`Length` is a byte count in a `u16`).
pub const MAX_UNICODE_UNITS: usize = 32_767;

/// The memory access behind a bugcheck, as the trap frame and CR2 record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    /// The address that could not be accessed.
    pub address: u64,
    /// What the access was.
    pub access: Access,
    /// Why it failed.
    pub kind: FaultKind,
    /// The #PF error code, when the processor pushes one.
    pub error_code: Option<PageFaultErrorCode>,
    /// The IRQL at the time.
    pub irql: Irql,
    /// The instruction that made the access.
    pub rip: u64,
}

/// Why the boot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop {
    /// The bugcheck.
    pub bugcheck: BugCheck,
    /// The access that caused it, for memory faults.
    pub fault: Option<FaultRecord>,
}

/// One boot of the emulated kernel.
pub struct Kernel {
    boot: u32,
    mmu: AddressSpace,
    pools: Pools,
    irql: IrqlState,
    modules: ModuleList,
    stop: Option<Stop>,
}

/// Bits of argument 2 of bugcheck 0x50 for an access: the write and fetch bits of the #PF
/// error code (0 read, 2 write, 0x10 execute).
fn access_bits(access: Access) -> u64 {
    let mask = PageFaultErrorCode::CAUSED_BY_WRITE | PageFaultErrorCode::INSTRUCTION_FETCH;
    error_code(access, FaultKind::NotPresent).map_or(0, |code| (code & mask).bits())
}

/// Argument 3 of bugcheck 0xD1 for an access.
fn irql_access_code(access: Access) -> u64 {
    match access {
        Access::Read => 0,
        Access::Write => 1,
        Access::Execute => 8,
    }
}

impl Kernel {
    /// Boot number `boot`: empty pools, `PASSIVE_LEVEL`, the boot images loaded.
    pub fn boot(boot: u32) -> Self {
        Self {
            boot,
            mmu: AddressSpace::new(),
            pools: Pools::new(),
            irql: IrqlState::default(),
            modules: ModuleList::at_boot(),
            stop: None,
        }
    }

    /// Which boot this is, counting from 1.
    pub fn boot_number(&self) -> u32 {
        self.boot
    }

    /// The stop that ended this boot, if one did.
    pub fn stopped(&self) -> Option<&Stop> {
        self.stop.as_ref()
    }

    /// The address space, for inspection.
    pub fn memory(&self) -> &AddressSpace {
        &self.mmu
    }

    /// The pools, for inspection.
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// The loaded-module list.
    pub fn modules(&self) -> &ModuleList {
        &self.modules
    }

    /// The current IRQL.
    pub fn irql(&self) -> Irql {
        self.irql.current()
    }

    fn running(&self) -> KResult<()> {
        match &self.stop {
            Some(stop) => Err(stop.bugcheck),
            None => Ok(()),
        }
    }

    /// `KeBugCheckEx`: ends the boot with `bugcheck`. Returns it, for `Err(...)`.
    pub fn bugcheck(&mut self, bugcheck: BugCheck) -> BugCheck {
        self.stop_with(bugcheck, None)
    }

    fn stop_with(&mut self, bugcheck: BugCheck, fault: Option<FaultRecord>) -> BugCheck {
        self.stop.get_or_insert(Stop { bugcheck, fault }).bugcheck
    }

    fn checked<T>(&mut self, result: Result<T, BugCheck>) -> KResult<T> {
        result.map_err(|bugcheck| self.bugcheck(bugcheck))
    }

    /// `KeRaiseIrql`.
    pub fn raise_irql(&mut self, new: Irql) -> KResult<Irql> {
        self.running()?;
        let result = self.irql.raise(new.value());
        self.checked(result)
    }

    /// `KeLowerIrql`.
    pub fn lower_irql(&mut self, new: Irql) -> KResult<()> {
        self.running()?;
        let result = self.irql.lower(new.value());
        self.checked(result)
    }

    /// `ExAllocatePool2` for `owner`: `Ok(None)` when the pool is exhausted.
    pub fn allocate(
        &mut self,
        pool: PoolType,
        size: u64,
        tag: PoolTag,
        owner: &str,
    ) -> KResult<Option<u64>> {
        self.running()?;
        let irql = self.irql.current();
        let result = self
            .pools
            .allocate(&mut self.mmu, irql, pool, size, tag, owner);
        self.checked(result)
    }

    /// `ExFreePoolWithTag`.
    pub fn free(&mut self, address: u64) -> KResult<()> {
        self.running()?;
        let irql = self.irql.current();
        let result = self.pools.free(&mut self.mmu, irql, address);
        self.checked(result)
    }

    /// Reads `buf.len()` bytes at `address` on behalf of the instruction at `rip`.
    pub fn read(&mut self, address: u64, buf: &mut [u8], rip: u64) -> KResult<()> {
        self.running()?;
        self.guard_pageable(address, buf.len(), Access::Read, rip)?;
        let result = self.mmu.read(address, buf);
        self.faulted(result, rip)
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&mut self, address: u64, rip: u64) -> KResult<u64> {
        let mut bytes = [0u8; 8];
        self.read(address, &mut bytes, rip)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Reads a little-endian `u16`.
    pub fn read_u16(&mut self, address: u64, rip: u64) -> KResult<u16> {
        let mut bytes = [0u8; 2];
        self.read(address, &mut bytes, rip)?;
        Ok(u16::from_le_bytes(bytes))
    }

    /// Writes a `UNICODE_STRING` at `at` with its buffer right after it, holding `units`
    /// (cut to [`MAX_UNICODE_UNITS`]). Needs [`UNICODE_STRING_SIZE`] + 2 × units bytes.
    pub fn write_unicode_string(&mut self, at: u64, units: &[u16], rip: u64) -> KResult<()> {
        let units = &units[..units.len().min(MAX_UNICODE_UNITS)];
        let data: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let length = u16::try_from(data.len()).unwrap_or(u16::MAX).to_le_bytes();
        let buffer = at.wrapping_add(UNICODE_STRING_SIZE);
        let mut header = [0u8; UNICODE_STRING_SIZE as usize];
        header[0..2].copy_from_slice(&length);
        header[2..4].copy_from_slice(&length);
        header[8..16].copy_from_slice(&buffer.to_le_bytes());
        self.write(at, &header, rip)?;
        self.write(buffer, &data, rip)
    }

    /// Reads the `UNICODE_STRING` at `at` (by the instruction at `rips.0`) and the code units
    /// its `Buffer` points to (by the instruction at `rips.1`).
    pub fn read_unicode_string(&mut self, at: u64, rips: (u64, u64)) -> KResult<Vec<u16>> {
        let length = self.read_u16(at, rips.0)?;
        let buffer = self.read_u64(at.wrapping_add(8), rips.0)?;
        let mut bytes = vec![0u8; usize::from(length & !1)];
        self.read(buffer, &mut bytes, rips.1)?;
        Ok(bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect())
    }

    /// Writes `data` at `address` on behalf of the instruction at `rip`.
    pub fn write(&mut self, address: u64, data: &[u8], rip: u64) -> KResult<()> {
        self.running()?;
        self.guard_pageable(address, data.len(), Access::Write, rip)?;
        let result = self.mmu.write(address, data);
        self.faulted(result, rip)
    }

    /// Fetches the instruction at `rip` (checks that it may execute there).
    pub fn fetch(&mut self, rip: u64) -> KResult<()> {
        self.running()?;
        self.guard_pageable(rip, 1, Access::Execute, rip)?;
        let result = self.mmu.fetch(rip);
        self.faulted(result, rip)
    }

    /// Above `APC_LEVEL` pageable memory may not be touched at all: stop with 0xD1 before the
    /// access, as Driver Verifier's IRQL checking does by trimming pageable pages.
    fn guard_pageable(
        &mut self,
        address: u64,
        len: usize,
        access: Access,
        rip: u64,
    ) -> KResult<()> {
        let irql = self.irql.current();
        if irql.may_touch_pageable() {
            return Ok(());
        }
        match self.mmu.first_page_with(address, len, PAGEABLE) {
            None => Ok(()),
            Some(at) => {
                let fault = PageFault {
                    address: at,
                    access,
                    kind: FaultKind::NotPresent,
                    error_code: error_code(access, FaultKind::NotPresent),
                    flags: self.mmu.flags(at),
                };
                Err(self.page_fault(fault, rip))
            }
        }
    }

    fn faulted(&mut self, result: Result<(), PageFault>, rip: u64) -> KResult<()> {
        result.map_err(|fault| self.page_fault(fault, rip))
    }

    /// Turns a fault into the bugcheck Windows raises for it, and ends the boot.
    fn page_fault(&mut self, fault: PageFault, rip: u64) -> BugCheck {
        let irql = self.irql.current();
        let address = fault.address;
        let bugcheck = match (fault.kind, fault.access) {
            _ if !irql.may_touch_pageable() => BugCheck::new(
                BugCheckCode::DriverIrqlNotLessOrEqual,
                [
                    address,
                    u64::from(irql.value()),
                    irql_access_code(fault.access),
                    rip,
                ],
            ),
            (FaultKind::NotPresent, access) => BugCheck::new(
                BugCheckCode::PageFaultInNonpagedArea,
                [address, access_bits(access), rip, fault_type::NOT_PRESENT],
            ),
            (FaultKind::NonCanonical, access) => BugCheck::new(
                BugCheckCode::PageFaultInNonpagedArea,
                [
                    address,
                    access_bits(access),
                    rip,
                    fault_type::VA_NOT_CANONICAL,
                ],
            ),
            (FaultKind::Protection, Access::Execute) => BugCheck::new(
                BugCheckCode::AttemptedExecuteOfNoexecuteMemory,
                [address, fault.flags.map_or(0, |f| f.bits()), 0, 0],
            ),
            (FaultKind::Protection, _) => BugCheck::new(
                BugCheckCode::AttemptedWriteToReadonlyMemory,
                [address, fault.flags.map_or(0, |f| f.bits()), 0, 0],
            ),
        };
        let record = FaultRecord {
            address,
            access: fault.access,
            kind: fault.kind,
            error_code: fault.error_code,
            irql,
            rip,
        };
        self.stop_with(bugcheck, Some(record))
    }

    /// Loads a driver image into the module list.
    pub fn load_image(&mut self, image: &str, base: u64, size: u64) -> Result<(), ModuleError> {
        self.modules.load(image, base, size).map(drop)
    }

    /// Checks that `image` holds no pool, as Driver Verifier's Pool Tracking does when a driver
    /// unloads: anything still allocated is a stop (0xC4, 0x60: paged bytes, nonpaged bytes,
    /// allocations).
    pub fn check_pool_released(&mut self, image: &str) -> KResult<()> {
        self.running()?;
        let held = self.pools.outstanding(image);
        if held.allocations == 0 {
            return Ok(());
        }
        Err(self.bugcheck(BugCheck::verifier(
            verifier::UNLOAD_WITH_POOL_ALLOCATED,
            held.paged_bytes,
            held.nonpaged_bytes,
            held.allocations,
        )))
    }

    /// Removes a driver image from the module list.
    pub fn unload_image(&mut self, image: &str) -> Result<(), ModuleError> {
        self.modules.unload(image).map(drop)
    }

    /// What a debugger says lies at `address`: the pool range or the image it falls in.
    pub fn describe(&self, address: u64) -> Option<String> {
        if let Some(pool) = self.pools.pool_of(address) {
            return Some(pool.name().to_owned());
        }
        self.modules
            .resolve(address)
            .map(|r| format!("{} image", r.module.image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::modules::{SENSOR_BASE, SENSOR_IMAGE, SENSOR_SIZE};
    use crate::emu::pool::{NONPAGED_BASE, PAGED_BASE};

    const TAG: PoolTag = PoolTag(*b"Test");
    const RIP: u64 = SENSOR_BASE + 0x1000;

    fn kernel() -> Kernel {
        let mut k = Kernel::boot(1);
        k.load_image(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE)
            .unwrap();
        k
    }

    fn alloc(k: &mut Kernel, pool: PoolType, size: u64) -> u64 {
        k.allocate(pool, size, TAG, SENSOR_IMAGE).unwrap().unwrap()
    }

    #[test]
    fn a_null_offset_read_is_bugcheck_50_and_ends_the_boot() {
        let mut k = kernel();
        let stop = k.read_u64(0x9c, RIP).unwrap_err();
        assert_eq!(stop.code, BugCheckCode::PageFaultInNonpagedArea);
        assert_eq!(stop.args, [0x9c, 0, RIP, 2]);
        let record = k.stopped().unwrap().fault.unwrap();
        assert_eq!(record.error_code, Some(PageFaultErrorCode::empty()));
        assert_eq!(record.rip, RIP);
        assert_eq!(k.allocate(PoolType::Paged, 8, TAG, "x").unwrap_err(), stop);
        assert_eq!(
            k.read_u64(NONPAGED_BASE, RIP).unwrap_err(),
            stop,
            "the boot is over"
        );
    }

    #[test]
    fn writes_and_non_canonical_addresses_set_their_arguments() {
        let mut k = kernel();
        assert_eq!(
            k.write(0x10, &[1], RIP).unwrap_err().args,
            [0x10, 2, RIP, 2]
        );
        let mut k = kernel();
        let stop = k.read_u64(0x8000_0000_0000_0000, RIP).unwrap_err();
        assert_eq!(stop.args, [0x8000_0000_0000_0000, 0, RIP, 4]);
        assert_eq!(k.stopped().unwrap().fault.unwrap().error_code, None);
    }

    #[test]
    fn touching_paged_memory_above_apc_level_is_bugcheck_d1() {
        let mut k = kernel();
        let paged = alloc(&mut k, PoolType::Paged, 64);
        let nonpaged = alloc(&mut k, PoolType::NonPagedNx, 64);
        k.read_u64(paged, RIP).unwrap();
        let old = k.raise_irql(Irql::DISPATCH).unwrap();
        k.read_u64(nonpaged, RIP).unwrap();
        let stop = k.read_u64(paged + 8, RIP).unwrap_err();
        assert_eq!(stop.code, BugCheckCode::DriverIrqlNotLessOrEqual);
        assert_eq!(stop.args, [paged + 8, 2, 0, RIP]);
        assert_eq!(k.lower_irql(old).unwrap_err(), stop);
    }

    #[test]
    fn any_fault_above_apc_level_is_d1_not_50() {
        let mut k = kernel();
        k.raise_irql(Irql::DISPATCH).unwrap();
        let stop = k.write(0x9c, &[0], RIP).unwrap_err();
        assert_eq!(stop.code, BugCheckCode::DriverIrqlNotLessOrEqual);
        assert_eq!(stop.args, [0x9c, 2, 1, RIP]);
    }

    #[test]
    fn irql_misuse_through_the_kernel_is_a_verifier_stop() {
        let mut k = kernel();
        k.raise_irql(Irql::DISPATCH).unwrap();
        let stop = k
            .allocate(PoolType::Paged, 32, TAG, SENSOR_IMAGE)
            .unwrap_err();
        assert_eq!(stop.args, [0x01, 2, 1, 32]);
        let mut k = kernel();
        k.raise_irql(Irql::DISPATCH).unwrap();
        let stop = k.raise_irql(Irql::APC).unwrap_err();
        assert_eq!(stop.args, [0x30, 2, 1, 0]);
    }

    #[test]
    fn protection_faults_name_the_access() {
        let mut k = kernel();
        let data = alloc(&mut k, PoolType::NonPagedNx, 64);
        let stop = k.fetch(data).unwrap_err();
        assert_eq!(stop.code, BugCheckCode::AttemptedExecuteOfNoexecuteMemory);
        assert_eq!(stop.args[0], data);
    }

    #[test]
    fn unloading_with_pool_held_is_a_verifier_stop_and_clean_unload_succeeds() {
        let mut k = kernel();
        let a = alloc(&mut k, PoolType::Paged, 100);
        alloc(&mut k, PoolType::NonPagedNx, 40);
        alloc(&mut k, PoolType::NonPagedNx, 2);
        k.free(a).unwrap();
        let stop = k.check_pool_released(SENSOR_IMAGE).unwrap_err();
        assert_eq!(stop.code, BugCheckCode::DriverVerifierDetectedViolation);
        assert_eq!(stop.args, [0x60, 0, 42, 2]);

        let mut k = kernel();
        let b = alloc(&mut k, PoolType::NonPagedNx, 40);
        k.free(b).unwrap();
        k.check_pool_released(SENSOR_IMAGE).unwrap();
        k.unload_image(SENSOR_IMAGE).unwrap();
        assert!(k.modules().find(SENSOR_IMAGE).is_none());
        assert!(k.stopped().is_none());
    }

    #[test]
    fn unicode_strings_round_trip_through_pool() {
        let mut k = kernel();
        let units: Vec<u16> = r"\PSEXESVC-FS01-1234-stdin".encode_utf16().collect();
        let size = UNICODE_STRING_SIZE + 2 * units.len() as u64;
        let block = alloc(&mut k, PoolType::Paged, size);
        k.write_unicode_string(block, &units, RIP).unwrap();
        assert_eq!(k.read_u16(block, RIP).unwrap(), 2 * units.len() as u16);
        assert_eq!(k.read_u64(block + 8, RIP).unwrap(), block + 16);
        assert_eq!(k.read_unicode_string(block, (RIP, RIP)).unwrap(), units);
        let stop = k.read_unicode_string(0x10, (RIP, RIP + 4)).unwrap_err();
        assert_eq!(stop.args, [0x10, 0, RIP, 2]);
    }

    #[test]
    fn describes_addresses_like_a_debugger() {
        let k = kernel();
        assert_eq!(k.describe(PAGED_BASE + 0x74).as_deref(), Some("Paged pool"));
        assert_eq!(k.describe(NONPAGED_BASE).as_deref(), Some("Nonpaged pool"));
        assert_eq!(
            k.describe(SENSOR_BASE + 0xe14ed).as_deref(),
            Some("sensoragent.sys image")
        );
        assert_eq!(k.describe(0x9c), None);
    }
}
