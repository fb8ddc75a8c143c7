//! A reader for the two sides of the ABI: `include/sensor_core.h` (defines, structs, function
//! prototypes) and the `extern "C"` signatures in `sensor-ffi/src`. Shared by the header test
//! and the symbol checker. It reads the subset of C the header is written in, and fails loudly
//! on anything else rather than skipping it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root (the parent of `sensor-ffi/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sensor-ffi has a parent directory")
        .to_path_buf()
}

/// The header's text.
pub fn header_text() -> String {
    let path = root().join("include/sensor_core.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Removes `/* ... */` comments.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("*/")
            .map(|e| start + e + 2)
            .expect("unterminated comment in header");
        out.push(' ');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Parses a C integer literal with an optional cast `((type)...)` and suffix.
pub fn parse_literal(value: &str) -> Option<u64> {
    let mut v = value.trim();
    if let Some(inner) = v.strip_prefix("((sensor_status)") {
        v = inner.strip_suffix(')')?;
    }
    let v = v.trim_end_matches(['u', 'U', 'l', 'L']);
    if let Some(hex) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else {
        v.parse().ok()
    }
}

/// Every object-like `#define NAME VALUE` with an integer value, in order. Function-like
/// macros and the include guard are skipped; any other define is an error.
pub fn defines(text: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let text = strip_comments(text);
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("#define ") else {
            continue;
        };
        let mut full = rest.to_string();
        while full.ends_with('\\') {
            full.pop();
            full.push_str(lines.next().unwrap_or_default());
        }
        let full = full.trim();
        let name_end = full
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(full.len());
        let (name, value) = full.split_at(name_end);
        if value.starts_with('(') {
            continue; // function-like macro
        }
        let value = value.trim();
        if value.is_empty() {
            continue; // include guard
        }
        let parsed = parse_literal(value)
            .unwrap_or_else(|| panic!("#define {name}: cannot read value {value:?}"));
        out.push((name.to_string(), parsed));
    }
    out
}

/// A struct typedef: its name and member names, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct CStruct {
    pub name: String,
    pub members: Vec<String>,
}

/// Every `typedef struct NAME { ... } NAME;` in the header.
pub fn structs(text: &str) -> Vec<CStruct> {
    let text = strip_comments(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("typedef struct ") {
        rest = &rest[at + "typedef struct ".len()..];
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_string();
        let after = rest[name_end..].trim_start();
        if !after.starts_with('{') {
            continue; // opaque: `typedef struct sensor_slot sensor_slot;`
        }
        let close = after.find('}').expect("unterminated struct");
        let body = &after[1..close];
        let members = body
            .split(';')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| {
                let decl = m.split('[').next().unwrap_or(m).trim();
                decl.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or(decl)
                    .to_string()
            })
            .collect();
        out.push(CStruct { name, members });
        rest = &after[close..];
    }
    out
}

/// A function signature in C terms: return type and (type, name) parameters, types in the
/// canonical spelling of [`canonical`].
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Signature {
    pub name: String,
    pub ret: String,
    pub params: Vec<(String, String)>,
}

/// Canonical spelling of a C type: single spaces, none around `*`.
pub fn canonical(ty: &str) -> String {
    let words: Vec<&str> = ty.split_whitespace().collect();
    let joined = words.join(" ");
    joined.replace(" *", "*").replace("* ", "*")
}

/// Every function prototype in the header.
pub fn prototypes(text: &str) -> Vec<Signature> {
    let text = strip_comments(text).replace("\\\n", " ");
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("__declspec(noreturn)", "")
        .replace("__attribute__((noreturn))", "");
    let mut out = Vec::new();
    for statement in code.split([';', '{', '}']) {
        let s = statement.trim();
        if s.is_empty() || s.starts_with("typedef") || s.starts_with("extern \"C\"") {
            continue;
        }
        let Some(open) = s.find('(') else {
            continue;
        };
        let close = s.rfind(')').expect("prototype without `)`");
        let head = &s[..open];
        let name_start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = head[name_start..].to_string();
        let ret = canonical(&head[..name_start]);
        let params_text = s[open + 1..close].trim();
        let params = if params_text == "void" {
            Vec::new()
        } else {
            params_text
                .split(',')
                .map(|p| {
                    let p = p.trim();
                    let split = p
                        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .expect("parameter without a name");
                    (canonical(&p[..=split]), p[split + 1..].to_string())
                })
                .collect()
        };
        out.push(Signature { name, ret, params });
    }
    out
}

