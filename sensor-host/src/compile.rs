//! The content compiler: [`ir::Content`] laid out as a channel file (format 3).
//!
//! It folds string operands the way the core folds inputs, deduplicates the string pool, turns
//! conditions into postfix programs, and compiles the patterns that read the same field into
//! multi-pattern automata, so the sensor scans a field with a few automata per event however
//! many patterns read it: globs and regular expressions go into the field's DFAs (split over
//! several when one would be too large), the operands of literal string predicates (equals,
//! contains, begins-with, ends-with, image) into its dictionary. From the automata it builds
//! the rule index: the slots under which each rule is listed, so that the sensor runs only the
//! rules that can match. It refuses what the core would refuse, with the rule and predicate
//! named, so bad content stops here and never reaches a sensor.
//!
//! The layout is specified in `docs/channel-file-format.md`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use regex_automata::dfa::dense;
use regex_automata::dfa::StartKind;
use regex_automata::util::syntax;
use regex_automata::MatchKind;
use sensor_core::automaton::Form;
use sensor_core::channel::{
    AUTOMATA_HEADER, AUTOMATON_DFA, AUTOMATON_DICTIONARY, AUTOMATON_ENTRY, DIRECTORY_LEN,
    FORMAT_VERSION, HEADER_LEN, INSTRUCTION, MAGIC, OPERAND_RECORD, PREDICATE_RECORD, RULE_RECORD,
    SECTION_ALIGN,
};
use sensor_core::crc32::crc32;
use sensor_core::dictionary::Placement;
use sensor_core::fold::fold;
use sensor_core::limits;
use sensor_core::op::{Operands, Operator, ALL, NEGATE};
use sensor_core::program::{self, Instruction};
use sensor_core::schema;

use crate::dictionary::{self, Literal};
use crate::ir::{Content, Expr, Operand, Origin, Predicate, Rule};

/// Largest serialized DFA the compiler emits for one automaton.
pub const MAX_DFA_BYTES: usize = 8 << 20;
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
    /// A glob or regex alone makes its field's automaton exceed the size limit.
    AutomatonTooLarge(String, String),
    /// More automata than the format allows: how many the patterns need, and how many of them
    /// each field needs.
    TooManyAutomata(usize, String),
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
            CompileErrorKind::TooManyAutomata(n, fields) => write!(
                f,
                "the patterns need {n} automata ({fields}); at most {} are allowed",
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

/// Where a match of operand text `s` must sit for `op` (the format's table), or `None` for an
/// operator no automaton tests.
fn placement(op: Operator, s: &str) -> Option<Placement> {
    Some(match op {
        Operator::Equals => Placement::Whole,
        Operator::BeginsWith => Placement::Start,
        Operator::EndsWith => Placement::End,
        Operator::Contains => Placement::Anywhere,
        Operator::Image if s.contains('\\') => Placement::Whole,
        Operator::Image => Placement::FileName,
        _ => return None,
    })
}

/// The patterns a literal string predicate contributes to its field's dictionary, one per
/// folded operand, or `None` when no dictionary may test it: less-than and more-than, and
/// predicates with an empty operand (a dictionary's patterns hold at least one code unit).
fn literal_patterns(op: Operator, folded: &[String]) -> Option<Vec<Literal>> {
    folded
        .iter()
        .map(|s| {
            let units: Vec<u16> = s.encode_utf16().collect();
            let placement = placement(op, s)?;
            (!units.is_empty()).then_some(Literal { units, placement })
        })
        .collect()
}

struct Tables {
    fields: u32,
    rules: Vec<u8>,
    predicates: Vec<u8>,
    operands: Vec<u8>,
    program: Vec<u8>,
    strings: Vec<u8>,
    pool: HashMap<Vec<u8>, u32>,
    /// The patterns of every predicate an automaton tests, in predicate order.
    runs: Vec<Run>,
}

/// One predicate's patterns on their way into an automaton. A predicate's patterns sit together
/// in one automaton, so runs are the units a field's patterns are split along.
struct Run {
    /// Global index of the predicate.
    predicate: usize,
    /// Index of its rule in [`Content::rules`].
    rule: usize,
    /// The field the automaton scans.
    field: usize,
    /// Whether the run's patterns are literals for a dictionary (literal operators) or regexes
    /// for a DFA (glob, regex).
    literal: bool,
    /// Whether every pattern starts with `^`, so that an automaton of such runs needs no
    /// unanchored prefix.
    anchored: bool,
    /// The regular expressions, one per pattern, of a glob or regex.
    regexes: Vec<String>,
    /// The literal patterns, one per operand, of a literal predicate.
    literals: Vec<Literal>,
    /// The glob or regex as written; `None` for a literal predicate, which may do without an
    /// automaton.
    source: Option<String>,
    origin: Origin,
}

impl Run {
    /// Number of patterns.
    fn patterns(&self) -> usize {
        self.regexes.len() + self.literals.len()
    }
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

    /// Stores `s` folded as an operand string; returns its pool offset, its length in code units
    /// and the folded text.
    fn operand(&mut self, s: &str) -> Result<(u32, u32, String), CompileErrorKind> {
        let units: Vec<u16> = s.encode_utf16().map(fold).collect();
        if units.len() > limits::MAX_OPERAND_UNITS {
            return Err(CompileErrorKind::OperandTooLong(units.len()));
        }
        // Lossless: `fold` maps every character of the BMP to a character and leaves
        // surrogates, which come in pairs in a `str`, alone.
        let folded = String::from_utf16_lossy(&units);
        let bytes = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        Ok((self.intern(bytes), units.len() as u32, folded))
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
    compile_report(content).map(|c| c.bytes)
}

/// A compiled channel file and what the compiler had to give up to fit the format's limits.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The channel file.
    pub bytes: Vec<u8>,
    /// Literal predicates left without an automaton because the automata would not fit in
    /// [`limits::MAX_AUTOMATA`] automata or the file's size cap. The interpreter compares their
    /// operands directly, and a rule indexed only through them runs on every event.
    pub direct_literals: usize,
}

/// [`compile`], also saying what had to give.
pub fn compile_report(content: &Content) -> Result<Compiled, CompileError> {
    compile_with(content, Layout::default())
}

/// How the compiler sizes automata. The default is what `compile` uses; the fuzz seeds also
/// compile with dense rows for the root alone, so that the sensor's sparse dictionary path is
/// in the seeds however small their sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Largest serialized DFA.
    pub dfa_bytes: usize,
    /// Most bytes of dense rows per dictionary ([`dictionary::DENSE_BYTES`]).
    pub dense_bytes: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            dfa_bytes: MAX_DFA_BYTES,
            dense_bytes: dictionary::DENSE_BYTES,
        }
    }
}

