//! The emulated address space: 4 KiB pages with x86-64 page-table flags, and the page faults an
//! access to them raises.
//!
//! This module owns the page table and the bytes behind it. Every read, write and instruction
//! fetch the emulator performs goes through [`AddressSpace::access`], which either completes on
//! emulated pages or returns a [`PageFault`] with the error code the processor would push
//! ([`PageFaultErrorCode`]). The first 64 KiB can never be mapped, so a small address (a NULL
//! pointer plus an offset) always faults. This module never decides what a fault costs (the
//! kernel turns faults into bugchecks) and never touches host memory through an emulated
//! address: an address is only ever a key into the page table.

use std::collections::BTreeMap;

use x86_64::structures::idt::PageFaultErrorCode;
use x86_64::structures::paging::{Page, PageSize, PageTableFlags, Size4KiB};
use x86_64::VirtAddr;

/// Size of one page.
pub const PAGE_SIZE: u64 = Size4KiB::SIZE;

/// Addresses below this can never be mapped (Windows keeps the first 64 KiB free so that a NULL
/// pointer plus a small offset always faults).
pub const LOWEST_MAPPABLE: u64 = 0x1_0000;

/// Software-available page-table bit the emulator uses to mark pageable (paged-pool) pages.
pub const PAGEABLE: PageTableFlags = PageTableFlags::BIT_9;

/// Flags of a kernel data page that may be written and never executed.
pub const KERNEL_DATA: PageTableFlags = PageTableFlags::PRESENT
    .union(PageTableFlags::WRITABLE)
    .union(PageTableFlags::GLOBAL)
    .union(PageTableFlags::NO_EXECUTE);

/// What an access does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Execute,
}

impl Access {
    /// The access's name in traces.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Execute => "execute",
        }
    }
}

/// Why an access faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// No page is mapped at the address.
    NotPresent,
    /// A page is mapped but its flags forbid the access.
    Protection,
    /// The address is not canonical; the processor raises #GP, not #PF.
    NonCanonical,
}

impl FaultKind {
    /// The kind's name in traces.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NotPresent => "not-present",
            Self::Protection => "protection",
            Self::NonCanonical => "non-canonical",
        }
    }
}

/// A fault raised by an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFault {
    /// The first address of the access that could not be completed (CR2).
    pub address: u64,
    /// What the access was.
    pub access: Access,
    /// Why it faulted.
    pub kind: FaultKind,
    /// The error code pushed with #PF; `None` for a non-canonical address (#GP has none).
    pub error_code: Option<PageFaultErrorCode>,
    /// Flags of the page involved, when one is mapped.
    pub flags: Option<PageTableFlags>,
}

/// Why a page could not be mapped or unmapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The page lies in the never-mapped low 64 KiB.
    #[error("page {0:#x} lies in the low 64 KiB that is never mapped")]
    LowPage(u64),
    /// The page is already mapped.
    #[error("page {0:#x} is already mapped")]
    AlreadyMapped(u64),
    /// The page is not mapped.
    #[error("page {0:#x} is not mapped")]
    NotMapped(u64),
}

struct Frame {
    flags: PageTableFlags,
    bytes: Box<[u8; PAGE_SIZE as usize]>,
}

/// Counters of what went through the address space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessCounts {
    /// Accesses that completed.
    pub completed: u64,
    /// Accesses that faulted.
    pub faulted: u64,
}

/// One address space: the page table and the frames behind it.
#[derive(Default)]
pub struct AddressSpace {
    frames: BTreeMap<u64, Frame>,
    counts: AccessCounts,
}

/// The error code the processor pushes for a kernel-mode access that faulted.
pub fn error_code(access: Access, kind: FaultKind) -> Option<PageFaultErrorCode> {
    let mut code = match kind {
        FaultKind::NonCanonical => return None,
        FaultKind::NotPresent => PageFaultErrorCode::empty(),
        FaultKind::Protection => PageFaultErrorCode::PROTECTION_VIOLATION,
    };
    match access {
        Access::Read => {}
        Access::Write => code |= PageFaultErrorCode::CAUSED_BY_WRITE,
        Access::Execute => code |= PageFaultErrorCode::INSTRUCTION_FETCH,
    }
    Some(code)
}

fn permits(flags: PageTableFlags, access: Access) -> bool {
    match access {
        Access::Read => true,
        Access::Write => flags.contains(PageTableFlags::WRITABLE),
        Access::Execute => !flags.contains(PageTableFlags::NO_EXECUTE),
    }
}

fn page_base(address: u64) -> u64 {
    address & !(PAGE_SIZE - 1)
}

