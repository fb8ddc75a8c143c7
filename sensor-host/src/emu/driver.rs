//! The sensor driver's lifecycle on the emulated kernel: `DriverEntry`, content load from the
//! channel-file directory, the named-pipe pre-operation callback, content updates while
//! running, and unload.
//!
//! Both designs share this code; only the content engine differs. The fixed design runs the
//! real [`sensor_core::ContentSlot`] (real core, emulated kernel around it); the flawed design
//! runs [`super::flawed`]. At `DriverEntry` the driver tries the directory's channel-291 files
//! newest content version first ([`ContentDir::candidates`]) and keeps the first one its
//! validator accepts: with the flawed validator that is simply the newest file, with the fixed
//! one the newest file that is safe for this sensor. Every callback runs at `PASSIVE_LEVEL`,
//! captures the pipe name into paged pool, evaluates, and updates the driver's counters under
//! its lock at `DISPATCH_LEVEL`. This module never decides what happens after a bugcheck (the
//! machine reboots) and never writes to the content directory.

use std::collections::BTreeMap;

use sensor_core::channel::ChannelFile;
use sensor_core::error::LoadError;
use sensor_core::op::Action;
use sensor_core::schema::SENSOR_7_11;
use sensor_core::{ContentSlot, MatchedRule, Verdict};
use serde::{Deserialize, Serialize};

use super::bugcheck::BugCheck;
use super::disk::ContentDir;
use super::flawed::{self, FlawedContent, Halt, InterpreterState, Layout};
use super::irp::PipeIrp;
use super::irql::Irql;
use super::kernel::{KResult, Kernel, Stop, MAX_UNICODE_UNITS, UNICODE_STRING_SIZE};
use super::modules::{SENSOR_BASE, SENSOR_IMAGE};
use super::pool::{PoolTag, PoolType};
use crate::diag::describe;
use crate::event::EncodedEvent;

/// The channel this driver evaluates.
pub const CHANNEL: u32 = 291;
/// Pool tag of the driver's global context.
pub const TAG_CONTEXT: PoolTag = PoolTag(*b"SnsG");
/// Pool tag of a captured pipe name.
pub const TAG_NAME: PoolTag = PoolTag(*b"SnsN");
/// Size of the driver's global context (counters).
pub const CONTEXT_SIZE: u64 = 0x40;

/// Offsets in the driver image of the driver's own code (illustrative).
pub mod site {
    /// `DriverEntry`.
    pub const DRIVER_ENTRY: u64 = 0x1_2040;
    /// The pipe-name capture in the pre-create callback.
    pub const CAPTURE_NAME: u64 = 0x3_41a0;
    /// The counter update under the driver's lock.
    pub const UPDATE_COUNTERS: u64 = 0x3_4310;
}

/// Which content engine the driver runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Design {
    /// The 2024 design: flawed validator, unchecked input array on emulated memory.
    Flawed,
    /// This project's core: the schema handshake at load, checked access at run time.
    Fixed,
}

impl Design {
    /// The design's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Flawed => "flawed",
            Self::Fixed => "fixed",
        }
    }
}

/// The content the driver is running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveContent {
    /// File name in the content directory.
    pub file: String,
    /// Channel number.
    pub channel: u32,
    /// Content version.
    pub version: u64,
}

/// Why a validator refused a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The core's typed error.
    pub error: LoadError,
    /// The error in words, rules and fields named.
    pub text: String,
}

/// One attempt to load a channel file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadAttempt {
    /// File name.
    pub file: String,
    /// Content version from the header, when it parses.
    pub version: Option<u64>,
    /// `None` when the file became the active content.
    pub refusal: Option<Refusal>,
}

impl LoadAttempt {
    /// Whether the file became the active content.
    pub fn accepted(&self) -> bool {
        self.refusal.is_none()
    }
}

