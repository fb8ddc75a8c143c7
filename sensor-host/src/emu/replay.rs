//! `replay-incident`: one emulated Windows host with the sensor installed receives the
//! reconstructed channel-291 history of 2024 while it handles a stream of named-pipe requests.
//!
//! The script is the same for both designs; only the outcomes differ. The host boots on 5 March
//! and receives the four wildcard-only files of March and April, then the 19 July 04:09 file,
//! then restarts; the 05:27 revert is published; the host goes on; if it is stuck, the 04:09
//! file is deleted by hand (the remediation of the day) and the host boots again; it shuts
//! down. Files are fetched over the cloud connection, which comes up only after
//! [`LINK_AFTER_EVENTS`] pipe requests of each boot, so a host that crashes on its first
//! request never receives the revert. The flawed design bugchecks on the first request after
//! the 04:09 file goes live and on every boot after, until the file is deleted; the fixed design
//! refuses the file with the 21-versus-20 diagnostic and keeps detecting. The report carries
//! the timeline, the fault traces, and checks of what each design predicts.
//!
//! This module owns the script and the checks; it never reaches into the kernel or the driver
//! except through [`Machine`] and [`Running`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use sensor_core::error::LoadError;
use sensor_core::op::Action;

use super::bugcheck::{fault_type, BugCheck, BugCheckCode};
use super::disk::CONTENT_DIR;
use super::driver::{ActiveContent, Crash, DriverStats, EventOutcome, LoadAttempt};
use super::flawed::site;
use super::irp::PipeIrp;
use super::machine::{BootError, Machine, Running};
use super::modules::SENSOR_BASE;
use super::trace::{FaultTrace, TraceError};
use crate::builtin::{compile_builtin, HistoryFile, HISTORY};
use crate::content::ContentBuf;
use crate::event::PipeEvent;
use crate::synth::{Generator, SynthConfig};

pub use super::driver::Design;
pub use super::flawed::Layout;

/// Pipe requests a boot handles before its cloud connection is up and files can arrive.
pub const LINK_AFTER_EVENTS: u64 = 25;
/// Fewest requests per stretch that let a fresh boot's connection come up within a stretch.
pub const MIN_EVENTS: u64 = LINK_AFTER_EVENTS + 1;
/// Fewest boots in the boot loop: one before the revert is published, one after.
pub const MIN_BOOT_LOOP: u32 = 2;
/// Share of requests, per thousand, that come from known attack tools.
pub const MALICIOUS_PER_MILLE: u32 = 40;
/// The tool whose session is replayed in the middle of every stretch: the lateral movement
/// the April rule IPC-0003 is written for.
pub const ATTACK_FAMILY: &str = "PsExec";
/// Most draws from the attack generator when looking for one [`ATTACK_FAMILY`] request.
const ATTACK_DRAWS: usize = 100_000;
/// Index of the 19 July 04:09 file in [`HISTORY`].
const BAD: usize = 4;
/// Index of the 19 July 05:27 revert in [`HISTORY`].
const REVERT: usize = 5;
/// Index of the last good file before 19 July.
const APRIL: usize = 3;
/// What the technician deleted: the 291 file stamped 04:09.
pub const REMEDIATION_PATTERN: &str = "C-00000291*0409*.sys";

/// How to run the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Which sensor is installed.
    pub design: Design,
    /// Memory layout of the flawed model (ignored by the fixed design).
    pub layout: Layout,
    /// Where to write fault traces; none are written when absent.
    pub trace_dir: Option<PathBuf>,
    /// Seed of the pipe-request stream.
    pub seed: u64,
    /// Requests per stretch of time between two steps of the script (at least
    /// [`MIN_EVENTS`]).
    pub events: u64,
    /// Boots the flawed host goes through with the 04:09 file on disk after its first crash,
    /// before the file is deleted by hand (at least [`MIN_BOOT_LOOP`]: one before the revert,
    /// one after).
    pub boot_loop: u32,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            design: Design::Flawed,
            layout: Layout::Seed,
            trace_dir: None,
            seed: 291,
            events: 400,
            boot_loop: 3,
        }
    }
}