impl AddressSpace {
    /// An empty address space: nothing mapped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `page` to a fresh zero-filled frame with `flags` (`PRESENT` is added).
    pub fn map(&mut self, page: Page<Size4KiB>, flags: PageTableFlags) -> Result<(), MapError> {
        let base = page.start_address().as_u64();
        if base < LOWEST_MAPPABLE {
            return Err(MapError::LowPage(base));
        }
        if self.frames.contains_key(&base) {
            return Err(MapError::AlreadyMapped(base));
        }
        let frame = Frame {
            flags: flags | PageTableFlags::PRESENT,
            bytes: Box::new([0; PAGE_SIZE as usize]),
        };
        self.frames.insert(base, frame);
        Ok(())
    }

    /// Unmaps `page`; its bytes are gone and any later access to it faults.
    pub fn unmap(&mut self, page: Page<Size4KiB>) -> Result<(), MapError> {
        let base = page.start_address().as_u64();
        self.frames
            .remove(&base)
            .map(drop)
            .ok_or(MapError::NotMapped(base))
    }

    /// The flags of the page holding `address`, if one is mapped.
    pub fn flags(&self, address: u64) -> Option<PageTableFlags> {
        self.frames.get(&page_base(address)).map(|f| f.flags)
    }

    /// The first page of `[address, address + len)` that is mapped with all of `flags`.
    pub fn first_page_with(&self, address: u64, len: usize, flags: PageTableFlags) -> Option<u64> {
        let last = address.saturating_add(u64::try_from(len.saturating_sub(1)).ok()?);
        self.frames
            .range(page_base(address)..=page_base(last))
            .find(|(_, frame)| frame.flags.contains(flags))
            .map(|(&base, _)| base.max(address))
    }

    /// Number of pages mapped.
    pub fn mapped_pages(&self) -> usize {
        self.frames.len()
    }

    /// What went through the address space so far.
    pub fn counts(&self) -> AccessCounts {
        self.counts
    }

    /// Checks that every byte of `[address, address + len)` may be accessed as `access`, page
    /// by page, and returns the page bases in order. Nothing is read or written.
    fn check(&self, address: u64, len: usize, access: Access) -> Result<Vec<u64>, PageFault> {
        let fault = |at: u64, kind: FaultKind, flags: Option<PageTableFlags>| PageFault {
            address: at,
            access,
            kind,
            error_code: error_code(access, kind),
            flags,
        };
        let last = u64::try_from(len.saturating_sub(1))
            .ok()
            .and_then(|n| address.checked_add(n))
            .ok_or(fault(address, FaultKind::NonCanonical, None))?;
        let mut pages = Vec::new();
        let mut at = address;
        loop {
            if VirtAddr::try_new(at).is_err() {
                return Err(fault(at, FaultKind::NonCanonical, None));
            }
            let base = page_base(at);
            let frame = self
                .frames
                .get(&base)
                .ok_or(fault(at, FaultKind::NotPresent, None))?;
            if !permits(frame.flags, access) {
                return Err(fault(at, FaultKind::Protection, Some(frame.flags)));
            }
            pages.push(base);
            match base.checked_add(PAGE_SIZE) {
                Some(next) if next <= last => at = next,
                _ => return Ok(pages),
            }
        }
    }

    /// Performs one access of `len` bytes at `address`: all of it, or none of it and a fault.
    /// `visit` receives each page's bytes and the range within it, in address order.
    pub fn access(
        &mut self,
        address: u64,
        len: usize,
        access: Access,
        mut visit: impl FnMut(&mut [u8]),
    ) -> Result<(), PageFault> {
        let pages = match self.check(address, len, access) {
            Ok(pages) => pages,
            Err(fault) => {
                self.counts.faulted = self.counts.faulted.saturating_add(1);
                return Err(fault);
            }
        };
        let mut at = address;
        let mut left = len;
        for base in pages {
            let Some(frame) = self.frames.get_mut(&base) else {
                continue;
            };
            let start = usize::try_from(at - base).unwrap_or(0);
            let take = left.min(frame.bytes.len() - start);
            visit(&mut frame.bytes[start..start + take]);
            left -= take;
            at = base.saturating_add(PAGE_SIZE);
        }
        self.counts.completed = self.counts.completed.saturating_add(1);
        Ok(())
    }

    /// Reads `buf.len()` bytes at `address`.
    pub fn read(&mut self, address: u64, buf: &mut [u8]) -> Result<(), PageFault> {
        let mut filled = 0;
        self.access(address, buf.len(), Access::Read, |chunk| {
            buf[filled..filled + chunk.len()].copy_from_slice(chunk);
            filled += chunk.len();
        })
    }

    /// Writes `data` at `address`.
    pub fn write(&mut self, address: u64, data: &[u8]) -> Result<(), PageFault> {
        let mut taken = 0;
        self.access(address, data.len(), Access::Write, |chunk| {
            chunk.copy_from_slice(&data[taken..taken + chunk.len()]);
            taken += chunk.len();
        })
    }

