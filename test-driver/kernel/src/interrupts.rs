//! GDT with a TSS (a separate stack for double faults), and an IDT whose 32 exception vectors
//! go through assembly stubs that save every register into a [`TrapFrame`] (the
//! `x86-interrupt` ABI needs nightly; `Entry::set_handler_addr` does not). A page fault ends in
//! a bugcheck-0x50 report, anything else in a 0x7F report; both on the serial port, then QEMU
//! exits with the outcome's status.

use core::ptr::addr_of;

use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::control::{Cr2, Cr3};
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable};
use x86_64::structures::idt::InterruptDescriptorTable;
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

use crate::exit::{exit, Outcome};
use crate::{flawed, println};

/// IST slot (1-based in the IDT entry, 0-based in the TSS) of the double-fault stack.
const DOUBLE_FAULT_IST: u16 = 0;

#[repr(C, align(16))]
struct Stack([u8; 16384]);

static mut DOUBLE_FAULT_STACK: Stack = Stack([0; 16384]);
static mut TSS: TaskStateSegment = TaskStateSegment::new();
static mut GDT: GlobalDescriptorTable = GlobalDescriptorTable::new();
static mut IDT: InterruptDescriptorTable = InterruptDescriptorTable::new();

/// Registers at the exception, as the stubs push them (lowest address first).
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

core::arch::global_asm!(
    ".macro STUB n, err",
    ".global exception_stub_\\n",
    "exception_stub_\\n:",
    ".if \\err == 0",
    "push 0",
    ".endif",
    "push \\n",
    "jmp exception_common",
    ".endm",
    "STUB 0, 0",
    "STUB 1, 0",
    "STUB 2, 0",
    "STUB 3, 0",
    "STUB 4, 0",
    "STUB 5, 0",
    "STUB 6, 0",
    "STUB 7, 0",
    "STUB 8, 1",
    "STUB 9, 0",
    "STUB 10, 1",
    "STUB 11, 1",
    "STUB 12, 1",
    "STUB 13, 1",
    "STUB 14, 1",
    "STUB 15, 0",
    "STUB 16, 0",
    "STUB 17, 1",
    "STUB 18, 0",
    "STUB 19, 0",
    "STUB 20, 0",
    "STUB 21, 1",
    "STUB 22, 0",
    "STUB 23, 0",
    "STUB 24, 0",
    "STUB 25, 0",
    "STUB 26, 0",
    "STUB 27, 0",
    "STUB 28, 0",
    "STUB 29, 1",
    "STUB 30, 1",
    "STUB 31, 0",
    ".global exception_stub_table",
    "exception_stub_table:",
    ".irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    ".quad exception_stub_\\n",
    ".endr",
    "exception_common:",
    "push rax",
    "push rbx",
    "push rcx",
    "push rdx",
    "push rsi",
    "push rdi",
    "push rbp",
    "push r8",
    "push r9",
    "push r10",
    "push r11",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "mov rdi, rsp",
    "and rsp, -16",
    "call exception_handler",
    "ud2",
);

extern "C" {
    static exception_stub_table: [u64; 32];
}

/// Loads the GDT (kernel code and data, the TSS), reloads the segment registers, loads the
/// IDT. Interrupts stay disabled throughout the run: only exceptions are handled.
pub fn init() {
    // SAFETY: single-threaded boot, interrupts off; each static is set up once here and then
    // only read by the CPU.
    unsafe {
        let tss = &mut *core::ptr::addr_of_mut!(TSS);
        let top = VirtAddr::from_ptr(addr_of!(DOUBLE_FAULT_STACK)) + 16384u64;
        tss.interrupt_stack_table[DOUBLE_FAULT_IST as usize] = top;
        let gdt = &mut *core::ptr::addr_of_mut!(GDT);
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let tss_selector = gdt.append(Descriptor::tss_segment(&*addr_of!(TSS)));
        (*addr_of!(GDT)).load();
        CS::set_reg(code);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(data);
        load_tss(tss_selector);

        let idt = &mut *core::ptr::addr_of_mut!(IDT);
        let stub = |vector: usize| VirtAddr::new((*addr_of!(exception_stub_table))[vector]);
        macro_rules! install {
            ($($field:ident = $vector:literal),* $(,)?) => {
                $( idt.$field.set_handler_addr(stub($vector)); )*
            };
        }
        install!(
            divide_error = 0,
            debug = 1,
            non_maskable_interrupt = 2,
            breakpoint = 3,
            overflow = 4,
            bound_range_exceeded = 5,
            invalid_opcode = 6,
            device_not_available = 7,
            invalid_tss = 10,
            segment_not_present = 11,
            stack_segment_fault = 12,
            general_protection_fault = 13,
            page_fault = 14,
            x87_floating_point = 16,
            alignment_check = 17,
            machine_check = 18,
            simd_floating_point = 19,
            virtualization = 20,
            cp_protection_exception = 21,
            hv_injection_exception = 28,
            vmm_communication_exception = 29,
            security_exception = 30,
        );
        idt.double_fault
            .set_handler_addr(stub(8))
            .set_stack_index(DOUBLE_FAULT_IST);
        (*addr_of!(IDT)).load();
    }
}

