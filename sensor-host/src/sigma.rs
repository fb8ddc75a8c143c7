//! Sigma rules for named pipes (`logsource: category: pipe_created`) imported as rules.
//!
//! Each Sigma rule becomes one rule that keeps its `id`, `title`, `level` and `author` (the
//! Detection Rule License asks that alerts carry the author) with action `alert`. Fields map
//! onto the IPC template: `PipeName` to `pipe_name`, `Image` to `image_path`, `User` to `user`,
//! `ProcessId` to `process_id` and `EventType` (`CreatePipe`, `ConnectPipe`) to `event_kind`.
//! `ProcessGuid` has no template field, so a rule that tests it is reported, not imported.
//!
//! Values follow Sigma: string tests ignore case; a plain value is an equality, or a glob when
//! it holds unescaped `*` or `?` (see `sigma/string.rs`); `contains`, `startswith` and `endswith`
//! become the operators of those names, or globs with `*` added when the value has wildcards;
//! `re` is a regular expression searched anywhere in the value, case-sensitive unless `i` is
//! added (`m` and `s` set those flags too); `null` is `null-or-empty`. A list of values is an
//! `or`, or with `all` an `and`; several keys in a mapping are an `and`; a list of mappings is
//! an `or` of them. Conditions are read by [`crate::condition`], search identifiers being the
//! names. `docs/importers.md` has the whole mapping.
//!
//! Every rule that cannot be imported is reported with the reason, file, line and column;
//! rules written for other log sources are noted and left out.

mod string;
mod yaml;

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::ScalarStyle;
use sensor_core::op::{Action, Level};
use sensor_core::schema::ipc;
use sensor_core::Operator;

use crate::condition::{self, ConditionError};
use crate::import::{
    self, any, check_compiles, compile_reason, Diagnostic, Imported, ImportedRule, Location, Part,
    Predicates, Severity,
};
use crate::ir::{Expr, Operand, Origin, Predicate, Rule};
use string::SigmaString;
use yaml::{Node, Value};

pub use yaml::YamlErrorKind;

