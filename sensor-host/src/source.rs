//! Our own rule source format: one TOML file per channel file.
//!
//! ```toml
//! channel = 291                 # channel number, u32
//! version = 2024030501          # content version, u64
//! template = "ipc"              # template type name
//! template_version = 1          # optional, default: the template's latest version
//!
//! [[rule]]
//! id = "PIPE-0001"              # unique in the file
//! title = "Cobalt Strike default named pipe"
//! author = "Sensor team"        # optional, default ""
//! level = "critical"            # informational | low | medium | high | critical
//! action = "alert"              # optional: log | alert (default) | block
//! condition = "pipe and not browser"  # optional, default: every predicate, ANDed
//!
//! [rule.where]                  # the predicates, by name, in evaluation order
//! pipe = { field = "pipe_name", op = "begins-with", value = ['\postex_', '\status_'] }
//! browser = { field = "image_path", op = "image", value = "chrome.exe" }
//! remote = { field = "remote_client", op = "num-equals", value = 1 }
//! ```
//!
//! A predicate names a template `field`, an `op` and, unless the operator takes none, a `value`:
//! a string, an integer, or an array of either. Integers may also be written as strings
//! (`"0xffff0000"`), which reach beyond TOML's `i64`. `negate = true` inverts the predicate;
//! `case_insensitive = true` applies to `regex` only. A predicate may also be written as a table
//! of its own, `[rule.where.NAME]`.
//!
//! `op` is an operator name ([`Operator::name`]) or one of these spellings:
//!
//! | `op`              | operator      | negate | all |
//! |-------------------|---------------|--------|-----|
//! | `not-equals`      | `equals`      | yes    |     |
//! | `any-of`          | `equals`      |        |     |
//! | `contains-any`    | `contains`    |        |     |
//! | `contains-all`    | `contains`    |        | yes |
//! | `excludes`        | `contains`    | yes    |     |
//! | `excludes-any`    | `contains`    | yes    | yes |
//! | `excludes-all`    | `contains`    | yes    |     |
//! | `not-begins-with` | `begins-with` | yes    |     |
//! | `not-ends-with`   | `ends-with`   | yes    |     |
//!
//! The condition language is [`crate::condition`]'s. Every error points into the source.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use sensor_core::op::{Action, Level, Operands, Operator, ALL_OPERATORS};
use sensor_core::schema::{TemplateType, TEMPLATE_TYPES};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::condition::{self, ConditionError};
use crate::ir::{Content, Expr, Operand, Origin, Predicate, Rule};

/// Parses the rule source `text`, read from `file` (used in diagnostics and origins only).
pub fn parse(text: &str, file: &str) -> Result<Content, SourceError> {
    let reader = Reader { text, file };
    reader
        .content()
        .map_err(|diag| SourceError::new(text, file, diag.span, diag.kind))
}

/// A rule source error, located in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// The source file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The offending text, cut at the end of its first line; empty for a point.
    pub text: String,
    /// The whole source line the error is on.
    pub source_line: String,
    /// What is wrong (boxed to keep results small).
    pub kind: Box<SourceErrorKind>,
}

