//! The way back: a channel file to the compiler's IR, and the IR to rule source (TOML).
//!
//! [`decompile`] reads a channel file that loads into a [`Content`] that the compiler
//! turns back into the same bytes; [`to_source`] writes IR as rule source that
//! [`sensor_host::source::parse`] reads back into the same IR. Together with the compiler they
//! close the loop the `structured` fuzz target checks:
//! `parse(to_source(c)) == c` and `compile(decompile(compile(c))) == compile(c)`.
//!
//! What a channel file does not hold cannot come back: operand strings return folded (upper
//! case, as the compiler stores them), predicate names are `p0`, `p1`, ..., origins are empty,
//! and a glob or regex returns without its text, because the file carries only the compiled
//! automaton. Those predicates come back with an empty operand and are listed in
//! [`Decompiled::patterns`] with the automaton and pattern they use; [`restore_patterns`] puts
//! the text back from the IR the file was compiled from.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use sensor_core::channel::ChannelFile;
use sensor_core::error::{LoadError, Section};
use sensor_core::op::{Operands, Operator, ALL, NEGATE};
use sensor_core::program::Instruction;
use sensor_core::schema::{self, SensorDecl, Supply};
use sensor_core::RuleSet;
use sensor_host::ir::{Content, Expr, Operand, Origin, Predicate, Rule};

/// A sensor that supplies every field of every template, so that decompiling checks the file
/// without a schema handshake narrowing it.
fn everything() -> SensorDecl {
    static SUPPLIES: std::sync::OnceLock<Vec<Supply>> = std::sync::OnceLock::new();
    let supplies = SUPPLIES.get_or_init(|| {
        schema::TEMPLATE_TYPES
            .iter()
            .map(|t| Supply {
                template_id: t.id,
                template_version: t.version,
                supplied: u8::MAX,
            })
            .collect()
    });
    SensorDecl {
        build: "decompiler",
        supplies,
        max_string_units: schema::MAX_UNICODE_STRING_UNITS,
        work_budget: u64::MAX,
    }
}

/// Why a channel file could not be decompiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecompileError {
    /// The loader refused the file.
    Load(LoadError),
    /// An operand string is not valid UTF-16, so IR (Rust strings) cannot hold it.
    Utf16 {
        /// Global predicate index.
        predicate: usize,
    },
    /// A rule reads a predicate laid out among another rule's, which the compiler never
    /// writes and IR (predicates per rule) cannot say.
    SharedPredicate {
        /// The rule.
        rule: usize,
        /// Global predicate index.
        predicate: usize,
    },
}

impl fmt::Display for DecompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(e) => write!(f, "the loader refused the file: {e:?}"),
            Self::Utf16 { predicate } => {
                write!(f, "predicate {predicate} has an operand that is not UTF-16")
            }
            Self::SharedPredicate { rule, predicate } => write!(
                f,
                "rule {rule} reads predicate {predicate}, laid out among another rule's"
            ),
        }
    }
}

impl std::error::Error for DecompileError {}

/// A glob or regex predicate whose text the file does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternRef {
    /// Rule index.
    pub rule: usize,
    /// Predicate index within the rule.
    pub predicate: usize,
    /// Global predicate index (the order the compiler laid predicates out in).
    pub global: usize,
    /// The automaton that holds the pattern.
    pub automaton: u32,
    /// The pattern's id in that automaton.
    pub pattern: u64,
}

/// A decompiled channel file.
#[derive(Clone, Debug, PartialEq)]
pub struct Decompiled {
    /// The content, with empty operands for globs and regexes.
    pub content: Content,
    /// The globs and regexes, in predicate order.
    pub patterns: Vec<PatternRef>,
}

fn program(file: &ChannelFile<'_>, start: u32, len: u32) -> Vec<Instruction> {
    (0..len)
        .filter_map(|pc| file.instruction(start.checked_add(pc)? as usize))
        .filter_map(|word| Instruction::decode(word).ok())
        .collect()
}

/// Rebuilds a condition from a checked postfix program; predicate `g` becomes local `g - lo`.
fn condition(code: &[Instruction], lo: usize) -> Expr {
    let mut stack: Vec<Expr> = Vec::new();
    for &i in code {
        let e = match i {
            Instruction::Pred(g) => Expr::Pred(g as usize - lo),
            Instruction::Const(true) => Expr::And(Vec::new()),
            Instruction::Const(false) => Expr::Or(Vec::new()),
            Instruction::Not => Expr::Not(Box::new(stack.pop().expect("checked program"))),
            Instruction::And(n) | Instruction::Or(n) => {
                let items = stack.split_off(stack.len() - n as usize);
                if matches!(i, Instruction::And(_)) {
                    Expr::And(items)
                } else {
                    Expr::Or(items)
                }
            }
        };
        stack.push(e);
    }
    stack.pop().expect("a checked program leaves one value")
}