fn access(error: u64) -> (u64, &'static str) {
    if error & 0x10 != 0 {
        (10, "execute")
    } else if error & 0x2 != 0 {
        (2, "write")
    } else {
        (0, "read")
    }
}

fn registers(f: &TrapFrame) {
    println!(
        "rax={:016x} rbx={:016x} rcx={:016x} rdx={:016x}",
        f.rax, f.rbx, f.rcx, f.rdx
    );
    println!(
        "rsi={:016x} rdi={:016x} rbp={:016x} rsp={:016x}",
        f.rsi, f.rdi, f.rbp, f.rsp
    );
    println!(
        "r8={:016x} r9={:016x} r10={:016x} r11={:016x}",
        f.r8, f.r9, f.r10, f.r11
    );
    println!(
        "r12={:016x} r13={:016x} r14={:016x} r15={:016x}",
        f.r12, f.r13, f.r14, f.r15
    );
    println!(
        "rip={:016x} cs={:04x} rflags={:08x} ss={:04x} cr3={:016x}",
        f.rip,
        f.cs,
        f.rflags,
        f.ss,
        Cr3::read().0.start_address().as_u64()
    );
}

fn module(rip: u64) -> u64 {
    extern "C" {
        static __image_start: u8;
    }
    rip.wrapping_sub(addr_of!(__image_start) as u64)
}

/// The common exception handler: a bugcheck-style report, then exit.
#[no_mangle]
extern "C" fn exception_handler(frame: &TrapFrame) -> ! {
    if frame.vector == 14 {
        let cr2 = Cr2::read_raw();
        let error = frame.error_code;
        let (access_code, access_name) = access(error);
        let fault_type = if error & 1 == 0 { 2 } else { 0 };
        println!();
        println!(
            "*** STOP: 0x00000050 (0x{:016X},0x{:016X},0x{:016X},0x{:016X})",
            cr2, access_code, frame.rip, fault_type
        );
        println!("PAGE_FAULT_IN_NONPAGED_AREA");
        println!("bugcheck: code=0x50 arg1=0x{cr2:x} arg2=0x{access_code:x} arg3=0x{:x} arg4=0x{fault_type:x}", frame.rip);
        println!("CR2=0x{cr2:016x} (memory referenced)");
        println!(
            "error code=0x{error:x}: P={} ({}) W/R={} ({access_name}) U/S={} ({}) RSVD={} I/D={} ({})",
            error & 1,
            if error & 1 == 0 { "not present" } else { "protection" },
            (error >> 1) & 1,
            (error >> 2) & 1,
            if error & 4 == 0 { "supervisor" } else { "user" },
            (error >> 3) & 1,
            (error >> 4) & 1,
            if error & 0x10 == 0 { "data" } else { "instruction fetch" },
        );
        println!(
            "RIP=0x{:016x} (sensor-test-kernel+0x{:x})",
            frame.rip,
            module(frame.rip)
        );
        flawed::report_state();
        registers(frame);
        exit(Outcome::PageFaultInNonpagedArea);
    }
    println!();
    println!(
        "*** STOP: 0x0000007F (0x{:016X},0x0000000000000000,0x0000000000000000,0x0000000000000000)",
        frame.vector
    );
    println!("UNEXPECTED_KERNEL_MODE_TRAP");
    let name = match frame.vector {
        0 => "divide error",
        6 => "invalid opcode",
        8 => "double fault (kernel stack overflow into its guard page?)",
        13 => "general protection",
        _ => "exception",
    };
    println!(
        "vector {} ({name}) error code 0x{:x} RIP=0x{:016x} (sensor-test-kernel+0x{:x})",
        frame.vector,
        frame.error_code,
        frame.rip,
        module(frame.rip)
    );
    if frame.vector == 8 {
        println!("CR2=0x{:016x}", Cr2::read_raw());
    }
    registers(frame);
    exit(Outcome::UnexpectedKernelModeTrap);
}
