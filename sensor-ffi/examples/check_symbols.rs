//! Checks a built static library (`sensor_ffi.lib` for Windows, `libsensor_ffi.a` for Linux)
//! against `include/sensor_core.h`, the way a linker will see it:
//!
//! 1. every function the header declares is defined;
//! 2. the only unmangled symbols the library's own objects define are those functions (plus the
//!    documented link shim), so it cannot collide with a driver's names;
//! 3. resolving from those functions as a linker does (pull each object that defines a needed
//!    symbol, transitively), what remains undefined is only what the embedder must provide:
//!    the memory routines, `__chkstk`, `sensor_panic`, and on Windows the two symbols the
//!    precompiled `core` names (`__CxxFrameHandler3`, `_fltused`; docs/embedding.md);
//! 4. nothing in the library comes from `std` or `alloc`: no heap, no OS.
//!
//! Usage: `cargo run -p sensor-ffi --example check_symbols -- LIB [HEADER]`. Prints what the
//! link needs and exits 1 on any violation.
// A tool and its tests: failing loudly is how they report.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[path = "../tests/support/header.rs"]
mod header;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::ExitCode;

use object::read::archive::ArchiveFile;
use object::{Object, ObjectSymbol};

/// What an embedder may be asked to provide (docs/embedding.md says where each comes from):
/// the memory routines and `__chkstk` (the WDK's kernel libraries; libc), `sensor_panic`
/// (written by the embedder), and two symbols the precompiled `core` for
/// x86_64-pc-windows-msvc names although nothing calls them: `__CxxFrameHandler3` (unwind
/// tables, rust-lang/rust#101134) and `_fltused` (the MSVC floating-point marker).
const ALLOWED_EXTERNAL: [&str; 9] = [
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
    "bcmp",
    "__chkstk",
    "sensor_panic",
    "__CxxFrameHandler3",
    "_fltused",
];

/// Crates whose objects must not be in the library at all.
const FORBIDDEN_CRATES: [&str; 5] = ["std", "alloc", "panic_unwind", "std_detect", "unwind"];

struct Member {
    name: String,
    defined: BTreeSet<String>,
    undefined: BTreeSet<String>,
}

fn crate_of(member: &str) -> &str {
    let file = member.rsplit(['/', '\\']).next().unwrap_or(member);
    // compiler-rt's C objects inside compiler_builtins: `<16 hex digits>-<name>.o`.
    let (prefix, _) = file.split_once('-').unwrap_or((file, ""));
    if member.contains("compiler_builtins")
        || (prefix.len() == 16 && prefix.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return "compiler_builtins";
    }
    file.split(['-', '.']).next().unwrap_or(file)
}

fn is_mangled_or_internal(name: &str) -> bool {
    name.starts_with("_ZN")
        || name.starts_with("_R")
        || name.starts_with("__imp_")
        || name.starts_with("??")
        || name.starts_with('.')
        || name.starts_with('$')
        || name.starts_with("anon.")
        || name.starts_with("__rustc")
        || name.starts_with("DW.ref.")
        // MSVC constant-pool COMDATs (`__real@3ff0000000000000`, `__xmm@...`): merged by value.
        || name.starts_with("__real@")
        || name.starts_with("__xmm@")
}

