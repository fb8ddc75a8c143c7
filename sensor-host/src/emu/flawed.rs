//! The flawed 2024 design, on emulated memory: a content validator that checks rules against
//! the template type's declared fields instead of the inputs the sensor supplies, and an
//! interpreter that reads each input through an array of pointers without checking the index.
//!
//! It runs the same compiled channel files as the real core. [`validate`] is the core loader
//! with the one logic error of July 2024: it is told that the sensor supplies every field the
//! template declares (21), so a rule on field index 20 passes. [`evaluate`] then does what the
//! 2024 integration code and interpreter did: it allocates an array of 20 input pointers in
//! emulated nonpaged pool, and for every predicate that reads an input, in program order, it
//! loads `array[field]` (`mov r8, [rax+r11*8]`) and reads through that pointer. For field 20
//! the load fetches whatever lies after the array; the read through it faults in the emulated
//! MMU and the emulated kernel bugchecks. Only when every read succeeds are the values matched,
//! with the core's own operator semantics, so the flawed and fixed designs agree on every event
//! that does not touch the 21st field.
//!
//! This module owns the flawed model and the two memory [`Layout`]s. It never touches host
//! memory through an emulated address, never runs outside an emulated [`Kernel`], and is never
//! used by the fixed design.

use std::sync::OnceLock;

use sensor_core::channel::ChannelFile;
use sensor_core::error::{LoadError, Section};
use sensor_core::op::Operator;
use sensor_core::program::Instruction;
use sensor_core::schema::{self, FieldType, SensorDecl, Supply, SENSOR_7_11};
use sensor_core::{MatchSink, RuleSet, Value, Verdict};
use serde::{Deserialize, Serialize};

use super::bugcheck::BugCheck;
use super::kernel::{KResult, Kernel, MAX_UNICODE_UNITS, UNICODE_STRING_SIZE};
use super::mmu::PAGE_SIZE;
use super::modules::{SENSOR_BASE, SENSOR_IMAGE};
use super::pool::{PoolTag, PoolType, PAGED_BASE};

/// Offsets in the driver image of the instructions the model stands for. `READ_INPUT_VALUE`
/// is the faulting instruction of Microsoft's 2024 dump (`csagent+0xe14ed`) and
/// `LOAD_INPUT_POINTER` the 4-byte `mov r8, qword ptr [rax+r11*8]` just before it; the others
/// are illustrative.
pub mod site {
    /// The integration code writing the input array.
    pub const BUILD_INPUTS: u64 = 0xe0f20;
    /// `mov r8, qword ptr [rax+r11*8]`: load the pointer to input `r11`.
    pub const LOAD_INPUT_POINTER: u64 = 0xe14e9;
    /// `mov r9, qword ptr [r8+disp]`: read the input's value word through the pointer.
    pub const READ_INPUT_VALUE: u64 = 0xe14ed;
    /// Read the input's presence byte.
    pub const READ_INPUT_PRESENT: u64 = 0xe14f1;
    /// Read a `UNICODE_STRING`'s `Length` and `Buffer`.
    pub const READ_STRING_HEADER: u64 = 0xe1530;
    /// Read a string's code units.
    pub const READ_STRING_UNITS: u64 = 0xe1538;
    /// Where code in `ntoskrnl.exe` wrote the pool history of the dump layout.
    pub const KERNEL_HISTORY: u64 = 0x2f_4a10;
}

/// Pool tag of the input-pointer array.
pub const TAG_ARRAY: PoolTag = PoolTag(*b"IpcA");
/// Pool tag of an input record.
pub const TAG_RECORD: PoolTag = PoolTag(*b"IpcV");
/// Pool tag of an input string (`UNICODE_STRING` and its buffer).
pub const TAG_STRING: PoolTag = PoolTag(*b"IpcS");
/// Pool tag of the kernel's own blocks in the dump layout's history.
pub const TAG_HISTORY: PoolTag = PoolTag(*b"Hist");
/// Size of one input pointer.
pub const POINTER: u64 = 8;
/// Offset into the freed paged-pool page that the dump layout's stale pointer points at.
pub const STALE_OFFSET: u64 = 0x74;
/// The image that owns the dump layout's history blocks.
pub const KERNEL_IMAGE: &str = "ntoskrnl.exe";

