//! Fault traces: what a bugcheck left behind, stored as versioned JSON and shown the way
//! WinDbg's `!analyze -v` shows a crash dump.
//!
//! A [`FaultTrace`] is built from a [`Crash`] and the kernel it happened in: the bugcheck and
//! its arguments, the faulting access, the module and offset of the faulting instruction, the
//! registers the model tracks, the flawed interpreter's state, the channel file, the triggering
//! request and the boot. The format is specified in `docs/fault-traces.md`; [`read`] refuses
//! files of another format or version. This module owns the format and its rendering; it never
//! changes the emulator's state.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use x86_64::structures::idt::PageFaultErrorCode;

use super::bugcheck::BugCheckCode;
use super::disk::CONTENT_DIR;
use super::driver::Crash;
use super::flawed::{InterpreterState, POINTER};
use super::irp::{PipeIrp, NPFS_DEVICE};
use super::kernel::{FaultRecord, Kernel};

/// The `format` field of every trace.
pub const FORMAT: &str = "sensor-host/fault-trace";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// A 64-bit value stored as a `"0x…"` string, so JSON readers that use doubles keep every bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Hex(pub u64);

impl From<Hex> for String {
    fn from(h: Hex) -> String {
        format!("{:#x}", h.0)
    }
}

impl TryFrom<String> for Hex {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.strip_prefix("0x")
            .and_then(|digits| u64::from_str_radix(digits, 16).ok())
            .map(Hex)
            .ok_or_else(|| format!("{s:?} is not a 0x-prefixed hexadecimal number"))
    }
}

/// The bugcheck.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BugCheckInfo {
    /// Stop code.
    pub code: Hex,
    /// Its symbolic name.
    pub name: String,
    /// The four arguments.
    pub args: [Hex; 4],
}

/// The memory access behind the bugcheck.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultInfo {
    /// The address that could not be accessed.
    pub address: Hex,
    /// `read`, `write` or `execute`.
    pub access: String,
    /// `not-present`, `protection` or `non-canonical`.
    pub kind: String,
    /// The #PF error code, absent for a non-canonical address.
    pub error_code: Option<Hex>,
    /// Names of the error-code bits that are set.
    pub error_code_flags: Vec<String>,
    /// What lies at the address (`Paged pool`, `Nonpaged pool`, an image), if anything.
    pub region: Option<String>,
    /// IRQL at the time.
    pub irql: u8,
    /// The instruction that made the access.
    pub rip: Hex,
}

/// The module holding the faulting instruction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleInfo {
    /// `IMAGE_NAME`.
    pub image_name: String,
    /// `MODULE_NAME`.
    pub module_name: String,
    /// Load address.
    pub base: Hex,
    /// Offset of the faulting instruction.
    pub offset: Hex,
}

/// The registers the model tracks at the fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInfo {
    /// Instruction pointer.
    pub rip: Hex,
    /// Base of the input array.
    pub rax: Hex,
    /// The pointer loaded from the array.
    pub r8: Hex,
    /// The index register.
    pub r11: Hex,
}

/// The flawed interpreter's state at the fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpreterInfo {
    /// `flawed-2024`.
    pub design: String,
    /// `seed` or `dump`.
    pub layout: String,
    /// Rule index.
    pub rule: usize,
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub rule_title: String,
    /// Predicate index.
    pub predicate: usize,
    /// Its operator.
    pub operator: String,
    /// Field index (0-based).
    pub field: usize,
    /// Field name.
    pub field_name: String,
    /// Inputs in the array.
    pub input_count: usize,
    /// Fields the template type declares.
    pub declared_fields: usize,
    /// Base of the input array.
    pub array_base: Hex,
    /// Address of the slot that was loaded.
    pub slot_address: Hex,
    /// What the slot held.
    pub value_read: Hex,
    /// Displacement of the read through it.
    pub value_offset: Hex,
    /// The modelled faulting instruction.
    pub instruction: String,
}

/// The channel file that was active.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentInfo {
    /// File name.
    pub file: String,
    /// Directory it was loaded from.
    pub directory: String,
    /// Channel number.
    pub channel: u32,
    /// Content version.
    pub version: u64,
}