fn referenced(code: &[Instruction]) -> impl Iterator<Item = usize> + '_ {
    code.iter().filter_map(|i| match i {
        Instruction::Pred(g) => Some(*g as usize),
        _ => None,
    })
}

/// The compiler's string pool, replayed: strings are interned in the order the compiler
/// interns them, each at the pool's length when first seen.
#[derive(Clone, Default)]
struct Pool<'a> {
    offsets: HashMap<&'a [u8], u32>,
    len: u64,
}

impl<'a> Pool<'a> {
    /// Interns `bytes`; whether it lands where the file says, at `offset`.
    fn intern(&mut self, bytes: &'a [u8], offset: u32) -> bool {
        match self.offsets.get(bytes) {
            Some(&at) => at == offset,
            None => {
                let fits = self.len == u64::from(offset);
                self.offsets.insert(bytes, offset);
                self.len += bytes.len() as u64;
                fits
            }
        }
    }
}

/// Replays the interning of predicate `g`'s operand strings; whether each lands where the
/// file says.
fn intern_predicate<'a>(file: &ChannelFile<'a>, pool: &mut Pool<'a>, g: usize) -> bool {
    let Some(record) = file.predicate(g) else {
        return false;
    };
    let Some(op) = Operator::from_u8(record.op) else {
        return false;
    };
    if !matches!(op.operands(), Operands::Strings { .. }) {
        return true;
    }
    (0..record.b).all(|k| {
        file.operand(record.a as usize + k as usize)
            .and_then(|o| Some((file.operand_bytes(o)?, o.start)))
            .is_some_and(|(bytes, start)| pool.intern(bytes, start))
    })
}

/// Replays the interning of rule `r`'s id, title and author.
fn intern_texts<'a>(file: &ChannelFile<'a>, pool: &mut Pool<'a>, r: usize) -> bool {
    let Some(record) = file.rule(r) else {
        return false;
    };
    [record.id, record.title, record.author]
        .iter()
        .all(|&(start, len)| {
            file.string_bytes(start, usize::from(len))
                .is_some_and(|bytes| pool.intern(bytes, start))
        })
}

/// The range of predicates each rule owns.
///
/// A predicate a rule's program reads is that rule's, and rules own consecutive runs. One no
/// program reads (a rule may name predicates its condition does not use) lies between the
/// predicates of two rules, and the file does not say whose it is; the string pool does,
/// because the compiler interns each rule's operands, then its id, title and author. So the
/// interning is replayed, and each rule takes the most of the unread predicates after its own
/// for which the replay puts every string where the file has it.
fn ownership(
    file: &ChannelFile<'_>,
    programs: &[Vec<Instruction>],
    predicates: usize,
) -> Result<Vec<(usize, usize)>, DecompileError> {
    let last_read: Vec<Option<usize>> = programs.iter().map(|c| referenced(c).max()).collect();
    let first_read: Vec<Option<usize>> = programs.iter().map(|c| referenced(c).min()).collect();
    let mut pool = Pool::default();
    let mut bounds = Vec::with_capacity(programs.len());
    let mut lo = 0usize;
    for r in 0..programs.len() {
        if let Some(first) = first_read[r].filter(|&f| f < lo) {
            return Err(DecompileError::SharedPredicate {
                rule: r,
                predicate: first,
            });
        }
        let least = last_read[r].map_or(lo, |g| g + 1);
        let most = if r + 1 == programs.len() {
            predicates.max(least)
        } else {
            first_read[r + 1..]
                .iter()
                .flatten()
                .next()
                .copied()
                .unwrap_or(predicates)
                .max(least)
        };
        let replay = |hi: usize| {
            let mut trial = pool.clone();
            let fits = (lo..hi).all(|g| intern_predicate(file, &mut trial, g))
                && intern_texts(file, &mut trial, r);
            fits.then_some(trial)
        };
        let (hi, after) = (least..=most)
            .rev()
            .find_map(|hi| replay(hi).map(|p| (hi, p)))
            .unwrap_or_else(|| (least, pool.clone()));
        pool = after;
        bounds.push((lo, hi));
        lo = hi;
    }
    Ok(bounds)
}

