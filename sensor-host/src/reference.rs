//! The reference matcher: a naive evaluator of [`crate::ir::Content`] over host-side events,
//! written to be obviously right rather than fast, against which the compiled engine is checked
//! (differential tests, fuzzing, benchmarks).
//!
//! It reads the IR, not the channel file, and shares no evaluation code with the core: strings
//! are Rust strings, conditions are walked recursively, globs and regular expressions run on the
//! `regex` crate. It mirrors these semantics of the core's interpreter:
//!
//! - Fields at or past `supplied` are missing: every predicate on them is false, negated or not,
//!   except `wildcard`, which reads nothing and always holds.
//! - An absent value makes a predicate false whether or not it is negated; only `null-or-empty`
//!   holds on it. `null-or-empty` holds on an absent value or an empty string, never on an
//!   integer.
//! - A value of the wrong type for the operator (a string for `num-equals`, an integer for
//!   `contains`) makes the predicate false, negated or not. So does a string longer than
//!   [`MAX_UNICODE_STRING_UNITS`] UTF-16 code units, the most any declared sensor passes.
//! - String operators ignore case by upper-casing each UTF-16 code unit on its own with
//!   [`sensor_core::fold::fold`], on both sides; `less-than` and `more-than` order the folded
//!   code units lexicographically, a prefix sorting first.
//! - `image` holds when the operand equals the whole path, or names no directory (has no `\`)
//!   and equals the path's file name (everything after its last `\`).
//! - With `all`, every operand must hold, otherwise one. Sysmon's `excludes` forms are `contains`
//!   negated: `excludes any` is `contains` with `all` and negate (some operand is missing),
//!   `excludes all` is `contains` negated (none is present).
//! - `glob` matches the whole value through [`compile::glob_to_regex`]; `regex` matches anywhere,
//!   case-sensitively unless the predicate says otherwise.
//! - `and` over nothing holds, `or` over nothing does not.
//!
//! One divergence is known and left in: a pattern the compiler accepts only with ASCII word
//! boundaries (`(?-u:\b)`) makes the core's automaton stop on non-ASCII input (counted as an
//! automaton quit, the predicate false), where the `regex` crate still matches.

use std::fmt;

use regex::Regex;
use sensor_core::fold::fold;
use sensor_core::schema::{ipc, MAX_UNICODE_STRING_UNITS};
use sensor_core::Operator;

use crate::compile;
use crate::event::PipeEvent;
use crate::ir::{Content, Expr, Operand, Predicate};

/// One field's value, as the reference reads it from a [`PipeEvent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue<'e> {
    /// Not recorded.
    Absent,
    /// An integer or mask.
    Int(u64),
    /// A string.
    Str(&'e str),
}

/// The value of template field `field` of `event`. Written out field by field, independently of
/// the encoder the engine's inputs come from.
pub fn field_value(event: &PipeEvent, field: usize) -> FieldValue<'_> {
    fn int<'e>(v: Option<u64>) -> FieldValue<'e> {
        v.map_or(FieldValue::Absent, FieldValue::Int)
    }
    fn text(v: &Option<String>) -> FieldValue<'_> {
        v.as_deref().map_or(FieldValue::Absent, FieldValue::Str)
    }
    match field {
        ipc::EVENT_KIND => FieldValue::Int(event.kind.code()),
        ipc::PIPE_NAME => text(&event.pipe_name),
        ipc::IMAGE_PATH => text(&event.image_path),
        ipc::PROCESS_ID => int(event.process_id),
        ipc::PARENT_PROCESS_ID => int(event.parent_process_id),
        ipc::SESSION_ID => int(event.session_id),
        ipc::USER => text(&event.user),
        ipc::INTEGRITY_LEVEL => int(event.integrity_level),
        ipc::PIPE_TYPE => int(event.pipe_type),
        ipc::READ_MODE => int(event.read_mode),
        ipc::COMPLETION_MODE => int(event.completion_mode),
        ipc::MAX_INSTANCES => int(event.max_instances),
        ipc::INBOUND_QUOTA => int(event.inbound_quota),
        ipc::OUTBOUND_QUOTA => int(event.outbound_quota),
        ipc::DEFAULT_TIMEOUT => int(event.default_timeout),
        ipc::DESIRED_ACCESS => int(event.desired_access),
        ipc::SHARE_ACCESS => int(event.share_access),
        ipc::CREATE_DISPOSITION => int(event.create_disposition),
        ipc::COMMAND_LINE => text(&event.command_line),
        ipc::PARENT_IMAGE => text(&event.parent_image),
        ipc::REMOTE_CLIENT => int(event.remote_client.map(u64::from)),
        _ => FieldValue::Absent,
    }
}