/// What is wrong with a rule source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceErrorKind {
    /// The text is not TOML; the message is the TOML parser's.
    #[error("{0}")]
    Toml(String),
    /// A key the format does not define.
    #[error("unknown key `{0}`")]
    UnknownKey(String),
    /// A required key is absent.
    #[error("missing key `{0}`")]
    MissingKey(&'static str),
    /// A value of the wrong TOML type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What the key takes.
        expected: &'static str,
        /// What was written.
        found: &'static str,
    },
    /// A string that should hold an integer does not.
    #[error("`{0}` is not an integer")]
    InvalidInteger(String),
    /// An integer out of range.
    #[error("expected an integer from 0 to {max}")]
    OutOfRange {
        /// The largest value allowed.
        max: u64,
    },
    /// No template type has this name.
    #[error("unknown template type `{0}`")]
    UnknownTemplate(String),
    /// The template type has no such version.
    #[error("template type `{name}` has no version {version}")]
    UnknownTemplateVersion {
        /// The template type.
        name: String,
        /// The version asked for.
        version: u16,
    },
    /// The template type has no field of this name.
    #[error("template type `{template}` has no field `{field}`")]
    UnknownField {
        /// The template type.
        template: &'static str,
        /// The field asked for.
        field: String,
    },
    /// No operator has this name.
    #[error("unknown operator `{0}`")]
    UnknownOperator(String),
    /// The operator does not apply to the field's type.
    #[error("`{op}` does not apply to {ty} field `{field}`")]
    FieldType {
        /// The operator, as written.
        op: String,
        /// The field.
        field: String,
        /// The field's type.
        ty: &'static str,
    },
    /// The wrong number or type of operands.
    #[error("`{op}` takes {expected}")]
    Operands {
        /// The operator, as written.
        op: String,
        /// What it takes.
        expected: String,
    },
    /// `negate = true` on an operator spelling that already negates.
    #[error("`{0}` already negates")]
    DoubleNegation(String),
    /// `case_insensitive = true` on an operator other than `regex`.
    #[error("`case_insensitive` applies to `regex` only")]
    CaseInsensitive,
    /// No level has this name.
    #[error("unknown level `{0}`")]
    UnknownLevel(String),
    /// No action has this name.
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    /// Two rules share an id.
    #[error("rule id `{id}` is already used on line {first_line}")]
    DuplicateRule {
        /// The id.
        id: String,
        /// Line of the rule that used it first.
        first_line: usize,
    },
    /// A rule whose `where` table is empty.
    #[error("rule has no predicates")]
    NoPredicates,
    /// The condition does not parse or names what is not there.
    #[error("{0}")]
    Condition(ConditionError),
}

impl SourceErrorKind {
    fn at(self, span: Range<usize>) -> Diag {
        Diag { span, kind: self }
    }
}

impl SourceError {
    fn new(source: &str, file: &str, span: Range<usize>, kind: SourceErrorKind) -> Self {
        let start = char_floor(source, span.start);
        let (line, column) = line_col(source, start);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let end = char_floor(source, span.end).clamp(start, line_end);
        let trim = |s: &str| s.trim_end_matches('\r').to_owned();
        Self {
            file: file.to_owned(),
            line,
            column,
            text: trim(&source[start..end]),
            source_line: trim(&source[line_start..line_end]),
            kind: Box::new(kind),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        let indent: String = (self.source_line.chars())
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = "^".repeat(self.text.chars().count().max(1));
        let (file, line, column) = (&self.file, self.line, self.column);
        writeln!(f, "{file}:{line}:{column}: error: {}", self.kind)?;
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{number} | {}", self.source_line)?;
        write!(f, "{gutter} | {indent}{carets}")
    }
}

impl std::error::Error for SourceError {}

/// The largest char boundary of `text` at or before `offset`.
fn char_floor(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    (0..=offset)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// An error before it is located by line and column.
struct Diag {
    span: Range<usize>,
    kind: SourceErrorKind,
}

type Result<T, E = Diag> = std::result::Result<T, E>;

/// A TOML value, with the spans of its parts.
enum Value {
    String(String),
    Integer(i64),
    Float,
    Boolean(bool),
    Array(Vec<Spanned<Value>>),
    Table(Table),
}

type Table = Vec<(Spanned<String>, Spanned<Value>)>;

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "a string",
            Self::Integer(_) => "an integer",
            Self::Float => "a float",
            Self::Boolean(_) => "a boolean",
            Self::Array(_) => "an array",
            Self::Table(_) => "a table",
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Integer(i))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Float)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Boolean(b))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Table(entries))
    }
}

fn wrong_type(expected: &'static str, found: &Value, span: Range<usize>) -> Diag {
    SourceErrorKind::WrongType {
        expected,
        found: found.type_name(),
    }
    .at(span)
}

fn string(value: Spanned<Value>) -> Result<Spanned<String>> {
    let span = value.span();
    match value.into_inner() {
        Value::String(s) => Ok(Spanned::new(span, s)),
        other => Err(wrong_type("a string", &other, span)),
    }
}

fn boolean(value: Spanned<Value>) -> Result<Spanned<bool>> {
    let span = value.span();
    match value.into_inner() {
        Value::Boolean(b) => Ok(Spanned::new(span, b)),
        other => Err(wrong_type("a boolean", &other, span)),
    }
}