/// Decompiles an 8-byte-aligned channel file.
pub fn decompile(bytes: &[u8]) -> Result<Decompiled, DecompileError> {
    let rules = RuleSet::load(bytes, &everything()).map_err(DecompileError::Load)?;
    let file = ChannelFile::parse(bytes).map_err(DecompileError::Load)?;
    let header = file.header();
    let predicate_count = file.count(Section::Predicates);
    let rule_count = rules.rule_count();

    let programs: Vec<Vec<Instruction>> = (0..rule_count)
        .map(|r| {
            let record = file.rule(r).expect("a loaded rule");
            program(&file, record.program_start, record.program_len)
        })
        .collect();
    let bounds = ownership(&file, &programs, predicate_count)?;

    let mut patterns = Vec::new();
    let mut out = Vec::with_capacity(rule_count);
    for (r, code) in programs.iter().enumerate() {
        let (lo, hi) = bounds[r];
        let info = rules.rule(r).expect("a loaded rule");
        let mut predicates = Vec::with_capacity(hi - lo);
        for g in lo..hi {
            let record = file.predicate(g).expect("a loaded predicate");
            let op = Operator::from_u8(record.op).expect("a loaded operator");
            let operands = match op.operands() {
                Operands::None => Vec::new(),
                Operands::Immediate => vec![Operand::Int(record.b)],
                Operands::Pattern => {
                    patterns.push(PatternRef {
                        rule: r,
                        predicate: g - lo,
                        global: g,
                        automaton: u32::from(record.automaton.saturating_sub(1)),
                        pattern: u64::from(record.pattern),
                    });
                    vec![Operand::Str(String::new())]
                }
                Operands::Strings { .. } => (0..record.b)
                    .map(|k| {
                        let operand = file
                            .operand(record.a as usize + k as usize)
                            .expect("a loaded operand");
                        let units: Vec<u16> = file
                            .operand_bytes(operand)
                            .expect("a loaded operand")
                            .chunks_exact(2)
                            .map(|p| u16::from_le_bytes([p[0], p[1]]))
                            .collect();
                        String::from_utf16(&units)
                            .map(Operand::Str)
                            .map_err(|_| DecompileError::Utf16 { predicate: g })
                    })
                    .collect::<Result<_, _>>()?,
            };
            predicates.push(Predicate {
                field: usize::from(record.field),
                op,
                negate: record.flags & NEGATE != 0,
                all: record.flags & ALL != 0,
                operands,
                case_insensitive: false,
                origin: Origin::default(),
            });
        }
        out.push(Rule {
            id: info.id.to_owned(),
            title: info.title.to_owned(),
            author: info.author.to_owned(),
            level: info.level,
            action: info.action,
            predicates,
            condition: condition(code, lo),
            origin: Origin::default(),
        });
    }
    Ok(Decompiled {
        content: Content {
            channel: header.channel,
            version: header.content_version,
            template_id: header.template_id,
            template_version: header.template_version,
            rules: out,
        },
        patterns,
    })
}

/// Puts the text and case flag of every glob and regex back from `original`, the content the
/// file was compiled from, matching predicates by their order in the file.
pub fn restore_patterns(decompiled: &Decompiled, original: &Content) -> Content {
    let originals: Vec<&Predicate> = original
        .rules
        .iter()
        .flat_map(|r| r.predicates.iter())
        .collect();
    let mut content = decompiled.content.clone();
    for p in &decompiled.patterns {
        if let Some(source) = originals.get(p.global) {
            let target = &mut content.rules[p.rule].predicates[p.predicate];
            target.operands = source.operands.clone();
            target.case_insensitive = source.case_insensitive;
        }
    }
    content
}

/// Why IR cannot be written as rule source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The rule source has no words for an empty `and` or `or` (a constant).
    ConstantCondition {
        /// Rule index.
        rule: usize,
    },
    /// `all` on an operator other than `contains`, which only a channel file can say.
    AllFlag {
        /// Rule index.
        rule: usize,
        /// Predicate index.
        predicate: usize,
    },
    /// A rule without predicates, which the rule source refuses.
    NoPredicates {
        /// Rule index.
        rule: usize,
    },
    /// A template type the core does not know.
    UnknownTemplate,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for RenderError {}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An operand of a condition: a name, a `not`, or a parenthesized connective.
fn atom(e: &Expr, out: &mut String) {
    match e {
        Expr::Pred(_) | Expr::Not(_) => expr(e, out),
        _ => {
            out.push('(');
            expr(e, out);
            out.push(')');
        }
    }
}

fn expr(e: &Expr, out: &mut String) {
    match e {
        Expr::Pred(i) => {
            let _ = write!(out, "p{i}");
        }
        Expr::Not(inner) => {
            out.push_str("not ");
            atom(inner, out);
        }
        Expr::And(items) | Expr::Or(items) => {
            let join = if matches!(e, Expr::And(_)) {
                " and "
            } else {
                " or "
            };
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(join);
                }
                atom(item, out);
            }
        }
    }
}

fn constant(e: &Expr) -> bool {
    match e {
        Expr::Pred(_) => false,
        Expr::Not(inner) => constant(inner),
        Expr::And(items) | Expr::Or(items) => items.is_empty() || items.iter().any(constant),
    }
}