/// Why the replay could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The options are too small for the story to unfold.
    #[error("{0}")]
    Options(String),
    /// A boot failed before the driver ran (not part of either design's story).
    #[error("boot failed: {0}")]
    Boot(#[from] BootError),
    /// A fault trace could not be written.
    #[error("cannot write fault trace: {0}")]
    Trace(#[from] TraceError),
}

/// Matches of one stretch of requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests handled.
    pub events: u64,
    /// Requests a rule set evaluated.
    pub evaluated: u64,
    /// Matches per rule id.
    pub matched: BTreeMap<String, u64>,
    /// Requests denied.
    pub blocked: u64,
}

impl Tally {
    fn add(&mut self, outcome: &EventOutcome) {
        self.events += 1;
        self.evaluated += u64::from(outcome.evaluated);
        self.blocked += u64::from(outcome.action == Some(Action::Block));
        for id in &outcome.matched {
            *self.matched.entry(id.clone()).or_default() += 1;
        }
    }

    /// Total matches.
    pub fn matches(&self) -> u64 {
        self.matched.values().sum()
    }
}

/// What happened at one step of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happening {
    /// The machine booted and `DriverEntry` tried the files on disk.
    Boot {
        /// Load attempts, in order.
        attempts: Vec<LoadAttempt>,
        /// The content that became active.
        active: Option<ActiveContent>,
    },
    /// The vendor published a channel file.
    Published {
        /// File name.
        file: String,
    },
    /// A published file reached the host and was offered to the driver.
    Delivered {
        /// Requests handled in this boot before it arrived.
        after_events: u64,
        /// What the validator said.
        attempt: LoadAttempt,
        /// The content active afterwards.
        active: Option<ActiveContent>,
    },
    /// A stretch of requests.
    Events(Tally),
    /// The boot ended in a bugcheck.
    BugCheck {
        /// The stop.
        bugcheck: BugCheck,
        /// Sequence number of the request in the boot.
        sequence: u64,
        /// Requests handled with the crashing content active, the fatal one included.
        with_content: u64,
        /// The active content.
        content: Option<ActiveContent>,
        /// The request's pipe name.
        pipe: String,
        /// The requesting image.
        process: String,
        /// Files published but not yet received.
        pending: Vec<String>,
        /// Where the trace was written.
        trace: Option<PathBuf>,
    },
    /// An orderly restart was requested.
    Restart,
    /// The driver was unloaded at shutdown.
    Shutdown(Result<DriverStats, String>),
    /// Files deleted by hand with the sensor not running.
    Remediation(Vec<String>),
    /// No hand remediation: the host is up.
    NoRemediation,
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Scenario time.
    pub clock: String,
    /// The boot, for what happened on the host.
    pub boot: Option<u32>,
    /// What happened.
    pub happening: Happening,
}

/// One prediction of the design, and whether the run bore it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What the design predicts.
    pub claim: String,
    /// Whether the run went so.
    pub held: bool,
}

/// The outcome of a replay.
#[derive(Clone, Debug)]
pub struct ReplayReport {
    /// The options it ran with.
    pub options: ReplayOptions,
    /// The timeline.
    pub entries: Vec<Entry>,
    /// One trace per bugcheck, in order.
    pub traces: Vec<FaultTrace>,
    /// The design's predictions, checked.
    pub checks: Vec<Check>,
}

impl ReplayReport {
    /// Whether the run went as the design predicts.
    pub fn as_expected(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.held)
    }

    /// The bugchecks, in order.
    pub fn bugchecks(&self) -> impl Iterator<Item = &BugCheck> {
        self.entries.iter().filter_map(|e| match &e.happening {
            Happening::BugCheck { bugcheck, .. } => Some(bugcheck),
            _ => None,
        })
    }
}

fn sys_name(file: &HistoryFile) -> String {
    format!("{}.sys", file.name)
}

enum Host<'c> {
    Off(Machine<'c>),
    On {
        running: Box<Running<'c>>,
        events: u64,
        active_since: u64,
    },
}

struct Scenario<'c> {
    options: &'c ReplayOptions,
    files: &'c [ContentBuf],
    host: Option<Host<'c>>,
    generator: Generator,
    attacks: Generator,
    event: PipeEvent,
    pending: Vec<usize>,
    clock: &'static str,
    entries: Vec<Entry>,
    traces: Vec<FaultTrace>,
}

