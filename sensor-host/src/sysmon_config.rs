//! The `PipeEvent` filters of Sysmon XML configurations imported as rules that say which pipe
//! events Sysmon would log.
//!
//! All files given make one configuration, as sysmon-modular merges its modules. Filters follow
//! Sysmon's rules (docs/importers.md has sources and examples):
//!
//! - A `<PipeEvent onmatch="include|exclude">` filter holds field entries
//!   (`<PipeName condition="begin with">\postex_</PipeName>`) and `<Rule>` groups of them.
//! - Entries combine as their `<RuleGroup groupRelation>` says: with `or`, each entry (field
//!   entry or `<Rule>`) stands alone; with `and`, the whole filter is one test. A filter outside
//!   any `RuleGroup` follows the older rule: entries on the same field `or`, different fields
//!   `and`. A `<Rule>` combines its entries by its own `groupRelation`; `RuleGroup` and `Rule`
//!   default to `and`.
//! - Exclude matches take precedence. Each include test becomes one rule, action `log`, whose
//!   condition is `include test and not (any exclude test)`; it is named by the `name` attribute
//!   of its `Rule`, entry or `RuleGroup` (Sysmon's `RuleName`), or else described. With exclude
//!   filters and no include filter, one rule logs every event no exclude test matches.
//! - The 16 conditions map onto operators: `is`, `is not`, `is any`, `contains`, `contains any`,
//!   `contains all`, `excludes`, `excludes any`, `excludes all`, `begin with`, `not begin with`,
//!   `end with`, `not end with`, `less than`, `more than`, `image`. `;` separates the values of
//!   the `any` and `all` forms.
//! - `PipeName`, `Image` and `User` are string fields; `ProcessId` takes `is`, `is not` and
//!   `is any`; `EventType` tests are decided for `CreatePipe` and `ConnectPipe` at import and
//!   become tests of `event_kind`. `RuleName`, `UtcTime` and `ProcessGuid` have no template
//!   field: entries on them are reported, not imported.
//!
//! Filters of other event types are not pipe content and are passed over.

use std::path::Path;

use roxmltree::{Document, Node};
use sensor_core::op::{Action, Level};
use sensor_core::schema::ipc;
use sensor_core::Operator;

use crate::import::{
    self, any, check_compiles, compile_reason, Diagnostic, Imported, ImportedRule, Location, Part,
    Predicates, Severity,
};
use crate::ir::{Expr, Operand, Origin, Predicate, Rule};

/// Why part of a configuration did not import, or what deserves a look.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The file is not well-formed XML.
    #[error("invalid XML: {0}")]
    Xml(String),
    /// The root element is not `Sysmon`.
    #[error("the root element is `{0}`, not `Sysmon`")]
    NotSysmon(String),
    /// An element where the schema has none of that name.
    #[error("unexpected element `{element}` in `{parent}`")]
    UnexpectedElement {
        /// The element.
        element: String,
        /// Where it stands.
        parent: String,
    },
    /// A `PipeEvent` without a valid `onmatch`.
    #[error("`onmatch` must be `include` or `exclude`, found `{0}`")]
    BadOnmatch(String),
    /// A `groupRelation` other than `and` and `or`.
    #[error("`groupRelation` must be `and` or `or`, found `{0}`")]
    BadGroupRelation(String),
    /// A condition Sysmon does not define.
    #[error("unknown condition `{0}`")]
    UnknownCondition(String),
    /// A `PipeEvent` field that the IPC template has no field for.
    #[error("field `{0}` cannot be tested: the IPC template has no field for it")]
    NotInTemplate(String),
    /// A field `PipeEvent` does not have.
    #[error("`{0}` is not a PipeEvent field (PipeName, Image, User, ProcessId, EventType, ProcessGuid, RuleName, UtcTime)")]
    UnknownField(String),
    /// A condition the integer field `ProcessId` does not take.
    #[error("`ProcessId` takes `is`, `is not` and `is any`, not `{0}`")]
    IntegerCondition(String),
    /// A `ProcessId` value that is not an unsigned integer.
    #[error("`{0}` is not an unsigned integer")]
    NotAnInteger(String),
    /// A `;`-separated list with nothing in it.
    #[error("the list of values is empty")]
    EmptyList,
    /// The rule does not compile.
    #[error("cannot compile: {0}")]
    Compile(String),
    /// Warning: an `EventType` test that neither `CreatePipe` nor `ConnectPipe` passes.
    #[error("this EventType test holds for neither CreatePipe nor ConnectPipe, so it never holds")]
    EventTypeNeverMatches,
}

