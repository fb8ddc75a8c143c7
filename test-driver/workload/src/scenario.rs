//! The `fixed` scenario: a sensor 7.11 (20 IPC fields) runs the March/April content through
//! the C ABI, evaluates a stream of pipe events, is offered the 19 July 04:09 file, refuses it
//! with the 21-versus-20 reason, keeps evaluating on the April content, then takes the 05:27
//! revert. Every verdict is checked against the templates' expectations; the stack used by each
//! call is measured by painting; evaluation is timed.

use core::ffi::c_void;
use core::fmt::{self, Write};

use sensor_core::{schema, MatchBuffer, RuleSet};
use sensor_ffi::error::kind;
use sensor_ffi::{status, NtStatus, SensorLoadError, SensorReleased, SENSOR_STATUS_SUCCESS};

use crate::content::{Fixture, APRIL_08, APRIL_16, APRIL_24, JULY_19_0409, JULY_19_0527, MARCH_05};
use crate::event::{Event, Stream};
use crate::slot::Slot;
use crate::stack::{self, StackUse};

/// Fields sensor 7.11 supplies.
pub const SUPPLIED: usize = 20;
/// Events checked against expectations between updates.
pub const CHECKED_EVENTS: usize = 2_000;
/// Events in the timed run.
pub const TIMED_EVENTS: usize = 10_000;
/// Timed rounds; the fastest is reported.
pub const ROUNDS: usize = 5;
/// Distinct events the timed run cycles through.
pub const BATCH: usize = 64;
/// Stack painted below each measured call.
pub const PAINT: usize = 128 * 1024;
/// The most stack one `sensor_slot_evaluate` may use: a third of a Windows x64 kernel stack.
pub const EVALUATE_STACK_BUDGET: usize = 8 * 1024;
/// KERNEL_STACK_SIZE on x64 Windows.
pub const WINDOWS_KERNEL_STACK: usize = 24 * 1024;
/// The most stack one `sensor_slot_update` or `sensor_slot_roll_back` may use: half a Windows
/// x64 kernel stack, so that it also fits the 12 KiB some x64 kernel paths have.
pub const UPDATE_STACK_BUDGET: usize = WINDOWS_KERNEL_STACK / 2;

/// What the scenario needs from the machine it runs on.
pub trait Platform: Write {
    /// A monotonic tick counter.
    fn ticks(&mut self) -> u64;
    /// Ticks per second of [`Platform::ticks`].
    fn ticks_per_second(&self) -> u64;
    /// Whether stack painting is valid here (see [`stack::measure`]).
    fn can_paint(&self) -> bool;
}

/// Why the scenario failed.
#[derive(Debug)]
pub struct Failure(pub &'static str);

impl From<fmt::Error> for Failure {
    fn from(_: fmt::Error) -> Self {
        Failure("output failed")
    }
}

/// Measured results.
#[derive(Clone, Copy, Debug, Default)]
pub struct Measured {
    /// Stack of `sensor_slot_init`.
    pub init: Option<StackUse>,
    /// Largest stack of an accepted `sensor_slot_update`.
    pub update: Option<StackUse>,
    /// Stack of the refused `sensor_slot_update` (the 19 July file).
    pub update_refused: Option<StackUse>,
    /// Largest stack of one `sensor_slot_evaluate` over the checked events.
    pub evaluate: Option<StackUse>,
    /// Stack of `sensor_slot_roll_back`.
    pub roll_back: Option<StackUse>,
    /// Stack of `sensor_slot_destroy`.
    pub destroy: Option<StackUse>,
    /// Stack of the core's `RuleSet::load_into` alone (accepted April content).
    pub core_load: Option<StackUse>,
    /// Largest stack of the core's `RuleSet::evaluate` alone.
    pub core_evaluate: Option<StackUse>,
    /// Timed events.
    pub events: u64,
    /// Ticks they took.
    pub ticks: u64,
    /// Ticks per second.
    pub ticks_per_second: u64,
}

impl Measured {
    /// Nanoseconds per event, times 100.
    pub fn centi_ns_per_event(&self) -> u64 {
        let num = u128::from(self.ticks) * 100_000_000_000;
        let den = u128::from(self.ticks_per_second) * u128::from(self.events.max(1));
        (num / den.max(1)) as u64
    }
}

fn deeper(a: Option<StackUse>, b: StackUse) -> Option<StackUse> {
    match a {
        Some(a) if a.bytes >= b.bytes => Some(a),
        _ => Some(b),
    }
}

fn paint<P: Platform, R>(p: &P, f: impl FnOnce() -> R) -> (R, Option<StackUse>) {
    if p.can_paint() {
        // SAFETY: the platform says painting is valid here; PAINT bytes of stack are free
        // below the scenario's frame (the kernel stack is 512 KiB, host threads 8 MiB).
        let (r, used) = unsafe { stack::measure(PAINT, f) };
        (r, Some(used))
    } else {
        (f(), None)
    }
}

fn check(ok: bool, what: &'static str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure(what))
    }
}