/// Runs the replay.
pub fn replay(options: &ReplayOptions) -> Result<ReplayReport, ReplayError> {
    check_options(options)?;
    let files: Vec<ContentBuf> = HISTORY
        .iter()
        .map(|f| compile_builtin(f.name, f.source))
        .collect();
    let mut scenario = Scenario {
        options,
        files: &files,
        host: Some(Host::Off(Machine::new(options.design, options.layout))),
        generator: Generator::new(SynthConfig {
            seed: options.seed,
            malicious_per_mille: MALICIOUS_PER_MILLE,
            ..SynthConfig::default()
        }),
        attacks: Generator::new(SynthConfig {
            seed: !options.seed,
            malicious_per_mille: 1000,
            connect_per_mille: 1000,
        }),
        event: PipeEvent::default(),
        pending: Vec::new(),
        clock: HISTORY[0].published,
        entries: Vec::new(),
        traces: Vec::new(),
    };
    scenario.script()?;
    let checks = match options.design {
        Design::Flawed => flawed_checks(options, &scenario.entries, &scenario.traces),
        Design::Fixed => fixed_checks(&scenario.entries),
    };
    Ok(ReplayReport {
        options: options.clone(),
        entries: scenario.entries,
        traces: scenario.traces,
        checks,
    })
}

fn check_options(options: &ReplayOptions) -> Result<(), ReplayError> {
    if options.events < MIN_EVENTS {
        return Err(ReplayError::Options(format!(
            "{} requests per stretch are too few: the host's cloud connection comes up after {LINK_AFTER_EVENTS}, so at least {MIN_EVENTS} are needed",
            options.events
        )));
    }
    if options.boot_loop < MIN_BOOT_LOOP {
        return Err(ReplayError::Options(format!(
            "a boot loop of {} is too short: at least {MIN_BOOT_LOOP} boots show one before the revert and one after",
            options.boot_loop
        )));
    }
    Ok(())
}

impl<'c> Scenario<'c> {
    fn script(&mut self) -> Result<(), ReplayError> {
        let events = self.options.events;
        self.power_on()?;
        for (index, file) in HISTORY.iter().enumerate().take(BAD + 1) {
            self.clock = file.published;
            self.publish(index)?;
            self.stretch(events)?;
        }
        self.restart()?;
        self.stretch(events)?;
        self.clock = HISTORY[REVERT].published;
        self.publish(REVERT)?;
        self.stretch(events)?;
        for _ in MIN_BOOT_LOOP..self.options.boot_loop {
            self.stretch(events)?;
        }
        self.remediate();
        self.stretch(events)?;
        self.shut_down();
        Ok(())
    }

    fn log(&mut self, boot: Option<u32>, happening: Happening) {
        self.entries.push(Entry {
            clock: self.clock.to_owned(),
            boot,
            happening,
        });
    }

    fn power_on(&mut self) -> Result<(), ReplayError> {
        let machine = match self.host.take() {
            Some(Host::Off(machine)) => machine,
            other => {
                self.host = other;
                return Ok(());
            }
        };
        match machine.boot() {
            Ok(running) => {
                let boot = running.boot_number();
                let happening = Happening::Boot {
                    attempts: running.attempts().to_vec(),
                    active: running.driver().active().cloned(),
                };
                self.log(Some(boot), happening);
                self.host = Some(Host::On {
                    running: Box::new(running),
                    events: 0,
                    active_since: 0,
                });
                Ok(())
            }
            Err((machine, error)) => {
                self.host = Some(Host::Off(machine));
                Err(error.into())
            }
        }
    }

    fn publish(&mut self, index: usize) -> Result<(), ReplayError> {
        self.log(
            None,
            Happening::Published {
                file: sys_name(&HISTORY[index]),
            },
        );
        self.pending.push(index);
        self.fetch_if_linked()
    }

    /// Delivers every pending file if the host is up and its cloud connection is.
    fn fetch_if_linked(&mut self) -> Result<(), ReplayError> {
        let Some(Host::On { events, .. }) = &self.host else {
            return Ok(());
        };
        if *events < LINK_AFTER_EVENTS {
            return Ok(());
        }
        for index in std::mem::take(&mut self.pending) {
            self.deliver(index)?;
        }
        Ok(())
    }