/// The request that triggered the fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInfo {
    /// Its sequence number in the boot (from 1).
    pub sequence: u64,
    /// The request.
    pub request: PipeIrp,
}

/// One fault trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultTrace {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for files this build writes.
    pub version: u32,
    /// Boot number (from 1).
    pub boot: u32,
    /// Scenario time of the boot (`2024-07-19 04:09`).
    pub clock: String,
    /// The bugcheck.
    pub bugcheck: BugCheckInfo,
    /// The faulting access, for memory faults.
    pub fault: Option<FaultInfo>,
    /// The module of the faulting instruction.
    pub module: Option<ModuleInfo>,
    /// `PROCESS_NAME`: the image whose request was being handled.
    pub process: Option<String>,
    /// Registers, for faults inside the flawed interpreter.
    pub registers: Option<RegisterInfo>,
    /// The flawed interpreter's state.
    pub interpreter: Option<InterpreterInfo>,
    /// The active channel file.
    pub content: Option<ContentInfo>,
    /// The triggering request.
    pub event: Option<EventInfo>,
}

/// Why a trace file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not JSON of the trace's shape.
    #[error("not a fault trace: {0}")]
    Json(#[from] serde_json::Error),
    /// The `format` field names another format.
    #[error("format is {0:?}, expected {FORMAT:?}")]
    Format(String),
    /// The `version` field names a version this build does not read.
    #[error("fault-trace version {0} is not supported (this build reads version {VERSION})")]
    Version(u64),
}

const ERROR_CODE_FLAGS: [(PageFaultErrorCode, &str); 5] = [
    (
        PageFaultErrorCode::PROTECTION_VIOLATION,
        "PROTECTION_VIOLATION",
    ),
    (PageFaultErrorCode::CAUSED_BY_WRITE, "CAUSED_BY_WRITE"),
    (PageFaultErrorCode::USER_MODE, "USER_MODE"),
    (PageFaultErrorCode::MALFORMED_TABLE, "MALFORMED_TABLE"),
    (PageFaultErrorCode::INSTRUCTION_FETCH, "INSTRUCTION_FETCH"),
];

fn fault_info(fault: &FaultRecord, kernel: &Kernel) -> FaultInfo {
    FaultInfo {
        address: Hex(fault.address),
        access: fault.access.name().to_owned(),
        kind: fault.kind.name().to_owned(),
        error_code: fault.error_code.map(|c| Hex(c.bits())),
        error_code_flags: fault.error_code.map_or_else(Vec::new, |code| {
            ERROR_CODE_FLAGS
                .iter()
                .filter(|(flag, _)| code.contains(*flag))
                .map(|(_, name)| (*name).to_owned())
                .collect()
        }),
        region: kernel.describe(fault.address),
        irql: fault.irql.value(),
        rip: Hex(fault.rip),
    }
}

fn module_info(rip: u64, kernel: &Kernel) -> Option<ModuleInfo> {
    kernel.modules().resolve(rip).map(|r| ModuleInfo {
        image_name: r.module.image.clone(),
        module_name: r.module.name().to_owned(),
        base: Hex(r.module.base),
        offset: Hex(r.offset),
    })
}

fn interpreter_info(state: &InterpreterState) -> InterpreterInfo {
    let r = state.registers;
    InterpreterInfo {
        design: "flawed-2024".to_owned(),
        layout: state.layout.name().to_owned(),
        rule: state.rule,
        rule_id: state.rule_id.clone(),
        rule_title: state.rule_title.clone(),
        predicate: state.predicate,
        operator: state.operator.name().to_owned(),
        field: state.field,
        field_name: state.field_name.clone(),
        input_count: state.supplied,
        declared_fields: state.declared,
        array_base: Hex(r.rax),
        slot_address: Hex(state.slot_address()),
        value_read: Hex(r.r8),
        value_offset: Hex(state.layout.value_offset()),
        instruction: state.layout.instruction(),
    }
}