/// An integer up to `max`, written as a TOML integer or as a string in decimal or with a `0x`,
/// `0o` or `0b` prefix.
fn integer<T: TryFrom<u64>>(value: Spanned<Value>, max: u64) -> Result<T> {
    let span = value.span();
    let n = match value.into_inner() {
        Value::Integer(i) => u64::try_from(i).ok(),
        Value::String(s) => match parse_u64(&s) {
            Some(n) => Some(n),
            None => return Err(SourceErrorKind::InvalidInteger(s).at(span)),
        },
        other => return Err(wrong_type("an integer", &other, span)),
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| SourceErrorKind::OutOfRange { max }.at(span))
}

/// A mask written as flag names joined by `|` (`"FILE_PIPE_MESSAGE_TYPE | FILE_PIPE_REJECT_REMOTE_CLIENTS"`),
/// for a field whose flags `sensor_core::pipe` names.
fn flags(field: usize, s: &str) -> Option<u64> {
    s.split('|')
        .map(|name| sensor_core::pipe::flag(field, name.trim()))
        .try_fold(0, |mask, bits| Some(mask | bits?))
}

fn parse_u64(s: &str) -> Option<u64> {
    let (digits, radix) = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find_map(|(prefix, radix)| Some((s.strip_prefix(prefix)?, radix)))
        .unwrap_or((s, 10));
    u64::from_str_radix(&digits.replace('_', ""), radix).ok()
}

fn table(value: Spanned<Value>) -> Result<Table> {
    let span = value.span();
    match value.into_inner() {
        Value::Table(entries) => Ok(entries),
        other => Err(wrong_type("a table", &other, span)),
    }
}

/// A table whose keys are all known, taken out one by one.
struct Fields {
    span: Range<usize>,
    entries: Table,
}

impl Fields {
    fn new(value: Spanned<Value>, keys: &[&str]) -> Result<Self> {
        let span = value.span();
        let entries = table(value)?;
        if let Some((key, _)) = entries
            .iter()
            .find(|(k, _)| !keys.contains(&k.get_ref().as_str()))
        {
            return Err(SourceErrorKind::UnknownKey(key.get_ref().clone()).at(key.span()));
        }
        Ok(Self { span, entries })
    }

    fn take(&mut self, key: &str) -> Option<Spanned<Value>> {
        let index = self.entries.iter().position(|(k, _)| k.get_ref() == key)?;
        Some(self.entries.remove(index).1)
    }

    fn require(&mut self, key: &'static str) -> Result<Spanned<Value>> {
        self.take(key)
            .ok_or_else(|| SourceErrorKind::MissingKey(key).at(self.span.clone()))
    }
}

const TOP_KEYS: &[&str] = &["channel", "version", "template", "template_version", "rule"];
const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "author",
    "level",
    "action",
    "condition",
    "where",
];
const PREDICATE_KEYS: &[&str] = &["field", "op", "value", "negate", "case_insensitive"];

/// Operator spellings besides the operators' own names: (spelling, operator, negate, all).
const SPELLINGS: [(&str, Operator, bool, bool); 9] = [
    ("not-equals", Operator::Equals, true, false),
    ("any-of", Operator::Equals, false, false),
    ("contains-any", Operator::Contains, false, false),
    ("contains-all", Operator::Contains, false, true),
    ("excludes", Operator::Contains, true, false),
    ("excludes-any", Operator::Contains, true, true),
    ("excludes-all", Operator::Contains, true, false),
    ("not-begins-with", Operator::BeginsWith, true, false),
    ("not-ends-with", Operator::EndsWith, true, false),
];

/// The operator `name` spells, with its negate and all flags.
fn operator(name: &str) -> Option<(Operator, bool, bool)> {
    let own = ALL_OPERATORS.iter().find(|op| op.name() == name);
    own.map(|&op| (op, false, false)).or_else(|| {
        SPELLINGS
            .iter()
            .find(|s| s.0 == name)
            .map(|&(_, op, negate, all)| (op, negate, all))
    })
}