    fn deliver(&mut self, index: usize) -> Result<(), ReplayError> {
        let files = self.files;
        let Some(Host::On {
            running,
            events,
            active_since,
        }) = &mut self.host
        else {
            return Ok(());
        };
        let name = sys_name(&HISTORY[index]);
        let boot = running.boot_number();
        match running.deliver(&name, files[index].as_bytes()) {
            Ok(attempt) => {
                if attempt.accepted() {
                    *active_since = *events;
                }
                let happening = Happening::Delivered {
                    after_events: *events,
                    attempt,
                    active: running.driver().active().cloned(),
                };
                self.log(Some(boot), happening);
                Ok(())
            }
            Err(crash) => self.crashed(crash),
        }
    }

    /// A stretch of time with `count` pipe requests; a host that is down boots first.
    fn stretch(&mut self, count: u64) -> Result<(), ReplayError> {
        self.power_on()?;
        let mut tally = Tally::default();
        for n in 0..count {
            if !self.pending.is_empty() && self.linked() {
                self.flush(&mut tally);
                self.fetch_if_linked()?;
            }
            if n == count / 2 {
                self.attack();
            } else {
                self.generator.fill(&mut self.event);
            }
            let irp = PipeIrp::issue(&self.event);
            let Some(Host::On {
                running, events, ..
            }) = &mut self.host
            else {
                break;
            };
            let result = running.event(&irp);
            *events += 1;
            match result {
                Ok(outcome) => tally.add(&outcome),
                Err(crash) => {
                    self.flush(&mut tally);
                    return self.crashed(crash);
                }
            }
        }
        self.flush(&mut tally);
        Ok(())
    }

    /// The next request of an [`ATTACK_FAMILY`] session, from a generator of attack traffic.
    fn attack(&mut self) {
        for _ in 0..ATTACK_DRAWS {
            self.attacks.fill(&mut self.event);
            if self.attacks.last_family() == Some(ATTACK_FAMILY) {
                return;
            }
        }
    }

    fn linked(&self) -> bool {
        matches!(&self.host, Some(Host::On { events, .. }) if *events >= LINK_AFTER_EVENTS)
    }

    fn flush(&mut self, tally: &mut Tally) {
        if tally.events == 0 {
            return;
        }
        let boot = self.boot_number();
        self.log(boot, Happening::Events(std::mem::take(tally)));
    }

    fn boot_number(&self) -> Option<u32> {
        match &self.host {
            Some(Host::On { running, .. }) => Some(running.boot_number()),
            _ => None,
        }
    }

    /// Records a bugcheck and its trace; the machine is left powered off.
    fn crashed(&mut self, crash: Box<Crash>) -> Result<(), ReplayError> {
        let Some(Host::On {
            running,
            active_since,
            ..
        }) = self.host.take()
        else {
            return Ok(());
        };
        let trace = FaultTrace::new(&crash, running.kernel(), self.clock);
        let path = match &self.options.trace_dir {
            Some(dir) => Some(trace.write(dir)?),
            None => None,
        };
        let boot = running.boot_number();
        self.host = Some(Host::Off(running.power_off()));
        let (sequence, irp) = crash.event.clone().unzip();
        let sequence = sequence.unwrap_or(0);
        let requestor = irp.as_ref().map(|i| i.common().requestor.image.clone());
        let happening = Happening::BugCheck {
            bugcheck: crash.stop.bugcheck,
            sequence,
            with_content: sequence.saturating_sub(active_since),
            content: crash.content.clone(),
            pipe: irp
                .map(|i| i.common().file_name.clone())
                .unwrap_or_default(),
            process: requestor.unwrap_or_default(),
            pending: self
                .pending
                .iter()
                .map(|&i| sys_name(&HISTORY[i]))
                .collect(),
            trace: path,
        };
        self.log(Some(boot), happening);
        self.traces.push(trace);
        Ok(())
    }

    /// An orderly restart of a running host; a host that is down will boot at the next stretch.
    fn restart(&mut self) -> Result<(), ReplayError> {
        if let Some(Host::On { .. }) = &self.host {
            self.log(self.boot_number(), Happening::Restart);
            self.shut_down();
        }
        Ok(())
    }