type Diag = Diagnostic<ConfigError>;

/// Imports the `PipeEvent` filters of the Sysmon configurations in `paths`, as one
/// configuration.
pub fn import(paths: &[impl AsRef<Path>]) -> Imported<ConfigError> {
    let mut config = Config::default();
    for path in paths {
        let path = path.as_ref();
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => config.add_source(&text, &file),
            Err(e) => config.out.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                location: Location::file(&file),
                rule: None,
                kind: ConfigError::Io(e.to_string()),
            }),
        }
    }
    config.finish()
}

/// Imports one configuration text, read from `file`.
pub fn import_str(text: &str, file: &str) -> Imported<ConfigError> {
    let mut config = Config::default();
    config.add_source(text, file);
    config.finish()
}

/// One test of a filter: a field entry, a `<Rule>`, or a whole filter, with its own predicates.
#[derive(Clone, Debug)]
struct Test {
    /// `file:line`, unique.
    id: String,
    /// The `name` attribute that applies, else a description.
    title: String,
    predicates: Vec<Predicate>,
    expr: Expr,
    origin: Origin,
    location: Location,
}

impl Test {
    /// Adds this test's predicates to `into` and returns its expression over them there.
    fn append(&self, into: &mut Predicates) -> Expr {
        let offset = into.0.len();
        into.0.extend(self.predicates.iter().cloned());
        shift(&self.expr, offset)
    }
}

fn shift(expr: &Expr, offset: usize) -> Expr {
    let all = |items: &[Expr]| items.iter().map(|e| shift(e, offset)).collect();
    match expr {
        Expr::Pred(i) => Expr::Pred(i + offset),
        Expr::And(items) => Expr::And(all(items)),
        Expr::Or(items) => Expr::Or(all(items)),
        Expr::Not(inner) => Expr::Not(Box::new(shift(inner, offset))),
    }
}

/// How a filter's entries combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    And,
    Or,
    /// No `RuleGroup`: same field `or`, different fields `and`.
    ByField,
}

/// A configuration being read, file by file.
#[derive(Debug, Default)]
struct Config {
    includes: Vec<Test>,
    excludes: Vec<Test>,
    /// Whether any include filter was seen, even an empty one.
    has_include: bool,
    /// Whether any exclude filter was seen, even an empty one.
    has_exclude: bool,
    /// Where the first filter was written, for the rule of an exclude-only configuration.
    first_filter: Option<(String, Location)>,
    out: Imported<ConfigError>,
}

