//! PVH entry: QEMU's `-kernel` loader finds the XEN_ELFNOTE_PHYS32_ENTRY note, loads the image
//! at its physical address and jumps to `pvh_start32` in 32-bit protected mode, paging off,
//! `ebx` holding the physical address of the `hvm_start_info`. The stub clears `.bss`, maps the
//! first GiB with 2 MiB pages, enables long mode and calls `kmain(start_info)` on the kernel
//! stack. Rust then replaces these tables (see `paging`).

core::arch::global_asm!(
    r#"
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                     /* n_namesz: "Xen\0" */
    .long 4                     /* n_descsz */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start32

    .section .bss.stack, "aw", @nobits
    .balign 4096
    .global __stack_guard
__stack_guard:
    .skip 4096
    .global __stack_bottom
__stack_bottom:
    .skip 524288
    .global __stack_top
__stack_top:

    /* A Windows-sized kernel stack (KERNEL_STACK_SIZE on x64: 24 KiB) below its own guard
       page, for the windows-stack scenario. */
    .section .bss.small_stack, "aw", @nobits
    .balign 4096
    .global __small_stack_guard
__small_stack_guard:
    .skip 4096
    .skip 24576
    .global __small_stack_top
__small_stack_top:

    .section .bss.boot_tables, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096

    .section .rodata.boot_gdt, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %esi

    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    mov $boot_pdpt, %eax
    or $3, %eax
    mov %eax, boot_pml4
    mov $boot_pd, %eax
    or $3, %eax
    mov %eax, boot_pdpt
    mov $boot_pd, %edi
    mov $0x83, %eax
    mov $512, %ecx
1:
    mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 1b

    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $2f

    .code64
2:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $__stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi
    call kmain
3:
    hlt
    jmp 3b
"#,
    options(att_syntax)
);