/// Why a Sigma rule (or a whole file) did not import, or what deserves a look.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigmaError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The file is not YAML this importer accepts.
    #[error("{0}")]
    Yaml(YamlErrorKind),
    /// A YAML document that is not a mapping.
    #[error("a Sigma rule is a mapping, found {0}")]
    NotARule(&'static str),
    /// A required key is missing.
    #[error("missing key `{0}`")]
    MissingKey(&'static str),
    /// A key holds the wrong kind of YAML node.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key.
        key: String,
        /// What it takes.
        expected: &'static str,
        /// What it holds.
        found: &'static str,
    },
    /// Two rules share an id.
    #[error("rule id `{id}` is already used at {first}")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it was used first, as `file:line`.
        first: String,
    },
    /// A level Sigma does not define.
    #[error("unknown level `{0}`")]
    UnknownLevel(String),
    /// Warning: the rule has no level and is imported as informational.
    #[error("the rule has no level; imported as informational")]
    NoLevel,
    /// Warning: the rule's status is `deprecated`.
    #[error("the rule is deprecated")]
    Deprecated,
    /// Note: the rule is for another log source.
    #[error("log source {0} is not windows/pipe_created")]
    OtherLogSource(String),
    /// A Sigma feature this importer does not implement.
    #[error("{0} are not supported")]
    Unsupported(&'static str),
    /// A value modifier this importer does not implement.
    #[error("modifier `{0}` is not supported (contains, startswith, endswith, re, all and re's i, m, s are)")]
    UnsupportedModifier(String),
    /// Two modifiers that each decide how values compare.
    #[error("modifiers `{0}` and `{1}` cannot be combined")]
    ConflictingModifiers(String, String),
    /// A regular-expression flag without `re`.
    #[error("modifier `{0}` applies to `re` only")]
    RegexFlag(String),
    /// A field outside the `pipe_created` taxonomy.
    #[error("field `{0}` is not in the pipe_created taxonomy (PipeName, Image, EventType, ProcessId, ProcessGuid, User)")]
    UnknownField(String),
    /// `ProcessGuid`, which the IPC template has no field for.
    #[error("field `ProcessGuid` cannot be tested: the IPC template has no process GUID field")]
    ProcessGuid,
    /// `null` with a modifier.
    #[error("`null` takes no modifiers")]
    NullWithModifier,
    /// A value of an integer field that is not an unsigned integer.
    #[error("`{field}` is an integer field; `{value}` is not an unsigned integer")]
    NotAnInteger {
        /// The Sigma field.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// A modifier on an integer field.
    #[error("`{field}` is an integer field: it takes exact values and null, not `{modifier}`")]
    IntegerModifier {
        /// The Sigma field.
        field: &'static str,
        /// The modifier.
        modifier: String,
    },
    /// An empty list of values or of mappings.
    #[error("an empty {0} matches nothing")]
    Empty(&'static str),
    /// A value that is neither a scalar nor null.
    #[error("a value must be a scalar or null, found {0}")]
    BadValue(&'static str),
    /// A search identifier that is neither a mapping nor a list of mappings.
    #[error("a search identifier must be a non-empty mapping or a list of mappings, found {0}")]
    BadSearch(&'static str),
    /// A regular expression that does not parse.
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
    /// The condition does not parse, or names what is not there.
    #[error("condition: {0}")]
    Condition(ConditionError),
    /// The rule imports but does not compile (a pattern the automata cannot run, a limit).
    #[error("cannot compile: {0}")]
    Compile(String),
    /// Warning: an `EventType` test that neither `CreatePipe` nor `ConnectPipe` passes.
    #[error("this EventType test holds for neither CreatePipe nor ConnectPipe, so it never holds")]
    EventTypeNeverMatches,
}

type Diag = Diagnostic<SigmaError>;

/// Imports the Sigma rules in `paths`: files, and directories searched for `.yml` and `.yaml`
/// files in name order.
pub fn import(paths: &[impl AsRef<Path>]) -> Imported<SigmaError> {
    let mut importer = Importer::default();
    for path in paths {
        importer.add_path(path.as_ref());
    }
    importer.finish()
}

/// Imports Sigma rules from several sources, checking ids across all of them.
#[derive(Debug, Default)]
pub struct Importer {
    out: Imported<SigmaError>,
    /// Each imported id and where it was written, as `file:line`.
    ids: HashMap<String, String>,
}

impl Importer {
    /// Adds a rule file, or the rule files under a directory.
    pub fn add_path(&mut self, path: &Path) {
        let file = path.display().to_string();
        if path.is_dir() {
            match rule_files(path) {
                Ok(files) => files.iter().for_each(|f| self.add_path(f)),
                Err(e) => self.file_error(&file, SigmaError::Io(e.to_string())),
            }
            return;
        }
        match std::fs::read_to_string(path) {
            Ok(text) => self.add_source(&text, &file),
            Err(e) => self.file_error(&file, SigmaError::Io(e.to_string())),
        }
    }

    /// Adds the rules written in `text`, read from `file`.
    pub fn add_source(&mut self, text: &str, file: &str) {
        let documents = match yaml::documents(text) {
            Ok(documents) => documents,
            Err(e) => {
                let location = Location::chars(text, file, e.line, e.column, e.end);
                self.out.diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    location,
                    rule: None,
                    kind: SigmaError::Yaml(e.kind),
                });
                return;
            }
        };
        for document in &documents {
            self.document(text, file, document);
        }
    }

    /// The rules imported and the diagnostics.
    pub fn finish(self) -> Imported<SigmaError> {
        self.out
    }

    fn file_error(&mut self, file: &str, kind: SigmaError) {
        self.out.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            location: Location::file(file),
            rule: None,
            kind,
        });
    }

    fn document(&mut self, text: &str, file: &str, document: &Node) {
        let mut reader = RuleReader {
            text,
            file,
            predicates: Predicates::default(),
            locations: HashMap::new(),
            warnings: Vec::new(),
        };
        let label = label(document);
        match reader.rule(document) {
            Ok(Read::Rule(imported)) => self.accept(&reader, imported, label),
            Ok(Read::Elsewhere(note)) => self.out.diagnostics.push(Diagnostic {
                rule: label,
                ..note
            }),
            Err(error) => self.out.diagnostics.push(Diagnostic {
                rule: label,
                ..*error
            }),
        }
    }

    /// Keeps `imported` unless its id is taken or it does not compile.
    fn accept(&mut self, reader: &RuleReader<'_>, imported: ImportedRule, label: Option<String>) {
        let rule = &imported.rule;
        let place = format!("{}:{}", rule.origin.file, rule.origin.line);
        let refusal = if let Some(first) = self.ids.get(&rule.id) {
            let kind = SigmaError::DuplicateId {
                id: rule.id.clone(),
                first: first.clone(),
            };
            Some(reader.error_at(&rule.origin, kind))
        } else {
            check_compiles(rule)
                .err()
                .map(|e| reader.error_at(&e.origin, SigmaError::Compile(compile_reason(&e))))
        };
        if let Some(error) = refusal {
            self.out.diagnostics.push(Diagnostic {
                rule: label,
                ..error
            });
            return;
        }
        self.ids.insert(rule.id.clone(), place);
        for warning in &reader.warnings {
            self.out.diagnostics.push(Diagnostic {
                rule: label.clone(),
                ..warning.clone()
            });
        }
        self.out.rules.push(imported);
    }
}