impl Config {
    fn add_source(&mut self, text: &str, file: &str) {
        let doc = match Document::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let pos = e.pos();
                let location = Location::chars(
                    text,
                    file,
                    pos.row as usize,
                    (pos.col as usize).saturating_sub(1),
                    None,
                );
                self.error(location, None, ConfigError::Xml(e.to_string()));
                return;
            }
        };
        let reader = Reader { text, file };
        let root = doc.root_element();
        if root.tag_name().name() != "Sysmon" {
            let kind = ConfigError::NotSysmon(root.tag_name().name().to_owned());
            self.error(reader.at(root), None, kind);
            return;
        }
        for filtering in elements(root).filter(|e| e.tag_name().name() == "EventFiltering") {
            for child in elements(filtering) {
                match child.tag_name().name() {
                    "RuleGroup" => self.rule_group(&reader, child),
                    _ => self.filter(&reader, child, Relation::ByField, None),
                }
            }
        }
    }

    fn error(&mut self, location: Location, rule: Option<String>, kind: ConfigError) {
        self.out.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            location,
            rule,
            kind,
        });
    }

    fn rule_group(&mut self, reader: &Reader<'_>, group: Node<'_, '_>) {
        let relation = match reader.relation(group) {
            Ok(relation) => relation,
            Err(e) => return self.out.diagnostics.push(*e),
        };
        let name = group.attribute("name").filter(|n| !n.is_empty());
        for filter in elements(group) {
            self.filter(reader, filter, relation, name);
        }
    }

    /// One event filter; only `PipeEvent` ones are read.
    fn filter(
        &mut self,
        reader: &Reader<'_>,
        filter: Node<'_, '_>,
        relation: Relation,
        group_name: Option<&str>,
    ) {
        if filter.tag_name().name() != "PipeEvent" {
            return;
        }
        let onmatch = filter.attribute("onmatch").unwrap_or_default();
        let include = match onmatch {
            "include" => true,
            "exclude" => false,
            other => {
                let at = reader.attribute_at(filter, "onmatch");
                return self.error(at, None, ConfigError::BadOnmatch(other.to_owned()));
            }
        };
        self.first_filter
            .get_or_insert_with(|| (reader.file.to_owned(), reader.at(filter)));
        if include {
            self.has_include = true;
        } else {
            self.has_exclude = true;
        }
        let (tests, mut diagnostics) = reader.tests(filter, relation, group_name, include);
        self.out.diagnostics.append(&mut diagnostics);
        match include {
            true => self.includes.extend(tests),
            false => self.excludes.extend(tests),
        }
    }

    /// The rules: each include test unless excluded, or, with exclude filters only, everything
    /// not excluded.
    fn finish(mut self) -> Imported<ConfigError> {
        let candidates = match (self.has_include, self.has_exclude, &self.first_filter) {
            (true, ..) => self.includes.clone(),
            (false, true, Some((file, location))) => vec![Test {
                id: format!("{}:not-excluded", file_name(file)),
                title: "every pipe event no exclude filter matches".into(),
                predicates: Vec::new(),
                expr: Expr::And(Vec::new()),
                origin: location.origin(),
                location: location.clone(),
            }],
            _ => Vec::new(),
        };
        for test in candidates {
            let rule = self.rule(&test);
            match check_compiles(&rule.rule) {
                Ok(()) => self.out.rules.push(rule),
                Err(e) => {
                    let kind = ConfigError::Compile(compile_reason(&e));
                    let label = Some(format!("{} \"{}\"", test.id, test.title));
                    self.error(test.location.clone(), label, kind);
                }
            }
        }
        self.out
    }

    /// The rule for one include test: it holds, and no exclude test does.
    fn rule(&self, include: &Test) -> ImportedRule {
        let mut predicates = Predicates::default();
        let expr = include.append(&mut predicates);
        let mut parts = vec![Part {
            name: format!("include {}", include.id),
            expr: expr.clone(),
        }];
        let excluded: Vec<Expr> = self
            .excludes
            .iter()
            .map(|test| {
                let expr = test.append(&mut predicates);
                parts.push(Part {
                    name: format!("exclude {}", test.id),
                    expr: expr.clone(),
                });
                expr
            })
            .collect();
        let condition = match excluded.is_empty() {
            true => expr,
            false => import::all(vec![expr, Expr::Not(Box::new(any(excluded)))]),
        };
        let rule = Rule {
            id: include.id.clone(),
            title: include.title.clone(),
            author: String::new(),
            level: Level::Informational,
            action: Action::Log,
            predicates: predicates.0,
            condition,
            origin: include.origin.clone(),
        };
        ImportedRule { rule, parts }
    }
}

fn file_name(file: &str) -> &str {
    Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(file)
}

/// The element children of `node`.
fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

/// Sysmon's conditions: (name, operator, negate, all, `;`-separated values).
const CONDITIONS: [(&str, Operator, bool, bool, bool); 16] = [
    ("is", Operator::Equals, false, false, false),
    ("is not", Operator::Equals, true, false, false),
    ("is any", Operator::Equals, false, false, true),
    ("contains", Operator::Contains, false, false, false),
    ("contains any", Operator::Contains, false, false, true),
    ("contains all", Operator::Contains, false, true, true),
    ("excludes", Operator::Contains, true, false, false),
    ("excludes any", Operator::Contains, true, true, true),
    ("excludes all", Operator::Contains, true, false, true),
    ("begin with", Operator::BeginsWith, false, false, false),
    ("not begin with", Operator::BeginsWith, true, false, false),
    ("end with", Operator::EndsWith, false, false, false),
    ("not end with", Operator::EndsWith, true, false, false),
    ("less than", Operator::LessThan, false, false, false),
    ("more than", Operator::MoreThan, false, false, false),
    ("image", Operator::Image, false, false, false),
];

/// Reads the filters of one source text.
struct Reader<'a> {
    text: &'a str,
    file: &'a str,
}

/// What an entry's field maps to.
enum Target {
    Text(usize),
    ProcessId,
    EventType,
}