/// A bugcheck raised while the driver ran, with what the driver was doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The bugcheck and the access behind it.
    pub stop: Stop,
    /// The flawed interpreter's state, when the stop came from an input read.
    pub interpreter: Option<Box<InterpreterState>>,
    /// The content that was active.
    pub content: Option<ActiveContent>,
    /// The request being handled, and its sequence number in this boot (from 1).
    pub event: Option<(u64, PipeIrp)>,
}

/// Why `DriverEntry` did not leave a running driver.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The context allocation returned NULL: `STATUS_INSUFFICIENT_RESOURCES`.
    #[error("DriverEntry failed with STATUS_INSUFFICIENT_RESOURCES")]
    InsufficientResources,
    /// The boot ended during `DriverEntry`.
    #[error("bugcheck during DriverEntry: {}", .0.stop.bugcheck)]
    Crash(Box<Crash>),
}

/// What the callback did with one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventOutcome {
    /// Sequence number of the request in this boot (from 1).
    pub sequence: u64,
    /// Whether a rule set evaluated it.
    pub evaluated: bool,
    /// Ids of the rules that matched.
    pub matched: Vec<String>,
    /// The decisive action; `Block` fails the request with `STATUS_ACCESS_DENIED`.
    pub action: Option<Action>,
}

/// Running totals of one driver instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Requests seen.
    pub events: u64,
    /// Requests a rule set evaluated.
    pub evaluated: u64,
    /// Matches per rule id.
    pub matches: BTreeMap<String, u64>,
    /// Requests denied.
    pub blocked: u64,
}

enum Engine<'c> {
    Fixed(Box<ContentSlot<'c>>),
    Flawed {
        layout: Layout,
        content: Option<Box<FlawedContent<'c>>>,
    },
}

/// One loaded instance of the sensor driver.
pub struct SensorDriver<'c> {
    engine: Engine<'c>,
    active: Option<ActiveContent>,
    context: u64,
    stats: DriverStats,
    encoded: EncodedEvent,
}

fn rip(offset: u64) -> u64 {
    SENSOR_BASE + offset
}

/// The stop the kernel recorded for `bugcheck` (with its fault), or the bugcheck alone.
fn stop_of(kernel: &Kernel, bugcheck: BugCheck) -> Stop {
    kernel.stopped().copied().unwrap_or(Stop {
        bugcheck,
        fault: None,
    })
}

impl<'c> SensorDriver<'c> {
    /// `DriverEntry`: allocates the driver's context and loads channel 291 from `dir`, trying
    /// files newest version first and keeping the first the validator accepts. Returns the
    /// driver and every attempt, in order. The driver image must already be loaded.
    pub fn driver_entry(
        kernel: &mut Kernel,
        design: Design,
        layout: Layout,
        dir: &ContentDir<'c>,
    ) -> Result<(Self, Vec<LoadAttempt>), EntryError> {
        let context = allocate_context(kernel)?;
        let engine = match design {
            Design::Fixed => Engine::Fixed(Box::new(ContentSlot::new(SENSOR_7_11))),
            Design::Flawed => Engine::Flawed {
                layout,
                content: None,
            },
        };
        let mut driver = Self {
            engine,
            active: None,
            context,
            stats: DriverStats::default(),
            encoded: EncodedEvent::new(),
        };
        let attempts = driver.load_from(dir);
        Ok((driver, attempts))
    }

    /// Tries the channel's files in the directory's order until one is accepted.
    fn load_from(&mut self, dir: &ContentDir<'c>) -> Vec<LoadAttempt> {
        let mut attempts = Vec::new();
        for file in dir.candidates(CHANNEL) {
            let attempt = self.load(&file.name, file.bytes);
            let accepted = attempt.accepted();
            attempts.push(attempt);
            if accepted {
                break;
            }
        }
        attempts
    }

