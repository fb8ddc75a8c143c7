//! What the importers of foreign content ([`crate::sigma`], [`crate::sysmon_config`]) share:
//! diagnostics that point into the source, the outcome of an import, and the pieces of rule
//! building both need.
//!
//! An import never stops at the first problem. Every rule that imports is kept; every rule that
//! cannot is reported as an [`Severity::Error`] naming the file, line and column and the reason,
//! so nothing is ever dropped silently. The caller decides whether a partial import is good
//! enough.

use std::fmt;
use std::ops::Range;

use sensor_core::schema::{ipc, IPC};

use crate::compile::{compile, CompileError};
use crate::event::{EventKind, PipeEvent};
use crate::ir::{Content, Expr, Origin, Predicate, Rule};
use crate::reference::{PatternError, Reference};

/// The named-pipe channel imported content is compiled for.
pub const PIPE_CHANNEL: u32 = 291;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something was left out: a rule, an entry or a whole file did not import.
    Error,
    /// It imported, but deserves a look (a value no event can match, a deprecated rule).
    Warning,
    /// Not content for this channel (a Sigma rule for another log source); not imported.
    Note,
}

impl Severity {
    /// The word diagnostics use.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Note => "note",
        }
    }
}

/// A place in a source file, with the text found there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The file, as given.
    pub file: String,
    /// 1-based line; 0 when the diagnostic concerns the whole file.
    pub line: usize,
    /// 1-based column, in characters; 0 when unknown.
    pub column: usize,
    /// The offending text, cut at the end of its line; empty for a point.
    pub text: String,
    /// The whole source line.
    pub source_line: String,
}

impl Location {
    /// The whole of `file`, with no line.
    pub fn file(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            ..Self::default()
        }
    }

    /// The bytes `range` of `source`.
    pub fn bytes(source: &str, file: &str, range: Range<usize>) -> Self {
        let start = char_floor(source, range.start);
        let before = &source[..start];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let end = char_floor(source, range.end).clamp(start, line_end);
        Self {
            file: file.to_owned(),
            line,
            column,
            text: trim(&source[start..end]),
            source_line: trim(&source[line_start..line_end]),
        }
    }

    /// From 1-based `line` and 0-based character column `start` up to character column `end`
    /// of the same line (to the end of the line when the span ends on a later line).
    pub fn chars(source: &str, file: &str, line: usize, start: usize, end: Option<usize>) -> Self {
        let source_line = trim(source.lines().nth(line.saturating_sub(1)).unwrap_or(""));
        let text: String = match end {
            Some(end) => source_line
                .chars()
                .skip(start)
                .take(end.saturating_sub(start))
                .collect(),
            None => source_line.chars().skip(start).collect(),
        };
        Self {
            file: file.to_owned(),
            line,
            column: start + 1,
            text,
            source_line,
        }
    }

    /// The compiler's view of this place.
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
        }
    }
}

fn trim(s: &str) -> String {
    s.trim_end_matches('\r').to_owned()
}

/// The largest char boundary of `text` at or before `offset`.
fn char_floor(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    (0..=offset)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// One problem found while importing, located in the source. `K` is the importer's own typed
/// reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic<K> {
    /// How serious it is.
    pub severity: Severity,
    /// Where.
    pub location: Location,
    /// The rule concerned, as `id "title"` or the entry's description; `None` for a whole file.
    pub rule: Option<String>,
    /// Why.
    pub kind: K,
}

impl<K: fmt::Display> fmt::Display for Diagnostic<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.location;
        let severity = self.severity.name();
        if l.line == 0 {
            write!(f, "{}: {severity}: {}", l.file, self.kind)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {severity}: {}",
                l.file, l.line, l.column, self.kind
            )?;
            let number = l.line.to_string();
            let gutter = " ".repeat(number.len());
            let indent: String = (l.source_line.chars())
                .take(l.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let carets = "^".repeat(l.text.chars().count().max(1));
            write!(f, "\n{gutter} |\n{number} | {}", l.source_line)?;
            write!(f, "\n{gutter} | {indent}{carets}")?;
        }
        if let Some(rule) = &self.rule {
            let outcome = match self.severity {
                Severity::Error => "was not imported",
                Severity::Warning => "was imported",
                Severity::Note => "is not for this channel",
            };
            write!(f, "\n  = rule {rule} {outcome}")?;
        }
        Ok(())
    }
}

