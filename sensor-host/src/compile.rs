//! The content compiler: [`ir::Content`] laid out as a channel file (format 1).
//!
//! It folds string operands the way the core folds inputs, deduplicates the string pool, turns
//! conditions into postfix programs, and compiles every glob and regular expression that reads
//! the same field into one multi-pattern DFA, so the sensor scans each field once per event
//! however many patterns read it. It refuses what the core would refuse, with the rule and
//! predicate named, so bad content stops here and never reaches a sensor.

use std::collections::HashMap;
use std::fmt;

use regex_automata::dfa::dense;
use regex_automata::dfa::StartKind;
use regex_automata::util::syntax;
use regex_automata::MatchKind;
use sensor_core::channel::{
    AUTOMATA_HEADER, AUTOMATON_ENTRY, DIRECTORY_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC,
    SECTION_ALIGN,
};
use sensor_core::crc32::crc32;
use sensor_core::fold::fold;
use sensor_core::limits;
use sensor_core::op::{Operands, Operator, ALL, NEGATE};
use sensor_core::program::{self, Instruction};
use sensor_core::schema;

use crate::ir::{Content, Expr, Operand, Origin, Predicate, Rule};

/// Largest serialized DFA the compiler emits for one automaton.
pub const MAX_DFA_BYTES: usize = 4 << 20;
/// Most operands an `and`/`or` instruction takes at once; wider lists are chained, which keeps
/// the evaluation stack shallow.
const MAX_ARITY: usize = 32;

/// Why content could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Where in the rule source.
    pub origin: Origin,
    /// Rule id, when the error belongs to one rule.
    pub rule: Option<String>,
    /// What went wrong.
    pub kind: CompileErrorKind,
}

/// What went wrong while compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// The content names a template type the core does not know.
    UnknownTemplate(u16, u16),
    /// A predicate names a field past the template's last.
    UnknownField(usize),
    /// The operator cannot compare a field of this type.
    OperatorFieldType(Operator, &'static str),
    /// Wrong operand count or kind for the operator.
    Operands(Operator, String),
    /// An operand string is longer than the format allows.
    OperandTooLong(usize),
    /// A regular expression does not parse, or cannot run as a DFA.
    Pattern(String, String),
    /// A field's automaton exceeds the size limit.
    AutomatonTooLarge(String, String),
    /// More automata (fields x pattern chunks) than the format allows.
    TooManyAutomata(usize),
    /// A condition nests too deeply for the evaluation stack.
    ConditionTooDeep(String),
    /// A condition refers to a predicate the rule does not have.
    UnknownPredicate(usize),
    /// A table outgrew the format's caps.
    TooLarge(&'static str, usize, usize),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        if !o.file.is_empty() {
            write!(f, "{}:{}:{}: ", o.file, o.line, o.column)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule}: ")?;
        }
        match &self.kind {
            CompileErrorKind::UnknownTemplate(id, v) => {
                write!(f, "unknown template type {id} version {v}")
            }
            CompileErrorKind::UnknownField(i) => write!(f, "no template field {i}"),
            CompileErrorKind::OperatorFieldType(op, ty) => {
                write!(f, "operator {} cannot compare a {ty} field", op.name())
            }
            CompileErrorKind::Operands(op, why) => {
                write!(f, "operator {}: {why}", op.name())
            }
            CompileErrorKind::OperandTooLong(n) => write!(
                f,
                "operand is {n} UTF-16 code units long; at most {} are allowed",
                limits::MAX_OPERAND_UNITS
            ),
            CompileErrorKind::Pattern(p, why) => write!(f, "pattern {p:?} cannot be used: {why}"),
            CompileErrorKind::AutomatonTooLarge(field, why) => {
                write!(f, "the automaton for field {field} is too large: {why}")
            }
            CompileErrorKind::TooManyAutomata(n) => write!(
                f,
                "the patterns need {n} automata; at most {} are allowed",
                limits::MAX_AUTOMATA
            ),
            CompileErrorKind::ConditionTooDeep(why) => write!(f, "condition too deep: {why}"),
            CompileErrorKind::UnknownPredicate(i) => {
                write!(
                    f,
                    "condition refers to predicate {i}, which the rule does not have"
                )
            }
            CompileErrorKind::TooLarge(what, n, max) => {
                write!(f, "{n} {what}; at most {max} are allowed")
            }
        }
    }
}