    /// Validates `bytes` and, if the validator accepts them, makes them the active content.
    fn load(&mut self, file: &str, bytes: &'c [u8]) -> LoadAttempt {
        let result = match &mut self.engine {
            Engine::Fixed(slot) => slot.update(bytes).map(|o| o.version),
            Engine::Flawed { content, .. } => flawed::validate(bytes).map(|c| {
                let version = c.rules().header().content_version;
                *content = Some(Box::new(c));
                version
            }),
        };
        let (version, refusal) = match result {
            Ok(version) => {
                self.active = Some(ActiveContent {
                    file: file.to_owned(),
                    channel: CHANNEL,
                    version,
                });
                (Some(version), None)
            }
            Err(error) => {
                let version = ChannelFile::parse(bytes)
                    .ok()
                    .map(|f| f.header().content_version);
                let text = describe(&error, bytes);
                (version, Some(Refusal { error, text }))
            }
        };
        LoadAttempt {
            file: file.to_owned(),
            version,
            refusal,
        }
    }

    /// A content update while running: the file has been written to the directory; validate
    /// it and, if accepted, swap it in. A refused update leaves the active content as it was.
    pub fn update(
        &mut self,
        kernel: &Kernel,
        file: &str,
        bytes: &'c [u8],
    ) -> Result<LoadAttempt, Box<Crash>> {
        if let Some(stop) = kernel.stopped() {
            return Err(self.crash(*stop, None, None));
        }
        Ok(self.load(file, bytes))
    }

    /// The content the driver runs.
    pub fn active(&self) -> Option<&ActiveContent> {
        self.active.as_ref()
    }

    /// Running totals.
    pub fn stats(&self) -> &DriverStats {
        &self.stats
    }

    fn crash(
        &self,
        stop: Stop,
        interpreter: Option<Box<InterpreterState>>,
        event: Option<(u64, PipeIrp)>,
    ) -> Box<Crash> {
        Box::new(Crash {
            stop,
            interpreter,
            content: self.active.clone(),
            event,
        })
    }

    /// The pre-operation callback for `IRP_MJ_CREATE_NAMED_PIPE` and `IRP_MJ_CREATE` on NPFS.
    pub fn pre_create(
        &mut self,
        kernel: &mut Kernel,
        irp: &PipeIrp,
    ) -> Result<EventOutcome, Box<Crash>> {
        self.stats.events += 1;
        let sequence = self.stats.events;
        self.handle(kernel, irp, sequence).map_err(|halt| {
            let stop = stop_of(kernel, halt.bugcheck);
            self.crash(stop, halt.interpreter, Some((sequence, irp.clone())))
        })
    }

    fn handle(
        &mut self,
        kernel: &mut Kernel,
        irp: &PipeIrp,
        sequence: u64,
    ) -> Result<EventOutcome, Halt> {
        let mut outcome = EventOutcome {
            sequence,
            ..EventOutcome::default()
        };
        let Some(name) = capture_name(kernel, &irp.common().file_name)? else {
            return Ok(outcome);
        };
        self.encoded.encode(&irp.capture(name));
        let mut rules = Vec::new();
        if let Some(verdict) = self.evaluate(kernel, &mut rules)? {
            outcome.evaluated = true;
            outcome.action = verdict.action;
            outcome.matched = self.rule_ids(&rules);
        }
        self.count(kernel, &outcome)?;
        Ok(outcome)
    }

    fn evaluate(&self, kernel: &mut Kernel, rules: &mut Vec<u32>) -> Result<Option<Verdict>, Halt> {
        let values = self.encoded.values();
        let mut sink = |m: MatchedRule| {
            rules.push(m.rule);
            true
        };
        match &self.engine {
            Engine::Fixed(slot) => {
                let supplied = slot.with_active(|r| r.map_or(0, |r| r.supplied()));
                Ok(slot
                    .evaluate(&values[..supplied.min(values.len())], &mut sink)
                    .map(|v| v.verdict))
            }
            Engine::Flawed {
                content: Some(content),
                layout,
            } => {
                let inputs = &values[..content.supplied().min(values.len())];
                flawed::evaluate(kernel, *layout, content, inputs, &mut sink)
            }
            Engine::Flawed { content: None, .. } => Ok(None),
        }
    }