/// Looks a level or action up by name; `decode` maps its tags, dense from 0, to values.
fn by_name<T: Copy>(
    value: Spanned<Value>,
    decode: fn(u8) -> Option<T>,
    name: fn(T) -> &'static str,
    unknown: fn(String) -> SourceErrorKind,
) -> Result<T> {
    let value = string(value)?;
    (0..=u8::MAX)
        .map_while(decode)
        .find(|&t| name(t) == value.get_ref())
        .ok_or_else(|| unknown(value.get_ref().clone()).at(value.span()))
}

/// Reads one source text.
struct Reader<'a> {
    text: &'a str,
    file: &'a str,
}

impl Reader<'_> {
    fn origin(&self, offset: usize) -> Origin {
        let (line, column) = line_col(self.text, offset);
        Origin {
            file: self.file.to_owned(),
            line,
            column,
        }
    }

    fn content(&self) -> Result<Content> {
        let root = toml::from_str::<Value>(self.text).map_err(|e| {
            let message = e.message().replace('\n', ": ");
            SourceErrorKind::Toml(message).at(e.span().unwrap_or(0..0))
        })?;
        let mut top = Fields::new(Spanned::new(0..0, root), TOP_KEYS)?;
        let channel = integer(top.require("channel")?, u32::MAX.into())?;
        let version = integer(top.require("version")?, u64::MAX)?;
        let template = template(top.require("template")?, top.take("template_version"))?;
        let mut rules = Vec::new();
        if let Some(value) = top.take("rule") {
            let span = value.span();
            let items = match value.into_inner() {
                Value::Array(items) => items,
                other => return Err(wrong_type("an array of tables", &other, span)),
            };
            let mut ids = HashMap::new();
            for item in items {
                rules.push(self.rule(item, template, &mut ids)?);
            }
        }
        Ok(Content {
            channel,
            version,
            template_id: template.id,
            template_version: template.version,
            rules,
        })
    }

    /// Reads one `[[rule]]`; `ids` maps the ids of the rules before it to their lines.
    fn rule(
        &self,
        value: Spanned<Value>,
        template: &'static TemplateType,
        ids: &mut HashMap<String, usize>,
    ) -> Result<Rule> {
        let origin = self.origin(value.span().start);
        let mut fields = Fields::new(value, RULE_KEYS)?;
        let id = string(fields.require("id")?)?;
        if let Some(&first_line) = ids.get(id.get_ref()) {
            let id_span = id.span();
            let id = id.into_inner();
            return Err(SourceErrorKind::DuplicateRule { id, first_line }.at(id_span));
        }
        ids.insert(id.get_ref().clone(), origin.line);
        let title = string(fields.require("title")?)?.into_inner();
        let author = match fields.take("author") {
            Some(value) => string(value)?.into_inner(),
            None => String::new(),
        };
        let level = by_name(
            fields.require("level")?,
            Level::from_u8,
            Level::name,
            SourceErrorKind::UnknownLevel,
        )?;
        let action = match fields.take("action") {
            Some(value) => by_name(
                value,
                Action::from_u8,
                Action::name,
                SourceErrorKind::UnknownAction,
            )?,
            None => Action::Alert,
        };
        let (names, predicates): (Vec<_>, Vec<_>) = self
            .predicates(fields.require("where")?, template)?
            .into_iter()
            .unzip();
        let condition = match fields.take("condition") {
            Some(value) => self.condition(value, &names)?,
            None if predicates.len() == 1 => Expr::Pred(0),
            None => Expr::And((0..predicates.len()).map(Expr::Pred).collect()),
        };
        Ok(Rule {
            id: id.into_inner(),
            title,
            author,
            level,
            action,
            predicates,
            condition,
            origin,
        })
    }

    /// Reads a `where` table into named predicates, in written order.
    fn predicates(
        &self,
        value: Spanned<Value>,
        template: &'static TemplateType,
    ) -> Result<Vec<(String, Predicate)>> {
        let span = value.span();
        let entries = table(value)?;
        if entries.is_empty() {
            return Err(SourceErrorKind::NoPredicates.at(span));
        }
        entries
            .into_iter()
            .map(|(name, value)| {
                let predicate = self.predicate(name.span(), value, template)?;
                Ok((name.into_inner(), predicate))
            })
            .collect()
    }

    /// Reads the predicate whose name is at `name`.
    fn predicate(
        &self,
        name: Range<usize>,
        value: Spanned<Value>,
        template: &'static TemplateType,
    ) -> Result<Predicate> {
        let mut fields = Fields::new(value, PREDICATE_KEYS)?;
        let field_name = string(fields.require("field")?)?;
        let field = template.field_index(field_name.get_ref()).ok_or_else(|| {
            let field = field_name.get_ref().clone();
            let template = template.name;
            SourceErrorKind::UnknownField { template, field }.at(field_name.span())
        })?;
        let op_name = string(fields.require("op")?)?;
        let (op, negated, all) = operator(op_name.get_ref()).ok_or_else(|| {
            SourceErrorKind::UnknownOperator(op_name.get_ref().clone()).at(op_name.span())
        })?;
        let ty = template.fields[field].ty;
        if !op.accepts(ty) {
            let op = op_name.get_ref().clone();
            let (field, ty) = (field_name.into_inner(), ty.name());
            return Err(SourceErrorKind::FieldType { op, field, ty }.at(op_name.span()));
        }
        let negate = fields.take("negate").map(boolean).transpose()?;
        if let Some(negate) = negate.as_ref().filter(|n| negated && *n.get_ref()) {
            return Err(SourceErrorKind::DoubleNegation(op_name.into_inner()).at(negate.span()));
        }
        let case_insensitive = fields.take("case_insensitive").map(boolean).transpose()?;
        if let Some(ci) = case_insensitive
            .as_ref()
            .filter(|c| *c.get_ref() && op != Operator::Regex)
        {
            return Err(SourceErrorKind::CaseInsensitive.at(ci.span()));
        }
        let value = fields.take("value");
        Ok(Predicate {
            field,
            op,
            negate: negated || negate.is_some_and(Spanned::into_inner),
            all,
            operands: operands(op, op_name.get_ref(), field, value, name.clone())?,
            case_insensitive: case_insensitive.is_some_and(Spanned::into_inner),
            origin: self.origin(name.start),
        })
    }

    /// Parses and resolves a condition over the predicate `names`.
    fn condition(&self, value: Spanned<Value>, names: &[String]) -> Result<Expr> {
        let text = string(value)?;
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        condition::parse(text.get_ref())
            .and_then(|cond| condition::resolve(&cond, &names, Expr::Pred))
            .map_err(|e| {
                let at = self.string_offset(text.span(), text.get_ref(), e.offset());
                SourceErrorKind::Condition(e).at(word_at(self.text, at))
            })
    }

    /// The source offset of byte `offset` of the string `value`, written at `span`; the start of
    /// the string when it is written with escapes.
    fn string_offset(&self, span: Range<usize>, value: &str, offset: usize) -> usize {
        let raw = &self.text[span.clone()];
        let quote = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            &raw[..3]
        } else {
            &raw[..1]
        };
        let body = &raw[quote.len()..];
        let body = match quote.len() {
            3 => body
                .strip_prefix("\r\n")
                .or_else(|| body.strip_prefix('\n'))
                .unwrap_or(body),
            _ => body,
        };
        let verbatim = body
            .strip_prefix(value)
            .is_some_and(|rest| rest.starts_with(quote));
        if verbatim {
            span.start + (raw.len() - body.len()) + offset
        } else {
            span.start
        }
    }
}