    fn shut_down(&mut self) {
        let Some(Host::On { running, .. }) = self.host.take() else {
            return;
        };
        let boot = running.boot_number();
        let (machine, result) = running.shutdown();
        self.host = Some(Host::Off(machine));
        self.log(
            Some(boot),
            Happening::Shutdown(result.map_err(|e| e.to_string())),
        );
    }

    /// The remediation of the day: with the host stuck, boot into Safe Mode (the sensor does
    /// not load) and delete the 04:09 file.
    fn remediate(&mut self) {
        let happening = match &mut self.host {
            Some(Host::Off(machine)) => {
                Happening::Remediation(machine.dir_mut().delete_matching(REMEDIATION_PATTERN))
            }
            _ => Happening::NoRemediation,
        };
        self.log(None, happening);
    }
}

fn check(claim: impl Into<String>, held: bool) -> Check {
    Check {
        claim: claim.into(),
        held,
    }
}

fn delivered<'e>(entries: &'e [Entry], file: &str) -> Option<&'e LoadAttempt> {
    entries.iter().find_map(|e| match &e.happening {
        Happening::Delivered { attempt, .. } if attempt.file == file => Some(attempt),
        _ => None,
    })
}

/// The entries of each boot, in order.
fn boots(entries: &[Entry]) -> Vec<Vec<&Entry>> {
    let mut out: Vec<Vec<&Entry>> = Vec::new();
    for entry in entries {
        match (&entry.happening, entry.boot) {
            (Happening::Boot { .. }, _) => out.push(vec![entry]),
            (_, Some(_)) => {
                if let Some(last) = out.last_mut() {
                    last.push(entry);
                }
            }
            _ => {}
        }
    }
    out
}

fn loaded_at_boot<'e>(boot: &[&'e Entry]) -> Option<&'e ActiveContent> {
    boot.first().and_then(|e| match &e.happening {
        Happening::Boot { active, .. } => active.as_ref(),
        _ => None,
    })
}

fn crash_of<'e>(boot: &[&'e Entry]) -> Option<(&'e BugCheck, u64)> {
    boot.iter().find_map(|e| match &e.happening {
        Happening::BugCheck {
            bugcheck,
            with_content,
            ..
        } => Some((bugcheck, *with_content)),
        _ => None,
    })
}

fn matches_in<'e>(entries: impl IntoIterator<Item = &'e Entry>) -> u64 {
    entries
        .into_iter()
        .map(|e| match &e.happening {
            Happening::Events(t) => t.matches(),
            _ => 0,
        })
        .sum()
}

fn clean_shutdown(boot: &[&Entry]) -> bool {
    boot.iter()
        .any(|e| matches!(e.happening, Happening::Shutdown(Ok(_))))
}