impl std::error::Error for CompileError {}

/// Translates a Sigma glob (`*`, `?`, and backslash escaping only `*`, `?` and `\`) into an
/// anchored, case-insensitive regular expression.
pub fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("(?is)^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push_str(&regex_syntax::escape(&next.to_string()));
                }
                _ => out.push_str(r"\\"),
            },
            other => out.push_str(&regex_syntax::escape(&other.to_string())),
        }
    }
    out.push('$');
    out
}

/// The regular expression a glob or regex predicate contributes to its field's automaton.
fn pattern_text(p: &Predicate, text: &str) -> String {
    match p.op {
        Operator::Glob => glob_to_regex(text),
        _ if p.case_insensitive => format!("(?i:{text})"),
        _ => text.to_owned(),
    }
}

struct Tables {
    fields: u32,
    rules: Vec<u8>,
    predicates: Vec<u8>,
    operands: Vec<u8>,
    program: Vec<u8>,
    strings: Vec<u8>,
    pool: HashMap<Vec<u8>, u32>,
    /// Every glob and regex predicate's pattern, in predicate order.
    patterns: Vec<Pattern>,
}

/// A glob or regex operand on its way into a field's automaton.
struct Pattern {
    field: usize,
    regex: String,
    source: String,
    origin: Origin,
}

impl Tables {
    fn intern(&mut self, bytes: Vec<u8>) -> u32 {
        if let Some(&at) = self.pool.get(&bytes) {
            return at;
        }
        let at = self.strings.len() as u32;
        self.strings.extend_from_slice(&bytes);
        self.pool.insert(bytes, at);
        at
    }

    fn text(&mut self, s: &str) -> (u32, u16) {
        let truncated = &s[..floor_char_boundary(s, limits::MAX_META_BYTES)];
        (
            self.intern(truncated.as_bytes().to_vec()),
            truncated.len() as u16,
        )
    }