fn released<P: Platform>(p: &mut P, r: &SensorReleased) -> Result<(), Failure> {
    write!(p, "released {}", r.count)?;
    for b in &r.buffers[..r.count as usize] {
        let name = [&MARCH_05, &APRIL_08, &APRIL_16, &APRIL_24, &JULY_19_0527]
            .iter()
            .find(|f| f.bytes().as_ptr().cast::<c_void>() == *b)
            .map_or("?", |f| f.stem);
        write!(p, " {name}")?;
        check(
            name != "?",
            "a released buffer is not one the slot was given",
        )?;
    }
    Ok(())
}

fn accept<P: Platform>(
    p: &mut P,
    slot: &Slot,
    f: &'static Fixture,
    m: &mut Measured,
) -> Result<(), Failure> {
    let ((status, result), used) = paint(p, || slot.update(f.bytes()));
    write!(p, "update {}: ", f.stem)?;
    check(
        status == SENSOR_STATUS_SUCCESS,
        "an update the sensor must accept was refused",
    )?;
    write!(p, "accepted version {} ", result.version)?;
    released(p, &result.released)?;
    writeln!(p)?;
    if let Some(used) = used {
        m.update = deeper(m.update, used);
    }
    check(
        slot.active_version() == Some(result.version),
        "accepted content is not active",
    )
}

fn describe_refusal<P: Platform>(p: &mut P, status: NtStatus, e: &SensorLoadError) -> fmt::Result {
    write!(
        p,
        "refused status {:#010x} kind {} channel {} rule {} predicate {} field {} declared {} supplied {} build {}",
        status.cast_unsigned(),
        e.kind,
        e.channel,
        e.rule,
        e.predicate,
        e.field,
        e.declared,
        e.supplied,
        core::str::from_utf8(e.build_name()).unwrap_or("?")
    )
}