/// What lies in memory around the input array when the 21st input is read: the two public
/// accounts of the 2024 crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// The early "NULL pointer" account: the slot after the array holds NULL and the value sits
    /// 0x9C bytes into an input record, so the read address is 0x9C.
    Seed,
    /// Microsoft's dump: the slot after the array holds a stale pointer into a freed paged-pool
    /// page (`ffff8405'00000074`), read directly (`r8` = read address).
    Dump,
}

impl Layout {
    /// The layout's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::Dump => "dump",
        }
    }

    /// Where the value word sits in an input record (the displacement of the faulting read).
    pub const fn value_offset(self) -> u64 {
        match self {
            Self::Seed => 0x9c,
            Self::Dump => 0,
        }
    }

    /// Size of one input record: the value word and a presence byte after the displacement.
    pub const fn record_size(self) -> u64 {
        self.value_offset() + 9
    }

    /// The pointer this layout leaves in the slot after the array.
    pub const fn residue(self) -> u64 {
        match self {
            Self::Seed => 0,
            Self::Dump => PAGED_BASE + STALE_OFFSET,
        }
    }

    /// The address the read through slot 20 lands on.
    pub const fn read_address(self) -> u64 {
        self.residue().wrapping_add(self.value_offset())
    }

    /// The modelled faulting instruction, as a disassembler would print it.
    pub fn instruction(self) -> String {
        match self.value_offset() {
            0 => "mov r9,qword ptr [r8]".to_owned(),
            d => format!("mov r9,qword ptr [r8+{d:X}h]"),
        }
    }

    /// Recreates the pool history this layout assumes, on a fresh boot before the driver
    /// loads. `Seed` needs none: the block after the array has never been allocated and reads
    /// as zero. `Dump`: kernel code allocated two array-sized blocks side by side and a
    /// paged-pool page, left a pointer into the page in the second block, and freed all three;
    /// the array then reuses the first block and the stale pointer sits right after it. If the
    /// pool is exhausted the history stays incomplete, and the read lands elsewhere.
    pub fn prepare(self, kernel: &mut Kernel) -> KResult<()> {
        if self == Self::Seed {
            return Ok(());
        }
        let rip = kernel
            .modules()
            .find(KERNEL_IMAGE)
            .map_or(0, |m| m.base + site::KERNEL_HISTORY);
        let block = 20 * POINTER;
        let alloc = |k: &mut Kernel, pool, size| k.allocate(pool, size, TAG_HISTORY, KERNEL_IMAGE);
        let Some(page) = alloc(kernel, PoolType::Paged, PAGE_SIZE)? else {
            return Ok(());
        };
        let (Some(first), Some(second)) = (
            alloc(kernel, PoolType::NonPagedNx, block)?,
            alloc(kernel, PoolType::NonPagedNx, block)?,
        ) else {
            return Ok(());
        };
        kernel.write(second, &(page + STALE_OFFSET).to_le_bytes(), rip)?;
        kernel.free(second)?;
        kernel.free(first)?;
        kernel.free(page)
    }
}

/// The Template Type Definitions view of every template: all declared fields "supplied".
fn definitions() -> &'static [Supply] {
    static DEFINITIONS: OnceLock<Vec<Supply>> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        schema::TEMPLATE_TYPES
            .iter()
            .map(|t| Supply {
                template_id: t.id,
                template_version: t.version,
                supplied: u8::try_from(t.field_count()).unwrap_or(u8::MAX),
            })
            .collect()
    })
}

/// What the flawed validator checks content against: sensor 7.11's limits, but the field count
/// of the template definitions instead of what the sensor supplies.
pub fn validator_view() -> SensorDecl {
    SensorDecl {
        build: "7.11 content validator (template definitions)",
        supplies: definitions(),
        ..SENSOR_7_11
    }
}

/// A channel file the flawed validator passed.
#[derive(Clone, Debug)]
pub struct FlawedContent<'c> {
    rules: RuleSet<'c>,
    file: ChannelFile<'c>,
    supplied: usize,
}

/// The flawed Content Validator: every structural check of the real loader, with the schema
/// handshake done against the template's declared field count.
pub fn validate(bytes: &[u8]) -> Result<FlawedContent<'_>, LoadError> {
    let rules = RuleSet::load(bytes, &validator_view())?;
    let file = ChannelFile::parse(bytes)?;
    let h = file.header();
    let supplied = SENSOR_7_11
        .supplied(h.template_id, h.template_version)
        .ok_or(LoadError::TemplateNotSupplied {
            channel: h.channel,
            id: h.template_id,
            version: h.template_version,
            build: SENSOR_7_11.build,
        })?;
    Ok(FlawedContent {
        rules,
        file,
        supplied,
    })
}

