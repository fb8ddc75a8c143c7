//! Kernel pool: nonpaged and paged pool, allocations by tag and owner, byte accounting, and the
//! Driver Verifier checks on every allocate and free.
//!
//! Small allocations (up to half a page) are carved from per-size buckets, like the segment
//! heap's low-fragmentation buckets: blocks of one size sit side by side on their own pages, and
//! a freed block keeps its stale bytes until it is handed out again (zeroed, as
//! `ExAllocatePool2` does). Large allocations get whole pages of their own, which are unmapped
//! when freed, so a stale pointer into them faults. This module owns pool bookkeeping and the
//! pages it maps; it never reads or interprets the contents of a block.

use std::collections::BTreeMap;
use std::fmt;

use x86_64::structures::paging::{Page, PageTableFlags, Size4KiB};
use x86_64::VirtAddr;

use super::bugcheck::{fault_type, verifier, BugCheck, BugCheckCode};
use super::irql::Irql;
use super::mmu::{AddressSpace, KERNEL_DATA, PAGEABLE, PAGE_SIZE};

/// Where an allocation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PoolType {
    /// `NonPagedPoolNx`: always resident, never executable; usable up to `DISPATCH_LEVEL`.
    NonPagedNx,
    /// `PagedPool`: pageable; usable up to `APC_LEVEL`.
    Paged,
}

impl PoolType {
    /// The `POOL_TYPE` value Driver Verifier reports.
    pub const fn value(self) -> u64 {
        match self {
            Self::NonPagedNx => 0x200,
            Self::Paged => 1,
        }
    }

    /// The name a debugger gives addresses in this pool.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NonPagedNx => "Nonpaged pool",
            Self::Paged => "Paged pool",
        }
    }

    fn page_flags(self) -> PageTableFlags {
        match self {
            Self::NonPagedNx => KERNEL_DATA,
            Self::Paged => KERNEL_DATA | PAGEABLE,
        }
    }
}

/// A four-character pool tag.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolTag(pub [u8; 4]);

impl fmt::Display for PoolTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            let c = if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '.'
            };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PoolTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{self}'")
    }
}

/// Base of the nonpaged pool's virtual range.
pub const NONPAGED_BASE: u64 = 0xffff_c60a_0000_0000;
/// Base of the paged pool's virtual range (the range of `READ_ADDRESS` in Microsoft's dump).
pub const PAGED_BASE: u64 = 0xffff_8405_0000_0000;
/// Size of each pool's virtual range.
pub const REGION_SIZE: u64 = 1 << 30;
/// Largest allocation carved from a size bucket; larger ones get whole pages.
pub const SMALL_LIMIT: u64 = PAGE_SIZE / 2;
/// Granularity of small allocations.
pub const BLOCK: u64 = 16;

/// Running totals of one tag in one pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TagUsage {
    /// Allocations made.
    pub allocations: u64,
    /// Allocations freed.
    pub frees: u64,
    /// Bytes currently allocated (as requested, not rounded).
    pub bytes: u64,
}

impl TagUsage {
    /// Allocations not yet freed.
    pub fn outstanding(&self) -> u64 {
        self.allocations.saturating_sub(self.frees)
    }
}

/// What one owner still holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outstanding {
    /// Bytes of paged pool.
    pub paged_bytes: u64,
    /// Bytes of nonpaged pool.
    pub nonpaged_bytes: u64,
    /// Allocations.
    pub allocations: u64,
}

/// One live allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The pool it came from.
    pub pool: PoolType,
    /// Bytes requested.
    pub size: u64,
    /// Its tag.
    pub tag: PoolTag,
    /// The image that allocated it.
    pub owner: String,
}

impl Allocation {
    fn class(&self) -> u64 {
        size_class(self.size)
    }
}

fn size_class(size: u64) -> u64 {
    size.max(1).div_ceil(BLOCK).saturating_mul(BLOCK)
}

fn pages_for(size: u64) -> u64 {
    size.div_ceil(PAGE_SIZE)
}

fn page(address: u64) -> Option<Page<Size4KiB>> {
    VirtAddr::try_new(address)
        .ok()
        .map(Page::containing_address)
}

/// One pool's virtual range and its buckets.
struct Region {
    pool: PoolType,
    base: u64,
    next_page: u64,
    /// Per size class: the page being carved and how much of it is used.
    buckets: BTreeMap<u64, (u64, u64)>,
    /// Per size class: freed blocks, last freed first.
    free: BTreeMap<u64, Vec<u64>>,
}

impl Region {
    fn new(pool: PoolType, base: u64) -> Self {
        Self {
            pool,
            base,
            next_page: base,
            buckets: BTreeMap::new(),
            free: BTreeMap::new(),
        }
    }