/// A named part of an imported rule's condition: a Sigma search identifier, or a Sysmon
/// include or exclude entry. Reports use parts to say why a rule matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The name, as the source writes it.
    pub name: String,
    /// The part's expression over the rule's predicates.
    pub expr: Expr,
}

/// One rule an importer produced, with the named parts of its condition.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedRule {
    /// The rule, ready to compile.
    pub rule: Rule,
    /// The named parts its condition is built from.
    pub parts: Vec<Part>,
}

/// What an import produced: the rules that imported, and every diagnostic.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported<K> {
    /// Imported rules, in source order.
    pub rules: Vec<ImportedRule>,
    /// Problems found, in source order.
    pub diagnostics: Vec<Diagnostic<K>>,
}

impl<K> Default for Imported<K> {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            diagnostics: Vec::new(),
        }
    }
}

impl<K> Imported<K> {
    /// The diagnostics of one severity.
    pub fn with_severity(&self, severity: Severity) -> impl Iterator<Item = &Diagnostic<K>> {
        self.diagnostics
            .iter()
            .filter(move |d| d.severity == severity)
    }

    /// How many things were left out: the number of errors.
    pub fn errors(&self) -> usize {
        self.with_severity(Severity::Error).count()
    }

    /// The imported rules as named-pipe channel content of `version`.
    pub fn content(&self, version: u64) -> Content {
        content(&self.rules, version)
    }
}

/// `rules` as named-pipe channel content of `version`.
pub fn content(rules: &[ImportedRule], version: u64) -> Content {
    Content {
        channel: PIPE_CHANNEL,
        version,
        template_id: IPC.id,
        template_version: IPC.version,
        rules: rules.iter().map(|r| r.rule.clone()).collect(),
    }
}

/// A rule's predicates while the rule is being built.
#[derive(Clone, Debug, Default)]
pub struct Predicates(pub Vec<Predicate>);

impl Predicates {
    /// Adds `p` and returns the expression that refers to it.
    pub fn push(&mut self, p: Predicate) -> Expr {
        self.0.push(p);
        Expr::Pred(self.0.len() - 1)
    }
}

/// `items` joined by `or`; a single item stands alone.
pub fn any(items: Vec<Expr>) -> Expr {
    join(items, false)
}

/// `items` joined by `and`; a single item stands alone.
pub fn all(items: Vec<Expr>) -> Expr {
    join(items, true)
}

fn join(mut items: Vec<Expr>, all: bool) -> Expr {
    match (items.len(), all) {
        (1, _) => items.remove(0),
        (_, true) => Expr::And(items),
        (_, false) => Expr::Or(items),
    }
}

/// A string predicate on `field` with no flags set.
pub fn predicate(field: usize, op: sensor_core::Operator, operands: Vec<String>) -> Predicate {
    Predicate {
        field,
        op,
        negate: false,
        all: false,
        operands: operands.into_iter().map(crate::ir::Operand::Str).collect(),
        case_insensitive: false,
        origin: Origin::default(),
    }
}

/// Sysmon's names for the two pipe event kinds, as `EventType` carries them.
pub const EVENT_TYPES: [(&str, EventKind); 2] = [
    ("CreatePipe", EventKind::Create),
    ("ConnectPipe", EventKind::Connect),
];

/// Turns a test on Sysmon's `EventType` string into a test on the template's `event_kind`.
///
/// `test` holds predicates on the `user` field, which stands in for `EventType`, and `expr` over
/// them. Both names are tried now, with the very semantics the sensor would apply, and the
/// result is an `or` of `num-equals` predicates on `event_kind` for the kinds whose name passes:
/// exact, since `event_kind` takes no other value. `None` when neither name passes; an error
/// when a pattern in `test` does not compile.
pub fn event_kind_test(
    test: &[Predicate],
    expr: &Expr,
    origin: &Origin,
    into: &mut Predicates,
) -> Result<Option<Expr>, PatternError> {
    let probe = Content {
        channel: PIPE_CHANNEL,
        version: 0,
        template_id: IPC.id,
        template_version: IPC.version,
        rules: vec![Rule {
            id: String::new(),
            title: String::new(),
            author: String::new(),
            level: sensor_core::op::Level::Informational,
            action: sensor_core::op::Action::Log,
            predicates: test.to_vec(),
            condition: expr.clone(),
            origin: origin.clone(),
        }],
    };
    let reference = Reference::new(&probe)?;
    let kinds: Vec<Expr> = EVENT_TYPES
        .iter()
        .filter(|(name, _)| {
            let event = PipeEvent {
                user: Some((*name).to_owned()),
                ..PipeEvent::default()
            };
            !reference.evaluate(&event, IPC.field_count()).is_empty()
        })
        .map(|&(_, kind)| {
            into.push(Predicate {
                field: ipc::EVENT_KIND,
                op: sensor_core::Operator::NumEquals,
                negate: false,
                all: false,
                operands: vec![crate::ir::Operand::Int(kind.code())],
                case_insensitive: false,
                origin: origin.clone(),
            })
        })
        .collect();
    Ok((!kinds.is_empty()).then(|| any(kinds)))
}