fn flawed_checks(options: &ReplayOptions, entries: &[Entry], traces: &[FaultTrace]) -> Vec<Check> {
    let bad = sys_name(&HISTORY[BAD]);
    let revert = sys_name(&HISTORY[REVERT]);
    let april = sys_name(&HISTORY[APRIL]);
    let boots = boots(entries);
    let expected = [
        options.layout.read_address(),
        0,
        SENSOR_BASE + site::READ_INPUT_VALUE,
        fault_type::NOT_PRESENT,
    ];
    let stops: Vec<&BugCheck> = entries
        .iter()
        .filter_map(|e| match &e.happening {
            Happening::BugCheck { bugcheck, .. } => Some(bugcheck),
            _ => None,
        })
        .collect();
    let looping: Vec<_> = boots
        .iter()
        .filter(|b| loaded_at_boot(b).is_some_and(|c| c.file == bad))
        .collect();
    let last = boots.last().map(Vec::as_slice).unwrap_or_default();
    let first_boot = boots.first().map(Vec::as_slice).unwrap_or_default();
    let before_bad = first_boot.iter().take_while(
        |e| !matches!(&e.happening, Happening::Delivered { attempt, .. } if attempt.file == bad),
    );
    vec![
        check(
            format!("the flawed validator passes {bad} (it checks the 21 declared fields, not the 20 supplied)"),
            delivered(entries, &bad).is_some_and(LoadAttempt::accepted),
        ),
        check(
            "the first request evaluated with the 04:09 content bugchecks",
            crash_of(first_boot).is_some_and(|(_, n)| n == 1),
        ),
        check(
            format!(
                "every stop is 0x50 with ({:#x}, 0 = read, {}+{:#x}, 2 = not present)",
                expected[0],
                super::modules::SENSOR_IMAGE,
                site::READ_INPUT_VALUE
            ),
            !stops.is_empty()
                && stops.iter().all(|b| {
                    b.code == BugCheckCode::PageFaultInNonpagedArea && b.args == expected
                }),
        ),
        check(
            format!(
                "with {bad} on disk, each of {} reboots crashes on its first request (boot loop)",
                options.boot_loop
            ),
            looping.len() == options.boot_loop as usize
                && looping.iter().all(|b| crash_of(b).is_some_and(|(_, n)| n == 1)),
        ),
        check(
            format!("the {revert} revert never reaches a looping host"),
            looping.iter().all(|b| {
                !b.iter().any(|e| matches!(&e.happening, Happening::Delivered { attempt, .. } if attempt.file == revert))
            }) && entries.iter().any(|e| matches!(&e.happening, Happening::BugCheck { pending, .. } if pending.contains(&revert))),
        ),
        check(
            format!("after {bad} is deleted by hand, the host boots on {april}, receives the revert and runs"),
            entries.iter().any(|e| matches!(&e.happening, Happening::Remediation(d) if d.len() == 1 && d[0] == bad))
                && loaded_at_boot(last).is_some_and(|c| c.file == april)
                && last.iter().any(|e| matches!(&e.happening, Happening::Delivered { attempt, .. } if attempt.file == revert && attempt.accepted()))
                && crash_of(last).is_none(),
        ),
        check(
            "the earlier rules detect before 19 July and after recovery",
            matches_in(before_bad.copied()) > 0 && matches_in(last.iter().copied()) > 0,
        ),
        check(
            "one fault trace per bugcheck, with the same stop",
            !stops.is_empty()
                && traces.len() == stops.len()
                && traces.iter().zip(&stops).all(|(t, b)| {
                    t.bugcheck.args.map(|a| a.0) == b.args
                        && t.interpreter.as_ref().is_some_and(|i| i.field == 20 && i.input_count == 20)
                }),
        ),
        check("the recovered driver unloads with no pool outstanding", clean_shutdown(last)),
    ]
}

fn fixed_checks(entries: &[Entry]) -> Vec<Check> {
    let bad = sys_name(&HISTORY[BAD]);
    let revert = sys_name(&HISTORY[REVERT]);
    let april = sys_name(&HISTORY[APRIL]);
    let boots = boots(entries);
    let refusal = delivered(entries, &bad).and_then(|a| a.refusal.as_ref());
    let after_refusal: Vec<&Entry> = entries
        .iter()
        .skip_while(|e| !matches!(&e.happening, Happening::Delivered { attempt, .. } if attempt.file == bad))
        .take_while(|e| !matches!(&e.happening, Happening::Delivered { attempt, .. } if attempt.file == revert))
        .collect();
    let kept = entries.iter().any(|e| {
        matches!(&e.happening, Happening::Delivered { attempt, active: Some(active), .. }
            if attempt.file == bad && active.file == april)
    });
    let restart = boots.get(1).and_then(|b| b.first()).map(|e| &e.happening);
    vec![
        check(
            format!("{bad} is refused: rule IPC-0006 reads field 20, 21 declared, 20 supplied"),
            refusal.is_some_and(|r| {
                matches!(
                    r.error,
                    LoadError::FieldNotSupplied {
                        field: 20,
                        declared: 21,
                        supplied: 20,
                        ..
                    }
                ) && r.text.contains("IPC-0006")
            }),
        ),
        check(format!("{april} stays active after the refusal"), kept),
        check(
            "the earlier rules keep detecting after the refusal",
            matches_in(after_refusal.iter().copied()) > 0,
        ),
        check(
            "no bugcheck in any boot",
            !entries
                .iter()
                .any(|e| matches!(e.happening, Happening::BugCheck { .. })),
        ),
        check(
            format!("at the restart, {bad} on disk is refused and {april} loads"),
            matches!(restart, Some(Happening::Boot { attempts, active: Some(active) })
                if attempts.first().is_some_and(|a| a.file == bad && !a.accepted())
                    && active.file == april),
        ),
        check(
            format!("the {revert} revert is accepted"),
            delivered(entries, &revert).is_some_and(LoadAttempt::accepted),
        ),
        check(
            "every shutdown unloads the driver with no pool outstanding",
            boots.len() == 2 && boots.iter().all(|b| clean_shutdown(b)),
        ),
    ]
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "replay-incident: design {}, layout {}, seed {}, {} requests per stretch, content in {CONTENT_DIR}",
            o.design.name(),
            o.layout.name(),
            o.seed,
            o.events
        )?;
        for entry in &self.entries {
            write_entry(f, entry)?;
        }
        writeln!(f, "checks ({} design):", o.design.name())?;
        for c in &self.checks {
            writeln!(
                f,
                "  {}  {}",
                if c.held { "ok    " } else { "FAILED" },
                c.claim
            )?;
        }
        let verdict = if self.as_expected() {
            "as the design predicts"
        } else {
            "NOT as the design predicts"
        };
        writeln!(f, "result: {verdict}")
    }
}