    fn operand(&mut self, s: &str) -> Result<(u32, u32), CompileErrorKind> {
        let units: Vec<u16> = s.encode_utf16().map(fold).collect();
        if units.len() > limits::MAX_OPERAND_UNITS {
            return Err(CompileErrorKind::OperandTooLong(units.len()));
        }
        let bytes = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        Ok((self.intern(bytes), units.len() as u32))
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    (0..=max.min(s.len()))
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// Compiles content to channel-file bytes.
pub fn compile(content: &Content) -> Result<Vec<u8>, CompileError> {
    let template =
        schema::template(content.template_id, content.template_version).ok_or(CompileError {
            origin: Origin::default(),
            rule: None,
            kind: CompileErrorKind::UnknownTemplate(content.template_id, content.template_version),
        })?;
    let mut t = Tables {
        fields: 0,
        rules: Vec::new(),
        predicates: Vec::new(),
        operands: Vec::new(),
        program: Vec::new(),
        strings: Vec::new(),
        pool: HashMap::new(),
        patterns: Vec::new(),
    };
    for rule in &content.rules {
        compile_rule(&mut t, template, rule).map_err(|(origin, kind)| CompileError {
            origin,
            rule: Some(rule.id.clone()),
            kind,
        })?;
    }
    check_caps(&t)?;
    let automata = build_automata(&mut t, template)?;
    Ok(assemble(content, &t, &automata))
}

fn check_caps(t: &Tables) -> Result<(), CompileError> {
    let caps = [
        ("rules", t.rules.len() / 32, limits::MAX_RULES),
        (
            "predicates",
            t.predicates.len() / 24,
            limits::MAX_PREDICATES,
        ),
        ("operands", t.operands.len() / 8, limits::MAX_OPERANDS),
        (
            "instructions",
            t.program.len() / 4,
            limits::MAX_INSTRUCTIONS,
        ),
    ];
    for (what, n, max) in caps {
        if n > max {
            return Err(CompileError {
                origin: Origin::default(),
                rule: None,
                kind: CompileErrorKind::TooLarge(what, n, max),
            });
        }
    }
    Ok(())
}

type Located<T> = Result<T, (Origin, CompileErrorKind)>;

fn compile_rule(t: &mut Tables, template: &schema::TemplateType, rule: &Rule) -> Located<()> {
    let first = (t.predicates.len() / 24) as u32;
    for p in &rule.predicates {
        compile_predicate(t, template, p).map_err(|kind| (p.origin.clone(), kind))?;
    }
    let start = (t.program.len() / 4) as u32;
    let mut code = Vec::new();
    emit(&rule.condition, first, rule.predicates.len(), &mut code)
        .map_err(|kind| (rule.origin.clone(), kind))?;
    program::check(code.iter().map(|i| i.encode())).map_err(|(pc, fault)| {
        (
            rule.origin.clone(),
            CompileErrorKind::ConditionTooDeep(format!("instruction {pc}: {fault:?}")),
        )
    })?;
    if code.len() > limits::MAX_RULE_PROGRAM {
        return Err((
            rule.origin.clone(),
            CompileErrorKind::TooLarge(
                "instructions in one rule",
                code.len(),
                limits::MAX_RULE_PROGRAM,
            ),
        ));
    }
    for i in &code {
        t.program.extend_from_slice(&i.encode().to_le_bytes());
    }
    let id = t.text(&rule.id);
    let title = t.text(&rule.title);
    let author = t.text(&rule.author);
    let r = &mut t.rules;
    r.extend_from_slice(&id.0.to_le_bytes());
    r.extend_from_slice(&id.1.to_le_bytes());
    r.extend_from_slice(&title.1.to_le_bytes());
    r.extend_from_slice(&title.0.to_le_bytes());
    r.extend_from_slice(&author.0.to_le_bytes());
    r.extend_from_slice(&author.1.to_le_bytes());
    r.push(rule.level as u8);
    r.push(rule.action as u8);
    r.extend_from_slice(&start.to_le_bytes());
    r.extend_from_slice(&(code.len() as u32).to_le_bytes());
    r.extend_from_slice(&0u32.to_le_bytes());
    Ok(())
}

fn compile_predicate(
    t: &mut Tables,
    template: &schema::TemplateType,
    p: &Predicate,
) -> Result<(), CompileErrorKind> {
    let field = template
        .field(p.field)
        .ok_or(CompileErrorKind::UnknownField(p.field))?;
    if !p.op.accepts(field.ty) {
        return Err(CompileErrorKind::OperatorFieldType(p.op, field.ty.name()));
    }
    let flags = if p.negate { NEGATE } else { 0 } | if p.all { ALL } else { 0 };
    let (a, b, weight) = match p.op.operands() {
        Operands::None => expect_none(p).map(|()| (0, 0, 0))?,
        Operands::Immediate => (0, expect_int(p)?, 0),
        Operands::Pattern => {
            let text = expect_one_str(p)?;
            let index = t.patterns.len();
            t.patterns.push(Pattern {
                field: p.field,
                regex: pattern_text(p, text),
                source: text.to_owned(),
                origin: p.origin.clone(),
            });
            (index as u32, 0, 0)
        }
        Operands::Strings { min, max } => strings(t, p, min, max)?,
    };
    if p.op.reads_input() {
        t.fields |= 1 << p.field;
    }
    let r = &mut t.predicates;
    r.push(p.field as u8);
    r.push(p.op as u8);
    r.push(flags);
    r.push(0);
    r.extend_from_slice(&a.to_le_bytes());
    r.extend_from_slice(&b.to_le_bytes());
    r.extend_from_slice(&weight.to_le_bytes());
    r.extend_from_slice(&0u32.to_le_bytes());
    Ok(())
}

fn expect_none(p: &Predicate) -> Result<(), CompileErrorKind> {
    if p.operands.is_empty() {
        Ok(())
    } else {
        Err(CompileErrorKind::Operands(p.op, "takes no operands".into()))
    }
}

fn expect_int(p: &Predicate) -> Result<u64, CompileErrorKind> {
    match p.operands.as_slice() {
        [Operand::Int(v)] => Ok(*v),
        _ => Err(CompileErrorKind::Operands(p.op, "takes one integer".into())),
    }
}

fn expect_one_str(p: &Predicate) -> Result<&str, CompileErrorKind> {
    match p.operands.as_slice() {
        [Operand::Str(s)] => Ok(s),
        _ => Err(CompileErrorKind::Operands(p.op, "takes one pattern".into())),
    }
}

fn strings(
    t: &mut Tables,
    p: &Predicate,
    min: usize,
    max: usize,
) -> Result<(u32, u64, u32), CompileErrorKind> {
    if !(min..=max).contains(&p.operands.len()) {
        return Err(CompileErrorKind::Operands(
            p.op,
            format!("takes {min} to {max} strings, got {}", p.operands.len()),
        ));
    }
    let first = (t.operands.len() / 8) as u32;
    let mut weight = 0u32;
    for operand in &p.operands {
        let Operand::Str(s) = operand else {
            return Err(CompileErrorKind::Operands(p.op, "takes strings".into()));
        };
        let (start, units) = t.operand(s)?;
        t.operands.extend_from_slice(&start.to_le_bytes());
        t.operands.extend_from_slice(&units.to_le_bytes());
        weight = weight.saturating_add(units);
    }
    Ok((first, p.operands.len() as u64, weight))
}

/// Emits postfix code for `expr`; predicate `i` of the rule is global predicate `first + i`.
fn emit(
    expr: &Expr,
    first: u32,
    count: usize,
    out: &mut Vec<Instruction>,
) -> Result<(), CompileErrorKind> {
    match expr {
        Expr::Pred(i) if *i < count => out.push(Instruction::Pred(first + *i as u32)),
        Expr::Pred(i) => return Err(CompileErrorKind::UnknownPredicate(*i)),
        Expr::Not(inner) => {
            emit(inner, first, count, out)?;
            out.push(Instruction::Not);
        }
        Expr::And(items) | Expr::Or(items) if items.is_empty() => {
            out.push(Instruction::Const(matches!(expr, Expr::And(_))));
        }
        Expr::And(items) | Expr::Or(items) => {
            let join = |n: usize| match expr {
                Expr::And(_) => Instruction::And(n as u32),
                _ => Instruction::Or(n as u32),
            };
            for (k, chunk) in items.chunks(MAX_ARITY).enumerate() {
                for item in chunk {
                    emit(item, first, count, out)?;
                }
                if chunk.len() > 1 {
                    out.push(join(chunk.len()));
                }
                if k > 0 {
                    out.push(join(2));
                }
            }
        }
    }
    Ok(())
}

/// One compiled automaton: the field it scans and its serialized DFA.
struct Built {
    field: usize,
    bytes: Vec<u8>,
}

fn build_automata(
    t: &mut Tables,
    template: &schema::TemplateType,
) -> Result<Vec<Built>, CompileError> {
    let mut by_field: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, pattern) in t.patterns.iter().enumerate() {
        match by_field.iter_mut().find(|(f, _)| *f == pattern.field) {
            Some((_, list)) => list.push(i),
            None => by_field.push((pattern.field, vec![i])),
        }
    }
    let mut built = Vec::new();
    let mut assignment = vec![(0u32, 0u64); t.patterns.len()];
    for (field, list) in by_field {
        for chunk in list.chunks(limits::MAX_PATTERNS_PER_AUTOMATON) {
            let automaton = built.len() as u32;
            for (pid, &pattern) in chunk.iter().enumerate() {
                assignment[pattern] = (automaton, pid as u64);
            }
            let name = template.field(field).map_or("?", |f| f.name);
            let bytes = build_dfa(t, chunk, name)?;
            built.push(Built { field, bytes });
        }
    }
    if built.len() > limits::MAX_AUTOMATA {
        return Err(CompileError {
            origin: Origin::default(),
            rule: None,
            kind: CompileErrorKind::TooManyAutomata(built.len()),
        });
    }
    patch_pattern_predicates(t, &assignment);
    Ok(built)
}

/// Pattern predicates were written with their pattern's global index in `a`; now that automata
/// are laid out, point them at (automaton, pattern id).
fn patch_pattern_predicates(t: &mut Tables, assignment: &[(u32, u64)]) {
    for record in t.predicates.chunks_exact_mut(24) {
        let op = Operator::from_u8(record[1]);
        if !matches!(op, Some(Operator::Glob | Operator::Regex)) {
            continue;
        }
        let index = u32::from_le_bytes(record[4..8].try_into().expect("4 bytes")) as usize;
        let (automaton, pattern) = assignment[index];
        record[4..8].copy_from_slice(&automaton.to_le_bytes());
        record[8..16].copy_from_slice(&pattern.to_le_bytes());
    }
}

fn build_dfa(t: &Tables, chunk: &[usize], field: &str) -> Result<Vec<u8>, CompileError> {
    for &i in chunk {
        let pattern = &t.patterns[i];
        check_pattern(&pattern.regex).map_err(|why| CompileError {
            origin: pattern.origin.clone(),
            rule: None,
            kind: CompileErrorKind::Pattern(pattern.source.clone(), why),
        })?;
    }
    let patterns: Vec<&str> = chunk
        .iter()
        .map(|&i| t.patterns[i].regex.as_str())
        .collect();
    let dfa = dense::Builder::new()
        .configure(
            dense::DFA::config()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Unanchored)
                .dfa_size_limit(Some(MAX_DFA_BYTES))
                .determinize_size_limit(Some(4 * MAX_DFA_BYTES)),
        )
        .syntax(syntax::Config::new().utf8(true))
        .build_many(&patterns)
        .map_err(|e| CompileError {
            origin: t.patterns[chunk[0]].origin.clone(),
            rule: None,
            kind: CompileErrorKind::AutomatonTooLarge(field.to_owned(), e.to_string()),
        })?;
    let (bytes, pad) = dfa.to_bytes_little_endian();
    Ok(bytes[pad..].to_vec())
}