    fn contains(&self, address: u64) -> bool {
        (self.base..self.base.saturating_add(REGION_SIZE)).contains(&address)
    }

    /// Maps `count` fresh pages at the end of the used range; `None` when the range is full.
    fn map_pages(&mut self, mmu: &mut AddressSpace, count: u64) -> Option<u64> {
        let start = self.next_page;
        let end = start.checked_add(count.checked_mul(PAGE_SIZE)?)?;
        if end > self.base.saturating_add(REGION_SIZE) {
            return None;
        }
        for at in (start..end).step_by(PAGE_SIZE as usize) {
            mmu.map(page(at)?, self.pool.page_flags()).ok()?;
        }
        self.next_page = end;
        Some(start)
    }

    /// A block of `class` bytes: a freed one if any, else the next one in the bucket.
    fn small(&mut self, mmu: &mut AddressSpace, class: u64) -> Option<(u64, bool)> {
        if let Some(block) = self.free.get_mut(&class).and_then(Vec::pop) {
            return Some((block, true));
        }
        let (page_base, used) = match self.buckets.get(&class) {
            Some(&(page_base, used)) if used + class <= PAGE_SIZE => (page_base, used),
            _ => (self.map_pages(mmu, 1)?, 0),
        };
        self.buckets.insert(class, (page_base, used + class));
        Some((page_base + used, false))
    }
}

/// Both pools and every live allocation.
pub struct Pools {
    nonpaged: Region,
    paged: Region,
    live: BTreeMap<u64, Allocation>,
    usage: BTreeMap<(PoolType, PoolTag), TagUsage>,
}

impl Default for Pools {
    fn default() -> Self {
        Self::new()
    }
}

impl Pools {
    /// Empty pools.
    pub fn new() -> Self {
        Self {
            nonpaged: Region::new(PoolType::NonPagedNx, NONPAGED_BASE),
            paged: Region::new(PoolType::Paged, PAGED_BASE),
            live: BTreeMap::new(),
            usage: BTreeMap::new(),
        }
    }

    fn region(&mut self, pool: PoolType) -> &mut Region {
        match pool {
            PoolType::NonPagedNx => &mut self.nonpaged,
            PoolType::Paged => &mut self.paged,
        }
    }

    /// `ExAllocatePool2`: `size` bytes of `pool`, zeroed, for `owner`. `Ok(None)` is a failed
    /// allocation (NULL); `Err` is a Driver Verifier stop for a zero size or a bad IRQL.
    pub fn allocate(
        &mut self,
        mmu: &mut AddressSpace,
        irql: Irql,
        pool: PoolType,
        size: u64,
        tag: PoolTag,
        owner: &str,
    ) -> Result<Option<u64>, BugCheck> {
        check_allocate(irql, pool, size)?;
        let region = self.region(pool);
        let block = if size <= SMALL_LIMIT {
            region.small(mmu, size_class(size))
        } else {
            region.map_pages(mmu, pages_for(size)).map(|b| (b, false))
        };
        let Some((address, reused)) = block else {
            return Ok(None);
        };
        if reused {
            zero(mmu, address, size_class(size))?;
        }
        self.live.insert(
            address,
            Allocation {
                pool,
                size,
                tag,
                owner: owner.to_owned(),
            },
        );
        let usage = self.usage.entry((pool, tag)).or_default();
        usage.allocations += 1;
        usage.bytes += size;
        Ok(Some(address))
    }

    /// `ExFreePoolWithTag`: frees the allocation at `address`. A small block keeps its bytes
    /// until reused; a large one's pages are unmapped.
    pub fn free(
        &mut self,
        mmu: &mut AddressSpace,
        irql: Irql,
        address: u64,
    ) -> Result<(), BugCheck> {
        let Some(allocation) = self.live.get(&address) else {
            return Err(bad_free(address));
        };
        check_free(irql, allocation.pool, address)?;
        let Some(allocation) = self.live.remove(&address) else {
            return Ok(());
        };
        if allocation.size <= SMALL_LIMIT {
            let class = allocation.class();
            self.region(allocation.pool)
                .free
                .entry(class)
                .or_default()
                .push(address);
        } else {
            for at in (address..address + pages_for(allocation.size) * PAGE_SIZE)
                .step_by(PAGE_SIZE as usize)
            {
                if let Some(p) = page(at) {
                    mmu.unmap(p).map_err(|_| bad_free(address))?;
                }
            }
        }
        let usage = self
            .usage
            .entry((allocation.pool, allocation.tag))
            .or_default();
        usage.frees += 1;
        usage.bytes = usage.bytes.saturating_sub(allocation.size);
        Ok(())
    }