impl Reader<'_> {
    fn at(&self, node: Node<'_, '_>) -> Location {
        Location::bytes(self.text, self.file, node.range())
    }

    fn attribute_at(&self, node: Node<'_, '_>, name: &str) -> Location {
        match node.attribute_node(name) {
            Some(a) => Location::bytes(self.text, self.file, a.range_value()),
            None => self.at(node),
        }
    }

    fn value_at(&self, entry: Node<'_, '_>) -> Location {
        match entry.first_child().filter(Node::is_text) {
            Some(text) => Location::bytes(self.text, self.file, text.range()),
            None => self.at(entry),
        }
    }

    fn diag(&self, severity: Severity, location: Location, kind: ConfigError) -> Diag {
        Diagnostic {
            severity,
            location,
            rule: None,
            kind,
        }
    }

    fn error(&self, location: Location, kind: ConfigError) -> Box<Diag> {
        Box::new(self.diag(Severity::Error, location, kind))
    }

    fn relation(&self, node: Node<'_, '_>) -> Result<Relation, Box<Diag>> {
        match node.attribute("groupRelation").map(str::to_ascii_lowercase) {
            None => Ok(Relation::And),
            Some(r) if r == "and" => Ok(Relation::And),
            Some(r) if r == "or" => Ok(Relation::Or),
            Some(r) => Err(self.error(
                self.attribute_at(node, "groupRelation"),
                ConfigError::BadGroupRelation(r),
            )),
        }
    }

    /// The tests of one `PipeEvent` filter and the diagnostics of those that did not import.
    fn tests(
        &self,
        filter: Node<'_, '_>,
        relation: Relation,
        group_name: Option<&str>,
        include: bool,
    ) -> (Vec<Test>, Vec<Diag>) {
        let entries: Vec<Node<'_, '_>> = elements(filter).collect();
        let units: Vec<(Node<'_, '_>, Vec<Node<'_, '_>>)> = match relation {
            Relation::Or => entries.iter().map(|&e| (e, vec![e])).collect(),
            _ if entries.is_empty() => Vec::new(),
            _ => vec![(filter, entries)],
        };
        let mut tests = Vec::new();
        let mut diagnostics = Vec::new();
        for (at, members) in units {
            match self.test(at, &members, relation, group_name, &mut diagnostics) {
                Ok(test) => tests.push(test),
                Err(mut error) => {
                    let side = if include { "include" } else { "exclude" };
                    let id = format!("{}:{}", file_name(self.file), self.at(at).line);
                    error.rule = Some(format!("{side} {id}"));
                    diagnostics.push(*error);
                }
            }
        }
        (tests, diagnostics)
    }

    /// One test made of `members`, written at `at`.
    fn test(
        &self,
        at: Node<'_, '_>,
        members: &[Node<'_, '_>],
        relation: Relation,
        group_name: Option<&str>,
        warnings: &mut Vec<Diag>,
    ) -> Result<Test, Box<Diag>> {
        let mut predicates = Predicates::default();
        let mut descriptions = Vec::new();
        let mut name = None;
        let mut by_field: Vec<(String, Vec<Expr>)> = Vec::new();
        for (index, &member) in members.iter().enumerate() {
            let (expr, description, member_name, field) = match member.tag_name().name() {
                "Rule" => {
                    let (expr, description, name) = self.rule(member, &mut predicates, warnings)?;
                    (expr, description, name, format!("<Rule {index}>"))
                }
                field => {
                    let (expr, description, name) =
                        self.entry(member, &mut predicates, warnings)?;
                    (expr, description, name, field.to_owned())
                }
            };
            name = name.or(member_name);
            descriptions.push(description);
            match by_field.iter_mut().find(|(f, _)| *f == field) {
                Some((_, exprs)) if relation == Relation::ByField => exprs.push(expr),
                _ => by_field.push((field, vec![expr])),
            }
        }
        let expr = import::all(by_field.into_iter().map(|(_, e)| any(e)).collect());
        let location = self.at(at);
        let title = name
            .or(group_name.map(str::to_owned))
            .unwrap_or_else(|| descriptions.join(" and "));
        Ok(Test {
            id: format!("{}:{}", file_name(self.file), location.line),
            title,
            predicates: predicates.0,
            expr,
            origin: location.origin(),
            location,
        })
    }

    /// A `<Rule>` group: its expression, description and name.
    fn rule(
        &self,
        rule: Node<'_, '_>,
        predicates: &mut Predicates,
        warnings: &mut Vec<Diag>,
    ) -> Result<(Expr, String, Option<String>), Box<Diag>> {
        let relation = self.relation(rule)?;
        let mut exprs = Vec::new();
        let mut descriptions = Vec::new();
        let mut name = rule
            .attribute("name")
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        for entry in elements(rule) {
            if entry.tag_name().name() == "Rule" {
                return Err(self.error(
                    self.at(entry),
                    ConfigError::UnexpectedElement {
                        element: "Rule".into(),
                        parent: "Rule".into(),
                    },
                ));
            }
            let (expr, description, entry_name) = self.entry(entry, predicates, warnings)?;
            name = name.or(entry_name);
            exprs.push(expr);
            descriptions.push(description);
        }
        let (expr, joint) = match relation {
            Relation::Or => (any(exprs), " or "),
            _ => (import::all(exprs), " and "),
        };
        Ok((expr, descriptions.join(joint), name))
    }

    /// A field entry: its expression, description and name.
    fn entry(
        &self,
        entry: Node<'_, '_>,
        predicates: &mut Predicates,
        warnings: &mut Vec<Diag>,
    ) -> Result<(Expr, String, Option<String>), Box<Diag>> {
        let field = entry.tag_name().name();
        let error = |location, kind| self.error(location, kind);
        let target = match field {
            "PipeName" => Target::Text(ipc::PIPE_NAME),
            "Image" => Target::Text(ipc::IMAGE_PATH),
            "User" => Target::Text(ipc::USER),
            "ProcessId" => Target::ProcessId,
            "EventType" => Target::EventType,
            "ProcessGuid" | "RuleName" | "UtcTime" => {
                return Err(error(
                    self.at(entry),
                    ConfigError::NotInTemplate(field.into()),
                ));
            }
            other => {
                return Err(error(
                    self.at(entry),
                    ConfigError::UnknownField(other.into()),
                ))
            }
        };
        let condition = entry.attribute("condition").unwrap_or("is");
        let Some(&(_, op, negate, all, split)) = CONDITIONS
            .iter()
            .find(|c| c.0.eq_ignore_ascii_case(condition))
        else {
            let at = self.attribute_at(entry, "condition");
            return Err(error(at, ConfigError::UnknownCondition(condition.into())));
        };
        let text = entry.text().unwrap_or_default();
        let values: Vec<String> = match split {
            true => text
                .split(';')
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
            false => vec![text.to_owned()],
        };
        if values.is_empty() {
            return Err(error(self.value_at(entry), ConfigError::EmptyList));
        }
        let origin = self.value_at(entry).origin();
        let predicate = Predicate {
            negate,
            all,
            origin: origin.clone(),
            ..import::predicate(0, op, values)
        };
        let expr = match target {
            Target::Text(field) => predicates.push(Predicate { field, ..predicate }),
            Target::ProcessId => self.process_id(entry, condition, predicate, predicates)?,
            Target::EventType => {
                let probe = Predicate {
                    field: ipc::USER,
                    ..predicate
                };
                import::event_kind_test(&[probe], &Expr::Pred(0), &origin, predicates)
                    .map_err(|e| self.error(self.value_at(entry), ConfigError::Compile(e.message)))?
                    .unwrap_or_else(|| {
                        let at = self.value_at(entry);
                        let kind = ConfigError::EventTypeNeverMatches;
                        warnings.push(self.diag(Severity::Warning, at, kind));
                        Expr::Or(Vec::new())
                    })
            }
        };
        let description = format!("{field} {condition} {text}");
        let name = entry
            .attribute("name")
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        Ok((expr, description, name))
    }

    /// `ProcessId is`, `is not`, `is any`: `num-equals` tests.
    fn process_id(
        &self,
        entry: Node<'_, '_>,
        condition: &str,
        string: Predicate,
        predicates: &mut Predicates,
    ) -> Result<Expr, Box<Diag>> {
        if string.op != Operator::Equals {
            let at = self.attribute_at(entry, "condition");
            let kind = ConfigError::IntegerCondition(condition.to_owned());
            return Err(self.error(at, kind));
        }
        let mut tests = Vec::new();
        for operand in &string.operands {
            let Operand::Str(text) = operand else {
                continue;
            };
            let n: u64 = text.trim().parse().map_err(|_| {
                let kind = ConfigError::NotAnInteger(text.clone());
                self.error(self.value_at(entry), kind)
            })?;
            tests.push(predicates.push(Predicate {
                field: ipc::PROCESS_ID,
                op: Operator::NumEquals,
                operands: vec![Operand::Int(n)],
                ..string.clone()
            }));
        }
        Ok(any(tests))
    }
}