/// The file name of an image path (`C:\Windows\x.exe` → `x.exe`).
fn file_name(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

impl FaultTrace {
    /// The trace of `crash`, which happened in `kernel` at scenario time `clock`.
    pub fn new(crash: &Crash, kernel: &Kernel, clock: &str) -> Self {
        let bugcheck = crash.stop.bugcheck;
        let fault = crash.stop.fault.as_ref();
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            boot: kernel.boot_number(),
            clock: clock.to_owned(),
            bugcheck: BugCheckInfo {
                code: Hex(u64::from(bugcheck.code.value())),
                name: bugcheck.name().to_owned(),
                args: bugcheck.args.map(Hex),
            },
            fault: fault.map(|f| fault_info(f, kernel)),
            module: fault.and_then(|f| module_info(f.rip, kernel)),
            process: crash
                .event
                .as_ref()
                .map(|(_, irp)| file_name(&irp.common().requestor.image).to_owned()),
            registers: crash.interpreter.as_ref().map(|s| RegisterInfo {
                rip: Hex(s.registers.rip),
                rax: Hex(s.registers.rax),
                r8: Hex(s.registers.r8),
                r11: Hex(s.registers.r11),
            }),
            interpreter: crash.interpreter.as_deref().map(interpreter_info),
            content: crash.content.as_ref().map(|c| ContentInfo {
                file: c.file.clone(),
                directory: CONTENT_DIR.to_owned(),
                channel: c.channel,
                version: c.version,
            }),
            event: crash.event.as_ref().map(|(sequence, irp)| EventInfo {
                sequence: *sequence,
                request: irp.clone(),
            }),
        }
    }

    /// The trace as pretty-printed JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The file name the trace is written under: `boot-002-stop-50.json`.
    pub fn file_name(&self) -> String {
        format!("boot-{:03}-stop-{:x}.json", self.boot, self.bugcheck.code.0)
    }

    /// Writes the trace into `dir` (created if missing); returns the file's path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, TraceError> {
        let path = dir.join(self.file_name());
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, self.to_json()))
            .map_err(|source| TraceError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }
}

/// Parses a trace, checking its format and version before its shape.
pub fn parse(text: &str) -> Result<FaultTrace, TraceError> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if format != FORMAT {
        return Err(TraceError::Format(format.to_owned()));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != u64::from(VERSION) {
        return Err(TraceError::Version(version));
    }
    Ok(serde_json::from_value(value)?)
}

/// Reads a trace file.
pub fn read(path: &Path) -> Result<FaultTrace, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&text)
}

const BANNER: &str = "\
*******************************************************************************
*                                                                             *
*                        Bugcheck Analysis                                    *
*                                                                             *
*******************************************************************************
";

/// `fffff806715114ed`: sixteen hex digits, as `Arg1:` lines and registers show them.
fn hex16(value: Hex) -> String {
    format!("{:016x}", value.0)
}

/// `fffff806`715114ed`: an address as a disassembly line shows it.
fn ticked(value: Hex) -> String {
    format!("{:08x}`{:08x}", value.0 >> 32, value.0 & 0xffff_ffff)
}

/// Renders `trace` the way a WinDbg `!analyze -v` user expects to read a crash.
pub fn render(trace: &FaultTrace) -> String {
    let mut out = String::new();
    header(&mut out, trace);
    details(&mut out, trace);
    if let Some(interpreter) = &trace.interpreter {
        interpreter_section(&mut out, trace, interpreter);
    }
    if let Some(event) = &trace.event {
        event_section(&mut out, trace, event);
    }
    let _ = writeln!(out, "BOOT:                {} ({})", trace.boot, trace.clock);
    out
}