fn write_entry(f: &mut fmt::Formatter<'_>, entry: &Entry) -> fmt::Result {
    let who = match (entry.boot, &entry.happening) {
        (_, Happening::Published { .. }) => "vendor".to_owned(),
        (_, Happening::Remediation(_) | Happening::NoRemediation) => "by hand".to_owned(),
        (Some(boot), _) => format!("boot {boot}"),
        (None, _) => String::new(),
    };
    write!(f, "{:<17} {who:<8} ", entry.clock)?;
    match &entry.happening {
        Happening::Boot { attempts, active } => write_boot(f, attempts, active.as_ref()),
        Happening::Published { file } => writeln!(f, "publishes {file}"),
        Happening::Delivered {
            after_events,
            attempt,
            active,
        } => write_delivery(f, *after_events, attempt, active.as_ref()),
        Happening::Events(t) => write_tally(f, t),
        Happening::BugCheck { .. } => write_stop(f, &entry.happening),
        Happening::Restart => writeln!(f, "restart (orderly: shows which file loads at boot)"),
        Happening::Shutdown(Ok(stats)) => writeln!(
            f,
            "shutdown: driver unloaded after {} requests, no pool outstanding",
            stats.events
        ),
        Happening::Shutdown(Err(why)) => writeln!(f, "shutdown FAILED: {why}"),
        Happening::Remediation(deleted) => writeln!(
            f,
            "Safe Mode: deleted {} from {CONTENT_DIR}",
            if deleted.is_empty() {
                "nothing".to_owned()
            } else {
                deleted.join(", ")
            }
        ),
        Happening::NoRemediation => writeln!(f, "no remediation needed: the host is up"),
    }
}

fn write_boot(
    f: &mut fmt::Formatter<'_>,
    attempts: &[LoadAttempt],
    active: Option<&ActiveContent>,
) -> fmt::Result {
    for a in attempts.iter().filter(|a| !a.accepted()) {
        let why = a.refusal.as_ref().map_or("", |r| r.text.as_str());
        write!(f, "DriverEntry: refused {}: {why}\n{:27}", a.file, "")?;
    }
    match active {
        Some(c) => writeln!(f, "DriverEntry: loaded {} (version {})", c.file, c.version),
        None => writeln!(
            f,
            "DriverEntry: no channel 291 content; requests pass unevaluated"
        ),
    }
}

fn write_delivery(
    f: &mut fmt::Formatter<'_>,
    after_events: u64,
    attempt: &LoadAttempt,
    active: Option<&ActiveContent>,
) -> fmt::Result {
    write!(
        f,
        "received {} after {after_events} requests: ",
        attempt.file
    )?;
    match &attempt.refusal {
        None => writeln!(
            f,
            "accepted, version {} active",
            attempt.version.unwrap_or(0)
        ),
        Some(r) => writeln!(
            f,
            "REFUSED, {} kept\n{:27}{}",
            active.map_or("nothing".to_owned(), |c| format!("version {}", c.version)),
            "",
            r.text
        ),
    }
}