/// The `.yml` and `.yaml` files and the directories under `dir`, in name order.
fn rule_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
        if path.is_dir() || is_yaml {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// `id "title"` of a rule document, as far as it has them.
fn label(document: &Node) -> Option<String> {
    let text = |key| document.get(key).and_then(Node::text);
    match (text("id"), text("title")) {
        (Some(id), Some(title)) => Some(format!("{id} \"{title}\"")),
        (Some(id), None) => Some(id.to_owned()),
        (None, Some(title)) => Some(format!("\"{title}\"")),
        (None, None) => None,
    }
}

/// What reading one YAML document gave.
enum Read {
    /// A rule for this channel.
    Rule(ImportedRule),
    /// A rule for another log source; the note says which.
    Elsewhere(Diag),
}

/// What a Sigma field maps to.
#[derive(Clone, Copy)]
enum Target {
    /// A string field of the template.
    Text(usize),
    /// The integer `process_id`.
    ProcessId,
    /// `EventType`, decided on `event_kind`.
    EventType,
}

/// How the values of a key compare, after its modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    Regex,
}

/// The modifiers of one key.
struct Modifiers {
    compare: Compare,
    /// The modifier that set `compare`, if any.
    compare_name: Option<String>,
    all: bool,
    /// `re` flags: `i`, `m`, `s`.
    flags: Vec<char>,
}

impl Modifiers {
    fn parse<'k>(names: impl Iterator<Item = &'k str>) -> Result<Self, SigmaError> {
        let mut m = Self {
            compare: Compare::Equals,
            compare_name: None,
            all: false,
            flags: Vec::new(),
        };
        for name in names {
            let compare = match name {
                "contains" => Compare::Contains,
                "startswith" => Compare::StartsWith,
                "endswith" => Compare::EndsWith,
                "re" => Compare::Regex,
                "all" => {
                    m.all = true;
                    continue;
                }
                "i" | "m" | "s" => {
                    m.flags.extend(name.chars());
                    continue;
                }
                other => return Err(SigmaError::UnsupportedModifier(other.to_owned())),
            };
            if let Some(first) = m.compare_name.replace(name.to_owned()) {
                return Err(SigmaError::ConflictingModifiers(first, name.to_owned()));
            }
            m.compare = compare;
        }
        if let (Some(flag), false) = (m.flags.first(), m.compare == Compare::Regex) {
            return Err(SigmaError::RegexFlag(flag.to_string()));
        }
        Ok(m)
    }

    fn is_plain(&self) -> bool {
        self.compare_name.is_none() && self.flags.is_empty()
    }

    /// The first modifier written, for messages about integer fields.
    fn first_name(&self) -> String {
        match (&self.compare_name, self.all) {
            (Some(name), _) => name.clone(),
            (None, true) => "all".into(),
            (None, false) => self.flags.iter().collect(),
        }
    }
}

/// Reads one rule document of one source text.
struct RuleReader<'a> {
    text: &'a str,
    file: &'a str,
    predicates: Predicates,
    /// Where each predicate was written, by its origin's line and column.
    locations: HashMap<(usize, usize), Location>,
    warnings: Vec<Diag>,
}