    fn rule_ids(&self, rules: &[u32]) -> Vec<String> {
        let id = |rule: &sensor_core::RuleSet<'_>, i: u32| {
            rule.rule(i as usize)
                .map_or_else(|| format!("#{i}"), |r| r.id.to_owned())
        };
        match &self.engine {
            Engine::Fixed(slot) => slot.with_active(|active| {
                active.map_or_else(Vec::new, |r| rules.iter().map(|&i| id(r, i)).collect())
            }),
            Engine::Flawed {
                content: Some(c), ..
            } => rules.iter().map(|&i| id(c.rules(), i)).collect(),
            Engine::Flawed { content: None, .. } => Vec::new(),
        }
    }

    /// Updates the counters, in the driver's nonpaged context, under its lock.
    fn count(&mut self, kernel: &mut Kernel, outcome: &EventOutcome) -> KResult<()> {
        self.stats.evaluated += u64::from(outcome.evaluated);
        self.stats.blocked += u64::from(outcome.action == Some(Action::Block));
        for id in &outcome.matched {
            *self.stats.matches.entry(id.clone()).or_default() += 1;
        }
        let old = kernel.raise_irql(Irql::DISPATCH)?;
        let counters = [self.stats.events, self.stats.evaluated, self.stats.blocked];
        let bytes: Vec<u8> = counters.iter().flat_map(|c| c.to_le_bytes()).collect();
        kernel.write(self.context, &bytes, rip(site::UPDATE_COUNTERS))?;
        kernel.lower_irql(old)
    }

    /// Driver unload: frees the context. The caller then checks that no pool is left and
    /// removes the image.
    pub fn unload(self, kernel: &mut Kernel) -> Result<DriverStats, Box<Crash>> {
        match kernel.free(self.context) {
            Ok(()) => Ok(self.stats),
            Err(bugcheck) => Err(self.crash(stop_of(kernel, bugcheck), None, None)),
        }
    }
}

/// Allocates the driver's global context in nonpaged pool.
fn allocate_context(kernel: &mut Kernel) -> Result<u64, EntryError> {
    match kernel.allocate(
        PoolType::NonPagedNx,
        CONTEXT_SIZE,
        TAG_CONTEXT,
        SENSOR_IMAGE,
    ) {
        Ok(Some(context)) => Ok(context),
        Ok(None) => Err(EntryError::InsufficientResources),
        Err(bugcheck) => Err(EntryError::Crash(Box::new(Crash {
            stop: stop_of(kernel, bugcheck),
            interpreter: None,
            content: None,
            event: None,
        }))),
    }
}

