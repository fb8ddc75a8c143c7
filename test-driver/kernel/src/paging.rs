//! The kernel's own page tables (x86_64 crate structures): the first GiB identity-mapped, the
//! first 8 MiB with 4 KiB pages so that single pages can be left out, the rest with 2 MiB
//! pages. Left out: page 0 (so a read of address 0x9C faults, as on Windows, where the first
//! 64 KiB are never mapped) and the guard pages below the kernel stack and below the 24 KiB
//! Windows-sized stack (so an overflow faults instead of corrupting memory).

use core::ptr::{addr_of, addr_of_mut};

use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::{PageTable, PageTableFlags as F, PhysFrame};
use x86_64::PhysAddr;

const SMALL_TABLES: usize = 4; // 4 x 2 MiB mapped with 4 KiB pages
const KIB4: u64 = 4096;
const MIB2: u64 = 2 * 1024 * 1024;

#[repr(C, align(4096))]
struct Tables {
    pml4: PageTable,
    pdpt: PageTable,
    pd: PageTable,
    pt: [PageTable; SMALL_TABLES],
}

static mut TABLES: Tables = Tables {
    pml4: PageTable::new(),
    pdpt: PageTable::new(),
    pd: PageTable::new(),
    pt: [const { PageTable::new() }; SMALL_TABLES],
};

extern "C" {
    static __stack_guard: u8;
    static __small_stack_guard: u8;
    static __image_end: u8;
}

fn phys<T>(p: *const T) -> PhysAddr {
    // Identity-mapped: the virtual address is the physical one.
    PhysAddr::new(p as u64)
}

/// The address of the unmapped guard page below the kernel stack.
pub fn guard_page() -> u64 {
    addr_of!(__stack_guard) as u64
}

/// The address of the unmapped guard page below the 24 KiB stack.
pub fn small_guard_page() -> u64 {
    addr_of!(__small_stack_guard) as u64
}

/// Builds the tables and switches to them. Returns the number of 4 KiB pages left unmapped.
pub fn init() -> usize {
    let image_end = addr_of!(__image_end) as u64;
    assert!(
        image_end <= SMALL_TABLES as u64 * MIB2,
        "the image must lie in the 4 KiB-mapped region"
    );
    let guards = [guard_page(), small_guard_page()];
    let present = F::PRESENT | F::WRITABLE;
    let mut holes = 0;
    // SAFETY: boot is single-threaded with interrupts off; the tables are only written here,
    // before CR3 points at them.
    unsafe {
        let t = &mut *addr_of_mut!(TABLES);
        for (i, pt) in t.pt.iter_mut().enumerate() {
            for (j, entry) in pt.iter_mut().enumerate() {
                let addr = (i as u64 * 512 + j as u64) * KIB4;
                if addr == 0 || guards.contains(&addr) {
                    entry.set_unused();
                    holes += 1;
                } else {
                    entry.set_addr(PhysAddr::new(addr), present);
                }
            }
        }
        for (i, entry) in t.pd.iter_mut().enumerate() {
            if i < SMALL_TABLES {
                entry.set_addr(phys(addr_of!(t.pt[i])), present);
            } else {
                entry.set_addr(PhysAddr::new(i as u64 * MIB2), present | F::HUGE_PAGE);
            }
        }
        t.pdpt[0].set_addr(phys(addr_of!(t.pd)), present);
        t.pml4[0].set_addr(phys(addr_of!(t.pdpt)), present);
        let frame = PhysFrame::containing_address(phys(addr_of!(t.pml4)));
        Cr3::write(frame, Cr3Flags::empty());
    }
    holes
}