/// Evaluates `count` events from `stream`, checking each verdict against its template and the
/// rule ids of the active content `active`.
fn checked_run<P: Platform>(
    p: &mut P,
    slot: &Slot,
    stream: &mut Stream,
    active: &Fixture,
    count: usize,
    m: &mut Measured,
) -> Result<u64, Failure> {
    let ids = active.rule_ids();
    let mut event = Event::default();
    let mut matched = 0u64;
    for _ in 0..count {
        stream.fill(&mut event);
        let values = event.values();
        let (eval, used) = paint(p, || slot.evaluate(&values[..SUPPLIED]));
        if let Some(used) = used {
            m.evaluate = deeper(m.evaluate, used);
        }
        check(eval.status == SENSOR_STATUS_SUCCESS, "evaluation failed")?;
        check(
            eval.verdict.missing_inputs == 0,
            "a rule read a field the event lacks",
        )?;
        let version = eval.verdict.content_version;
        // Expected: the template's matches that the active content holds, in rule order.
        let mut expected = [""; 8];
        let mut n = 0;
        for id in ids.as_slice() {
            if event.template().matches_20.contains(id) {
                expected[n] = id;
                n += 1;
            }
        }
        check(eval.matches().len() == n, "wrong number of matches")?;
        for (got, want) in eval.matches().iter().zip(&expected[..n]) {
            let mut buf = [0u8; 32];
            let id = slot.rule_id(version, got.rule, &mut buf);
            if id != Some(*want) {
                writeln!(
                    p,
                    "template {} matched rule {} ({:?}), expected {}",
                    event.template().name,
                    got.rule,
                    id,
                    want
                )?;
                return Err(Failure("a verdict differs from the expectation"));
            }
        }
        matched += u64::from(eval.verdict.matched);
    }
    writeln!(
        p,
        "events: {count} evaluated against {}, {matched} matches, all as expected",
        slot.active_version().unwrap_or(0)
    )?;
    Ok(matched)
}

/// Times `events` evaluations over a batch of prebuilt events.
pub fn timed<P: Platform>(
    p: &mut P,
    slot: &Slot,
    events: usize,
    m: &mut Measured,
) -> Result<(), Failure> {
    let mut batch = [Event::default(); BATCH];
    let mut stream = Stream::new(0x7_2024);
    for e in batch.iter_mut() {
        stream.fill(e);
    }
    let mut values = [[sensor_ffi::SensorValue {
        kind: 0,
        reserved: 0,
        integer: 0,
        string: sensor_ffi::SensorUnicodeString {
            Length: 0,
            MaximumLength: 0,
            Buffer: core::ptr::null(),
        },
    }; 21]; BATCH];
    for (v, e) in values.iter_mut().zip(&batch) {
        *v = e.values();
    }
    // Best of ROUNDS: the machine may be shared; the fastest round is the least disturbed.
    let mut matched = 0u64;
    let mut best = u64::MAX;
    let mut rounds = [0u64; ROUNDS];
    for round in rounds.iter_mut() {
        let start = p.ticks();
        for i in 0..events {
            let eval = slot.evaluate(&values[i % BATCH][..SUPPLIED]);
            matched += u64::from(eval.verdict.matched);
        }
        *round = p.ticks().saturating_sub(start);
        best = best.min(*round);
    }
    m.events = events as u64;
    m.ticks = best;
    m.ticks_per_second = p.ticks_per_second();
    check(matched > 0, "the timed run matched nothing")?;
    let c = m.centi_ns_per_event();
    rounds.sort_unstable();
    let median = Measured {
        ticks: rounds[ROUNDS / 2],
        ..*m
    }
    .centi_ns_per_event();
    writeln!(
        p,
        "timing: {} events in {} ticks at {} ticks/s (best of {ROUNDS} rounds): {}.{:02} ns/event; median round {}.{:02} ns/event ({} matches)",
        m.events,
        m.ticks,
        m.ticks_per_second,
        c / 100,
        c % 100,
        median / 100,
        median % 100,
        matched
    )?;
    Ok(())
}

/// The core alone, without the C ABI: `RuleSet::load_into` (into a rule set in this frame, as a
/// driver would load into memory of its own) and `RuleSet::evaluate` over the batch.
fn core_alone<P: Platform>(p: &mut P, m: &mut Measured) -> Result<(), Failure> {
    let mut rules = RuleSet::empty();
    let (loaded, used) = paint(p, || {
        rules.load_into(APRIL_24.bytes(), &schema::SENSOR_7_11)
    });
    m.core_load = used;
    loaded.map_err(|_| Failure("the core refused the April content"))?;
    let mut stream = Stream::new(0x7_2024);
    let mut event = Event::default();
    for _ in 0..BATCH {
        stream.fill(&mut event);
        let values = event.core_values();
        let mut sink = MatchBuffer::<8>::default();
        let (_, used) = paint(p, || rules.evaluate(&values[..SUPPLIED], &mut sink));
        if let Some(used) = used {
            m.core_evaluate = deeper(m.core_evaluate, used);
        }
    }
    Ok(())
}