/// Copies the pipe name into paged pool as a `UNICODE_STRING` and reads it back, as a
/// minifilter captures a name before using it. `None` when the pool is exhausted.
fn capture_name(kernel: &mut Kernel, name: &str) -> KResult<Option<String>> {
    let units: Vec<u16> = name.encode_utf16().take(MAX_UNICODE_UNITS).collect();
    let size = UNICODE_STRING_SIZE + 2 * (units.len() as u64).max(1);
    let Some(block) = kernel.allocate(PoolType::Paged, size, TAG_NAME, SENSOR_IMAGE)? else {
        return Ok(None);
    };
    let at = rip(site::CAPTURE_NAME);
    kernel.write_unicode_string(block, &units, at)?;
    let captured = kernel.read_unicode_string(block, (at, at))?;
    kernel.free(block)?;
    Ok(Some(String::from_utf16_lossy(&captured)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::{compile_builtin, HISTORY, JULY_19_0409};
    use crate::emu::bugcheck::BugCheckCode;
    use crate::emu::modules::SENSOR_SIZE;
    use crate::event::{EventKind, PipeEvent};

    fn kernel() -> Kernel {
        let mut k = Kernel::boot(1);
        k.load_image(SENSOR_IMAGE, SENSOR_BASE, SENSOR_SIZE)
            .unwrap();
        k
    }

    fn connect(pipe: &str) -> PipeIrp {
        PipeIrp::issue(&PipeEvent {
            kind: EventKind::Connect,
            pipe_name: Some(pipe.into()),
            image_path: Some(r"C:\Windows\System32\cmd.exe".into()),
            process_id: Some(900),
            remote_client: Some(false),
            ..PipeEvent::default()
        })
    }

    #[test]
    fn fixed_driver_refuses_july_at_entry_and_runs_april() {
        let april = compile_builtin(HISTORY[3].name, HISTORY[3].source);
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let mut dir = ContentDir::new();
        dir.write("C-00000291-april.sys", april.as_bytes());
        dir.write("C-00000291-july.sys", july.as_bytes());
        let mut k = kernel();
        let (mut driver, attempts) =
            SensorDriver::driver_entry(&mut k, Design::Fixed, Layout::Seed, &dir).unwrap();
        assert_eq!(attempts.len(), 2);
        assert_eq!(attempts[0].file, "C-00000291-july.sys");
        let refusal = attempts[0].refusal.as_ref().unwrap();
        assert!(matches!(
            refusal.error,
            LoadError::FieldNotSupplied { field: 20, .. }
        ));
        assert!(refusal.text.contains("IPC-0006"), "{}", refusal.text);
        assert!(attempts[1].accepted());
        assert_eq!(driver.active().unwrap().version, 2024042400);

        let outcome = driver.pre_create(&mut k, &connect(r"\PSEXESVC")).unwrap();
        assert_eq!(outcome.matched, vec!["IPC-0003"]);
        assert_eq!(outcome.action, Some(Action::Block));
        let refused = driver
            .update(&k, "C-00000291-july.sys", july.as_bytes())
            .unwrap();
        assert!(!refused.accepted());
        assert_eq!(driver.active().unwrap().version, 2024042400);
        let stats = driver.unload(&mut k).unwrap();
        assert_eq!((stats.events, stats.evaluated, stats.blocked), (1, 1, 1));
        k.check_pool_released(SENSOR_IMAGE).unwrap();
        assert_eq!(k.irql(), Irql::PASSIVE);
    }

    #[test]
    fn flawed_driver_loads_july_and_the_next_event_bugchecks() {
        let july = compile_builtin(JULY_19_0409.name, JULY_19_0409.source);
        let mut dir = ContentDir::new();
        dir.write("C-00000291-july.sys", july.as_bytes());
        let mut k = kernel();
        Layout::Dump.prepare(&mut k).unwrap();
        let (mut driver, attempts) =
            SensorDriver::driver_entry(&mut k, Design::Flawed, Layout::Dump, &dir).unwrap();
        assert!(attempts[0].accepted());
        let crash = driver.pre_create(&mut k, &connect(r"\lsass")).unwrap_err();
        assert_eq!(
            crash.stop.bugcheck.code,
            BugCheckCode::PageFaultInNonpagedArea
        );
        assert_eq!(crash.stop.fault.unwrap().rip, SENSOR_BASE + 0xe14ed);
        assert_eq!(crash.content.unwrap().file, "C-00000291-july.sys");
        assert_eq!(crash.event.unwrap().0, 1);
        assert_eq!(crash.interpreter.unwrap().field, 20);
        let again = driver.update(&k, "x", july.as_bytes()).unwrap_err();
        assert_eq!(again.stop.bugcheck, crash.stop.bugcheck, "the boot is over");
    }

    #[test]
    fn without_content_nothing_is_evaluated() {
        let mut k = kernel();
        let (mut driver, attempts) =
            SensorDriver::driver_entry(&mut k, Design::Flawed, Layout::Seed, &ContentDir::new())
                .unwrap();
        assert!(attempts.is_empty());
        let outcome = driver.pre_create(&mut k, &connect(r"\x")).unwrap();
        assert!(!outcome.evaluated);
        driver.unload(&mut k).unwrap();
        k.check_pool_released(SENSOR_IMAGE).unwrap();
    }
}