/// `SensorFooBar` -> `sensor_foo_bar`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The C spelling of a Rust FFI type, canonical.
pub fn c_type(rust: &str) -> String {
    let t = rust.trim();
    if let Some(inner) = t.strip_prefix("*const ") {
        return canonical(&format!("const {}*", c_type(inner)));
    }
    if let Some(inner) = t.strip_prefix("*mut ") {
        return canonical(&format!("{}*", c_type(inner)));
    }
    let last = t.rsplit("::").next().unwrap_or(t);
    let mapped = match last {
        "u8" => "uint8_t".to_string(),
        "u16" => "uint16_t".to_string(),
        "u32" => "uint32_t".to_string(),
        "u64" => "uint64_t".to_string(),
        "i32" => "int32_t".to_string(),
        "usize" => "size_t".to_string(),
        "c_void" | "!" | "()" => "void".to_string(),
        "c_char" => "char".to_string(),
        "NtStatus" => "sensor_status".to_string(),
        other if other.starts_with("Sensor") => snake(other),
        other => panic!("no C spelling for Rust type {other:?}"),
    };
    canonical(&mapped)
}

/// Exported symbols that are link shims, not API: kept out of the header on purpose.
pub const LINK_SHIMS: [&str; 1] = ["rust_eh_personality"];

/// Every `extern "C"` function the crate defines (`#[no_mangle]`) or imports (`sensor_panic`),
/// read from `sensor-ffi/src`, in C terms, link shims left out. The second element says
/// whether it is imported.
pub fn rust_signatures() -> Vec<(Signature, bool)> {
    let dir = root().join("sensor-ffi/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("sensor-ffi/src")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        // Exported: `extern "C" fn NAME(` after `#[no_mangle]`.
        let mut rest = text.as_str();
        while let Some(at) = rest.find("extern \"C\" fn ") {
            let before = &rest[..at];
            let exported = before
                .rfind("#[no_mangle]")
                .is_some_and(|m| !before[m..].contains("\n}\n"));
            let sig_text = &rest[at + "extern \"C\" fn ".len()..];
            let (sig, used) = rust_signature(sig_text);
            assert!(
                exported,
                "{}: {} is not #[no_mangle]",
                file.display(),
                sig.name
            );
            if !LINK_SHIMS.contains(&sig.name.as_str()) {
                out.push((sig, false));
            }
            rest = &sig_text[used..];
        }
        // Imported: functions declared inside `extern "C" {` blocks.
        let mut rest = text.as_str();
        while let Some(at) = rest.find("extern \"C\" {") {
            let block = &rest[at..];
            let end = block.find('}').expect("unterminated extern block");
            let body = &block[..end];
            let mut inner = body;
            while let Some(f) = inner.find("fn ") {
                let (sig, used) = rust_signature(&inner[f + 3..]);
                out.push((sig, true));
                inner = &inner[f + 3 + used..];
            }
            rest = &rest[at + end..];
        }
    }
    out
}

/// Reads `NAME(params) -> Ret` from the start of `text`; returns the signature and the bytes
/// consumed.
fn rust_signature(text: &str) -> (Signature, usize) {
    let open = text.find('(').expect("fn without `(`");
    let name = text[..open].trim().to_string();
    let mut depth = 0usize;
    let mut close = open;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = open + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let params = text[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, t) = p.split_once(':').expect("parameter `name: Type`");
            (c_type(t), n.trim().to_string())
        })
        .collect();
    let tail = &text[close + 1..];
    let end = tail.find(['{', ';']).expect("fn without body or `;`");
    let ret = tail[..end]
        .trim()
        .strip_prefix("->")
        .map_or_else(|| "void".to_string(), c_type);
    (Signature { name, ret, params }, close + 1 + end)
}