impl<'c> FlawedContent<'c> {
    /// The rule set, as validated against the template definitions.
    pub fn rules(&self) -> &RuleSet<'c> {
        &self.rules
    }

    /// How many inputs the 2024 integration code puts in the array (20 for the IPC template).
    pub fn supplied(&self) -> usize {
        self.supplied
    }
}

/// The registers the model tracks at the faulting read, as a trap frame shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registers {
    /// Instruction pointer.
    pub rip: u64,
    /// Base of the input-pointer array.
    pub rax: u64,
    /// The pointer loaded from the array slot.
    pub r8: u64,
    /// The index register: the field index.
    pub r11: u64,
}

/// The interpreter's state when a read faulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpreterState {
    /// The layout the model ran with.
    pub layout: Layout,
    /// Channel number.
    pub channel: u32,
    /// Content version.
    pub version: u64,
    /// Index of the rule being evaluated.
    pub rule: usize,
    /// Its id.
    pub rule_id: String,
    /// Its title.
    pub rule_title: String,
    /// Index of the predicate being evaluated.
    pub predicate: usize,
    /// Its operator.
    pub operator: Operator,
    /// The field it reads (0-based).
    pub field: usize,
    /// The field's name in the template.
    pub field_name: String,
    /// Inputs in the array.
    pub supplied: usize,
    /// Fields the template declares.
    pub declared: usize,
    /// Registers at the fault.
    pub registers: Registers,
}

impl InterpreterState {
    /// Address of the array slot that was loaded.
    pub fn slot_address(&self) -> u64 {
        let r = self.registers;
        r.rax.wrapping_add(r.r11.wrapping_mul(POINTER))
    }
}

/// How an evaluation ended the boot: the bugcheck, and the interpreter's state when the stop
/// came from an input read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// The bugcheck.
    pub bugcheck: BugCheck,
    /// The interpreter's state, for a stop inside the interpreter.
    pub interpreter: Option<Box<InterpreterState>>,
}

impl From<BugCheck> for Halt {
    fn from(bugcheck: BugCheck) -> Self {
        Self {
            bugcheck,
            interpreter: None,
        }
    }
}

/// The inputs of one event, as the 2024 integration code laid them out in pool.
struct InputArray {
    base: u64,
    blocks: Vec<u64>,
}

/// An input read back through the array.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Fetched {
    #[default]
    Absent,
    Int(u64),
    Str(Vec<u16>),
}

fn rip(offset: u64) -> u64 {
    SENSOR_BASE + offset
}

fn allocate(kernel: &mut Kernel, pool: PoolType, size: u64, tag: PoolTag) -> KResult<Option<u64>> {
    kernel.allocate(pool, size, tag, SENSOR_IMAGE)
}

/// Writes a `UNICODE_STRING` and its buffer into one paged-pool block; returns its address.
fn write_string(kernel: &mut Kernel, units: &[u16], blocks: &mut Vec<u64>) -> KResult<Option<u64>> {
    let units = &units[..units.len().min(MAX_UNICODE_UNITS)];
    let size = UNICODE_STRING_SIZE + 2 * (units.len() as u64).max(1);
    let Some(block) = allocate(kernel, PoolType::Paged, size, TAG_STRING)? else {
        return Ok(None);
    };
    blocks.push(block);
    kernel.write_unicode_string(block, units, rip(site::BUILD_INPUTS))?;
    Ok(Some(block))
}

/// Writes one input record; returns its address.
fn write_record(
    kernel: &mut Kernel,
    layout: Layout,
    value: &Value<'_>,
    blocks: &mut Vec<u64>,
) -> KResult<Option<u64>> {
    let Some(record) = allocate(
        kernel,
        PoolType::NonPagedNx,
        layout.record_size(),
        TAG_RECORD,
    )?
    else {
        return Ok(None);
    };
    blocks.push(record);
    let word = match value {
        Value::Absent => None,
        Value::Int(n) => Some(*n),
        Value::Str(units) => match write_string(kernel, units, blocks)? {
            Some(string) => Some(string),
            None => return Ok(None),
        },
    };
    let at = record + layout.value_offset();
    kernel.write(
        at,
        &word.unwrap_or(0).to_le_bytes(),
        rip(site::BUILD_INPUTS),
    )?;
    kernel.write(at + 8, &[u8::from(word.is_some())], rip(site::BUILD_INPUTS))?;
    Ok(Some(record))
}