/// The template type named by `name`, at `version` or its latest.
fn template(
    name: Spanned<Value>,
    version: Option<Spanned<Value>>,
) -> Result<&'static TemplateType> {
    let name = string(name)?;
    let mut known = TEMPLATE_TYPES.iter().filter(|t| t.name == name.get_ref());
    let latest = known
        .clone()
        .max_by_key(|t| t.version)
        .ok_or_else(|| SourceErrorKind::UnknownTemplate(name.get_ref().clone()).at(name.span()))?;
    let Some(version) = version else {
        return Ok(latest);
    };
    let span = version.span();
    let version = integer(version, u16::MAX.into())?;
    known.find(|t| t.version == version).ok_or_else(|| {
        let name = name.into_inner();
        SourceErrorKind::UnknownTemplateVersion { name, version }.at(span)
    })
}

/// Checks and converts a predicate's `value` for `op`, spelled `name`; `at` locates the predicate
/// when the value is absent.
fn operands(
    op: Operator,
    name: &str,
    field: usize,
    value: Option<Spanned<Value>>,
    at: Range<usize>,
) -> Result<Vec<Operand>> {
    let (min, max, expected) = match op.operands() {
        Operands::None => (0, 0, "no value".to_owned()),
        Operands::Strings { min: 1, max: 1 } | Operands::Pattern => (1, 1, "one string".into()),
        Operands::Strings { min, max } => (min, max, format!("{min} to {max} strings")),
        Operands::Immediate => (1, 1, "one integer".into()),
    };
    let wrong = |span| {
        let (op, expected) = (name.to_owned(), expected.clone());
        SourceErrorKind::Operands { op, expected }.at(span)
    };
    let (span, items) = match value {
        None => (at, Vec::new()),
        Some(value) => {
            let span = value.span();
            match value.into_inner() {
                Value::Array(items) => (span, items),
                other => (span.clone(), vec![Spanned::new(span, other)]),
            }
        }
    };
    if !(min..=max).contains(&items.len()) {
        return Err(wrong(span));
    }
    let numeric = op.operands() == Operands::Immediate;
    items
        .into_iter()
        .map(|item| {
            let mask = match item.get_ref() {
                Value::String(s) if numeric => flags(field, s),
                _ => None,
            };
            match (mask, item.get_ref()) {
                (Some(mask), _) => Ok(Operand::Int(mask)),
                (None, Value::Integer(_) | Value::String(_)) if numeric => {
                    integer(item, u64::MAX).map(Operand::Int)
                }
                (None, Value::String(_)) if !numeric => {
                    string(item).map(|s| Operand::Str(s.into_inner()))
                }
                _ => Err(wrong(item.span())),
            }
        })
        .collect()
}

