//! Measures the stack one evaluation uses, by stack painting.
//!
//! `cargo run --release -p sensor-fuzz --example stack [-- --max BYTES]`
//!
//! On a thread with a 1 MiB stack, the region below the stack pointer is filled with a pattern,
//! one `RuleSet::evaluate` runs, and the lowest overwritten byte gives the depth reached. Every
//! rule source of the repository is loaded (for the fixed build) and every event of its seed
//! input and the probe events are evaluated; the deepest evaluation is reported per source and
//! overall. With `--max`, the exit status is 1 when the deepest is over `BYTES`.
//!
//! What is measured is the evaluation's frames plus one call: the closure that calls
//! `evaluate`. Loading is measured the same way, for comparison. Writing below the stack
//! pointer is outside Rust's memory model; it is done with volatile accesses on a thread whose
//! stack is mapped in full, and only here, never in the product. x86_64 only.

use std::hint::black_box;

use sensor_core::schema::SENSOR_FIXED;
use sensor_core::{MatchBuffer, RuleSet};
use sensor_fuzz::check::probe_events;
use sensor_fuzz::events::values;
use sensor_fuzz::seeds::{compile_source, sources};
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
    evaluate: usize,
}

fn measure() -> Vec<Row> {
    let mut rows = Vec::new();
    for source in sources() {
        let Some(file) = compile_source(&source) else {
            continue;
        };
        let buf = ContentBuf::new(&file);
        let bytes = buf.as_bytes();
        let load = depth(&mut || {
            black_box(RuleSet::load(black_box(bytes), &SENSOR_FIXED).is_ok());
        });
        let Ok(rules) = RuleSet::load(bytes, &SENSOR_FIXED) else {
            continue;
        };
        let mut events = source.events.clone();
        events.extend(probe_events());
        let mut long = probe_events().swap_remove(0);
        long[1] = sensor_fuzz::events::Input::Str(vec![u16::from(b'a'); 32_767]);
        events.push(long);
        let mut deepest = 0;
        for event in &events {
            let values = values(event);
            let mut matches = MatchBuffer::<64>::default();
            deepest = deepest.max(depth(&mut || {
                black_box(rules.evaluate(black_box(&values), &mut matches));
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
        rows.push(Row {
            name: source.name,
            rules: rules.rule_count(),
            load,
            evaluate: deepest,
        });
    }
    rows
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let max: Option<usize> = args
        .iter()
        .position(|a| a == "--max")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("--max takes a number of bytes"));
    let rows = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(measure)
        .expect("spawn the measuring thread")
        .join()
        .expect("the measurement ran");
    println!(
        "{:<48} {:>6} {:>11} {:>15}",
        "rule source", "rules", "load bytes", "evaluate bytes"
    );
    for r in &rows {
        println!(
            "{:<48} {:>6} {:>11} {:>15}",
            r.name, r.rules, r.load, r.evaluate
        );
    }
    let worst = rows.iter().map(|r| r.evaluate).max().unwrap_or(0);
    let worst_load = rows.iter().map(|r| r.load).max().unwrap_or(0);
    println!(
        "deepest evaluation: {worst} bytes of stack (aim: 2048); deepest load: {worst_load} bytes; {} rule sources",
        rows.len()
    );
    println!(
        "size_of::<RuleSet>() = {} bytes, of which the automata array holds {} bytes",
        std::mem::size_of::<RuleSet<'static>>(),
        std::mem::size_of::<
            [Option<sensor_core::automaton::Automaton<'static>>; sensor_core::limits::MAX_AUTOMATA],
        >()
    );
    if let Some(max) = max {
        if worst > max {
            eprintln!("over the limit of {max} bytes");
            std::process::exit(1);
        }
    }
}