/// [`compile_report`], with automata sized by `layout`.
pub fn compile_with(content: &Content, layout: Layout) -> Result<Compiled, CompileError> {
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
        runs: Vec::new(),
    };
    for (index, rule) in content.rules.iter().enumerate() {
        compile_rule(&mut t, template, rule, index).map_err(|(origin, kind)| CompileError {
            origin,
            rule: Some(rule.id.clone()),
            kind,
        })?;
    }
    check_caps(&t)?;
    let (automata, direct_literals) = build_automata(&t, content, template, layout)?;
    let slots = place_predicates(&mut t, &automata);
    let triggers = if automata.is_empty() {
        Vec::new()
    } else {
        let index = rule_index(content, &t, &slots);
        triggers_section(&index, automata.iter().map(|a| a.slots).sum())
    };
    let file = assemble(content, &t, &automata, triggers);
    if file.len() > limits::MAX_FILE_BYTES {
        return Err(CompileError {
            origin: Origin::default(),
            rule: None,
            kind: CompileErrorKind::TooLarge(
                "bytes in the channel file",
                file.len(),
                limits::MAX_FILE_BYTES,
            ),
        });
    }
    Ok(Compiled {
        bytes: file,
        direct_literals,
    })
}

fn check_caps(t: &Tables) -> Result<(), CompileError> {
    let caps = [
        ("rules", t.rules.len() / RULE_RECORD, limits::MAX_RULES),
        (
            "predicates",
            t.predicates.len() / PREDICATE_RECORD,
            limits::MAX_PREDICATES,
        ),
        (
            "operands",
            t.operands.len() / OPERAND_RECORD,
            limits::MAX_OPERANDS,
        ),
        (
            "instructions",
            t.program.len() / INSTRUCTION,
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

/// Compiles rule number `index`: its predicates, its program and its record.
fn compile_rule(
    t: &mut Tables,
    template: &schema::TemplateType,
    rule: &Rule,
    index: usize,
) -> Located<()> {
    let first = (t.predicates.len() / PREDICATE_RECORD) as u32;
    for p in &rule.predicates {
        compile_predicate(t, template, p, index).map_err(|kind| (p.origin.clone(), kind))?;
    }
    let start = (t.program.len() / INSTRUCTION) as u32;
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

/// Compiles one predicate of rule number `rule` into its record, and its patterns, if an
/// automaton tests it, into a [`Run`]. The record's automaton and first pattern stay zero until
/// [`place_predicates`] knows them.
fn compile_predicate(
    t: &mut Tables,
    template: &schema::TemplateType,
    p: &Predicate,
    rule: usize,
) -> Result<(), CompileErrorKind> {
    let field = template
        .field(p.field)
        .ok_or(CompileErrorKind::UnknownField(p.field))?;
    if !p.op.accepts(field.ty) {
        return Err(CompileErrorKind::OperatorFieldType(p.op, field.ty.name()));
    }
    let flags = if p.negate { NEGATE } else { 0 } | if p.all { ALL } else { 0 };
    let predicate = t.predicates.len() / PREDICATE_RECORD;
    let run = |anchored, regexes, literals, source: Option<String>| Run {
        predicate,
        rule,
        field: p.field,
        literal: source.is_none(),
        anchored,
        regexes,
        literals,
        source,
        origin: p.origin.clone(),
    };
    let (a, b, weight) = match p.op.operands() {
        Operands::None => expect_none(p).map(|()| (0, 0, 0))?,
        Operands::Immediate => (0, expect_int(p)?, 0),
        Operands::Pattern => {
            let text = expect_one_str(p)?;
            let regex = pattern_text(p, text);
            check_pattern(&regex).map_err(|why| CompileErrorKind::Pattern(text.to_owned(), why))?;
            let anchored = starts_anchored(&regex);
            t.runs.push(run(
                anchored,
                vec![regex],
                Vec::new(),
                Some(text.to_owned()),
            ));
            (0, 0, 0)
        }
        Operands::Strings { min, max } => {
            let (a, b, weight, folded) = strings(t, p, min, max)?;
            if let Some(literals) = literal_patterns(p.op, &folded) {
                t.runs.push(run(false, Vec::new(), literals, None));
            }
            (a, b, weight)
        }
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

/// Stores a string predicate's operands; returns its first operand, operand count and weight,
/// and the folded operand texts.
fn strings(
    t: &mut Tables,
    p: &Predicate,
    min: usize,
    max: usize,
) -> Result<(u32, u64, u32, Vec<String>), CompileErrorKind> {
    if !(min..=max).contains(&p.operands.len()) {
        return Err(CompileErrorKind::Operands(
            p.op,
            format!("takes {min} to {max} strings, got {}", p.operands.len()),
        ));
    }
    let first = (t.operands.len() / OPERAND_RECORD) as u32;
    let mut weight = 0u32;
    let mut folded = Vec::with_capacity(p.operands.len());
    for operand in &p.operands {
        let Operand::Str(s) = operand else {
            return Err(CompileErrorKind::Operands(p.op, "takes strings".into()));
        };
        let (start, units, text) = t.operand(s)?;
        t.operands.extend_from_slice(&start.to_le_bytes());
        t.operands.extend_from_slice(&units.to_le_bytes());
        weight = weight.saturating_add(units);
        folded.push(text);
    }
    Ok((first, p.operands.len() as u64, weight, folded))
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

/// One compiled automaton: the field it scans and how, the runs it holds in pattern order
/// (indices into [`Tables::runs`]), what a scan reports for each pattern (its rule-index slot
/// less the automaton's first), how many slots it takes, and its serialized form.
struct Built {
    field: usize,
    form: Form,
    runs: Vec<usize>,
    reported: Vec<u32>,
    slots: usize,
    bytes: Vec<u8>,
}

/// Runs tried together in the first automaton of a group; later automata start from the run
/// count of the one before.
const FIRST_GUESS: usize = 64;

/// Compiles every run into automata: one group of runs per field, kind (literal or not) and, for
/// globs and regexes, anchoring; each group packed into as many automata as it needs (DFAs of
/// at most `layout.dfa_bytes` each, dictionaries of at most 65,536 operands).
/// Groups are built in parallel; the automata come out in group order. Returns them with the
/// number of literal runs [`fit`] left without one.
fn build_automata(
    t: &Tables,
    content: &Content,
    template: &schema::TemplateType,
    layout: Layout,
) -> Result<(Vec<Built>, usize), CompileError> {
    let field_name = |field: usize| template.field(field).map_or("?", |f| f.name);
    let mut built = Vec::new();
    for packed in in_parallel(&groups(&t.runs), |group| pack(t, group, layout)) {
        built.extend(packed.map_err(|(run, why)| {
            let run = &t.runs[run];
            let pattern = run.source.as_deref().unwrap_or_default();
            CompileError {
                origin: run.origin.clone(),
                rule: content.rules.get(run.rule).map(|r| r.id.clone()),
                kind: CompileErrorKind::AutomatonTooLarge(
                    field_name(run.field).to_owned(),
                    format!("pattern {pattern:?} alone: {why}"),
                ),
            }
        })?);
    }
    let (built, direct) = fit(built, automata_budget(t));
    check_automata(&built, field_name)?;
    Ok((built, direct))
}

/// Bytes the automata may take: the file's cap less everything else in it, with the triggers
/// section at its largest (every rule unindexed and listed under every pattern slot once).
fn automata_budget(t: &Tables) -> usize {
    let rules = t.rules.len() / RULE_RECORD;
    let slots: usize = t.runs.iter().map(|r| r.patterns()).sum();
    let triggers = 16 + 4 * (rules + 2 * slots + 1);
    let tables = t.rules.len()
        + t.predicates.len()
        + t.operands.len()
        + t.program.len()
        + t.strings.len()
        + t.fields.count_ones() as usize * 4;
    let fixed = HEADER_LEN + DIRECTORY_LEN + 8 * SECTION_ALIGN + AUTOMATA_HEADER;
    limits::MAX_FILE_BYTES.saturating_sub(fixed + tables + triggers)
}

/// Keeps every DFA (globs and regexes have no other test) and, in order, the dictionaries that
/// still fit [`limits::MAX_AUTOMATA`] and `budget` bytes; the literal runs of the dictionaries
/// left out stay direct. Returns the automata kept and how many runs were left
/// out.
fn fit(built: Vec<Built>, budget: usize) -> (Vec<Built>, usize) {
    let raw = built.iter().filter(|a| a.form == Form::Dfa).count();
    let raw_bytes: usize = built
        .iter()
        .filter(|a| a.form == Form::Dfa)
        .map(|a| a.bytes.len() + AUTOMATON_ENTRY + SECTION_ALIGN)
        .sum();
    let mut room = (
        limits::MAX_AUTOMATA.saturating_sub(raw),
        budget.saturating_sub(raw_bytes),
    );
    let mut direct = 0;
    let mut kept = Vec::with_capacity(built.len());
    for automaton in built {
        let size = automaton.bytes.len() + AUTOMATON_ENTRY + SECTION_ALIGN;
        if automaton.form == Form::Dfa {
            kept.push(automaton);
        } else if room.0 > 0 && size <= room.1 {
            room = (room.0 - 1, room.1 - size);
            kept.push(automaton);
        } else {
            direct += automaton.runs.len();
        }
    }
    (kept, direct)
}

/// `f` applied to every item, on as many threads as the machine runs at once; results in item
/// order.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The runs grouped by field, kind and anchoring, groups in order of their first run. A field's
/// literal runs make one group, in rule order, since a dictionary grows only with their length.
/// A glob or regex group's runs are sorted by their patterns so that patterns sharing a prefix
/// share a DFA, and anchored and unanchored patterns go apart: a DFA whose patterns all start
/// with `^` needs no unanchored prefix and stays about the size of a trie of its patterns,
/// while mixed with unanchored patterns the same patterns cost many times the states and the
/// build time.
fn groups(runs: &[Run]) -> Vec<Vec<usize>> {
    let mut keys: Vec<(usize, bool, bool)> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let key = (run.field, run.literal, run.anchored);
        match keys.iter().position(|k| *k == key) {
            Some(g) => groups[g].push(index),
            None => {
                keys.push(key);
                groups.push(vec![index]);
            }
        }
    }
    for group in groups.iter_mut().filter(|g| !runs[g[0]].literal) {
        group.sort_by(|&a, &b| runs[a].regexes.cmp(&runs[b].regexes));
    }
    groups
}

/// Packs `group` (the runs of one group, in their order) into automata: literal runs into
/// dictionaries ([`pack_literals`]), globs and regexes into consecutive DFAs of at most
/// `layout.dfa_bytes`, each holding as many runs as [`largest_chunk`] finds. A glob or regex
/// that does not fit alone is an error: the run and why.
fn pack(t: &Tables, group: &[usize], layout: Layout) -> Result<Vec<Built>, (usize, String)> {
    if t.runs[group[0]].literal {
        return Ok(pack_literals(t, group, layout.dense_bytes));
    }
    let limit = layout.dfa_bytes;
    let mut out = Vec::new();
    let mut guess = FIRST_GUESS;
    let mut rest = group;
    while let [first, ..] = rest {
        match largest_chunk(t, rest, limit, guess) {
            Ok((n, bytes)) => {
                let run = &t.runs[*first];
                let patterns = patterns(t, &rest[..n]);
                out.push(Built {
                    field: run.field,
                    form: Form::Dfa,
                    runs: rest[..n].to_vec(),
                    reported: (0..patterns as u32).collect(),
                    slots: patterns,
                    bytes,
                });
                guess = n;
                rest = &rest[n..];
            }
            Err(why) if t.runs[*first].source.is_some() => return Err((*first, why)),
            Err(_) => rest = &rest[1..],
        }
    }
    Ok(out)
}

/// Packs a group of literal runs into dictionaries of at most
/// [`limits::MAX_PATTERNS_PER_AUTOMATON`] patterns each, with at most `dense_bytes` of dense
/// rows.
fn pack_literals(t: &Tables, group: &[usize], dense_bytes: usize) -> Vec<Built> {
    let mut out = Vec::new();
    let mut rest = group;
    while let [first, ..] = rest {
        let n = pattern_cap(t, rest);
        let literals: Vec<Literal> = rest[..n]
            .iter()
            .flat_map(|&r| t.runs[r].literals.iter().cloned())
            .collect();
        let built = dictionary::build_with(&literals, dense_bytes)
            .expect("literal runs hold non-empty patterns of at most 65,536 distinct units");
        out.push(Built {
            field: t.runs[*first].field,
            form: Form::Dictionary,
            runs: rest[..n].to_vec(),
            slots: built.keys.iter().max().map_or(0, |&k| k as usize + 1),
            reported: built.keys,
            bytes: built.bytes,
        });
        rest = &rest[n..];
    }
    out
}

/// Total patterns of some runs.
fn patterns(t: &Tables, runs: &[usize]) -> usize {
    runs.iter().map(|&r| t.runs[r].patterns()).sum()
}

/// The longest prefix of `runs` found to build within `limit` bytes, as a run count and the
/// serialized DFA, or why the first run alone does not. Starts from `guess` runs, grows the
/// count in proportion to the room a build leaves and shrinks it after a failure, and stops at
/// a build three quarters full, or at a fitting build at least half full once a longer one
/// failed; so each automaton takes few builds, and a group of like runs mostly one each.
fn largest_chunk(
    t: &Tables,
    runs: &[usize],
    limit: usize,
    guess: usize,
) -> Result<(usize, Vec<u8>), String> {
    let most = pattern_cap(t, runs);
    let mut fits: Option<(usize, Vec<u8>)> = None;
    let mut fails = most + 1;
    let mut n = guess.clamp(1, most);
    loop {
        match build_dfa(t, &runs[..n], limit) {
            Ok(bytes) => {
                let failed = fails <= most;
                if n == most
                    || fails - n == 1
                    || 4 * bytes.len() >= 3 * limit
                    || (failed && 2 * bytes.len() >= limit)
                {
                    return Ok((n, bytes));
                }
                let room = n.saturating_mul(limit / 10 * 9) / bytes.len().max(1);
                let next = room.clamp(n + 1, 4 * n).min(fails - 1);
                fits = Some((n, bytes));
                n = next;
            }
            Err(why) => {
                fails = n;
                n = match fits {
                    None if n == 1 => return Err(why),
                    None => n * 2 / 3,
                    Some((lo, bytes)) if 2 * bytes.len() >= limit || fails - lo == 1 => {
                        return Ok((lo, bytes))
                    }
                    Some((lo, _)) => lo + (fails - lo) / 2,
                };
            }
        }
    }
}

/// How many leading `runs` fit the format's cap on patterns per automaton (at least one: a run
/// has at most [`limits::MAX_PREDICATE_OPERANDS`] patterns).
fn pattern_cap(t: &Tables, runs: &[usize]) -> usize {
    let mut total = 0;
    runs.iter()
        .take_while(|&&r| {
            total += t.runs[r].patterns();
            total <= limits::MAX_PATTERNS_PER_AUTOMATON
        })
        .count()
        .max(1)
}

/// Refuses more automata, or more patterns in all, than the format allows.
fn check_automata(
    built: &[Built],
    field_name: impl Fn(usize) -> &'static str,
) -> Result<(), CompileError> {
    let error = |kind| CompileError {
        origin: Origin::default(),
        rule: None,
        kind,
    };
    if built.len() > limits::MAX_AUTOMATA {
        let mut counts: Vec<((usize, Form), usize)> = Vec::new();
        for a in built {
            match counts.iter_mut().find(|(key, _)| *key == (a.field, a.form)) {
                Some((_, n)) => *n += 1,
                None => counts.push(((a.field, a.form), 1)),
            }
        }
        let fields: Vec<String> = counts
            .iter()
            .map(|((field, form), n)| {
                let kind = match form {
                    Form::Dfa => "DFA",
                    Form::Dictionary => "dictionary",
                };
                format!("{n} for field {} {kind}", field_name(*field))
            })
            .collect();
        return Err(error(CompileErrorKind::TooManyAutomata(
            built.len(),
            fields.join(", "),
        )));
    }
    let patterns: usize = built.iter().map(|a| a.slots).sum();
    if patterns > limits::MAX_PATTERNS {
        return Err(error(CompileErrorKind::TooLarge(
            "automaton patterns",
            patterns,
            limits::MAX_PATTERNS,
        )));
    }
    Ok(())
}

/// Points each predicate an automaton tests at the automaton (its index + 1) and its first
/// pattern there, and returns every predicate's rule-index slots (what the automata report,
/// numbered across the automata in order), `None` for predicates no automaton tests.
fn place_predicates(t: &mut Tables, automata: &[Built]) -> Vec<Option<Vec<u32>>> {
    let mut slots = vec![None; t.predicates.len() / PREDICATE_RECORD];
    let mut base = 0u32;
    for (index, automaton) in automata.iter().enumerate() {
        let mut pattern = 0usize;
        for &r in &automaton.runs {
            let run = &t.runs[r];
            let count = run.patterns();
            let at = run.predicate * PREDICATE_RECORD;
            let record = &mut t.predicates[at..at + PREDICATE_RECORD];
            record[3] = (index + 1) as u8;
            record[20..24].copy_from_slice(&(pattern as u32).to_le_bytes());
            let reported = &automaton.reported[pattern..pattern + count];
            slots[run.predicate] = Some(reported.iter().map(|&k| base + k).collect());
            pattern += count;
        }
        base += automaton.slots as u32;
    }
    slots
}

/// Serializes the DFA for the patterns of `group`, or says why it cannot be built in `limit`
/// bytes.
fn build_dfa(t: &Tables, group: &[usize], limit: usize) -> Result<Vec<u8>, String> {
    let patterns: Vec<&str> = group
        .iter()
        .flat_map(|&r| t.runs[r].regexes.iter().map(String::as_str))
        .collect();
    let dfa = dense::Builder::new()
        .configure(dfa_config(limit).match_kind(MatchKind::All))
        .syntax(syntax_config())
        .build_many(&patterns)
        .map_err(|e| e.to_string())?;
    let (bytes, pad) = dfa.to_bytes_little_endian();
    let bytes = &bytes[pad..];
    if bytes.len() > limit {
        return Err(format!(
            "the DFA takes {} bytes; at most {limit} are allowed",
            bytes.len()
        ));
    }
    Ok(bytes.to_vec())
}

/// The DFA configuration every automaton is built with, for at most `limit` bytes.
fn dfa_config(limit: usize) -> dense::Config {
    dense::DFA::config()
        .start_kind(StartKind::Unanchored)
        .dfa_size_limit(Some(limit))
        .determinize_size_limit(Some(4 * limit))
}

/// Whether every match of `regex` starts at the start of the input (as the DFA builder decides
/// whether it needs an unanchored prefix).
fn starts_anchored(regex: &str) -> bool {
    syntax::parse_with(regex, &syntax_config()).is_ok_and(|hir| {
        hir.properties()
            .look_set_prefix()
            .contains(regex_syntax::hir::Look::Start)
    })
}

/// The syntax every pattern is parsed with.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().utf8(true)
}

/// Builds one glob or regex alone, so an error names the pattern rather than the whole field.
fn check_pattern(regex: &str) -> Result<(), String> {
    dense::Builder::new()
        .configure(dfa_config(MAX_DFA_BYTES))
        .syntax(syntax_config())
        .build(regex)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The pattern slots under which a predicate must list its rule for the loader to know the
/// predicate false when none of them fired: all of its patterns, or with the `all` flag its first
/// one. `None` when no slots can: no automaton tests the predicate, or it is negated.
fn predicate_slots(flags: u8, slots: Option<Vec<u32>>) -> Option<Vec<u32>> {
    let mut slots = slots?;
    if flags & NEGATE != 0 {
        None
    } else if flags & ALL != 0 {
        Some(slots.into_iter().take(1).collect())
    } else {
        slots.sort_unstable();
        slots.dedup();
        Some(slots)
    }
}

/// The slots under which a rule with condition `expr` must be listed so that it cannot match
/// when none of them fired, or `None` when there are none (the rule runs on every event).
/// `needed` holds [`predicate_slots`] for each of the rule's predicates. It follows the
/// loader's three-valued evaluation of the program [`emit`] writes for `expr`: `and` needs one
/// false operand (the one with the fewest slots), `or` all of them, `not` turns false into true,
/// so only a double negation keeps them.
fn required(expr: &Expr, needed: &[Option<Vec<u32>>]) -> Option<Vec<u32>> {
    match expr {
        Expr::Pred(i) => needed.get(*i).cloned().flatten(),
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Not(x) => required(x, needed),
            _ => None,
        },
        Expr::And(items) => items
            .iter()
            .filter_map(|x| required(x, needed))
            .min_by_key(Vec::len),
        Expr::Or(items) => {
            let mut all = items
                .iter()
                .map(|x| required(x, needed))
                .collect::<Option<Vec<_>>>()?
                .concat();
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
    }
}

/// Every rule's slots ([`required`]), given every predicate's slots from [`place_predicates`].
fn rule_index(content: &Content, t: &Tables, slots: &[Option<Vec<u32>>]) -> Vec<Option<Vec<u32>>> {
    let needed: Vec<Option<Vec<u32>>> = t
        .predicates
        .chunks_exact(PREDICATE_RECORD)
        .zip(slots)
        .map(|(record, slots)| predicate_slots(record[2], slots.clone()))
        .collect();
    let mut first = 0;
    content
        .rules
        .iter()
        .map(|rule| {
            let own = &needed[first..first + rule.predicates.len()];
            first += rule.predicates.len();
            required(&rule.condition, own)
        })
        .collect()
}

/// The triggers section for `index` (each rule's slots, `None` for unindexed rules) over
/// `slots` pattern slots: the counts, the unindexed rules, the slot starts, then each slot's
/// rules, all ascending.
fn triggers_section(index: &[Option<Vec<u32>>], slots: usize) -> Vec<u8> {
    let unindexed: Vec<u32> = (0..index.len() as u32)
        .filter(|&r| index[r as usize].is_none())
        .collect();
    let mut starts = vec![0u32; slots + 1];
    for &slot in index.iter().flatten().flatten() {
        starts[slot as usize + 1] += 1;
    }
    for s in 0..slots {
        starts[s + 1] += starts[s];
    }
    let mut next = starts.clone();
    let mut entries = vec![0u32; starts[slots] as usize];
    for (rule, listed) in index.iter().enumerate() {
        for &slot in listed.iter().flatten() {
            entries[next[slot as usize] as usize] = rule as u32;
            next[slot as usize] += 1;
        }
    }
    let counts = [
        unindexed.len() as u32,
        slots as u32,
        entries.len() as u32,
        0,
    ];
    [&counts[..], &unindexed, &starts, &entries]
        .concat()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
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
        let flags = match a.form {
            Form::Dfa => AUTOMATON_DFA,
            Form::Dictionary => AUTOMATON_DICTIONARY,
        };
        for word in [start as u32, a.bytes.len() as u32, a.field as u32, flags] {
            section.extend_from_slice(&word.to_le_bytes());
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

fn assemble(content: &Content, t: &Tables, automata: &[Built], triggers: Vec<u8>) -> Vec<u8> {
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
        triggers,
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

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use sensor_core::automaton::Automaton;
    use sensor_core::channel::ChannelFile;
    use sensor_core::error::Section;
    use sensor_core::fold::Meter;
    use sensor_core::op::{Action, Level};
    use sensor_core::schema::{ipc, IPC};

    use super::*;
    use crate::content::ContentBuf;

    fn pred(field: usize, op: Operator, operands: &[&str]) -> Predicate {
        Predicate {
            field,
            op,
            negate: false,
            all: false,
            operands: operands
                .iter()
                .map(|s| Operand::Str(s.to_string()))
                .collect(),
            case_insensitive: false,
            origin: Origin::default(),
        }
    }

    fn pipe(op: Operator, operands: &[&str]) -> Predicate {
        pred(ipc::PIPE_NAME, op, operands)
    }

    fn number(value: u64) -> Predicate {
        Predicate {
            operands: vec![Operand::Int(value)],
            ..pred(ipc::PROCESS_ID, Operator::NumEquals, &[])
        }
    }

    fn rule(id: &str, predicates: Vec<Predicate>, condition: Expr) -> Rule {
        Rule {
            id: id.to_owned(),
            title: format!("{id} title"),
            author: String::new(),
            level: Level::High,
            action: Action::Alert,
            predicates,
            condition,
            origin: Origin::default(),
        }
    }

    /// A rule whose condition is all of its predicates.
    fn all_of(id: &str, predicates: Vec<Predicate>) -> Rule {
        let condition = Expr::And((0..predicates.len()).map(Expr::Pred).collect());
        rule(id, predicates, condition)
    }

    fn content(rules: Vec<Rule>) -> Content {
        Content {
            channel: 291,
            version: 1,
            template_id: IPC.id,
            template_version: IPC.version,
            rules,
        }
    }

    fn not(x: Expr) -> Expr {
        Expr::Not(Box::new(x))
    }

    fn built(rules: Vec<Rule>) -> ContentBuf {
        ContentBuf::new(&compile(&content(rules)).expect("compiles"))
    }

    fn parse(buf: &ContentBuf) -> ChannelFile<'_> {
        ChannelFile::parse(buf.as_bytes()).expect("parses")
    }

    /// Every automaton, loaded as the core loads it, with its first slot.
    fn automata<'a>(file: &ChannelFile<'a>) -> Vec<Automaton<'a>> {
        let mut base = 0;
        (0..file.automaton_count().expect("a count"))
            .map(|a| {
                let entry = file.automaton_entry(a).expect("an entry");
                let bytes = file.automaton_bytes(entry).expect("in the section");
                let form = match entry.flags {
                    AUTOMATON_DFA => Form::Dfa,
                    AUTOMATON_DICTIONARY => Form::Dictionary,
                    other => panic!("flags {other}"),
                };
                let automaton =
                    Automaton::load(bytes, entry.field as u8, form, base).expect("loads");
                base += automaton.slots() as u32;
                automaton
            })
            .collect()
    }

    /// Every automaton's slot count, in order.
    fn slot_counts(file: &ChannelFile<'_>) -> Vec<usize> {
        automata(file).iter().map(Automaton::slots).collect()
    }

    /// What automaton `automaton` reports for `input`, each once, in order.
    fn fired(file: &ChannelFile<'_>, automaton: usize, input: &str) -> Vec<usize> {
        let automata = automata(file);
        let units: Vec<u16> = input.encode_utf16().collect();
        let mut found = Vec::new();
        automata[automaton].scan(&units, &mut Meter::default(), |k| {
            found.push(k);
            ControlFlow::Continue(())
        });
        found.sort_unstable();
        found.dedup();
        found
    }

    /// What predicate `predicate`'s automaton reports when its pattern `k` matches.
    fn reported(file: &ChannelFile<'_>, predicate: usize, k: usize) -> usize {
        let record = file.predicate(predicate).expect("a predicate");
        let automaton = &automata(file)[usize::from(record.automaton) - 1];
        let slot = automaton.slot(record.pattern as usize + k).expect("a slot");
        (slot - automaton.base()) as usize
    }

    /// The triggers section, decoded: the unindexed rules, and each slot's rules.
    fn index(file: &ChannelFile<'_>) -> (Vec<u32>, Vec<Vec<u32>>) {
        let header = file.triggers_header().expect("an index");
        let word = |i: usize| file.trigger_word(i).expect("a word");
        let (u, p) = (header.unindexed as usize, header.slots as usize);
        let unindexed = (0..u).map(word).collect();
        let starts: Vec<usize> = (u..=u + p).map(|i| word(i) as usize).collect();
        let slots = starts
            .windows(2)
            .map(|s| (s[0]..s[1]).map(|e| word(u + p + 1 + e)).collect())
            .collect();
        (unindexed, slots)
    }

    /// The slots rule `rule` is listed under, or `None` if it is unindexed.
    fn listed(file: &ChannelFile<'_>, rule: u32) -> Option<Vec<u32>> {
        let (unindexed, slots) = index(file);
        if unindexed.contains(&rule) {
            return None;
        }
        Some(
            (0..slots.len() as u32)
                .filter(|&s| slots[s as usize].contains(&rule))
                .collect(),
        )
    }

    /// The slots of a predicate's first `n` patterns, ascending, each once.
    fn slots_of(file: &ChannelFile<'_>, predicate: usize, n: usize) -> Vec<u32> {
        let record = file.predicate(predicate).expect("a predicate");
        let automaton = &automata(file)[usize::from(record.automaton) - 1];
        let mut slots: Vec<u32> = (0..n)
            .map(|k| automaton.slot(record.pattern as usize + k).expect("a slot"))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// The loader's soundness check: every indexed rule's program is false, in three-valued
    /// logic, when none of the slots it is listed under fired.
    fn assert_sound(file: &ChannelFile<'_>) {
        let automata = automata(file);
        let (unindexed, slots) = index(file);
        for r in 0..file.count(Section::Rules) as u32 {
            if unindexed.contains(&r) {
                continue;
            }
            let listed = |slot: usize| slots[slot].contains(&r);
            let value = |n: u32| -> Option<bool> {
                let p = file.predicate(n as usize)?;
                if p.automaton == 0 || p.flags & NEGATE != 0 {
                    return None;
                }
                let automaton = &automata[usize::from(p.automaton) - 1];
                let count = if p.op == Operator::Glob as u8 || p.op == Operator::Regex as u8 {
                    1
                } else {
                    p.b as usize
                };
                let mut patterns = (0..count).map(|k| {
                    let slot = automaton.slot(p.pattern as usize + k).expect("a slot");
                    listed(slot as usize)
                });
                let known = if p.flags & ALL != 0 {
                    patterns.any(|hit| hit)
                } else {
                    patterns.all(|hit| hit)
                };
                if known {
                    Some(false)
                } else {
                    None
                }
            };
            let record = file.rule(r as usize).expect("a rule");
            let mut stack: Vec<Option<bool>> = Vec::new();
            for pc in record.program_start..record.program_start + record.program_len {
                let word = file.instruction(pc as usize).expect("an instruction");
                match Instruction::decode(word).expect("valid") {
                    Instruction::Pred(n) => stack.push(value(n)),
                    Instruction::Const(b) => stack.push(Some(b)),
                    Instruction::Not => {
                        let top = stack.pop().expect("an operand");
                        stack.push(top.map(|b| !b));
                    }
                    Instruction::And(n) | Instruction::Or(n) => {
                        let and = matches!(Instruction::decode(word), Ok(Instruction::And(_)));
                        let args = stack.split_off(stack.len() - n as usize);
                        let value = if args.contains(&Some(!and)) {
                            Some(!and)
                        } else if args.iter().all(|a| *a == Some(and)) {
                            Some(and)
                        } else {
                            None
                        };
                        stack.push(value);
                    }
                }
            }
            assert_eq!(stack, [Some(false)], "rule {r} is indexed but not sound");
        }
    }

    #[test]
    fn literal_predicates_share_their_fields_dictionary() {
        let buf = built(vec![
            all_of(
                "A",
                vec![pipe(Operator::Equals, &["\\psexesvc", "\\Other"])],
            ),
            all_of("B", vec![pipe(Operator::BeginsWith, &["\\postex_"])]),
            all_of("C", vec![pipe(Operator::Contains, &["\\PSEXESVC"])]),
        ]);
        let file = parse(&buf);
        let equals = file.predicate(0).expect("predicate 0");
        assert_ne!(equals.automaton, 0);
        assert_eq!((equals.a, equals.b), (0, 2), "operands stay in the table");
        assert_eq!(equals.weight, 15);
        let automaton = usize::from(equals.automaton) - 1;
        let entry = file.automaton_entry(automaton).expect("an entry");
        assert_eq!(entry.flags, AUTOMATON_DICTIONARY);
        assert_eq!(entry.field, ipc::PIPE_NAME as u32);
        for p in [1, 2] {
            let record = file.predicate(p).expect("a predicate");
            assert_eq!(record.automaton, equals.automaton, "one dictionary a field");
        }
        let (psexesvc, other) = (reported(&file, 0, 0), reported(&file, 0, 1));
        let (postex, contains) = (reported(&file, 1, 0), reported(&file, 2, 0));
        assert_eq!(fired(&file, automaton, "\\PSEXESVC"), {
            let mut both = vec![psexesvc, contains];
            both.sort_unstable();
            both
        });
        assert_eq!(fired(&file, automaton, "\\OTHER"), [other]);
        assert_eq!(fired(&file, automaton, "\\PSEXESVC2"), [contains]);
        assert_eq!(fired(&file, automaton, "\\Postex_1234"), [postex]);
    }

    #[test]
    fn operands_shared_by_rules_share_a_slot() {
        let buf = built(vec![
            all_of("A", vec![pipe(Operator::Contains, &["\\coerced\\", "x"])]),
            all_of("B", vec![pipe(Operator::Contains, &["\\COERCED\\"])]),
            all_of("C", vec![pipe(Operator::EndsWith, &["\\coerced\\"])]),
        ]);
        let file = parse(&buf);
        assert_eq!(reported(&file, 0, 0), reported(&file, 1, 0));
        assert_ne!(
            reported(&file, 0, 0),
            reported(&file, 2, 0),
            "another placement"
        );
        assert_eq!(slot_counts(&file), [3]);
        assert_eq!(listed(&file, 0), Some(slots_of(&file, 0, 2)));
        assert_eq!(listed(&file, 1), Some(slots_of(&file, 1, 1)));
        assert_sound(&file);
    }

    #[test]
    fn literal_shapes_match_as_the_operators_do() {
        let shapes = [
            (
                Operator::Equals,
                "a.b",
                &["A.B"][..],
                &["xa.b", "a.bx", "aXb"][..],
            ),
            (
                Operator::BeginsWith,
                "a.b",
                &["a.b", "A.Bc"],
                &["xa.b", "axb"],
            ),
            (
                Operator::EndsWith,
                "a.b",
                &["a.b", "xA.B"],
                &["a.bx", "axb"],
            ),
            (Operator::Contains, "a.b", &["a.b", "xA.Bx"], &["axb", "a."]),
            (
                Operator::Image,
                "cmd.exe",
                &["cmd.exe", "C:\\Windows\\CMD.EXE"],
                &["xcmd.exe", "C:\\cmd.exe\\x"],
            ),
            (
                Operator::Image,
                "c:\\windows\\cmd.exe",
                &["C:\\Windows\\cmd.exe"],
                &["D:\\c:\\windows\\cmd.exe", "cmd.exe"],
            ),
        ];
        for (op, operand, hits, misses) in shapes {
            let buf = built(vec![all_of("R", vec![pipe(op, &[operand])])]);
            let file = parse(&buf);
            let p = file.predicate(0).expect("predicate 0");
            let automaton = usize::from(p.automaton) - 1;
            for hit in hits {
                assert_eq!(fired(&file, automaton, hit), [0], "{op:?} {operand} {hit}");
            }
            assert_eq!(
                file.automaton_entry(automaton).expect("an entry").flags,
                AUTOMATON_DICTIONARY
            );
            for miss in misses {
                assert!(
                    fired(&file, automaton, miss).is_empty(),
                    "{op:?} {operand} {miss}"
                );
            }
        }
    }

    #[test]
    fn globs_and_regexes_get_raw_automata() {
        let regex = Predicate {
            case_insensitive: true,
            ..pipe(Operator::Regex, &["msrpc_[0-9a-f]{4}"])
        };
        let buf = built(vec![
            all_of("A", vec![pipe(Operator::Contains, &["\\pipe\\"])]),
            all_of("B", vec![pipe(Operator::Glob, &["\\MSSE-*-server"]), regex]),
        ]);
        let file = parse(&buf);
        for index in [1, 2] {
            let p = file.predicate(index).expect("a predicate");
            assert_ne!(p.automaton, 0);
            assert_eq!((p.a, p.b, p.weight), (0, 0, 0));
            let automaton = usize::from(p.automaton) - 1;
            assert_eq!(
                file.automaton_entry(automaton).expect("entry").flags,
                AUTOMATON_DFA
            );
        }
        let glob = file.predicate(1).expect("the glob");
        let automaton = usize::from(glob.automaton) - 1;
        assert_eq!(
            fired(&file, automaton, "\\msse-1234-server"),
            [glob.pattern as usize],
            "globs match case-insensitively on the raw input"
        );
        let regex = file.predicate(2).expect("the regex");
        let automaton = usize::from(regex.automaton) - 1;
        assert!(fired(&file, automaton, "\\MSRPC_0a1f").contains(&(regex.pattern as usize)));
    }

    #[test]
    fn some_literal_predicates_stay_direct() {
        let buf = built(vec![
            all_of("A", vec![pipe(Operator::Equals, &["", "c"])]),
            all_of("B", vec![pipe(Operator::LessThan, &["m"])]),
            all_of("C", vec![pipe(Operator::Contains, &["d"])]),
        ]);
        let file = parse(&buf);
        for index in [0, 1] {
            let p = file.predicate(index).expect("a predicate");
            assert_eq!((p.automaton, p.pattern), (0, 0));
        }
        assert_eq!(file.predicate(0).expect("A").b, 2);
        assert_eq!(slot_counts(&file), [1]);
        assert_eq!(listed(&file, 0), None);
        assert_eq!(listed(&file, 1), None);
        assert_eq!(listed(&file, 2), Some(vec![0]));
    }

    #[test]
    fn rules_are_indexed_under_their_fewest_required_patterns() {
        let a = |n: usize| {
            let operands: Vec<String> = (0..n).map(|i| format!("\\a{i}")).collect();
            let operands: Vec<&str> = operands.iter().map(String::as_str).collect();
            pipe(Operator::BeginsWith, &operands)
        };
        let b = pipe(Operator::Contains, &["\\b"]);
        let c = pipe(Operator::EndsWith, &["\\c"]);
        let a_and_b_or_c = Expr::And(vec![
            Expr::Pred(0),
            Expr::Or(vec![Expr::Pred(1), Expr::Pred(2)]),
        ]);
        let contains_all = Predicate {
            all: true,
            ..pipe(Operator::Contains, &["x", "y", "z"])
        };
        let negated = Predicate {
            negate: true,
            ..pipe(Operator::Contains, &["n"])
        };
        let buf = built(vec![
            rule(
                "small-a",
                vec![a(1), b.clone(), c.clone()],
                a_and_b_or_c.clone(),
            ),
            rule("large-a", vec![a(3), b.clone(), c.clone()], a_and_b_or_c),
            rule("not", vec![b.clone()], not(Expr::Pred(0))),
            rule("not-not", vec![b.clone()], not(not(Expr::Pred(0)))),
            all_of("all", vec![contains_all]),
            all_of("negated", vec![negated]),
            rule(
                "or-with-direct",
                vec![b.clone(), number(4)],
                Expr::Or(vec![Expr::Pred(0), Expr::Pred(1)]),
            ),
            rule(
                "and-with-direct",
                vec![number(4), c],
                Expr::And(vec![Expr::Pred(0), Expr::Pred(1)]),
            ),
            rule("never", vec![b], Expr::Or(vec![])),
        ]);
        let file = parse(&buf);
        let slots = |predicate: usize, n: usize| slots_of(&file, predicate, n);
        assert_eq!(listed(&file, 0), Some(slots(0, 1)), "a alone is smaller");
        let mut b_or_c = [slots(4, 1), slots(5, 1)].concat();
        assert_eq!(slots(4, 1), slots(1, 1), "b is one key in every rule");
        b_or_c.sort_unstable();
        assert_eq!(listed(&file, 1), Some(b_or_c), "b or c is smaller");
        assert_eq!(listed(&file, 2), None, "not x is unindexed");
        assert_eq!(listed(&file, 3), Some(slots(7, 1)), "not not x is x");
        assert_eq!(
            listed(&file, 4),
            Some(slots(8, 1)),
            "contains all: one slot"
        );
        assert_eq!(listed(&file, 5), None, "negated");
        assert_eq!(listed(&file, 6), None, "or with a direct predicate");
        assert_eq!(
            listed(&file, 7),
            Some(slots(13, 1)),
            "and with a direct one"
        );
        assert_eq!(listed(&file, 8), Some(vec![]), "or() never matches");
        assert_sound(&file);
    }

    #[test]
    fn the_triggers_section_has_the_specified_shape() {
        let rules = crate::bench::generate::generate(40, 291).rules;
        let buf = built(rules);
        let file = parse(&buf);
        let header = file.triggers_header().expect("an index");
        let counts = slot_counts(&file);
        assert_eq!(header.slots as usize, counts.iter().sum::<usize>());
        assert_eq!(header.reserved, 0);
        let words = (header.unindexed + header.slots + 1 + header.entries) as usize;
        assert_eq!(file.trigger_words(), words);
        let (unindexed, slots) = index(&file);
        assert!(unindexed.windows(2).all(|w| w[0] < w[1]));
        for listed in &slots {
            assert!(listed.windows(2).all(|w| w[0] < w[1]));
        }
        assert_eq!(
            slots.iter().map(Vec::len).sum::<usize>(),
            header.entries as usize
        );
        assert_sound(&file);
    }

    #[test]
    fn builtin_rules_are_indexed_soundly() {
        let rules = crate::source::parse(crate::builtin::DEFAULT_RULES, "default.toml")
            .expect("parses")
            .rules;
        assert_sound(&parse(&built(rules)));
    }

    #[test]
    fn no_automata_no_index() {
        let buf = built(vec![all_of("N", vec![number(4)])]);
        let file = parse(&buf);
        assert_eq!(file.section_offset(Section::Fields), 128);
        assert_eq!(file.automaton_count(), Some(0));
        assert_eq!(file.triggers_header(), None);
        assert_eq!(file.trigger_words(), 0);
    }

    /// The default layout with DFAs of at most `dfa_bytes`.
    fn limit_of(dfa_bytes: usize) -> Layout {
        Layout {
            dfa_bytes,
            ..Layout::default()
        }
    }

    /// Rules with one glob each, on distinct text.
    fn many_globs(rules: usize) -> Content {
        content(
            (0..rules)
                .map(|i| {
                    let glob = format!("\\x-{i:04x}{}*", ["alpha", "beta", "gamma"][i % 3]);
                    all_of(&format!("G{i}"), vec![pipe(Operator::Glob, &[&glob])])
                })
                .collect(),
        )
    }

    #[test]
    fn fields_split_over_automata_that_fit_the_limit() {
        let limit = 256 << 10;
        let bytes = compile_with(&many_globs(200), limit_of(limit))
            .expect("compiles")
            .bytes;
        let buf = ContentBuf::new(&bytes);
        let file = parse(&buf);
        let counts = slot_counts(&file);
        assert!(counts.len() > 1, "one automaton: {counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), 200);
        for a in 0..counts.len() {
            let entry = file.automaton_entry(a).expect("an entry");
            assert!(entry.len as usize <= limit);
            assert_eq!(entry.flags, AUTOMATON_DFA);
        }
        for i in [0, 77, 199] {
            let record = file.predicate(i).expect("a predicate");
            assert_ne!(record.automaton, 0);
            let automaton = usize::from(record.automaton) - 1;
            let text = format!("\\x-{i:04x}{}", ["alpha", "beta", "gamma"][i % 3]);
            assert_eq!(fired(&file, automaton, &text), [record.pattern as usize]);
        }
        assert_sound(&file);
    }

    /// A stand-in for a built automaton of `form` and `bytes` bytes holding one run.
    fn stand_in(form: Form, bytes: usize, run: usize) -> Built {
        Built {
            field: ipc::PIPE_NAME,
            form,
            runs: vec![run],
            reported: vec![0],
            slots: 1,
            bytes: vec![0; bytes],
        }
    }

    #[test]
    fn dictionaries_past_the_budget_stay_direct() {
        let built = vec![
            stand_in(Form::Dfa, 1000, 0),
            stand_in(Form::Dictionary, 500, 1),
            stand_in(Form::Dictionary, 5000, 2),
            stand_in(Form::Dfa, 1000, 3),
            stand_in(Form::Dictionary, 100, 4),
        ];
        let (kept, direct) = fit(built, 3000);
        let runs: Vec<usize> = kept.iter().map(|a| a.runs[0]).collect();
        assert_eq!(
            runs,
            [0, 1, 3, 4],
            "every DFA, and the dictionaries that fit"
        );
        assert_eq!(direct, 1);
    }

    #[test]
    fn literal_predicates_keep_their_dictionary_past_the_dfa_limit() {
        let limit = 8 << 10;
        let long = "\\".to_owned() + &"abcdefghij".repeat(400);
        let bytes = compile_with(
            &content(vec![all_of("L", vec![pipe(Operator::Contains, &[&long])])]),
            limit_of(limit),
        )
        .expect("compiles")
        .bytes;
        let buf = ContentBuf::new(&bytes);
        let file = parse(&buf);
        assert_ne!(file.predicate(0).expect("L").automaton, 0);
        assert!(file.automaton_entry(0).expect("an entry").len as usize > limit);
    }

    #[test]
    fn globs_past_the_automaton_count_are_refused() {
        let globs = content(
            (0..400)
                .map(|i| {
                    let glob = format!("x-{i:04x}{}*", ["alpha", "beta", "gamma"][i % 3]);
                    all_of(&format!("G{i}"), vec![pipe(Operator::Glob, &[&glob])])
                })
                .collect(),
        );
        let error = compile_with(&globs, limit_of(8 << 10)).expect_err("refused");
        let CompileErrorKind::TooManyAutomata(n, fields) = &error.kind else {
            panic!("{error}");
        };
        assert!(*n > limits::MAX_AUTOMATA);
        assert_eq!(fields, &format!("{n} for field pipe_name DFA"));
    }

    #[test]
    fn a_glob_too_large_alone_is_an_error() {
        let limit = 8 << 10;
        let glob = "\\".to_owned() + &"abcdefghij".repeat(40) + "*";
        let error = compile_with(
            &content(vec![all_of("G", vec![pipe(Operator::Glob, &[&glob])])]),
            limit_of(limit),
        )
        .expect_err("a glob needs its automaton");
        assert_eq!(error.rule.as_deref(), Some("G"));
        assert!(
            matches!(&error.kind, CompileErrorKind::AutomatonTooLarge(field, why)
                if field == "pipe_name" && why.contains(&glob)),
            "{error}"
        );
    }
}