    /// Totals for `tag` in `pool`.
    pub fn usage(&self, pool: PoolType, tag: PoolTag) -> TagUsage {
        self.usage.get(&(pool, tag)).copied().unwrap_or_default()
    }

    /// Totals of every tag that was ever used, by pool and tag.
    pub fn usage_by_tag(&self) -> impl Iterator<Item = (PoolType, PoolTag, TagUsage)> + '_ {
        self.usage.iter().map(|(&(p, t), &u)| (p, t, u))
    }

    /// What `owner` has allocated and not freed.
    pub fn outstanding(&self, owner: &str) -> Outstanding {
        let mut held = Outstanding::default();
        for a in self.live.values().filter(|a| a.owner == owner) {
            held.allocations += 1;
            match a.pool {
                PoolType::Paged => held.paged_bytes += a.size,
                PoolType::NonPagedNx => held.nonpaged_bytes += a.size,
            }
        }
        held
    }

    /// The live allocation that starts at `address`.
    pub fn allocation(&self, address: u64) -> Option<&Allocation> {
        self.live.get(&address)
    }

    /// The pool whose virtual range holds `address`, allocated or not.
    pub fn pool_of(&self, address: u64) -> Option<PoolType> {
        [&self.nonpaged, &self.paged]
            .into_iter()
            .find(|r| r.contains(address))
            .map(|r| r.pool)
    }
}

fn check_allocate(irql: Irql, pool: PoolType, size: u64) -> Result<(), BugCheck> {
    let level = u64::from(irql.value());
    if size == 0 {
        return Err(BugCheck::verifier(
            verifier::ZERO_BYTE_ALLOCATION,
            level,
            pool.value(),
            0,
        ));
    }
    let kind = match pool {
        PoolType::Paged if !irql.may_touch_pageable() => verifier::PAGED_ALLOCATION_AT_HIGH_IRQL,
        PoolType::NonPagedNx if !irql.may_use_nonpaged_pool() => {
            verifier::NONPAGED_ALLOCATION_AT_HIGH_IRQL
        }
        _ => return Ok(()),
    };
    Err(BugCheck::verifier(kind, level, pool.value(), size))
}

fn check_free(irql: Irql, pool: PoolType, address: u64) -> Result<(), BugCheck> {
    let kind = match pool {
        PoolType::Paged if !irql.may_touch_pageable() => verifier::PAGED_FREE_AT_HIGH_IRQL,
        PoolType::NonPagedNx if !irql.may_use_nonpaged_pool() => {
            verifier::NONPAGED_FREE_AT_HIGH_IRQL
        }
        _ => return Ok(()),
    };
    Err(BugCheck::verifier(
        kind,
        u64::from(irql.value()),
        pool.value(),
        address,
    ))
}

fn bad_free(address: u64) -> BugCheck {
    BugCheck::verifier(verifier::FREE_OF_BAD_ADDRESS, address, 0, 0)
}