/// The run of source text from `at` up to whitespace, a parenthesis or a quote; at least one
/// character.
fn word_at(text: &str, at: usize) -> Range<usize> {
    let rest = &text[at..];
    let first = rest.chars().next().map_or(0, char::len_utf8);
    let word = rest.find(|c: char| c.is_whitespace() || "()'\"".contains(c));
    at..at + word.unwrap_or(rest.len()).max(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_core::schema::ipc;

    const EXAMPLE: &str = r#"# channel header
channel = 291
version = 2024030501
template = "ipc"

[[rule]]
id = "PIPE-0001"
title = "Cobalt Strike default named pipe"
author = "Sensor team"
level = "critical"
action = "alert"
condition = "pipe and not browser"

[rule.where]
pipe = { field = "pipe_name", op = "begins-with", value = ['\postex_', '\status_'] }
browser = { field = "image_path", op = "image", value = "chrome.exe" }
remote = { field = "remote_client", op = "num-equals", value = 1 }
any21 = { field = "remote_client", op = "wildcard" }

[[rule]]
id = "PIPE-0002"
title = "Remote pipe"
level = "high"
action = "block"

[rule.where]
remote = { field = "remote_client", op = "num-equals", value = "0x1" }
mode = { field = "pipe_type", op = "flags-any", value = 0x4 }
name = { field = "pipe_name", op = "excludes-any", value = ["a", "b"] }

[rule.where.re]
field = "command_line"
op = "regex"
value = 'x\d+'
case_insensitive = true
"#;

    fn at(line: usize, column: usize) -> Origin {
        let file = "pipes.toml".into();
        Origin { file, line, column }
    }

    fn str(s: &str) -> Operand {
        Operand::Str(s.into())
    }

    #[test]
    fn reads_a_full_file() {
        let content = parse(EXAMPLE, "pipes.toml").unwrap();
        assert_eq!((content.channel, content.version), (291, 2_024_030_501));
        assert_eq!((content.template_id, content.template_version), (1, 1));
        let [first, second] = &content.rules[..] else {
            panic!("two rules expected");
        };
        assert_eq!(
            (
                first.id.as_str(),
                first.author.as_str(),
                first.level,
                first.action
            ),
            ("PIPE-0001", "Sensor team", Level::Critical, Action::Alert)
        );
        assert_eq!(first.origin, at(6, 1));
        let pipe = Predicate {
            field: ipc::PIPE_NAME,
            op: Operator::BeginsWith,
            negate: false,
            all: false,
            operands: vec![str("\\postex_"), str("\\status_")],
            case_insensitive: false,
            origin: at(15, 1),
        };
        assert_eq!(first.predicates[0], pipe);
        assert_eq!(first.predicates[3].op, Operator::Wildcard);
        assert_eq!(first.predicates[3].operands, []);
        assert_eq!(first.predicates[3].origin, at(18, 1));
        let not_browser = Expr::Not(Box::new(Expr::Pred(1)));
        assert_eq!(first.condition, Expr::And(vec![Expr::Pred(0), not_browser]));

        assert_eq!((second.author.as_str(), second.action), ("", Action::Block));
        assert_eq!(
            second.condition,
            Expr::And((0..4).map(Expr::Pred).collect())
        );
        let [remote, mode, name, re] = &second.predicates[..] else {
            panic!("four predicates expected");
        };
        assert_eq!(
            (remote.op, &remote.operands[..]),
            (Operator::NumEquals, &[Operand::Int(1)][..])
        );
        assert_eq!(
            (mode.op, &mode.operands[..]),
            (Operator::FlagsAny, &[Operand::Int(4)][..])
        );
        assert_eq!(
            (name.op, name.negate, name.all),
            (Operator::Contains, true, true)
        );
        assert_eq!((re.op, re.case_insensitive), (Operator::Regex, true));
        assert_eq!(
            (&re.operands[..], &re.origin),
            (&[str("x\\d+")][..], &at(31, 13))
        );
    }

    const HEAD: &str = "channel = 291\nversion = 7\ntemplate = \"ipc\"\n";
    const RULE: &str = "[[rule]]\nid = \"R1\"\ntitle = \"t\"\nlevel = \"high\"\n";
    const WHERE: &str =
        "[rule.where]\np = { field = \"pipe_name\", op = \"equals\", value = \"x\" }\n";

    #[test]
    fn one_predicate_is_the_whole_condition() {
        let content = parse(&format!("{HEAD}{RULE}{WHERE}"), "pipes.toml").unwrap();
        assert_eq!(content.rules[0].condition, Expr::Pred(0));
        assert_eq!(content.rules[0].action, Action::Alert);
    }

    /// Parses `text`, which must fail, into `line:column: message`.
    fn fails(text: &str) -> String {
        let error = parse(text, "pipes.toml").unwrap_err();
        format!("{}:{}: {}", error.line, error.column, error.kind)
    }

    /// Parses a file whose one rule has the predicate `{ p }`, on line 9.
    fn predicate_fails(p: &str) -> String {
        fails(&format!("{HEAD}{RULE}[rule.where]\np = {{ {p} }}\n"))
    }

    #[test]
    fn header_errors() {
        let duplicate = "2:1: duplicate key `channel` in document root";
        assert_eq!(fails("channel = 1\nchannel = 2\n"), duplicate);
        assert_eq!(
            fails("channel = 1\ntemplate = \"ipc\"\n"),
            "1:1: missing key `version`"
        );
        assert_eq!(
            fails(&format!("{HEAD}titel = 1\n")),
            "4:1: unknown key `titel`"
        );
        let wrong_type = "1:11: expected an integer, found a boolean";
        assert_eq!(fails("channel = true\n"), wrong_type);
        let out_of_range = "1:11: expected an integer from 0 to 4294967295";
        assert_eq!(fails("channel = 4294967296\n"), out_of_range);
        assert_eq!(
            fails("channel = \"0xZZ\"\n"),
            "1:11: `0xZZ` is not an integer"
        );
        let unknown_template = "3:12: unknown template type `pipe`";
        assert_eq!(fails(&HEAD.replace("ipc", "pipe")), unknown_template);
        let unknown_version = "4:20: template type `ipc` has no version 9";
        assert_eq!(
            fails(&format!("{HEAD}template_version = 9\n")),
            unknown_version
        );
        let not_array = "4:8: expected an array of tables, found an integer";
        assert_eq!(fails(&format!("{HEAD}rule = 1\n")), not_array);
    }

    #[test]
    fn rule_errors() {
        let untitled = format!("{HEAD}[[rule]]\nid = \"R1\"\n{WHERE}");
        assert_eq!(fails(&untitled), "4:1: missing key `title`");
        let duplicate = format!("{HEAD}{RULE}{WHERE}{RULE}{WHERE}");
        assert_eq!(
            fails(&duplicate),
            "11:6: rule id `R1` is already used on line 4"
        );
        let level = format!("{HEAD}{}{WHERE}", RULE.replace("high", "severe"));
        assert_eq!(fails(&level), "7:9: unknown level `severe`");
        let action = format!("{HEAD}{RULE}action = \"deny\"\n{WHERE}");
        assert_eq!(fails(&action), "8:10: unknown action `deny`");
        let empty = format!("{HEAD}{RULE}where = {{}}\n");
        assert_eq!(fails(&empty), "8:9: rule has no predicates");
    }

    #[test]
    fn condition_errors_point_into_the_string() {
        let condition = |c: &str| fails(&format!("{HEAD}{RULE}condition = {c}\n{WHERE}"));
        assert_eq!(condition("\"p and not q\""), "8:24: unknown identifier `q`");
        assert_eq!(
            condition("'''\np and\n(p'''"),
            "10:1: unbalanced parenthesis"
        );
        assert_eq!(condition("'1 of x*'"), "8:14: `x*` matches nothing");
        assert_eq!(
            condition("\"p \\u0061nd q\""),
            "8:13: unknown identifier `q`"
        );
        assert_eq!(condition("\"\""), "8:14: empty condition");
    }

    #[test]
    fn predicate_errors() {
        let unknown_field = r#"field = "pipe", op = "glob", value = "*""#;
        assert_eq!(
            predicate_fails(unknown_field),
            "9:15: template type `ipc` has no field `pipe`"
        );
        let unknown_op = r#"field = "pipe_name", op = "starts-with", value = "x""#;
        assert_eq!(
            predicate_fails(unknown_op),
            "9:33: unknown operator `starts-with`"
        );
        let field_type = r#"field = "remote_client", op = "contains", value = "x""#;
        let field_type_error = "9:37: `contains` does not apply to integer field `remote_client`";
        assert_eq!(predicate_fails(field_type), field_type_error);
        let extra = r#"field = "pipe_name", op = "wildcard", value = "x""#;
        assert_eq!(predicate_fails(extra), "9:53: `wildcard` takes no value");
        let missing = r#"field = "pipe_name", op = "equals""#;
        assert_eq!(
            predicate_fails(missing),
            "9:1: `equals` takes 1 to 4096 strings"
        );
        let mixed = r#"field = "pipe_name", op = "equals", value = ["a", 1]"#;
        assert_eq!(
            predicate_fails(mixed),
            "9:57: `equals` takes 1 to 4096 strings"
        );
        let two_globs = r#"field = "pipe_name", op = "glob", value = ["a", "b"]"#;
        assert_eq!(predicate_fails(two_globs), "9:49: `glob` takes one string");
        let negative = r#"field = "remote_client", op = "num-less", value = -1"#;
        let negative_error = "9:57: expected an integer from 0 to 18446744073709551615";
        assert_eq!(predicate_fails(negative), negative_error);
        let twice = r#"field = "pipe_name", op = "excludes", value = "x", negate = true"#;
        assert_eq!(predicate_fails(twice), "9:67: `excludes` already negates");
        let ci = r#"field = "pipe_name", op = "glob", value = "x", case_insensitive = true"#;
        assert_eq!(
            predicate_fails(ci),
            "9:73: `case_insensitive` applies to `regex` only"
        );
        let typo = r#"field = "pipe_name", op = "glob", valu = "x""#;
        assert_eq!(predicate_fails(typo), "9:41: unknown key `valu`");
    }

    #[test]
    fn displays_like_rustc() {
        let text =
            format!("{HEAD}{RULE}[rule.where]\np = {{ field = \"pipe_name\", op = \"x\" }}\n");
        let error = parse(&text, "pipes.toml").unwrap_err();
        assert_eq!(*error.kind, SourceErrorKind::UnknownOperator("x".into()));
        assert_eq!(error.text, "\"x\"");
        let expected = "\
pipes.toml:9:33: error: unknown operator `x`
  |
9 | p = { field = \"pipe_name\", op = \"x\" }
  |                                 ^^^";
        assert_eq!(error.to_string(), expected);
    }
}
