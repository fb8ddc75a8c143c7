//! The PVH `hvm_start_info` QEMU hands the kernel: only the command line is read.

const MAGIC: u32 = 0x336E_C578;

#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
}

/// The kernel command line (`-append`), or "" when there is none.
pub fn cmdline(start_info: u32) -> &'static str {
    if start_info == 0 {
        return "";
    }
    // SAFETY: QEMU passes the physical address of a valid start_info; the first GiB is
    // identity-mapped.
    let info = unsafe { &*(start_info as usize as *const StartInfo) };
    if info.magic != MAGIC || info.cmdline_paddr == 0 {
        return "";
    }
    let base = info.cmdline_paddr as usize as *const u8;
    let mut len = 0;
    // SAFETY: a NUL-terminated string QEMU placed in guest memory; read up to 4 KiB.
    while len < 4096 && unsafe { base.add(len).read() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    let bytes = unsafe { core::slice::from_raw_parts(base, len) };
    core::str::from_utf8(bytes).unwrap_or("")
}