    /// Checks that the instruction at `address` may be fetched.
    pub fn fetch(&mut self, address: u64) -> Result<(), PageFault> {
        self.access(address, 1, Access::Execute, |_| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(address: u64) -> Page<Size4KiB> {
        Page::containing_address(VirtAddr::new(address))
    }

    const DATA: u64 = 0xffff_c60a_0000_0000;

    #[test]
    fn low_pages_are_never_mapped_and_a_null_offset_read_faults() {
        let mut space = AddressSpace::new();
        assert_eq!(space.map(page(0), KERNEL_DATA), Err(MapError::LowPage(0)));
        assert_eq!(
            space.map(page(0xf000), KERNEL_DATA),
            Err(MapError::LowPage(0xf000))
        );
        space.map(page(LOWEST_MAPPABLE), KERNEL_DATA).unwrap();
        let fault = space.read(0x9c, &mut [0; 8]).unwrap_err();
        assert_eq!(fault.address, 0x9c);
        assert_eq!(fault.kind, FaultKind::NotPresent);
        assert_eq!(fault.error_code, Some(PageFaultErrorCode::empty()));
    }

    #[test]
    fn error_code_bits_follow_the_access_and_the_cause() {
        let mut space = AddressSpace::new();
        let read_only = PageTableFlags::PRESENT | PageTableFlags::NO_EXECUTE;
        space.map(page(DATA), read_only).unwrap();
        let code = |f: PageFault| f.error_code.unwrap();

        let write = space.write(DATA + 8, &[1]).unwrap_err();
        assert_eq!(write.kind, FaultKind::Protection);
        assert_eq!(
            code(write),
            PageFaultErrorCode::PROTECTION_VIOLATION | PageFaultErrorCode::CAUSED_BY_WRITE
        );
        let exec = space.fetch(DATA).unwrap_err();
        assert_eq!(
            code(exec),
            PageFaultErrorCode::PROTECTION_VIOLATION | PageFaultErrorCode::INSTRUCTION_FETCH
        );
        let absent_write = space.write(DATA + PAGE_SIZE, &[1]).unwrap_err();
        assert_eq!(code(absent_write), PageFaultErrorCode::CAUSED_BY_WRITE);
        let absent_read = space.read(DATA + PAGE_SIZE, &mut [0]).unwrap_err();
        assert_eq!(code(absent_read).bits(), 0);
        assert!(!code(absent_read).contains(PageFaultErrorCode::USER_MODE));
        space.read(DATA, &mut [0; 16]).unwrap();
    }

    #[test]
    fn non_canonical_addresses_fault_without_an_error_code() {
        let mut space = AddressSpace::new();
        let fault = space.read(0x0000_8000_0000_0000, &mut [0; 8]).unwrap_err();
        assert_eq!(fault.kind, FaultKind::NonCanonical);
        assert_eq!(fault.error_code, None);
        let wrap = space.read(u64::MAX - 2, &mut [0; 8]).unwrap_err();
        assert_eq!(wrap.kind, FaultKind::NonCanonical);
    }

    #[test]
    fn accesses_cross_pages_whole_or_not_at_all() {
        let mut space = AddressSpace::new();
        space.map(page(DATA), KERNEL_DATA).unwrap();
        let edge = DATA + PAGE_SIZE - 4;
        let fault = space.write(edge, &[0xAA; 8]).unwrap_err();
        assert_eq!(
            fault.address,
            DATA + PAGE_SIZE,
            "CR2 is the first missing byte"
        );
        let mut before = [0u8; 4];
        space.read(edge, &mut before).unwrap();
        assert_eq!(before, [0; 4], "a faulting write changes nothing");

        space.map(page(DATA + PAGE_SIZE), KERNEL_DATA).unwrap();
        space.write(edge, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        let mut back = [0u8; 8];
        space.read(edge, &mut back).unwrap();
        assert_eq!(back, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(space.counts().faulted, 1);
    }

    #[test]
    fn unmapped_pages_lose_their_bytes() {
        let mut space = AddressSpace::new();
        space.map(page(DATA), KERNEL_DATA).unwrap();
        space.write(DATA + 0x74, &[7; 8]).unwrap();
        space.unmap(page(DATA)).unwrap();
        assert_eq!(space.unmap(page(DATA)), Err(MapError::NotMapped(DATA)));
        assert_eq!(
            space.read(DATA + 0x74, &mut [0; 8]).unwrap_err().kind,
            FaultKind::NotPresent
        );
        space.map(page(DATA), KERNEL_DATA).unwrap();
        let mut fresh = [9u8; 8];
        space.read(DATA + 0x74, &mut fresh).unwrap();
        assert_eq!(fresh, [0; 8], "a new frame is zero-filled");
        assert_eq!(
            space.map(page(DATA), KERNEL_DATA),
            Err(MapError::AlreadyMapped(DATA))
        );
    }
}