/// Builds one pattern alone, so an error names the pattern rather than the whole field.
fn check_pattern(regex: &str) -> Result<(), String> {
    dense::Builder::new()
        .configure(
            dense::DFA::config()
                .start_kind(StartKind::Unanchored)
                .dfa_size_limit(Some(MAX_DFA_BYTES))
                .determinize_size_limit(Some(4 * MAX_DFA_BYTES)),
        )
        .syntax(syntax::Config::new().utf8(true))
        .build(regex)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn align(buf: &mut Vec<u8>) {
    buf.resize(buf.len().next_multiple_of(SECTION_ALIGN), 0);
}

fn automata_section(automata: &[Built]) -> Vec<u8> {
    if automata.is_empty() {
        return Vec::new();
    }
    let directory_len =
        (AUTOMATA_HEADER + automata.len() * AUTOMATON_ENTRY).next_multiple_of(SECTION_ALIGN);
    let mut section = Vec::new();
    section.extend_from_slice(&(automata.len() as u32).to_le_bytes());
    section.extend_from_slice(&0u32.to_le_bytes());
    let mut blobs = Vec::new();
    for a in automata {
        let start = directory_len + blobs.len();
        for word in [start, a.bytes.len(), a.field, 0] {
            section.extend_from_slice(&(word as u32).to_le_bytes());
        }
        blobs.extend_from_slice(&a.bytes);
        align(&mut blobs);
    }
    align(&mut section);
    section.extend_from_slice(&blobs);
    section
}

fn field_section(t: &Tables, template: &schema::TemplateType) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, field) in template.fields.iter().enumerate() {
        if t.fields & (1 << i) != 0 {
            out.extend_from_slice(&[i as u8, field.ty as u8, 0, 0]);
        }
    }
    out
}

