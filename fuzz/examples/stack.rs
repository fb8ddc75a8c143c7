//! Measures the stack one evaluation, load and content-slot operation uses, by stack painting.
//!
//! `cargo run --release -p sensor-fuzz --example stack [-- --max BYTES] [--max-update BYTES]`
//!
//! On a thread with a 1 MiB stack, the region below the stack pointer is filled with a pattern,
//! one call runs, and the lowest overwritten byte gives the depth reached. Every rule source of
//! the repository is loaded (for the fixed build), as compiled and in the seeds' `-sparse` and
//! `-split` forms, and every event of its seed input and the probe events are evaluated; the deepest evaluation is reported per source and overall. The
//! same content also goes through a `ContentSlot` (kept on the heap, as a driver keeps it in
//! pool): update, a second update (so that there is a last-known-good), evaluation through the
//! slot, rollback and clear. With `--max`, the exit status is 1 when the deepest evaluation is
//! over `BYTES`; with `--max-update`, when the deepest slot update or rollback is.
//!
//! What is measured is the call's frames plus one call: the closure that makes it. Writing below
//! the stack pointer is outside Rust's memory model; it is done with volatile accesses on a
//! thread whose stack is mapped in full, and only here, never in the product. x86_64 only.

use std::hint::black_box;

use sensor_core::schema::SENSOR_FIXED;
use sensor_core::{ContentSlot, MatchBuffer, RuleSet};
use sensor_fuzz::check::probe_events;
use sensor_fuzz::events::values;
use sensor_fuzz::seeds::{compile_source, seed_files, sources};
use sensor_host::content::ContentBuf;

const PAINT: u64 = 0x5A5A_5A5A_5A5A_5A5A;
/// Bytes painted below the stack pointer.
const SPAN: usize = 256 * 1024;
/// Bytes left alone just below the stack pointer (the red zone and then some).
const GAP: usize = 256;

#[cfg(target_arch = "x86_64")]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Runs `f` and returns how many bytes below the caller's stack pointer it wrote.
#[inline(never)]
fn depth(f: &mut dyn FnMut()) -> usize {
    let sp = stack_pointer();
    let top = sp - GAP;
    let bottom = sp - SPAN;
    for at in (bottom..top).step_by(8) {
        // SAFETY: inside this thread's stack mapping (SPAN is well below its size), below
        // every live frame; nothing else uses it while we run.
        unsafe { (at as *mut u64).write_volatile(PAINT) };
    }
    black_box(&mut *f)();
    let lowest = (bottom..top)
        .step_by(8)
        // SAFETY: as above.
        .find(|&at| unsafe { (at as *const u64).read_volatile() } != PAINT)
        .unwrap_or(top);
    assert!(
        lowest > bottom,
        "the evaluation used more than {SPAN} bytes of stack"
    );
    sp - lowest
}

struct Row {
    name: String,
    rules: usize,
    load: usize,
    load_into: usize,
    evaluate: usize,
    update: usize,
    roll_back: usize,
    slot_evaluate: usize,
    clear: usize,
}