/// The operator spelling and extra keys for a predicate's operator and flags.
fn spelling(p: &Predicate) -> Option<(&'static str, bool)> {
    match (p.op, p.all) {
        (Operator::Contains, true) => Some(("contains-all", p.negate)),
        (_, true) => None,
        (op, false) => Some((op.name(), p.negate)),
    }
}

/// Writes `content` as rule source, predicates named `p0`, `p1`, ... and every condition
/// written out.
pub fn to_source(content: &Content) -> Result<String, RenderError> {
    let template = schema::template(content.template_id, content.template_version)
        .ok_or(RenderError::UnknownTemplate)?;
    let mut out = String::new();
    let _ = writeln!(out, "channel = {}", content.channel);
    let _ = writeln!(out, "version = \"{}\"", content.version);
    let _ = writeln!(out, "template = {}", quote(template.name));
    let _ = writeln!(out, "template_version = {}", template.version);
    for (r, rule) in content.rules.iter().enumerate() {
        if rule.predicates.is_empty() {
            return Err(RenderError::NoPredicates { rule: r });
        }
        if constant(&rule.condition) {
            return Err(RenderError::ConstantCondition { rule: r });
        }
        let mut condition = String::new();
        expr(&rule.condition, &mut condition);
        let _ = writeln!(out, "\n[[rule]]");
        let _ = writeln!(out, "id = {}", quote(&rule.id));
        let _ = writeln!(out, "title = {}", quote(&rule.title));
        let _ = writeln!(out, "author = {}", quote(&rule.author));
        let _ = writeln!(out, "level = {}", quote(rule.level.name()));
        let _ = writeln!(out, "action = {}", quote(rule.action.name()));
        let _ = writeln!(out, "condition = {}", quote(&condition));
        let _ = writeln!(out, "[rule.where]");
        for (k, p) in rule.predicates.iter().enumerate() {
            let (op, negate) = spelling(p).ok_or(RenderError::AllFlag {
                rule: r,
                predicate: k,
            })?;
            let field = template.field(p.field).map_or("?", |f| f.name);
            let _ = write!(
                out,
                "p{k} = {{ field = {}, op = {}",
                quote(field),
                quote(op)
            );
            if !p.operands.is_empty() {
                let values: Vec<String> = p
                    .operands
                    .iter()
                    .map(|o| match o {
                        Operand::Str(s) => quote(s),
                        Operand::Int(v) => format!("\"{v:#x}\""),
                    })
                    .collect();
                let _ = write!(out, ", value = [{}]", values.join(", "));
            }
            if negate {
                out.push_str(", negate = true");
            }
            if p.case_insensitive {
                out.push_str(", case_insensitive = true");
            }
            out.push_str(" }\n");
        }
    }
    Ok(out)
}

/// `content` with every origin emptied, for comparing IR from different sources.
pub fn without_origins(content: &Content) -> Content {
    let mut c = content.clone();
    for rule in &mut c.rules {
        rule.origin = Origin::default();
        for p in &mut rule.predicates {
            p.origin = Origin::default();
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_host::compile::compile;
    use sensor_host::content::ContentBuf;
    use sensor_host::source;

    #[test]
    fn every_repository_source_round_trips() {
        let mut patterns = 0;
        for s in crate::seeds::sources() {
            let Ok(content) = source::parse(&s.rules, &s.name) else {
                continue;
            };
            let text = to_source(&content).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            let again = source::parse(&text, "rendered.toml")
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", s.name));
            assert_eq!(
                without_origins(&again),
                without_origins(&content),
                "{}",
                s.name
            );
            let Ok(bytes) = compile(&content) else {
                continue;
            };
            let buf = ContentBuf::new(&bytes);
            let back = decompile(buf.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            patterns += back.patterns.len();
            let restored = restore_patterns(&back, &content);
            assert_eq!(compile(&restored).unwrap(), bytes, "{}", s.name);
        }
        assert!(patterns > 0, "no source exercised pattern restoring");
    }

    #[test]
    fn constants_and_all_flags_cannot_be_written_as_source() {
        let mut content =
            source::parse(crate::seeds::sources()[0].rules.as_str(), "default.toml").unwrap();
        let mut constant = content.clone();
        constant.rules[0].condition = Expr::And(Vec::new());
        assert_eq!(
            to_source(&constant),
            Err(RenderError::ConstantCondition { rule: 0 })
        );
        content.rules[1].predicates[0].op = Operator::BeginsWith;
        content.rules[1].predicates[0].all = true;
        assert_eq!(
            to_source(&content),
            Err(RenderError::AllFlag {
                rule: 1,
                predicate: 0
            })
        );
    }

    #[test]
    fn strings_are_escaped_for_toml() {
        assert_eq!(quote("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }
}