/// The 2024 integration code: an array of `inputs.len()` pointers to input records. `None`
/// when pool ran out (the event is then not evaluated).
fn build_inputs(
    kernel: &mut Kernel,
    layout: Layout,
    inputs: &[Value<'_>],
) -> KResult<Option<InputArray>> {
    let size = (inputs.len() as u64).max(1) * POINTER;
    let Some(base) = allocate(kernel, PoolType::NonPagedNx, size, TAG_ARRAY)? else {
        return Ok(None);
    };
    let mut array = InputArray {
        base,
        blocks: Vec::new(),
    };
    for (slot, value) in (base..).step_by(POINTER as usize).zip(inputs) {
        let Some(record) = write_record(kernel, layout, value, &mut array.blocks)? else {
            free_inputs(kernel, array)?;
            return Ok(None);
        };
        kernel.write(slot, &record.to_le_bytes(), rip(site::BUILD_INPUTS))?;
    }
    Ok(Some(array))
}

fn free_inputs(kernel: &mut Kernel, array: InputArray) -> KResult<()> {
    for block in array.blocks.into_iter().rev() {
        kernel.free(block)?;
    }
    kernel.free(array.base)
}

/// Reads input `field` the 2024 way: load the pointer from the array without checking the
/// index, then read through it. Updates `regs` as the instructions would.
fn fetch(
    kernel: &mut Kernel,
    layout: Layout,
    array: u64,
    field: usize,
    ty: FieldType,
    regs: &mut Registers,
) -> KResult<Fetched> {
    regs.rax = array;
    regs.r11 = field as u64;
    regs.rip = rip(site::LOAD_INPUT_POINTER);
    regs.r8 = kernel.read_u64(array.wrapping_add(regs.r11.wrapping_mul(POINTER)), regs.rip)?;
    regs.rip = rip(site::READ_INPUT_VALUE);
    let at = regs.r8.wrapping_add(layout.value_offset());
    let word = kernel.read_u64(at, regs.rip)?;
    let mut present = [0u8];
    kernel.read(
        at.wrapping_add(8),
        &mut present,
        rip(site::READ_INPUT_PRESENT),
    )?;
    if present[0] == 0 {
        return Ok(Fetched::Absent);
    }
    match ty {
        FieldType::Integer | FieldType::Flags => Ok(Fetched::Int(word)),
        FieldType::String => kernel
            .read_unicode_string(
                word,
                (rip(site::READ_STRING_HEADER), rip(site::READ_STRING_UNITS)),
            )
            .map(Fetched::Str),
    }
}

/// One predicate that reads an input: where it sits and what it reads.
struct Read {
    rule: usize,
    predicate: usize,
    field: usize,
    operator: Operator,
}

/// Every input read the interpreter makes for one event, in the order it makes them: rule by
/// rule, instruction by instruction (rule programs are postfix, so every predicate runs).
fn reads<'a>(file: &'a ChannelFile<'_>) -> impl Iterator<Item = Read> + 'a {
    (0..file.count(Section::Rules)).flat_map(move |rule| {
        let record = file.rule(rule);
        let start = record.map_or(0, |r| r.program_start as usize);
        let len = record.map_or(0, |r| r.program_len as usize);
        (start..start + len).filter_map(move |pc| {
            let Ok(Instruction::Pred(n)) = Instruction::decode(file.instruction(pc)?) else {
                return None;
            };
            let predicate = n as usize;
            let record = file.predicate(predicate)?;
            let operator = Operator::from_u8(record.op)?;
            operator.reads_input().then_some(Read {
                rule,
                predicate,
                field: usize::from(record.field),
                operator,
            })
        })
    })
}

impl FlawedContent<'_> {
    fn state(&self, layout: Layout, read: &Read, registers: Registers) -> InterpreterState {
        let h = self.file.header();
        let info = self.rules.rule(read.rule);
        let template = self.rules.template();
        InterpreterState {
            layout,
            channel: h.channel,
            version: h.content_version,
            rule: read.rule,
            rule_id: info.map_or_else(String::new, |i| i.id.to_owned()),
            rule_title: info.map_or_else(String::new, |i| i.title.to_owned()),
            predicate: read.predicate,
            operator: read.operator,
            field: read.field,
            field_name: template
                .field(read.field)
                .map_or_else(String::new, |f| f.name.to_owned()),
            supplied: self.supplied,
            declared: template.field_count(),
            registers,
        }
    }

    /// Reads every input the rules need through the array, in evaluation order.
    fn read_inputs(
        &self,
        kernel: &mut Kernel,
        layout: Layout,
        array: u64,
    ) -> Result<Vec<Fetched>, Halt> {
        let template = self.rules.template();
        let mut fetched = vec![Fetched::Absent; template.field_count()];
        for read in reads(&self.file) {
            let mut registers = Registers::default();
            let ty = template
                .field(read.field)
                .map_or(FieldType::Integer, |f| f.ty);
            match fetch(kernel, layout, array, read.field, ty, &mut registers) {
                Ok(value) => {
                    if let Some(slot) = fetched.get_mut(read.field) {
                        *slot = value;
                    }
                }
                Err(bugcheck) => {
                    return Err(Halt {
                        bugcheck,
                        interpreter: Some(Box::new(self.state(layout, &read, registers))),
                    })
                }
            }
        }
        Ok(fetched)
    }
}