fn write_tally(f: &mut fmt::Formatter<'_>, t: &Tally) -> fmt::Result {
    let rules: Vec<String> = t
        .matched
        .iter()
        .map(|(id, n)| format!("{id} x{n}"))
        .collect();
    writeln!(
        f,
        "{} requests, {} evaluated, {} matched{}, {} blocked",
        t.events,
        t.evaluated,
        t.matches(),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", rules.join(", "))
        },
        t.blocked
    )
}

fn write_stop(f: &mut fmt::Formatter<'_>, happening: &Happening) -> fmt::Result {
    let Happening::BugCheck {
        bugcheck,
        sequence,
        with_content,
        content,
        pipe,
        process,
        pending,
        trace,
    } = happening
    else {
        return Ok(());
    };
    writeln!(f, "STOP {bugcheck}")?;
    let file = content.as_ref().map_or("no content", |c| c.file.as_str());
    writeln!(
        f,
        "{:27}on request {sequence} ({with_content} with {file} active): {pipe} by {process}",
        ""
    )?;
    if !pending.is_empty() {
        writeln!(
            f,
            "{:27}not yet received (cloud connection comes up after {LINK_AFTER_EVENTS} requests): {}",
            "",
            pending.join(", ")
        )?;
    }
    if let Some(path) = trace {
        writeln!(f, "{:27}fault trace: {}", "", path.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::disk::matches_pattern;

    fn quick(design: Design, layout: Layout) -> ReplayReport {
        replay(&ReplayOptions {
            design,
            layout,
            events: 120,
            ..ReplayOptions::default()
        })
        .unwrap()
    }

    fn failed(checks: &[Check]) -> usize {
        checks.iter().filter(|c| !c.held).count()
    }

    #[test]
    fn each_designs_checks_fail_on_the_other_designs_run() {
        let flawed = quick(Design::Flawed, Layout::Seed);
        let fixed = quick(Design::Fixed, Layout::Seed);
        assert!(flawed.as_expected() && fixed.as_expected());
        let as_flawed = flawed_checks(&flawed.options, &fixed.entries, &fixed.traces);
        assert!(failed(&as_flawed) >= 7, "{as_flawed:#?}");
        let as_fixed = fixed_checks(&flawed.entries);
        assert!(failed(&as_fixed) >= 5, "{as_fixed:#?}");
    }

    #[test]
    fn the_stop_check_holds_the_layouts_read_address() {
        let seed = quick(Design::Flawed, Layout::Seed);
        let claiming_dump = ReplayOptions {
            layout: Layout::Dump,
            ..seed.options.clone()
        };
        let checks = flawed_checks(&claiming_dump, &seed.entries, &seed.traces);
        assert_eq!(failed(&checks), 1);
        assert!(!checks[2].held && checks[2].claim.contains("0xffff840500000074"));
    }

    #[test]
    fn options_too_small_for_the_story_are_refused() {
        for options in [
            ReplayOptions {
                events: MIN_EVENTS - 1,
                ..ReplayOptions::default()
            },
            ReplayOptions {
                boot_loop: MIN_BOOT_LOOP - 1,
                ..ReplayOptions::default()
            },
        ] {
            assert!(matches!(replay(&options), Err(ReplayError::Options(_))));
        }
        let smallest = ReplayOptions {
            events: MIN_EVENTS,
            boot_loop: MIN_BOOT_LOOP,
            ..ReplayOptions::default()
        };
        for design in [Design::Flawed, Design::Fixed] {
            let report = replay(&ReplayOptions {
                design,
                ..smallest.clone()
            })
            .unwrap();
            assert!(report.as_expected(), "{report}");
        }
    }

    #[test]
    fn remediation_pattern_picks_the_0409_file_only() {
        let names: Vec<String> = HISTORY.iter().map(sys_name).collect();
        let hits: Vec<&String> = names
            .iter()
            .filter(|n| matches_pattern(REMEDIATION_PATTERN, n))
            .collect();
        assert_eq!(hits, vec![&sys_name(&HISTORY[BAD])]);
    }
}