fn assemble(content: &Content, t: &Tables, automata: &[Built]) -> Vec<u8> {
    let template = schema::template(content.template_id, content.template_version)
        .expect("checked in compile()");
    let sections = [
        field_section(t, template),
        t.rules.clone(),
        t.predicates.clone(),
        t.operands.clone(),
        t.program.clone(),
        t.strings.clone(),
        automata_section(automata),
    ];
    let mut file = vec![0u8; HEADER_LEN + DIRECTORY_LEN];
    align(&mut file);
    let mut directory = Vec::new();
    for section in &sections {
        directory.extend_from_slice(&(file.len() as u32).to_le_bytes());
        directory.extend_from_slice(&(section.len() as u32).to_le_bytes());
        file.extend_from_slice(section);
        align(&mut file);
    }
    file[HEADER_LEN..HEADER_LEN + DIRECTORY_LEN].copy_from_slice(&directory);
    let body_len = (file.len() - HEADER_LEN) as u32;
    let crc = crc32(&file[HEADER_LEN..]);
    let h = &mut file[..HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[6..8].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
    h[8..12].copy_from_slice(&content.channel.to_le_bytes());
    h[12..14].copy_from_slice(&content.template_id.to_le_bytes());
    h[14..16].copy_from_slice(&content.template_version.to_le_bytes());
    h[16..24].copy_from_slice(&content.version.to_le_bytes());
    h[24..28].copy_from_slice(&body_len.to_le_bytes());
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    file
}