fn header(out: &mut String, trace: &FaultTrace) {
    let b = &trace.bugcheck;
    let meanings = u32::try_from(b.code.0)
        .ok()
        .and_then(BugCheckCode::from_value)
        .map_or([""; 4], BugCheckCode::argument_meanings);
    let _ = writeln!(out, "{BANNER}");
    let _ = writeln!(out, "{} ({:x})", b.name, b.code.0);
    let _ = writeln!(out, "Arguments:");
    for (i, (arg, meaning)) in b.args.iter().zip(meanings).enumerate() {
        let _ = writeln!(out, "Arg{}: {}, {meaning}", i + 1, hex16(*arg));
    }
    let _ = writeln!(out, "\nDebugging Details:\n------------------\n");
    let _ = writeln!(out, "BUGCHECK_CODE:  {:x}", b.code.0);
    for (i, arg) in b.args.iter().enumerate() {
        let _ = writeln!(out, "BUGCHECK_P{}: {:x}", i + 1, arg.0);
    }
    let _ = writeln!(out);
}

fn details(out: &mut String, trace: &FaultTrace) {
    if let Some(f) = &trace.fault {
        let label = format!("{}_ADDRESS:", f.access.to_ascii_uppercase());
        let region = f
            .region
            .as_deref()
            .map_or(String::new(), |r| format!(" {r}"));
        let _ = writeln!(out, "{label:<16}{}{region}", hex16(f.address));
        let flags = if f.error_code_flags.is_empty() {
            "none: not present, read, kernel mode".to_owned()
        } else {
            f.error_code_flags.join(" | ")
        };
        match f.error_code {
            Some(code) => {
                let _ = writeln!(out, "PF_ERROR_CODE:  {:x} ({flags})", code.0);
            }
            None => {
                let _ = writeln!(out, "PF_ERROR_CODE:  none (#GP: {} address)", f.kind);
            }
        }
        if trace.bugcheck.code.0 == u64::from(BugCheckCode::PageFaultInNonpagedArea.value()) {
            let _ = writeln!(out, "MM_INTERNAL_CODE:  {:x}", trace.bugcheck.args[3].0);
        }
        let _ = writeln!(out, "CURRENT_IRQL:  {}", f.irql);
    }
    if let Some(process) = &trace.process {
        let _ = writeln!(out, "PROCESS_NAME:  {process}");
    }
    if let Some(r) = &trace.registers {
        let _ = writeln!(
            out,
            "\nTRAP_FRAME:  (emulated: the registers the model tracks)"
        );
        let _ = writeln!(
            out,
            "rax={} r8={} r11={}\nrip={}",
            hex16(r.rax),
            hex16(r.r8),
            hex16(r.r11),
            hex16(r.rip)
        );
    }
    if let (Some(m), Some(f)) = (&trace.module, &trace.fault) {
        let instruction = trace
            .interpreter
            .as_ref()
            .map_or("??", |i| i.instruction.as_str());
        let _ = writeln!(out, "\nFAULTING_IP:\n{}+{:x}", m.module_name, m.offset.0);
        let _ = writeln!(out, "{} {instruction}\n", ticked(f.rip));
        let _ = writeln!(out, "IMAGE_NAME:  {}", m.image_name);
        let _ = writeln!(out, "MODULE_NAME: {}", m.module_name);
        let _ = writeln!(out, "FAULTING_MODULE: {} {}", hex16(m.base), m.module_name);
        let _ = writeln!(out, "SYMBOL_NAME:  {}+{:x}", m.module_name, m.offset.0);
    }
    let _ = writeln!(out);
}