fn report_stack<P: Platform>(p: &mut P, name: &str, used: Option<StackUse>) -> fmt::Result {
    match used {
        Some(u) => writeln!(
            p,
            "stack: {name} {}{} bytes",
            if u.saturated { ">=" } else { "" },
            u.bytes
        ),
        None => writeln!(p, "stack: {name} not measured"),
    }
}

/// Runs the scenario with the slot in `memory` (`size` bytes).
///
/// # Safety
///
/// `memory` must be writable for `size` bytes, suitably aligned, and unused by anything else
/// for the duration of the call.
pub unsafe fn fixed<P: Platform>(
    p: &mut P,
    memory: *mut c_void,
    size: usize,
) -> Result<Measured, Failure> {
    let mut m = Measured::default();
    writeln!(
        p,
        "scenario fixed: sensor 7.11 supplies {SUPPLIED} of the 21 IPC input fields"
    )?;
    writeln!(
        p,
        "slot: {} bytes, align {}",
        sensor_ffi::sensor_slot_size(),
        sensor_ffi::sensor_slot_align()
    )?;
    // SAFETY: the caller's contract.
    let (slot, used) = paint(p, || unsafe { Slot::init(memory, size, c"7.11") });
    m.init = used;
    let slot = slot.map_err(|_| Failure("sensor_slot_init failed"))?;
    let mut stream = Stream::new(0x291);

    // No content yet: events are counted, not evaluated.
    let e = slot.evaluate(&Event::default().values()[..SUPPLIED]);
    check(
        e.status == sensor_ffi::SENSOR_STATUS_NO_CONTENT,
        "evaluation without content",
    )?;

    // March and April: each instance ships as a new version of the file.
    for f in [&MARCH_05, &APRIL_08, &APRIL_16, &APRIL_24] {
        accept(p, &slot, f, &mut m)?;
        checked_run(p, &slot, &mut stream, f, CHECKED_EVENTS / 4, &mut m)?;
    }
    checked_run(p, &slot, &mut stream, &APRIL_24, CHECKED_EVENTS, &mut m)?;

    // 19 July 2024, 04:09 UTC.
    let ((status, result), used) = paint(p, || slot.update(JULY_19_0409.bytes()));
    m.update_refused = used;
    write!(p, "update {}: ", JULY_19_0409.stem)?;
    describe_refusal(p, status, &result.error)?;
    writeln!(p)?;
    let e = result.error;
    check(
        status == status::content_refused(kind::FIELD_NOT_SUPPLIED),
        "the 19 July file was not refused for field 21",
    )?;
    check(
        (e.channel, e.field, e.declared, e.supplied) == (291, 20, 21, 20)
            && e.build_name() == b"7.11",
        "the refusal does not name field 20, 21 declared, 20 supplied, build 7.11",
    )?;
    let july_ids = JULY_19_0409.rule_ids();
    let rule = july_ids
        .as_slice()
        .get(e.rule as usize)
        .copied()
        .unwrap_or("?");
    writeln!(
        p,
        "refusal: rule {} ({rule}) reads input field {} (the 21st); the template declares {}, sensor {} supplies {}",
        e.rule,
        e.field,
        e.declared,
        core::str::from_utf8(e.build_name()).unwrap_or("?"),
        e.supplied
    )?;
    check(rule == "IPC-0006", "the refusal names the wrong rule")?;
    check(
        result.released.count == 0,
        "a refused update released a buffer",
    )?;
    writeln!(
        p,
        "active after refusal: {}",
        slot.active_version().unwrap_or(0)
    )?;
    check(
        slot.active_version() == Some(2024042400),
        "the April content is no longer active",
    )?;

    // The sensor keeps running on the April content.
    checked_run(p, &slot, &mut stream, &APRIL_24, CHECKED_EVENTS, &mut m)?;

    // 05:27 UTC: the revert, then a rollback to April and forward again.
    accept(p, &slot, &JULY_19_0527, &mut m)?;
    checked_run(
        p,
        &slot,
        &mut stream,
        &JULY_19_0527,
        CHECKED_EVENTS / 4,
        &mut m,
    )?;
    let ((status, version, rel), used) = paint(p, || slot.roll_back());
    m.roll_back = used;
    write!(p, "roll back: version {version} ")?;
    released(p, &rel)?;
    writeln!(p)?;
    check(
        status == SENSOR_STATUS_SUCCESS && version == 2024042400,
        "rollback to April failed",
    )?;
    check(
        rel.count == 1 && rel.buffers[0] == JULY_19_0527.bytes().as_ptr().cast(),
        "the rollback must release the 05:27 content it replaced",
    )?;
    checked_run(p, &slot, &mut stream, &APRIL_24, CHECKED_EVENTS / 4, &mut m)?;

    timed(p, &slot, TIMED_EVENTS, &mut m)?;
    core_alone(p, &mut m)?;

    let s = slot.stats();
    writeln!(
        p,
        "stats: events {} without-content {} matches {} missing-inputs {} updates accepted {} rejected {}",
        s.events, s.events_without_content, s.matches, s.missing_inputs, s.updates_accepted, s.updates_rejected
    )?;
    check(
        s.updates_rejected == 1 && s.updates_accepted == 5,
        "update counters",
    )?;
    check(
        s.missing_inputs == 0 && s.events_without_content == 1,
        "event counters",
    )?;
    let ((status, rel), used) = paint(p, || slot.destroy());
    m.destroy = used;
    write!(p, "destroy: ")?;
    released(p, &rel)?;
    writeln!(p)?;
    check(
        status == SENSOR_STATUS_SUCCESS
            && rel.count == 1
            && rel.buffers[0] == APRIL_24.bytes().as_ptr().cast(),
        "destroy must release the one buffer still held, April's",
    )?;
    for (name, used) in [
        ("sensor_slot_init", m.init),
        ("sensor_slot_update(accepted,max)", m.update),
        ("sensor_slot_update(refused)", m.update_refused),
        ("sensor_slot_evaluate(max)", m.evaluate),
        ("sensor_slot_roll_back", m.roll_back),
        ("sensor_slot_destroy", m.destroy),
        ("core RuleSet::load_into", m.core_load),
        ("core RuleSet::evaluate(max)", m.core_evaluate),
    ] {
        report_stack(p, name, used)?;
    }
    // A Windows x64 thread's kernel stack is KERNEL_STACK_SIZE = 24 KiB; the event path must
    // leave most of it to the driver and the kernel.
    if let Some(e) = m.evaluate {
        check(
            e.bytes <= EVALUATE_STACK_BUDGET && !e.saturated,
            "sensor_slot_evaluate uses more stack than its budget",
        )?;
    }
    // The update path validates into the slot in place; it must fit the same kernel stack with
    // room to spare (`run.sh windows-stack` runs it on 24 KiB).
    for (name, used) in [
        ("sensor_slot_update", m.update),
        ("sensor_slot_update(refused)", m.update_refused),
        ("sensor_slot_roll_back", m.roll_back),
    ] {
        if let Some(u) = used.filter(|u| u.bytes > UPDATE_STACK_BUDGET || u.saturated) {
            writeln!(
                p,
                "{name} needs {} bytes of stack, over its budget of {UPDATE_STACK_BUDGET}",
                u.bytes
            )?;
            return Err(Failure(
                "an update-path call uses more stack than its budget",
            ));
        }
    }
    Ok(m)
}