/// Compiles `rule` on its own, so a rule the compiler would refuse (a regular expression the
/// automata cannot run, an operand too long) is reported against that rule and the others
/// still import.
pub fn check_compiles(rule: &Rule) -> Result<(), CompileError> {
    let content = Content {
        channel: PIPE_CHANNEL,
        version: 0,
        template_id: IPC.id,
        template_version: IPC.version,
        rules: vec![rule.clone()],
    };
    compile(&content).map(drop)
}

/// How a compile error reads in an import diagnostic: without the location, which the
/// diagnostic gives, and without the rule, which it names.
pub fn compile_reason(error: &CompileError) -> String {
    let bare = CompileError {
        origin: Origin::default(),
        rule: None,
        kind: error.kind.clone(),
    };
    bare.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_from_bytes_and_chars_agree() {
        let source = "first\n  sécond line\r\nthird";
        let at = source.find("line").unwrap();
        let by_bytes = Location::bytes(source, "f", at..at + 4);
        let by_chars = Location::chars(source, "f", 2, 9, Some(13));
        assert_eq!(by_bytes, by_chars);
        assert_eq!((by_bytes.line, by_bytes.column), (2, 10));
        assert_eq!(by_bytes.text, "line");
        assert_eq!(by_bytes.source_line, "  sécond line");
        let to_end = Location::chars(source, "f", 2, 2, None);
        assert_eq!(to_end.text, "sécond line");
    }

    #[test]
    fn diagnostics_read_like_rustc() {
        let source = "a: 1\nb:  bad\n";
        let d = Diagnostic {
            severity: Severity::Error,
            location: Location::bytes(source, "x.yml", 9..12),
            rule: Some("R \"t\"".into()),
            kind: "no good",
        };
        let expected = "\
x.yml:2:5: error: no good
  |
2 | b:  bad
  |     ^^^
  = rule R \"t\" was not imported";
        assert_eq!(d.to_string(), expected);
        let whole = Diagnostic {
            severity: Severity::Note,
            location: Location::file("y.yml"),
            rule: None,
            kind: "elsewhere",
        };
        assert_eq!(whole.to_string(), "y.yml: note: elsewhere");
    }

    #[test]
    fn event_type_tests_become_event_kind_tests() {
        let user = ipc::USER;
        let decide = |p: Predicate| {
            let mut into = Predicates::default();
            let expr = event_kind_test(&[p], &Expr::Pred(0), &Origin::default(), &mut into)
                .expect("no patterns");
            let kinds: Vec<u64> = into
                .0
                .iter()
                .flat_map(|p| &p.operands)
                .map(|o| match o {
                    crate::ir::Operand::Int(k) => *k,
                    crate::ir::Operand::Str(_) => panic!("integer operand expected"),
                })
                .collect();
            (expr.is_some(), kinds)
        };
        let op = sensor_core::Operator::Equals;
        assert_eq!(
            decide(predicate(user, op, vec!["createpipe".into()])),
            (true, vec![1])
        );
        let contains = sensor_core::Operator::Contains;
        assert_eq!(
            decide(predicate(user, contains, vec!["PIPE".into()])),
            (true, vec![1, 2])
        );
        let mut not_connect = predicate(user, op, vec!["ConnectPipe".into()]);
        not_connect.negate = true;
        assert_eq!(decide(not_connect), (true, vec![1]));
        assert_eq!(
            decide(predicate(user, op, vec!["OpenPipe".into()])),
            (false, vec![])
        );
    }
}