fn interpreter_section(out: &mut String, trace: &FaultTrace, i: &InterpreterInfo) {
    let _ = writeln!(
        out,
        "SENSOR_INTERPRETER:  {}, layout {}",
        i.design, i.layout
    );
    if let Some(c) = &trace.content {
        let _ = writeln!(out, "CHANNEL_FILE:        {}", c.file);
        let _ = writeln!(out, "CONTENT_DIRECTORY:   {}", c.directory);
        let _ = writeln!(
            out,
            "CONTENT_VERSION:     {} (channel {})",
            c.version, c.channel
        );
    }
    let _ = writeln!(
        out,
        "RULE:                {} {} \"{}\"",
        i.rule, i.rule_id, i.rule_title
    );
    let _ = writeln!(
        out,
        "PREDICATE:           {} {} on input field {} ({}), field {} of {}",
        i.predicate,
        i.operator,
        i.field,
        i.field_name,
        i.field + 1,
        i.declared_fields
    );
    let _ = writeln!(
        out,
        "INPUT_COUNT:         {} supplied; the template type declares {}",
        i.input_count, i.declared_fields
    );
    let _ = writeln!(
        out,
        "INDEX_REGISTER:      r11={} (element {} of a {}-element array)",
        hex16(Hex(i.field as u64)),
        i.field,
        i.input_count
    );
    let _ = writeln!(
        out,
        "ARRAY_BASE:          rax={}; slot read at {} ({:#x} past the base)",
        hex16(i.array_base),
        hex16(i.slot_address),
        i.slot_address.0.wrapping_sub(i.array_base.0)
    );
    let _ = writeln!(
        out,
        "VALUE_READ:          r8={}, read through at +{:#x} (array size {:#x})\n",
        hex16(i.value_read),
        i.value_offset.0,
        i.input_count as u64 * POINTER
    );
}

fn event_section(out: &mut String, trace: &FaultTrace, e: &EventInfo) {
    let c = e.request.common();
    let r = &c.requestor;
    let _ = writeln!(
        out,
        "TRIGGERING_EVENT:    #{} of boot {}",
        e.sequence, trace.boot
    );
    let _ = writeln!(
        out,
        "  IRP:               {} ({:#04x}) on {NPFS_DEVICE}{}",
        e.request.major_name(),
        e.request.major(),
        c.file_name
    );
    let _ = writeln!(
        out,
        "  PROCESS:           {} (pid {}, parent {}, session {})",
        r.image, r.pid, r.parent_pid, r.session
    );
    let _ = writeln!(out, "  PARENT_IMAGE:      {}", r.parent_image);
    let _ = writeln!(out, "  COMMAND_LINE:      {}", r.command_line);
    let _ = writeln!(
        out,
        "  USER:              {} (integrity {:#x})",
        r.user, r.integrity
    );
    let _ = writeln!(
        out,
        "  ACCESS:            desired {:#x}, share {:#x}, disposition {}",
        c.desired_access,
        c.share_access,
        c.disposition()
    );
    if let PipeIrp::CreateNamedPipe { parameters: p, .. } = &e.request {
        let _ = writeln!(
            out,
            "  PIPE_PARAMETERS:   type {:#x}, read mode {:#x}, completion {:#x}, max instances {:#x}, quotas {}/{}, timeout {}",
            p.named_pipe_type,
            p.read_mode,
            p.completion_mode,
            p.maximum_instances,
            p.inbound_quota,
            p.outbound_quota,
            p.default_timeout
        );
    }
    let _ = writeln!(out, "  REMOTE_CLIENT:     {}\n", e.request.is_remote());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_other_spellings() {
        let json = serde_json::to_string(&Hex(0xffff_8405_0000_0074)).unwrap();
        assert_eq!(json, "\"0xffff840500000074\"");
        assert_eq!(
            serde_json::from_str::<Hex>(&json).unwrap().0,
            0xffff_8405_0000_0074
        );
        for bad in ["\"74\"", "\"0x\"", "\"0xg\"", "116"] {
            assert!(serde_json::from_str::<Hex>(bad).is_err(), "{bad}");
        }
        assert_eq!(ticked(Hex(0xffff_f806_7151_14ed)), "fffff806`715114ed");
    }

    #[test]
    fn parse_checks_format_then_version() {
        assert!(matches!(parse("[1]"), Err(TraceError::Format(_))));
        assert!(matches!(
            parse(r#"{"format":"other","version":1}"#),
            Err(TraceError::Format(f)) if f == "other"
        ));
        assert!(matches!(
            parse(&format!(r#"{{"format":"{FORMAT}","version":2}}"#)),
            Err(TraceError::Version(2))
        ));
        assert!(matches!(
            parse(&format!(r#"{{"format":"{FORMAT}","version":1}}"#)),
            Err(TraceError::Json(_))
        ));
        assert!(matches!(parse("{"), Err(TraceError::Json(_))));
    }
}