impl RuleReader<'_> {
    fn location(&self, node: &Node) -> Location {
        let (start, end) = (node.span.start, node.span.end);
        let end = (end.line() == start.line()).then_some(end.col());
        Location::chars(self.text, self.file, start.line(), start.col(), end)
    }

    fn diag(&self, severity: Severity, node: &Node, kind: SigmaError) -> Diag {
        Diagnostic {
            severity,
            location: self.location(node),
            rule: None,
            kind,
        }
    }

    fn error(&self, node: &Node, kind: SigmaError) -> Box<Diag> {
        Box::new(self.diag(Severity::Error, node, kind))
    }

    /// An error at a compiler origin: the predicate written there, or the rule.
    fn error_at(&self, origin: &Origin, kind: SigmaError) -> Diag {
        let location = self
            .locations
            .get(&(origin.line, origin.column))
            .cloned()
            .unwrap_or_else(|| {
                let column = origin.column.saturating_sub(1);
                Location::chars(self.text, self.file, origin.line, column, None)
            });
        Diagnostic {
            severity: Severity::Error,
            location,
            rule: None,
            kind,
        }
    }

    fn warn(&mut self, node: &Node, kind: SigmaError) {
        let warning = self.diag(Severity::Warning, node, kind);
        self.warnings.push(warning);
    }

    /// The origin of `node`, remembering its location for compile errors.
    fn origin(&mut self, node: &Node) -> Origin {
        let location = self.location(node);
        let origin = location.origin();
        self.locations
            .insert((origin.line, origin.column), location);
        origin
    }

    fn rule(&mut self, doc: &Node) -> Result<Read, Box<Diag>> {
        if doc.entries().is_none() {
            return Err(self.error(doc, SigmaError::NotARule(doc.kind())));
        }
        if let Some(note) = self.elsewhere(doc)? {
            return Ok(Read::Elsewhere(note));
        }
        for (key, what) in [
            ("action", "rule collections (`action`)"),
            ("correlation", "correlation rules"),
        ] {
            if let Some(node) = doc.get(key) {
                return Err(self.error(node, SigmaError::Unsupported(what)));
            }
        }
        let id = self.required_text(doc, "id")?;
        let title = self.required_text(doc, "title")?;
        let author = self.optional_text(doc, "author")?.unwrap_or_default();
        let level = self.level(doc)?;
        if let Some(status) = doc.get("status").filter(|s| s.text() == Some("deprecated")) {
            self.warn(status, SigmaError::Deprecated);
        }
        let detection = self.required(doc, "detection")?;
        let (parts, condition) = self.detection(detection)?;
        let rule = Rule {
            id,
            title,
            author,
            level,
            action: Action::Alert,
            predicates: std::mem::take(&mut self.predicates.0),
            condition,
            origin: self.location(doc).origin(),
        };
        Ok(Read::Rule(ImportedRule { rule, parts }))
    }

    /// A note when the rule's log source is not `windows`/`pipe_created`.
    fn elsewhere(&self, doc: &Node) -> Result<Option<Diag>, Box<Diag>> {
        let logsource = self.required(doc, "logsource")?;
        if logsource.entries().is_none() {
            return Err(self.wrong_type("logsource", "a mapping", logsource));
        }
        let category = self.optional_text(logsource, "category")?;
        let product = self.optional_text(logsource, "product")?;
        if category.as_deref() == Some("pipe_created")
            && product.as_deref().is_none_or(|p| p == "windows")
        {
            return Ok(None);
        }
        let described = format!(
            "{}/{}",
            product.as_deref().unwrap_or("(any product)"),
            category.as_deref().unwrap_or("(no category)")
        );
        let note = self.diag(
            Severity::Note,
            logsource,
            SigmaError::OtherLogSource(described),
        );
        Ok(Some(note))
    }

    fn required<'n>(&self, node: &'n Node, key: &'static str) -> Result<&'n Node, Box<Diag>> {
        node.get(key)
            .ok_or_else(|| self.error(node, SigmaError::MissingKey(key)))
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Node) -> Box<Diag> {
        let kind = SigmaError::WrongType {
            key: key.to_owned(),
            expected,
            found: found.kind(),
        };
        self.error(found, kind)
    }

    fn required_text(&self, node: &Node, key: &'static str) -> Result<String, Box<Diag>> {
        let value = self.required(node, key)?;
        match value.text() {
            Some(text) if matches!(value.value, Value::Scalar(..)) => Ok(text.to_owned()),
            _ => Err(self.wrong_type(key, "a string", value)),
        }
    }

    fn optional_text(&self, node: &Node, key: &'static str) -> Result<Option<String>, Box<Diag>> {
        match node.get(key) {
            None => Ok(None),
            Some(value) if value.is_null() => Ok(None),
            Some(value) => match value.text() {
                Some(text) => Ok(Some(text.to_owned())),
                None => Err(self.wrong_type(key, "a string", value)),
            },
        }
    }

    fn level(&mut self, doc: &Node) -> Result<Level, Box<Diag>> {
        let Some(text) = self.optional_text(doc, "level")? else {
            self.warn(doc, SigmaError::NoLevel);
            return Ok(Level::Informational);
        };
        (0..=u8::MAX)
            .map_while(Level::from_u8)
            .find(|l| l.name() == text)
            .ok_or_else(|| {
                let node = doc.get("level").unwrap_or(doc);
                self.error(node, SigmaError::UnknownLevel(text))
            })
    }

    /// The search identifiers, as parts, and the condition over them.
    fn detection(&mut self, detection: &Node) -> Result<(Vec<Part>, Expr), Box<Diag>> {
        let Some(entries) = detection.entries() else {
            return Err(self.wrong_type("detection", "a mapping", detection));
        };
        let mut parts = Vec::new();
        let mut condition = None;
        for (key, value) in entries {
            match key.text().unwrap_or_default() {
                "condition" => condition = Some(value),
                "timeframe" => {
                    return Err(self.error(key, SigmaError::Unsupported("timeframes")));
                }
                name => {
                    let expr = self.search(value)?;
                    parts.push(Part {
                        name: name.to_owned(),
                        expr,
                    });
                }
            }
        }
        let condition =
            condition.ok_or_else(|| self.error(detection, SigmaError::MissingKey("condition")))?;
        let expr = self.condition(condition, &parts)?;
        Ok((parts, expr))
    }

    /// A search identifier's value: a mapping, or a list of mappings (`or`).
    fn search(&mut self, node: &Node) -> Result<Expr, Box<Diag>> {
        match &node.value {
            Value::Map(entries) if !entries.is_empty() => self.mapping(entries),
            Value::Seq(items) if items.is_empty() => {
                Err(self.error(node, SigmaError::Empty("list of mappings")))
            }
            Value::Seq(items) if items.iter().all(|i| i.entries().is_some()) => {
                let mut alternatives = Vec::with_capacity(items.len());
                for item in items {
                    alternatives.push(self.search(item)?);
                }
                Ok(any(alternatives))
            }
            Value::Seq(items) => Err(self.error(
                &items[0],
                SigmaError::Unsupported("keyword searches (values without a field)"),
            )),
            Value::Scalar(..) if !node.is_null() => Err(self.error(
                node,
                SigmaError::Unsupported("keyword searches (values without a field)"),
            )),
            _ => Err(self.error(node, SigmaError::BadSearch(node.kind()))),
        }
    }

    /// The keys of a mapping, all of which must hold.
    fn mapping(&mut self, entries: &[(Node, Node)]) -> Result<Expr, Box<Diag>> {
        let mut tests = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            tests.push(self.key(key, value)?);
        }
        Ok(import::all(tests))
    }

    /// One `Field|modifier|...: value(s)` test.
    fn key(&mut self, key: &Node, value: &Node) -> Result<Expr, Box<Diag>> {
        let text = key.text().unwrap_or_default();
        let mut names = text.split('|');
        let field = names.next().unwrap_or_default();
        let modifiers = Modifiers::parse(names).map_err(|e| self.error(key, e))?;
        let target = match field {
            "PipeName" => Target::Text(ipc::PIPE_NAME),
            "Image" => Target::Text(ipc::IMAGE_PATH),
            "User" => Target::Text(ipc::USER),
            "ProcessId" => Target::ProcessId,
            "EventType" => Target::EventType,
            "ProcessGuid" => return Err(self.error(key, SigmaError::ProcessGuid)),
            "" => {
                let what = "keyword searches (values without a field)";
                return Err(self.error(key, SigmaError::Unsupported(what)));
            }
            other => return Err(self.error(key, SigmaError::UnknownField(other.to_owned()))),
        };
        let values = self.values(value)?;
        match target {
            Target::Text(field) => {
                // `strings` fills a list it is given (for EventType, a probe's); here the rule's
                // own, lent out for the call.
                let mut into = std::mem::take(&mut self.predicates);
                let expr = self.strings(&mut into, field, &modifiers, &values);
                self.predicates = into;
                expr
            }
            Target::ProcessId => self.integers(&modifiers, &values),
            Target::EventType => self.event_type(key, &modifiers, &values),
        }
    }

    /// The values under a key: one, or a non-empty list, each a scalar or null.
    fn values<'n>(&self, node: &'n Node) -> Result<Vec<&'n Node>, Box<Diag>> {
        let values: Vec<&Node> = match &node.value {
            Value::Seq(items) if items.is_empty() => {
                return Err(self.error(node, SigmaError::Empty("list of values")));
            }
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        match values
            .iter()
            .find(|v| !matches!(v.value, Value::Scalar(..)))
        {
            Some(bad) => Err(self.error(bad, SigmaError::BadValue(bad.kind()))),
            None => Ok(values),
        }
    }

    /// String tests of `field`, added to `into`.
    fn strings(
        &mut self,
        into: &mut Predicates,
        field: usize,
        m: &Modifiers,
        values: &[&Node],
    ) -> Result<Expr, Box<Diag>> {
        let mut literals: Vec<String> = Vec::new();
        let mut literal_origin = None;
        let mut tests = Vec::new();
        for &node in values {
            let origin = self.origin(node);
            let Some(text) = node.text() else {
                if !m.is_plain() {
                    return Err(self.error(node, SigmaError::NullWithModifier));
                }
                tests.push(into.push(Predicate {
                    origin,
                    ..import::predicate(field, Operator::NullOrEmpty, Vec::new())
                }));
                continue;
            };
            if m.compare == Compare::Regex {
                tests.push(into.push(self.regex(node, field, text, m, origin)?));
                continue;
            }
            let value = SigmaString::parse(text);
            match value.plain() {
                Some(plain) if m.all && m.compare != Compare::Contains => {
                    let op = operator(m.compare);
                    tests.push(into.push(Predicate {
                        origin,
                        ..import::predicate(field, op, vec![plain])
                    }));
                }
                Some(plain) => {
                    literals.push(plain);
                    literal_origin.get_or_insert(origin);
                }
                None => {
                    let glob = wrap(m.compare, &value.glob());
                    tests.push(into.push(Predicate {
                        origin,
                        ..import::predicate(field, Operator::Glob, vec![glob])
                    }));
                }
            }
        }
        if let Some(origin) = literal_origin {
            let grouped = Predicate {
                all: m.all,
                origin,
                ..import::predicate(field, operator(m.compare), literals)
            };
            tests.insert(0, into.push(grouped));
        }
        Ok(if m.all {
            import::all(tests)
        } else {
            any(tests)
        })
    }

    fn regex(
        &self,
        node: &Node,
        field: usize,
        text: &str,
        m: &Modifiers,
        origin: Origin,
    ) -> Result<Predicate, Box<Diag>> {
        let flags: String = m.flags.iter().filter(|&&f| f != 'i').collect();
        let pattern = match flags.is_empty() {
            true => text.to_owned(),
            false => format!("(?{flags}){text}"),
        };
        if let Some(why) = regex_error(&pattern) {
            return Err(self.error(node, SigmaError::InvalidRegex(why)));
        }
        Ok(Predicate {
            case_insensitive: m.flags.contains(&'i'),
            origin,
            ..import::predicate(field, Operator::Regex, vec![pattern])
        })
    }

    /// Tests of `process_id`: exact values and null.
    fn integers(&mut self, m: &Modifiers, values: &[&Node]) -> Result<Expr, Box<Diag>> {
        if !m.is_plain() {
            let modifier = m.first_name();
            let kind = SigmaError::IntegerModifier {
                field: "ProcessId",
                modifier,
            };
            return Err(self.error(values[0], kind));
        }
        let mut tests = Vec::with_capacity(values.len());
        for &node in values {
            let origin = self.origin(node);
            let predicate = match node.text() {
                None => import::predicate(ipc::PROCESS_ID, Operator::NullOrEmpty, Vec::new()),
                Some(text) => {
                    let n: u64 = text.parse().map_err(|_| {
                        let kind = SigmaError::NotAnInteger {
                            field: "ProcessId",
                            value: text.to_owned(),
                        };
                        self.error(node, kind)
                    })?;
                    Predicate {
                        operands: vec![Operand::Int(n)],
                        ..import::predicate(ipc::PROCESS_ID, Operator::NumEquals, Vec::new())
                    }
                }
            };
            tests.push(self.predicates.push(Predicate {
                origin,
                ..predicate
            }));
        }
        Ok(if m.all {
            import::all(tests)
        } else {
            any(tests)
        })
    }

    /// An `EventType` test, decided for both pipe event kinds now.
    fn event_type(
        &mut self,
        key: &Node,
        m: &Modifiers,
        values: &[&Node],
    ) -> Result<Expr, Box<Diag>> {
        let mut probe = Predicates::default();
        let expr = self.strings(&mut probe, ipc::USER, m, values)?;
        let origin = self.origin(key);
        let decided = import::event_kind_test(&probe.0, &expr, &origin, &mut self.predicates)
            .map_err(|e| self.error(key, SigmaError::InvalidRegex(e.message)))?;
        Ok(decided.unwrap_or_else(|| {
            self.warn(key, SigmaError::EventTypeNeverMatches);
            Expr::Or(Vec::new())
        }))
    }

    /// The condition, or a list of conditions (any of which may hold), over `parts`.
    fn condition(&self, node: &Node, parts: &[Part]) -> Result<Expr, Box<Diag>> {
        match &node.value {
            Value::Seq(items) if !items.is_empty() => {
                let conditions: Result<Vec<Expr>, Box<Diag>> = items
                    .iter()
                    .map(|item| self.condition(item, parts))
                    .collect();
                Ok(any(conditions?))
            }
            Value::Scalar(..) if !node.is_null() => {
                let text = node.text().unwrap_or_default();
                if text.contains('|') {
                    let what = "aggregations in conditions";
                    return Err(self.error(node, SigmaError::Unsupported(what)));
                }
                let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                condition::parse(text)
                    .and_then(|c| condition::resolve(&c, &names, |i| parts[i].expr.clone()))
                    .map_err(|e| self.condition_error(node, text, e))
            }
            _ => Err(self.wrong_type("condition", "a string", node)),
        }
    }

    /// A condition error, pointing at the word it concerns when the condition is written on
    /// one line without escapes, else at the condition.
    fn condition_error(&self, node: &Node, text: &str, error: ConditionError) -> Box<Diag> {
        let mut diag = self.error(node, SigmaError::Condition(error.clone()));
        let quoted = matches!(
            node.value,
            Value::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted)
        );
        let quote = usize::from(quoted);
        let start = node.span.start.col() + quote;
        let verbatim = diag
            .location
            .source_line
            .chars()
            .skip(start)
            .collect::<String>()
            .starts_with(text);
        if verbatim {
            let offset = error.offset().min(text.len());
            let before = text[..offset].chars().count();
            let word = text[offset..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"()".contains(*c))
                .count()
                .max(1);
            let line = node.span.start.line();
            let column = start + before;
            diag.location =
                Location::chars(self.text, self.file, line, column, Some(column + word));
        }
        diag
    }
}

/// The operator a comparison uses on plain strings.
fn operator(compare: Compare) -> Operator {
    match compare {
        Compare::Equals => Operator::Equals,
        Compare::Contains => Operator::Contains,
        Compare::StartsWith => Operator::BeginsWith,
        Compare::EndsWith => Operator::EndsWith,
        Compare::Regex => Operator::Regex,
    }
}

/// A glob for a comparison: `contains` puts `*` around it, `startswith` after, `endswith`
/// before.
fn wrap(compare: Compare, glob: &str) -> String {
    match compare {
        Compare::Contains => format!("*{glob}*"),
        Compare::StartsWith => format!("{glob}*"),
        Compare::EndsWith => format!("*{glob}"),
        Compare::Equals | Compare::Regex => glob.to_owned(),
    }
}

/// Why `pattern` is not a regular expression, if it is not.
fn regex_error(pattern: &str) -> Option<String> {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(_) => None,
        Err(regex_syntax::Error::Parse(e)) => Some(e.kind().to_string()),
        Err(regex_syntax::Error::Translate(e)) => Some(e.kind().to_string()),
        Err(e) => Some(e.to_string()),
    }
}