fn measure() -> Vec<Row> {
    let mut rows = Vec::new();
    for (source, name, file) in sources().into_iter().flat_map(|s| {
        let plain = compile_source(&s).map(|f| (s.name.clone(), f));
        let variants = seed_files(&s).into_iter().filter(|(n, _)| *n != s.name);
        let files: Vec<_> = plain.into_iter().chain(variants).collect();
        files.into_iter().map(move |(n, f)| (s.clone(), n, f))
    }) {
        let buf = ContentBuf::new(&file);
        let bytes = buf.as_bytes();
        let load = depth(&mut || {
            black_box(RuleSet::load(black_box(bytes), &SENSOR_FIXED).is_ok());
        });
        let mut rules = Box::new(RuleSet::empty());
        let mut loaded = false;
        let load_into = depth(&mut || {
            loaded = black_box(rules.load_into(black_box(bytes), &SENSOR_FIXED).is_ok());
        });
        if !loaded {
            continue;
        }
        let slot = Box::new(ContentSlot::new(SENSOR_FIXED));
        let mut update = 0;
        for _ in 0..2 {
            update = update.max(depth(&mut || {
                black_box(slot.update(black_box(bytes)).is_ok());
            }));
        }
        let mut events = source.events.clone();
        events.extend(probe_events());
        let mut long = probe_events().swap_remove(0);
        long[1] = sensor_fuzz::events::Input::Str(vec![u16::from(b'a'); 32_767]);
        events.push(long);
        let mut deepest = 0;
        let mut slot_evaluate = 0;
        for event in &events {
            let values = values(event);
            let mut matches = MatchBuffer::<64>::default();
            deepest = deepest.max(depth(&mut || {
                black_box(rules.evaluate(black_box(&values), &mut matches));
            }));
            slot_evaluate = slot_evaluate.max(depth(&mut || {
                black_box(slot.evaluate(black_box(&values), &mut matches));
            }));
            let mut count = 0usize;
            let mut sink = |_| {
                count += 1;
                true
            };
            deepest = deepest.max(depth(&mut || {
                black_box(rules.evaluate(black_box(&values), &mut sink));
            }));
        }
        let roll_back = depth(&mut || {
            black_box(slot.roll_back().is_some());
        });
        let clear = depth(&mut || {
            black_box(slot.clear());
        });
        rows.push(Row {
            name,
            rules: rules.rule_count(),
            load,
            load_into,
            evaluate: deepest,
            update,
            roll_back,
            slot_evaluate,
            clear,
        });
    }
    rows
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let limit = |flag: &str| -> Option<usize> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse()
                    .expect("--max and --max-update take a number of bytes")
            })
    };
    let (max, max_update) = (limit("--max"), limit("--max-update"));
    let rows = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(measure)
        .expect("spawn the measuring thread")
        .join()
        .expect("the measurement ran");
    println!(
        "{:<44} {:>5} {:>6} {:>9} {:>8} {:>6} {:>9} {:>9} {:>5}",
        "rule source (bytes of stack)",
        "rules",
        "load",
        "load_into",
        "evaluate",
        "update",
        "roll_back",
        "slot eval",
        "clear"
    );
    for r in &rows {
        println!(
            "{:<44} {:>5} {:>6} {:>9} {:>8} {:>6} {:>9} {:>9} {:>5}",
            r.name,
            r.rules,
            r.load,
            r.load_into,
            r.evaluate,
            r.update,
            r.roll_back,
            r.slot_evaluate,
            r.clear
        );
    }
    let deepest = |f: fn(&Row) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let worst = deepest(|r| r.evaluate);
    let worst_update = deepest(|r| r.update).max(deepest(|r| r.roll_back));
    println!(
        "deepest evaluation: {worst} bytes of stack (aim: 2048), through the slot {}; {} rule sources",
        deepest(|r| r.slot_evaluate),
        rows.len()
    );
    println!(
        "deepest load: {} bytes by value, {} in place (load_into); slot update {}, roll_back {}, clear {}",
        deepest(|r| r.load),
        deepest(|r| r.load_into),
        deepest(|r| r.update),
        deepest(|r| r.roll_back),
        deepest(|r| r.clear)
    );
    println!(
        "size_of::<RuleSet>() = {} bytes, of which the automata array holds {} bytes; size_of::<ContentSlot>() = {} bytes",
        std::mem::size_of::<RuleSet<'static>>(),
        std::mem::size_of::<
            [Option<sensor_core::automaton::Automaton<'static>>; sensor_core::limits::MAX_AUTOMATA],
        >(),
        std::mem::size_of::<ContentSlot<'static>>()
    );
    let mut over = false;
    if let Some(max) = max.filter(|&max| worst > max) {
        eprintln!("evaluation over the limit of {max} bytes");
        over = true;
    }
    if let Some(max) = max_update.filter(|&max| worst_update > max) {
        eprintln!("slot update or rollback over the limit of {max} bytes");
        over = true;
    }
    if over {
        std::process::exit(1);
    }
}
