//! The embedding scripts, run from `cargo test`:
//! - `sensor-ffi/c-test.sh`: the C program, built against the no-std Linux static library and
//!   the header, runs the 21-versus-20 case (plainly and under ASan/UBSan/LSan);
//! - `test-driver/run.sh fixed`, `flawed` and `windows-stack`: the bare-metal test driver under
//!   QEMU.
//!
//! QEMU missing: the QEMU tests fail when `CI` is set (CI installs it), and otherwise say so
//! loudly and return. A C compiler is always required (Rust needs one to link on Linux).
// Tests: a failed assertion is how they report, and they call the C ABI the way C does (each
// call's contract is the function's own `# Safety` section).
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[path = "support/header.rs"]
mod header;

use std::process::{Command, Output};

fn run(script: &str, args: &[&str]) -> (Output, String) {
    let path = header::root().join(script);
    let output = Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether QEMU can run here; panics in CI when it cannot.
fn qemu_available() -> bool {
    let qemu = std::env::var("QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
    let found = Command::new(&qemu)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !in_ci(),
            "{qemu} is not installed, and CI is set: .ci/run must install qemu-system-x86"
        );
        eprintln!(
            "\n*** SKIPPED: {qemu} is not installed; the bare-metal scenarios did NOT run. \
             Install it with: apt-get install -y --no-install-recommends qemu-system-x86 ***\n"
        );
    }
    found
}

#[test]
fn the_c_program_runs_the_21_versus_20_case_against_the_static_library() {
    let (output, text) = run("sensor-ffi/c-test.sh", &[]);
    assert!(output.status.success(), "c-test.sh failed:\n{text}");
    for line in [
        "19 July 04:09 file: status 0xe291002b kind 43 channel 291 rule 5 predicate 15 field 20 declared 21 supplied 20 build 7.11",
        "after the refusal: content 2024042400 still active",
        "remote gruntsvc connect matched [IPC-0005,IPC-0006]",
        "incident: pass under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn scenario_fixed_under_qemu_refuses_the_19_july_file_and_keeps_evaluating() {
    if !qemu_available() {
        return;
    }
    let (output, text) = run("test-driver/run.sh", &["fixed"]);
    assert!(output.status.success(), "run.sh fixed failed:\n{text}");
    assert!(
        text.contains("run.sh: scenario fixed: QEMU exit status 33"),
        "{text}"
    );
    assert!(
        text.contains("refusal: rule 5 (IPC-0006) reads input field 20 (the 21st)"),
        "{text}"
    );
    assert!(text.contains("stack: sensor_slot_evaluate(max) "), "{text}");
    assert!(text.contains(" ns/event "), "{text}");
}

#[test]
fn scenario_flawed_under_qemu_takes_a_real_page_fault_at_0x9c() {
    if !qemu_available() {
        return;
    }
    let (output, text) = run("test-driver/run.sh", &["flawed"]);
    assert!(output.status.success(), "run.sh flawed failed:\n{text}");
    assert!(
        text.contains("run.sh: scenario flawed: QEMU exit status 161"),
        "{text}"
    );
    assert!(
        text.contains("*** STOP: 0x00000050 (0x000000000000009C,0x0000000000000000,"),
        "{text}"
    );
    assert!(text.contains("CR2=0x000000000000009c"), "{text}");
    assert!(
        text.contains("run.sh: flawed: pass (real page fault at CR2=0x9C"),
        "{text}"
    );
}

/// A driver's whole use of the slot fits a Windows x64 kernel stack (24 KiB, with a guard page
/// below it): init, updates accepted and refused, evaluation, rollback, clear and destroy, each
/// within half of it. Before the core validated content into place, the update overflowed into
/// the guard page (a double fault, bugcheck 0x7F).
#[test]
fn scenario_windows_stack_under_qemu_every_slot_call_fits_24_kib() {
    if !qemu_available() {
        return;
    }
    let (output, text) = run("test-driver/run.sh", &["windows-stack"]);
    assert!(
        output.status.success(),
        "run.sh windows-stack failed:\n{text}"
    );
    assert!(
        text.contains("run.sh: scenario windows-stack: QEMU exit status 33"),
        "{text}"
    );
    for line in [
        "evaluate: 100 events on a 24 KiB stack: ok",
        "update C-00000291-2024-07-19-0527 on the 24 KiB stack: status 0x00000000 value 2024071905",
        "update C-00000291-2024-07-19-0409 on the 24 KiB stack: status 0xe291002b",
        "roll back on the 24 KiB stack: status 0x00000000 value 2024042400 released 1,",
        "result: pass: every call fitted in 24 KiB",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("*** STOP"), "{text}");
}
