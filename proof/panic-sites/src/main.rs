//! Lists every call to a panicking function that survives in an optimized binary, names the
//! code that owns it, and checks the owners against an allowlist.
//!
//! `panic-sites BINARY [--allow FILE]`
//!
//! A *site* is a `call` to one of core's panic entry points (`core::panicking::*`,
//! `core::slice::index::*`, `unwrap_failed`, ...). Its *owner* is the innermost inlined frame
//! at the call that is not the standard library, as `addr2line -i` reports it. LLVM merges the
//! panic calls of several checks into one block; when the owner at the call has no line, the
//! owners of every branch into that block are reported instead. Each owner is written as
//! `function file:line`, which is also the allowlist's format (one per line; `#` starts a
//! comment).
//!
//! Exit status: 0 when there are no sites, 2 when every owner is allowed, 1 otherwise. Needs
//! `objdump` and `addr2line` from binutils.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, ExitCode};

/// Functions whose call means a panic.
const PANIC_ENTRIES: &[&str] = &[
    "core::panicking::",
    "core::slice::index::",
    "core::result::unwrap_failed",
    "core::option::unwrap_failed",
    "core::option::expect_failed",
    "core::str::slice_error_fail",
    "core::cell::panic_",
];

const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "bool",
    "char", "str", "f32", "f64",
];

struct Instruction {
    address: u64,
    function: String,
    mnemonic: String,
    operands: String,
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn disassemble(binary: &str) -> Vec<Instruction> {
    let text = run("objdump", &["-d", "--no-show-raw-insn", "-C", binary]);
    let mut function = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(name) = line
            .strip_suffix(">:")
            .and_then(|l| l.split_once(" <"))
            .map(|(_, name)| name)
        {
            function = name.to_owned();
            continue;
        }
        let Some((address, rest)) = line.trim_start().split_once(":\t") else {
            continue;
        };
        let Ok(address) = u64::from_str_radix(address, 16) else {
            continue;
        };
        let rest = rest.trim();
        let (mnemonic, operands) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        out.push(Instruction {
            address,
            function: function.clone(),
            mnemonic: mnemonic.to_owned(),
            operands: operands.trim().to_owned(),
        });
    }
    out
}

/// The function a call or jump goes to, and its address.
fn target(i: &Instruction) -> Option<(u64, &str)> {
    let (address, name) = i.operands.split_once(" <")?;
    let address = u64::from_str_radix(address.trim(), 16).ok()?;
    Some((address, name.strip_suffix('>').unwrap_or(name)))
}

fn is_panic_entry(name: &str) -> bool {
    PANIC_ENTRIES.iter().any(|p| name.starts_with(p))
}

fn is_std_frame(function: &str) -> bool {
    let name = function.trim_start_matches('<');
    let first = name.split(['<', ' ', ':']).next().unwrap_or("");
    matches!(first, "core" | "alloc" | "compiler_builtins")
        || PRIMITIVES.contains(&first)
        || name.starts_with('[')
        || name.starts_with('&')
}

/// The inlined frames at `address`, innermost first: (function, `file:line`).
fn frames(binary: &str, address: u64) -> Vec<(String, String)> {
    let text = run(
        "addr2line",
        &["-i", "-f", "-C", "-e", binary, &format!("{address:#x}")],
    );
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .filter_map(|pair| match pair {
            [function, location] => {
                let file = location.rsplit('/').next().unwrap_or(location);
                let file = file.split(" (").next().unwrap_or(file);
                Some((function.to_string(), file.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// The innermost frame that is not the standard library, as `function file:line`.
fn owner(frames: &[(String, String)]) -> Option<String> {
    frames
        .iter()
        .find(|(f, _)| !is_std_frame(f))
        .map(|(f, l)| format!("{f} {l}"))
}

fn is_block_end(i: &Instruction) -> bool {
    i.mnemonic.starts_with("jmp")
        || i.mnemonic.starts_with("ret")
        || i.mnemonic == "ud2"
        || i.mnemonic == "int3"
        || (i.mnemonic.starts_with("call") && target(i).is_some_and(|(_, n)| is_panic_entry(n)))
}

struct Site {
    address: u64,
    calls: String,
    owners: BTreeSet<String>,
    chain: Vec<(String, String)>,
}

fn sites(binary: &str) -> Vec<Site> {
    let code = disassemble(binary);
    let mut out = Vec::new();
    for (index, call) in code.iter().enumerate() {
        let Some((_, callee)) = target(call) else {
            continue;
        };
        if !call.mnemonic.starts_with("call")
            || !is_panic_entry(callee)
            || is_std_frame(&call.function)
        {
            continue;
        }
        let chain = frames(binary, call.address);
        let mut owners = BTreeSet::new();
        let here = owner(&chain);
        if here.as_ref().is_some_and(|o| !o.ends_with(":?")) {
            owners.extend(here);
        } else {
            let start = (0..index)
                .rev()
                .find(|&k| is_block_end(&code[k]))
                .map_or(0, |k| k + 1);
            let block = code[start].address..=call.address;
            let mut sources: Vec<u64> = code
                .iter()
                .filter(|i| i.mnemonic.starts_with('j'))
                .filter(|i| target(i).is_some_and(|(a, _)| block.contains(&a)))
                .map(|i| i.address)
                .collect();
            if let Some(previous) = start.checked_sub(1).map(|k| &code[k]) {
                if previous.mnemonic.starts_with('j') && !previous.mnemonic.starts_with("jmp") {
                    sources.push(previous.address);
                }
            }
            for source in sources {
                owners.extend(owner(&frames(binary, source)));
            }
            if owners.is_empty() {
                owners.extend(here);
            }
        }
        if owners.is_empty() {
            owners.insert(format!("{} ?", call.function));
        }
        out.push(Site {
            address: call.address,
            calls: callee.to_owned(),
            owners,
            chain,
        });
    }
    out
}

fn allowlist(path: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(binary) = args.first() else {
        eprintln!("usage: panic-sites BINARY [--allow FILE]");
        return ExitCode::from(1);
    };
    let allowed = match args.iter().position(|a| a == "--allow") {
        Some(i) => allowlist(args.get(i + 1).map_or("", String::as_str)),
        None => BTreeSet::new(),
    };
    let sites = sites(binary);
    let mut by_owner: BTreeMap<&str, Vec<&Site>> = BTreeMap::new();
    for site in &sites {
        for owner in &site.owners {
            by_owner.entry(owner).or_default().push(site);
        }
    }
    let mut refused = 0;
    for (owner, sites) in &by_owner {
        let ok = allowed.contains(*owner);
        refused += usize::from(!ok);
        println!("{} {owner}", if ok { "allowed" } else { "PANIC  " });
        for site in sites {
            println!("          {:#x} calls {}", site.address, site.calls);
            if !ok {
                for (function, location) in &site.chain {
                    println!("              in {function} {location}");
                }
            }
        }
    }
    let crates: BTreeSet<&str> = by_owner
        .keys()
        .map(|o| o.trim_start_matches('<').split("::").next().unwrap_or(""))
        .collect();
    println!(
        "{} panic call sites, {} owners ({} not allowed), in: {}",
        sites.len(),
        by_owner.len(),
        refused,
        crates.into_iter().collect::<Vec<_>>().join(", ")
    );
    match (sites.is_empty(), refused) {
        (true, _) => ExitCode::SUCCESS,
        (false, 0) => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}
