//! The 2024 access pattern, on real memory, in this test driver only (never in sensor-core).
//!
//! The content validator of July 2024 checked each template instance against the 21 fields the
//! template type declares; the sensor supplied 20. This module does the same: it reads the
//! 19 July 04:09 file with the core's structural view only (header, checksum, sections: no
//! schema handshake), passes every predicate whose field is below 21, then interprets the rules
//! as the 2024 interpreter did: for each predicate that reads input, fetch the pointer at
//! `inputs[field]` from the 20-entry input array and read the value through it. Rule IPC-0006
//! reads field 20: the slot past the array holds NULL, the value sits at offset 0x9C of the
//! pointed-to object, and the read of address 0x9C takes a real page fault (page 0 is
//! unmapped). The handler's bugcheck report names the interpreter state kept below.

use core::sync::atomic::{AtomicU64, Ordering};

use sensor_core::channel::ChannelFile;
use sensor_core::error::Section;
use sensor_core::op::Operator;
use sensor_core::program::Instruction;
use sensor_test_workload::content::JULY_19_0409;

use crate::println;

/// Input fields sensor 7.11 supplies.
const SUPPLIED: usize = 20;
/// Input fields the IPC template type declares (what the flawed validator checked against).
const DECLARED: usize = 21;
/// Where the value sits in each input object (the seed article's layout).
pub const VALUE_OFFSET: usize = 0x9C;

/// One input object: the value at offset 0x9C.
#[repr(C, align(8))]
pub struct InputObject {
    header: [u8; VALUE_OFFSET],
    value: u32,
}

/// The input array as the sensor laid it out: 20 pointers, then whatever follows in memory;
/// here, as in the seed article's reading of the dump, a NULL.
#[repr(C)]
pub struct Inputs {
    fields: [*const InputObject; SUPPLIED],
    beyond: *const InputObject,
}

static STATE: [AtomicU64; 5] = [const { AtomicU64::new(u64::MAX) }; 5];
const CHANNEL: usize = 0;
const RULE: usize = 1;
const PREDICATE: usize = 2;
const FIELD: usize = 3;
const INPUT_COUNT: usize = 4;

core::arch::global_asm!(
    ".global flawed_read_input",
    ".global flawed_read_fault",
    "flawed_read_input:",
    // rdi = input array, rsi = field index: the 2024 sequence, mov r8, [rax+r11*8]; then the
    // read through r8.
    "mov rax, rdi",
    "mov r11, rsi",
    "mov r8, qword ptr [rax + r11*8]",
    "flawed_read_fault:",
    "mov eax, dword ptr [r8 + 0x9c]",
    "ret",
);

extern "C" {
    fn flawed_read_input(inputs: *const *const InputObject, field: u64) -> u32;
    static flawed_read_fault: u8;
}

/// Address of the instruction that reads through the fetched pointer.
pub fn fault_rip() -> u64 {
    core::ptr::addr_of!(flawed_read_fault) as u64
}

/// Prints the interpreter state at the fault (part of the bugcheck report).
pub fn report_state() {
    let s = |i: usize| STATE[i].load(Ordering::Relaxed);
    if s(CHANNEL) == u64::MAX {
        return;
    }
    println!(
        "interpreter: channel {} rule {} predicate {} field {} input count {} (content {} version {})",
        s(CHANNEL),
        s(RULE),
        s(PREDICATE),
        s(FIELD),
        s(INPUT_COUNT),
        JULY_19_0409.stem,
        ChannelFile::parse(JULY_19_0409.bytes()).map_or(0, |f| f.header().content_version)
    );
}

/// Runs the flawed interpreter; returns only if no fault happened (a failure).
pub fn run() {
    let file = match ChannelFile::parse(JULY_19_0409.bytes()) {
        Ok(file) => file,
        Err(e) => {
            println!("flawed: the 19 July file does not parse: {e:?}");
            return;
        }
    };
    // The flawed validator: fields checked against the template's 21, not the sensor's 20.
    let predicates = file.count(Section::Predicates);
    let valid = (0..predicates)
        .filter_map(|i| file.predicate(i))
        .all(|p| usize::from(p.field) < DECLARED);
    println!(
        "flawed validator: {} predicates, every field below the {DECLARED} declared: {}",
        predicates,
        if valid { "passed" } else { "refused" }
    );
    // The sensor's input array for a pipe-connect event: 20 objects.
    static mut OBJECTS: [InputObject; SUPPLIED] = [const {
        InputObject {
            header: [0; VALUE_OFFSET],
            value: 0,
        }
    }; SUPPLIED];
    let mut inputs = Inputs {
        fields: [core::ptr::null(); SUPPLIED],
        beyond: core::ptr::null(),
    };
    for (i, slot) in inputs.fields.iter_mut().enumerate() {
        // SAFETY: single-threaded; the objects are only read after this.
        unsafe { (*core::ptr::addr_of_mut!(OBJECTS))[i].value = i as u32 };
        // SAFETY: an element of a static array.
        *slot = unsafe { core::ptr::addr_of!(OBJECTS[i]) };
    }
    let base = core::ptr::addr_of!(inputs).cast::<*const InputObject>();
    println!(
        "input array at {:#x}: {SUPPLIED} pointers; the slot past it holds {:#x}",
        base as u64, inputs.beyond as u64
    );
    println!("flawed read instruction at RIP={:#018x}", fault_rip());
    STATE[CHANNEL].store(u64::from(file.header().channel), Ordering::Relaxed);
    STATE[INPUT_COUNT].store(SUPPLIED as u64, Ordering::Relaxed);
    let rules = file.count(Section::Rules);
    for rule in 0..rules {
        let Some(record) = file.rule(rule) else {
            continue;
        };
        for pc in 0..record.program_len as usize {
            let Some(word) = file.instruction(record.program_start as usize + pc) else {
                continue;
            };
            let Ok(Instruction::Pred(p)) = Instruction::decode(word) else {
                continue;
            };
            let Some(pred) = file.predicate(p as usize) else {
                continue;
            };
            if !Operator::from_u8(pred.op).is_some_and(Operator::reads_input) {
                continue;
            }
            STATE[RULE].store(rule as u64, Ordering::Relaxed);
            STATE[PREDICATE].store(u64::from(p), Ordering::Relaxed);
            STATE[FIELD].store(u64::from(pred.field), Ordering::Relaxed);
            if usize::from(pred.field) >= SUPPLIED {
                println!(
                    "rule {rule} predicate {p}: reading input field {} of a {SUPPLIED}-entry array",
                    pred.field
                );
            }
            // SAFETY: none, deliberately: this is the 2024 bug. For fields below 20 the read is
            // in bounds; for field 20 it reads past the array and through what it finds there.
            let value = unsafe { flawed_read_input(base, u64::from(pred.field)) };
            core::hint::black_box(value);
        }
    }
    println!("flawed: every predicate was read and nothing faulted");
}