fn members(data: &[u8]) -> Result<Vec<Member>, String> {
    let archive = ArchiveFile::parse(data).map_err(|e| format!("not an archive: {e}"))?;
    let mut out = Vec::new();
    for member in archive.members() {
        let member = member.map_err(|e| format!("archive member: {e}"))?;
        let name = String::from_utf8_lossy(member.name()).into_owned();
        let bytes = member.data(data).map_err(|e| format!("{name}: {e}"))?;
        let file = match object::File::parse(bytes) {
            Ok(file) => file,
            Err(e) => {
                if std::env::var_os("CHECK_SYMBOLS_DEBUG").is_some() {
                    eprintln!("skipped {name}: {e}");
                }
                // Not an object (a symbol table, a metadata blob): nothing to link.
                continue;
            }
        };
        let mut defined = BTreeSet::new();
        let mut undefined = BTreeSet::new();
        for sym in file.symbols() {
            let Ok(sym_name) = sym.name() else { continue };
            if sym_name.is_empty() || sym.is_local() {
                continue;
            }
            if sym.is_undefined() {
                if !sym.is_weak() {
                    undefined.insert(sym_name.to_string());
                }
            } else if sym.is_global() || sym.is_weak() {
                defined.insert(sym_name.to_string());
            }
        }
        out.push(Member {
            name,
            defined,
            undefined,
        });
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(lib) = args.first() else {
        eprintln!("usage: check_symbols LIB [HEADER]");
        return ExitCode::from(2);
    };
    let header_text = match args.get(1) {
        Some(path) => std::fs::read_to_string(path).expect("read header"),
        None => header::header_text(),
    };
    let data = std::fs::read(lib).unwrap_or_else(|e| panic!("{lib}: {e}"));
    let members = match members(&data) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{lib}: {e}");
            return ExitCode::from(2);
        }
    };
    let prototypes = header::prototypes(&header_text);
    let api: BTreeSet<String> = prototypes
        .iter()
        .map(|p| p.name.clone())
        .filter(|n| n != "sensor_panic")
        .collect();
    let mut problems = Vec::new();

    // Who defines what (first definer wins, as with COMDAT "any").
    let mut definer: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        for d in &m.defined {
            definer.entry(d.as_str()).or_insert(i);
        }
    }

    // 1. The API is there.
    for f in &api {
        if !definer.contains_key(f.as_str()) {
            problems.push(format!(
                "{f}: declared in the header, not defined in the library"
            ));
        }
    }

    // 2. Unmangled definitions outside compiler_builtins are the API and the link shims.
    let mut unmangled = BTreeSet::new();
    let mut intrinsics = BTreeSet::new();
    for m in &members {
        let builtins = crate_of(&m.name) == "compiler_builtins";
        for d in &m.defined {
            if is_mangled_or_internal(d) {
                continue;
            }
            if builtins {
                intrinsics.insert(d.clone());
            } else {
                unmangled.insert(d.clone());
            }
        }
    }
    for d in &unmangled {
        if !api.contains(d) && !header::LINK_SHIMS.contains(&d.as_str()) {
            problems.push(format!(
                "{d}: exported by the library but not documented in the header"
            ));
        }
    }

    // 3. Link closure from the API.
    let mut pulled = BTreeSet::new();
    let mut queue: VecDeque<usize> = api
        .iter()
        .filter_map(|f| definer.get(f.as_str()).copied())
        .collect();
    let mut external: BTreeMap<String, String> = BTreeMap::new();
    while let Some(i) = queue.pop_front() {
        if !pulled.insert(i) {
            continue;
        }
        for u in &members[i].undefined {
            match definer.get(u.as_str()) {
                Some(&j) => queue.push_back(j),
                None => {
                    external
                        .entry(u.clone())
                        .or_insert_with(|| members[i].name.clone());
                }
            }
        }
    }
    for (symbol, needed_by) in &external {
        if !ALLOWED_EXTERNAL.contains(&symbol.as_str()) {
            problems.push(format!(
                "{symbol}: needed by {needed_by} and not something the embedder provides"
            ));
        }
    }

    // 4. No std, no alloc.
    let mut crates = BTreeSet::new();
    for m in &members {
        let c = crate_of(&m.name);
        crates.insert(c.to_string());
        if FORBIDDEN_CRATES.contains(&c) {
            problems.push(format!("{}: the library contains the `{c}` crate", m.name));
        }
    }

    println!("{lib}");
    println!(
        "  objects: {} ({} pulled in by the API)",
        members.len(),
        pulled.len()
    );
    println!(
        "  crates: {}",
        crates
            .iter()
            .filter(|c| !c.contains(':') && !c.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  exported C symbols: {}",
        unmangled.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    let pulled_intrinsics: BTreeSet<&String> = pulled
        .iter()
        .filter(|&&i| crate_of(&members[i].name) == "compiler_builtins")
        .flat_map(|&i| members[i].defined.iter())
        .filter(|d| !is_mangled_or_internal(d))
        .collect();
    println!(
        "  compiler intrinsics defined: {} ({} of them pulled in by the API: {})",
        intrinsics.len(),
        pulled_intrinsics.len(),
        pulled_intrinsics
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  the embedder must provide: {}",
        external.keys().cloned().collect::<Vec<_>>().join(" ")
    );
    if problems.is_empty() {
        println!("  ok");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            println!("  VIOLATION: {p}");
        }
        ExitCode::FAILURE
    }
}