/// Evaluates one event the 2024 way. `inputs` is what the integration code supplies (20
/// values for the IPC template). `Ok(None)`: pool ran out and the event was not evaluated.
/// `Err`: the boot is over.
pub fn evaluate(
    kernel: &mut Kernel,
    layout: Layout,
    content: &FlawedContent<'_>,
    inputs: &[Value<'_>],
    sink: &mut impl MatchSink,
) -> Result<Option<Verdict>, Halt> {
    let Some(array) = build_inputs(kernel, layout, inputs)? else {
        return Ok(None);
    };
    let fetched = content.read_inputs(kernel, layout, array.base)?;
    free_inputs(kernel, array)?;
    let values: Vec<Value<'_>> = fetched
        .iter()
        .map(|f| match f {
            Fetched::Absent => Value::Absent,
            Fetched::Int(n) => Value::Int(*n),
            Fetched::Str(units) => Value::Str(units),
        })
        .collect();
    Ok(Some(content.rules.evaluate(&values, sink)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{compile_builtin, HISTORY, JULY_19_0409};
    use crate::emu::bugcheck::BugCheckCode;
    use crate::emu::modules::SENSOR_SIZE;
    use crate::event::{EncodedEvent, EventKind, PipeEvent};
    use sensor_core::schema::SENSOR_FIXED;
    use sensor_core::MatchedRule;

    fn boot(layout: Layout) -> Kernel {
        let mut k = Kernel::boot(1);
        k.load_image(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE)
            .unwrap();
        layout.prepare(&mut k).unwrap();
        k
    }

    fn psexec_connect() -> PipeEvent {
        PipeEvent {
            kind: EventKind::Connect,
            pipe_name: Some(r"\PSEXESVC".into()),
            image_path: Some(r"C:\Users\a\AppData\Local\Temp\x.exe".into()),
            remote_client: Some(false),
            ..PipeEvent::default()
        }
    }

    fn run(
        k: &mut Kernel,
        layout: Layout,
        content: &FlawedContent<'_>,
        event: &PipeEvent,
    ) -> Result<Option<(Verdict, Vec<u32>)>, Halt> {
        let mut encoded = EncodedEvent::new();
        encoded.encode(event);
        let values = encoded.values();
        let mut rules = Vec::new();
        let mut sink = |m: MatchedRule| {
            rules.push(m.rule);
            true
        };
        let verdict = evaluate(k, layout, content, &values[..content.supplied()], &mut sink)?;
        Ok(verdict.map(|v| (v, rules)))
    }

    #[test]
    fn the_flawed_validator_passes_what_the_real_one_refuses() {
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let refused = RuleSet::load(july.as_bytes(), &SENSOR_7_11).unwrap_err();
        assert!(matches!(
            refused,
            LoadError::FieldNotSupplied {
                field: 20,
                declared: 21,
                supplied: 20,
                ..
            }
        ));
        let content = validate(july.as_bytes()).unwrap();
        assert_eq!(content.supplied(), 20);
        assert_eq!(content.rules().supplied(), 21);
        assert!(validate(b"garbage").is_err(), "structural checks still run");
    }

    #[test]
    fn wildcard_content_runs_and_agrees_with_the_core() {
        let april = compile_builtin(HISTORY[3].name, HISTORY[3].source);
        let content = validate(april.as_bytes()).unwrap();
        let core = RuleSet::load(april.as_bytes(), &SENSOR_FIXED).unwrap();
        for layout in [Layout::Seed, Layout::Dump] {
            let mut k = boot(layout);
            let (verdict, rules) = run(&mut k, layout, &content, &psexec_connect())
                .unwrap()
                .unwrap();
            let mut encoded = EncodedEvent::new();
            encoded.encode(&psexec_connect());
            let mut expected = Vec::new();
            let reference = core.evaluate(&encoded.values()[..20], &mut |m: MatchedRule| {
                expected.push(m.rule);
                true
            });
            assert_eq!(rules, expected);
            assert_eq!(verdict.matched, reference.matched);
            assert_eq!(rules, vec![2], "IPC-0003 matches a PsExec connect");
            assert!(k.stopped().is_none());
            assert_eq!(k.pools().outstanding(SENSOR_IMAGE).allocations, 0);
        }
    }

    fn july_halt(layout: Layout) -> (Kernel, Halt) {
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let content = validate(july.as_bytes()).unwrap();
        let mut k = boot(layout);
        let halt = run(&mut k, layout, &content, &psexec_connect()).unwrap_err();
        (k, halt)
    }

    #[test]
    fn seed_layout_reads_0x9c() {
        let (k, halt) = july_halt(Layout::Seed);
        assert_eq!(halt.bugcheck.code, BugCheckCode::PageFaultInNonpagedArea);
        assert_eq!(halt.bugcheck.args, [0x9c, 0, SENSOR_BASE + 0xe14ed, 2]);
        let state = halt.interpreter.unwrap();
        assert_eq!(
            (state.rule_id.as_str(), state.field, state.supplied),
            ("IPC-0006", 20, 20)
        );
        assert_eq!(state.field_name, "remote_client");
        assert_eq!(state.operator, Operator::NumEquals);
        assert_eq!(state.registers.r11, 0x14);
        assert_eq!(state.registers.r8, 0);
        assert_eq!(state.slot_address(), state.registers.rax + 0xa0);
        assert_eq!(
            k.describe(state.registers.rax).as_deref(),
            Some("Nonpaged pool")
        );
    }

    #[test]
    fn dump_layout_reads_a_stale_paged_pool_pointer() {
        let (k, halt) = july_halt(Layout::Dump);
        let stale = 0xffff_8405_0000_0074;
        assert_eq!(halt.bugcheck.args, [stale, 0, 0xffff_f806_7151_14ed, 2]);
        let state = halt.interpreter.unwrap();
        assert_eq!(
            state.registers.r8, stale,
            "r8 is the read address, as in the dump"
        );
        assert_eq!(state.registers.rip, 0xffff_f806_7151_14ed);
        assert_eq!(k.describe(stale).as_deref(), Some("Paged pool"));
        assert_eq!(Layout::Dump.read_address(), stale);
        assert_eq!(Layout::Seed.read_address(), 0x9c);
    }

    /// The flawed model's wild read lands in the emulated page table whatever lies after the
    /// array: a stop or a completed evaluation, never a host fault, and the host-side emulator
    /// state stays intact.
    #[test]
    fn wild_pointers_only_ever_touch_emulated_memory() {
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let content = validate(july.as_bytes()).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut residues = vec![0, 0x9c, u64::MAX, 0x8000_0000_0000_0000, PAGED_BASE];
        residues.extend((0..500).map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state
        }));
        let (mut stopped, mut completed) = (0, 0);
        for (i, residue) in residues.into_iter().enumerate() {
            let mut k = boot(Layout::Seed);
            let mut encoded = EncodedEvent::new();
            encoded.encode(&psexec_connect());
            let values = encoded.values();
            let array = build_inputs(&mut k, Layout::Seed, &values[..20])
                .unwrap()
                .unwrap();
            let residue = if i == 1 { array.base } else { residue };
            k.write(array.base + 0xa0, &residue.to_le_bytes(), 0)
                .unwrap();
            let pages = k.memory().mapped_pages();
            let result = content.read_inputs(&mut k, Layout::Seed, array.base);
            assert_eq!(k.memory().mapped_pages(), pages);
            match result {
                Err(halt) => {
                    stopped += 1;
                    let state = halt.interpreter.expect("stopped inside the interpreter");
                    assert_eq!((state.field, state.registers.r8), (20, residue));
                    assert!(k.memory().counts().faulted >= 1);
                }
                Ok(fetched) => {
                    completed += 1;
                    assert_eq!(fetched.len(), 21);
                }
            }
        }
        assert!(stopped > 400, "{stopped} stops");
        assert!(
            completed >= 1,
            "a pointer back into the array reads emulated pool"
        );
    }
}