/// A glob or regex operand that does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// Index of the rule.
    pub rule: usize,
    /// Index of the predicate in the rule.
    pub predicate: usize,
    /// The `regex` crate's message.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} predicate {}: {}",
            self.rule, self.predicate, self.message
        )
    }
}

impl std::error::Error for PatternError {}

/// Content ready for reference evaluation: its patterns compiled once.
#[derive(Clone, Debug)]
pub struct Reference<'c> {
    content: &'c Content,
    /// For each rule, for each predicate, its compiled pattern if it is a glob or regex.
    patterns: Vec<Vec<Option<Regex>>>,
}

impl<'c> Reference<'c> {
    /// Compiles the patterns of `content`.
    pub fn new(content: &'c Content) -> Result<Self, PatternError> {
        let patterns = content
            .rules
            .iter()
            .enumerate()
            .map(|(r, rule)| {
                (rule.predicates.iter().enumerate())
                    .map(|(p, predicate)| {
                        pattern(predicate).map_err(|message| PatternError {
                            rule: r,
                            predicate: p,
                            message,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { content, patterns })
    }

    /// Indices of the rules `event` matches, in rule order, for a sensor that supplies the
    /// first `supplied` template fields.
    pub fn evaluate(&self, event: &PipeEvent, supplied: usize) -> Vec<usize> {
        (0..self.content.rules.len())
            .filter(|&r| self.rule_matches(r, event, supplied))
            .collect()
    }

    /// Whether rule `rule` matches `event`.
    pub fn rule_matches(&self, rule: usize, event: &PipeEvent, supplied: usize) -> bool {
        self.expr_holds(rule, &self.content.rules[rule].condition, event, supplied)
    }

    /// Whether `expr`, over the predicates of rule `rule`, holds for `event`.
    pub fn expr_holds(&self, rule: usize, expr: &Expr, event: &PipeEvent, supplied: usize) -> bool {
        match expr {
            Expr::Pred(p) => self.predicate_holds(rule, *p, event, supplied),
            Expr::And(items) => items
                .iter()
                .all(|e| self.expr_holds(rule, e, event, supplied)),
            Expr::Or(items) => items
                .iter()
                .any(|e| self.expr_holds(rule, e, event, supplied)),
            Expr::Not(inner) => !self.expr_holds(rule, inner, event, supplied),
        }
    }

    /// Whether predicate `predicate` of rule `rule` holds for `event`; false for a predicate
    /// the rule does not have.
    pub fn predicate_holds(
        &self,
        rule: usize,
        predicate: usize,
        event: &PipeEvent,
        supplied: usize,
    ) -> bool {
        let Some(p) = self.content.rules[rule].predicates.get(predicate) else {
            return false;
        };
        if p.op == Operator::Wildcard {
            return true;
        }
        if p.field >= supplied {
            return false;
        }
        let held = match (p.op, field_value(event, p.field)) {
            (Operator::NullOrEmpty, FieldValue::Absent) => true,
            (Operator::NullOrEmpty, FieldValue::Str(s)) => s.is_empty(),
            (Operator::NullOrEmpty, FieldValue::Int(_)) => false,
            (_, FieldValue::Absent) => return false,
            (op, FieldValue::Str(s)) if is_string_operator(op) => {
                if s.encode_utf16().count() > usize::from(MAX_UNICODE_STRING_UNITS) {
                    return false;
                }
                match &self.patterns[rule][predicate] {
                    Some(regex) => regex.is_match(s),
                    None => string_holds(p, s),
                }
            }
            (op, FieldValue::Int(v)) if is_integer_operator(op) => integer_holds(p, v),
            _ => return false,
        };
        held != p.negate
    }
}

/// The matched rule indices of `content` for `event`: [`Reference::new`] then
/// [`Reference::evaluate`].
pub fn evaluate(
    content: &Content,
    event: &PipeEvent,
    supplied: usize,
) -> Result<Vec<usize>, PatternError> {
    Ok(Reference::new(content)?.evaluate(event, supplied))
}

fn is_string_operator(op: Operator) -> bool {
    matches!(
        op,
        Operator::Equals
            | Operator::Contains
            | Operator::BeginsWith
            | Operator::EndsWith
            | Operator::LessThan
            | Operator::MoreThan
            | Operator::Image
            | Operator::Glob
            | Operator::Regex
    )
}

fn is_integer_operator(op: Operator) -> bool {
    matches!(
        op,
        Operator::NumEquals
            | Operator::NumLess
            | Operator::NumGreater
            | Operator::FlagsAll
            | Operator::FlagsAny
    )
}

/// The compiled pattern of a glob or regex predicate; `None` for other operators.
fn pattern(p: &Predicate) -> Result<Option<Regex>, String> {
    let text = match (p.op, p.operands.as_slice()) {
        (Operator::Glob | Operator::Regex, [Operand::Str(text)]) => text,
        (Operator::Glob | Operator::Regex, _) => return Err("takes one pattern".into()),
        _ => return Ok(None),
    };
    let source = match p.op {
        Operator::Glob => compile::glob_to_regex(text),
        _ if p.case_insensitive => format!("(?i:{text})"),
        _ => text.clone(),
    };
    Regex::new(&source).map(Some).map_err(|e| e.to_string())
}

/// Upper-cases each UTF-16 code unit of `s` on its own, as the core does.
fn folded(s: &str) -> Vec<u16> {
    s.encode_utf16().map(fold).collect()
}

/// Whether a string operator other than glob and regex holds for the present value `value`,
/// before negation.
pub fn string_holds(p: &Predicate, value: &str) -> bool {
    let input = folded(value);
    let name = match input.iter().rposition(|&u| u == u16::from(b'\\')) {
        Some(slash) => &input[slash + 1..],
        None => &input[..],
    };
    let test = |operand: &Operand| {
        let Operand::Str(operand) = operand else {
            return false;
        };
        let o = folded(operand);
        match p.op {
            Operator::Equals => input == o,
            Operator::BeginsWith => input.starts_with(&o),
            Operator::EndsWith => input.ends_with(&o),
            Operator::Contains => o.is_empty() || input.windows(o.len()).any(|w| w == o),
            Operator::LessThan => input < o,
            Operator::MoreThan => input > o,
            Operator::Image => input == o || (!o.contains(&u16::from(b'\\')) && name == o),
            _ => false,
        }
    };
    if p.all {
        p.operands.iter().all(test)
    } else {
        p.operands.iter().any(test)
    }
}

/// Whether an integer operator holds for `value`, before negation.
fn integer_holds(p: &Predicate, value: u64) -> bool {
    let Some(Operand::Int(operand)) = p.operands.first() else {
        return false;
    };
    match p.op {
        Operator::NumEquals => value == *operand,
        Operator::NumLess => value < *operand,
        Operator::NumGreater => value > *operand,
        Operator::FlagsAll => value & operand == *operand,
        Operator::FlagsAny => value & operand != 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use crate::ir::{Origin, Rule};
    use sensor_core::op::{Action, Level};
    use sensor_core::schema::IPC;

    fn p(field: usize, op: Operator, operands: &[&str]) -> Predicate {
        Predicate {
            field,
            op,
            negate: false,
            all: false,
            operands: operands.iter().map(|s| Operand::Str((*s).into())).collect(),
            case_insensitive: false,
            origin: Origin::default(),
        }
    }

    fn int(field: usize, op: Operator, v: u64) -> Predicate {
        Predicate {
            operands: vec![Operand::Int(v)],
            ..p(field, op, &[])
        }
    }

    /// Content with one rule per predicate, each rule being that predicate alone.
    fn content(predicates: Vec<Predicate>) -> Content {
        let rules = predicates
            .into_iter()
            .map(|p| Rule {
                id: String::new(),
                title: String::new(),
                author: String::new(),
                level: Level::Low,
                action: Action::Alert,
                predicates: vec![p],
                condition: Expr::Pred(0),
                origin: Origin::default(),
            })
            .collect();
        Content {
            channel: 291,
            version: 1,
            template_id: IPC.id,
            template_version: IPC.version,
            rules,
        }
    }

    fn holds(predicate: Predicate, event: &PipeEvent) -> bool {
        let c = content(vec![predicate]);
        !evaluate(&c, event, IPC.field_count()).unwrap().is_empty()
    }

    fn pipe(name: &str) -> PipeEvent {
        PipeEvent {
            pipe_name: Some(name.into()),
            image_path: Some(r"C:\Windows\System32\LSASS.EXE".into()),
            process_id: Some(640),
            ..PipeEvent::default()
        }
    }

    #[test]
    fn string_operators_ignore_case() {
        let ev = pipe(r"\PSEXESVC-stdin");
        let f = ipc::PIPE_NAME;
        assert!(holds(p(f, Operator::Equals, &[r"\psexesvc-STDIN"]), &ev));
        assert!(!holds(p(f, Operator::Equals, &[r"\psexesvc"]), &ev));
        assert!(holds(p(f, Operator::BeginsWith, &["x", r"\PSExe"]), &ev));
        assert!(holds(p(f, Operator::EndsWith, &["-STDIN"]), &ev));
        assert!(holds(p(f, Operator::Contains, &["esvc-"]), &ev));
        assert!(holds(p(f, Operator::Contains, &[""]), &ev));
        assert!(holds(p(f, Operator::LessThan, &[r"\q"]), &ev));
        assert!(holds(p(f, Operator::MoreThan, &[r"\psexesvc"]), &ev));
        assert!(!holds(p(f, Operator::MoreThan, &[r"\psexesvc-stdin"]), &ev));
        let greek = pipe("\\αβ");
        assert!(holds(p(f, Operator::Equals, &["\\ΑΒ"]), &greek));
    }

    #[test]
    fn all_and_negation_give_the_sysmon_excludes_forms() {
        let ev = pipe(r"\MSSE-1234-server");
        let f = ipc::PIPE_NAME;
        let contains_all = Predicate {
            all: true,
            ..p(f, Operator::Contains, &["msse-", "-SERVER"])
        };
        assert!(holds(contains_all.clone(), &ev));
        let excludes_any = Predicate {
            negate: true,
            ..contains_all
        };
        assert!(!holds(excludes_any.clone(), &ev));
        assert!(holds(excludes_any, &pipe(r"\MSSE-1234-client")));
        let excludes_all = Predicate {
            negate: true,
            ..p(f, Operator::Contains, &["msse-", "nothing"])
        };
        assert!(!holds(excludes_all.clone(), &ev));
        assert!(holds(excludes_all, &pipe(r"\other")));
    }

    #[test]
    fn image_is_path_or_file_name() {
        let ev = pipe(r"\lsass");
        let f = ipc::IMAGE_PATH;
        assert!(holds(p(f, Operator::Image, &["lsass.exe"]), &ev));
        assert!(holds(
            p(f, Operator::Image, &[r"c:\windows\system32\lsass.exe"]),
            &ev
        ));
        assert!(!holds(p(f, Operator::Image, &[r"system32\lsass.exe"]), &ev));
        assert!(!holds(p(f, Operator::Image, &["lsass"]), &ev));
    }

    #[test]
    fn absent_or_unsupplied_is_false_even_negated() {
        let ev = PipeEvent::default();
        let negated = Predicate {
            negate: true,
            ..p(ipc::PIPE_NAME, Operator::Equals, &["x"])
        };
        assert!(!holds(negated.clone(), &ev));
        assert!(holds(negated.clone(), &pipe("y")));
        let c = content(vec![negated]);
        assert!(evaluate(&c, &pipe("y"), ipc::PIPE_NAME).unwrap().is_empty());
        let null = p(ipc::PIPE_NAME, Operator::NullOrEmpty, &[]);
        assert!(holds(null.clone(), &ev));
        assert!(holds(null.clone(), &pipe("")));
        assert!(!holds(null, &pipe("x")));
        assert!(!holds(
            p(ipc::PROCESS_ID, Operator::NullOrEmpty, &[]),
            &pipe("x")
        ));
        let wildcard = p(ipc::REMOTE_CLIENT, Operator::Wildcard, &[]);
        let c = content(vec![wildcard]);
        assert_eq!(evaluate(&c, &ev, 20).unwrap(), [0]);
    }

    #[test]
    fn wrong_types_and_oversized_strings_are_false_even_negated() {
        let ev = pipe("x");
        let negated_num = Predicate {
            negate: true,
            ..int(ipc::PIPE_NAME, Operator::NumEquals, 1)
        };
        assert!(!holds(negated_num, &ev));
        let negated_str = Predicate {
            negate: true,
            ..p(ipc::PROCESS_ID, Operator::Equals, &["x"])
        };
        assert!(!holds(negated_str, &ev));
        let long = pipe(&"a".repeat(usize::from(MAX_UNICODE_STRING_UNITS) + 1));
        let negated = Predicate {
            negate: true,
            ..p(ipc::PIPE_NAME, Operator::Equals, &["b"])
        };
        assert!(!holds(negated.clone(), &long));
        assert!(holds(negated, &pipe("a")));
    }

    #[test]
    fn integer_operators() {
        let ev = PipeEvent {
            kind: EventKind::Connect,
            pipe_type: Some(0b110),
            ..pipe("x")
        };
        assert!(holds(int(ipc::EVENT_KIND, Operator::NumEquals, 2), &ev));
        assert!(holds(int(ipc::PROCESS_ID, Operator::NumLess, 641), &ev));
        assert!(!holds(int(ipc::PROCESS_ID, Operator::NumGreater, 640), &ev));
        assert!(holds(int(ipc::PIPE_TYPE, Operator::FlagsAll, 0b100), &ev));
        assert!(!holds(int(ipc::PIPE_TYPE, Operator::FlagsAll, 0b101), &ev));
        assert!(holds(int(ipc::PIPE_TYPE, Operator::FlagsAny, 0b101), &ev));
    }

    #[test]
    fn globs_match_whole_values_and_regexes_anywhere() {
        let ev = pipe(r"\MSSE-1234-server");
        let f = ipc::PIPE_NAME;
        assert!(holds(p(f, Operator::Glob, &[r"\msse-*-SERVER"]), &ev));
        assert!(!holds(p(f, Operator::Glob, &[r"msse-*"]), &ev));
        assert!(holds(p(f, Operator::Glob, &[r"\MSSE-????-server"]), &ev));
        assert!(!holds(p(f, Operator::Glob, &[r"\MSSE-\*-server"]), &ev));
        assert!(holds(p(f, Operator::Regex, &[r"SE-\d+"]), &ev));
        assert!(!holds(p(f, Operator::Regex, &[r"se-\d+"]), &ev));
        let ci = Predicate {
            case_insensitive: true,
            ..p(f, Operator::Regex, &[r"se-\d+"])
        };
        assert!(holds(ci, &ev));
        assert!(!holds(p(f, Operator::Regex, &[r"^SE"]), &ev));
    }

    #[test]
    fn conditions_are_walked_as_written() {
        let mut c = content(vec![p(ipc::PIPE_NAME, Operator::Equals, &["a"])]);
        let rule = &mut c.rules[0];
        rule.predicates
            .push(p(ipc::PIPE_NAME, Operator::Equals, &["b"]));
        let (a, b) = (Expr::Pred(0), Expr::Pred(1));
        let cases = [
            (Expr::And(vec![]), true),
            (Expr::Or(vec![]), false),
            (Expr::Or(vec![a.clone(), b.clone()]), true),
            (Expr::And(vec![a.clone(), b.clone()]), false),
            (Expr::Not(Box::new(b)), true),
            (Expr::Pred(7), false),
        ];
        for (condition, expected) in cases {
            c.rules[0].condition = condition.clone();
            let matched = !evaluate(&c, &pipe("A"), 21).unwrap().is_empty();
            assert_eq!(matched, expected, "{condition:?}");
        }
    }

    #[test]
    fn bad_patterns_are_reported() {
        let c = content(vec![p(ipc::PIPE_NAME, Operator::Regex, &["(unclosed"])]);
        let error = Reference::new(&c).unwrap_err();
        assert_eq!((error.rule, error.predicate), (0, 0));
    }
}