/// Zeroes a reused block. The pool maps every block it hands out, so a fault here means the
/// pool's own pages are gone: the kernel would stop exactly so.
fn zero(mmu: &mut AddressSpace, address: u64, len: u64) -> Result<(), BugCheck> {
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    mmu.write(address, &zeros).map_err(|fault| {
        BugCheck::new(
            BugCheckCode::PageFaultInNonpagedArea,
            [fault.address, 2, 0, fault_type::NOT_PRESENT],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: PoolTag = PoolTag(*b"Test");
    const OTHER: PoolTag = PoolTag(*b"Othr");

    fn alloc(pools: &mut Pools, mmu: &mut AddressSpace, pool: PoolType, size: u64) -> u64 {
        pools
            .allocate(mmu, Irql::PASSIVE, pool, size, TAG, "a.sys")
            .unwrap()
            .unwrap()
    }

    #[test]
    fn same_size_blocks_sit_side_by_side_and_keep_stale_bytes() {
        let (mut pools, mut mmu) = (Pools::new(), AddressSpace::new());
        let a = alloc(&mut pools, &mut mmu, PoolType::NonPagedNx, 0xa0);
        let b = alloc(&mut pools, &mut mmu, PoolType::NonPagedNx, 0xa0);
        let c = alloc(&mut pools, &mut mmu, PoolType::NonPagedNx, 0x20);
        assert_eq!(a, NONPAGED_BASE);
        assert_eq!(
            b,
            a + 0xa0,
            "the neighbour of a block is the next block of its size"
        );
        assert_eq!(
            c,
            NONPAGED_BASE + PAGE_SIZE,
            "other sizes live on other pages"
        );
        mmu.write(b, &0xdead_beef_u64.to_le_bytes()).unwrap();
        pools.free(&mut mmu, Irql::PASSIVE, b).unwrap();
        let mut stale = [0u8; 8];
        mmu.read(b, &mut stale).unwrap();
        assert_eq!(
            u64::from_le_bytes(stale),
            0xdead_beef,
            "free does not scrub"
        );
        let again = alloc(&mut pools, &mut mmu, PoolType::NonPagedNx, 0x98);
        assert_eq!(again, b, "the last block freed is reused first");
        mmu.read(b, &mut stale).unwrap();
        assert_eq!(stale, [0; 8], "allocation zeroes the block");
    }

    #[test]
    fn large_blocks_get_pages_that_vanish_on_free() {
        let (mut pools, mut mmu) = (Pools::new(), AddressSpace::new());
        let big = alloc(&mut pools, &mut mmu, PoolType::Paged, PAGE_SIZE + 1);
        assert_eq!(big, PAGED_BASE);
        assert_eq!(mmu.mapped_pages(), 2);
        assert!(mmu.flags(big).unwrap().contains(PAGEABLE));
        pools.free(&mut mmu, Irql::PASSIVE, big).unwrap();
        assert_eq!(mmu.mapped_pages(), 0);
        assert!(mmu.read(big + 0x74, &mut [0; 8]).is_err());
        assert_eq!(pools.pool_of(big + 0x74), Some(PoolType::Paged));
        let next = alloc(&mut pools, &mut mmu, PoolType::Paged, PAGE_SIZE);
        assert_eq!(
            next,
            PAGED_BASE + 2 * PAGE_SIZE,
            "freed pages are not reused"
        );
    }

    #[test]
    fn accounting_by_tag_and_owner() {
        let (mut pools, mut mmu) = (Pools::new(), AddressSpace::new());
        let a = alloc(&mut pools, &mut mmu, PoolType::NonPagedNx, 100);
        let b = alloc(&mut pools, &mut mmu, PoolType::Paged, 5000);
        pools
            .allocate(
                &mut mmu,
                Irql::PASSIVE,
                PoolType::NonPagedNx,
                8,
                OTHER,
                "b.sys",
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            pools.outstanding("a.sys"),
            Outstanding {
                paged_bytes: 5000,
                nonpaged_bytes: 100,
                allocations: 2
            }
        );
        pools.free(&mut mmu, Irql::PASSIVE, a).unwrap();
        pools.free(&mut mmu, Irql::PASSIVE, b).unwrap();
        assert_eq!(pools.outstanding("a.sys"), Outstanding::default());
        assert_eq!(pools.outstanding("b.sys").allocations, 1);
        let usage = pools.usage(PoolType::NonPagedNx, TAG);
        assert_eq!((usage.allocations, usage.frees, usage.bytes), (1, 1, 0));
        assert_eq!(pools.usage(PoolType::Paged, TAG).outstanding(), 0);
        assert_eq!(pools.usage_by_tag().count(), 3);
        assert_eq!(TAG.to_string(), "Test");
        assert_eq!(format!("{:?}", PoolTag(*b"a\0bc")), "'a.bc'");
    }

    #[test]
    fn verifier_stops_for_bad_sizes_irqls_and_frees() {
        let (mut pools, mut mmu) = (Pools::new(), AddressSpace::new());
        let mut try_alloc = |irql: u8, pool, size| {
            pools
                .allocate(&mut mmu, Irql::new(irql).unwrap(), pool, size, TAG, "a.sys")
                .unwrap_err()
                .args
        };
        assert_eq!(try_alloc(0, PoolType::Paged, 0), [0x00, 0, 1, 0]);
        assert_eq!(try_alloc(2, PoolType::Paged, 64), [0x01, 2, 1, 64]);
        assert_eq!(try_alloc(3, PoolType::NonPagedNx, 64), [0x02, 3, 0x200, 64]);

        let paged = alloc(&mut pools, &mut mmu, PoolType::Paged, 64);
        let stop = pools.free(&mut mmu, Irql::DISPATCH, paged).unwrap_err();
        assert_eq!(stop.args, [0x11, 2, 1, paged]);
        pools.free(&mut mmu, Irql::PASSIVE, paged).unwrap();
        let twice = pools.free(&mut mmu, Irql::PASSIVE, paged).unwrap_err();
        assert_eq!(twice.args, [0x10, paged, 0, 0]);
        let inside = alloc(&mut pools, &mut mmu, PoolType::NonPagedNx, 64) + 16;
        assert_eq!(
            pools
                .free(&mut mmu, Irql::PASSIVE, inside)
                .unwrap_err()
                .args,
            [0x10, inside, 0, 0]
        );
    }
}
