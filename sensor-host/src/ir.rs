//! The compiler's intermediate form: rules as every front-end (our TOML rule source, Sigma,
//! Sysmon configurations) produces them, before they are laid out as a channel file.
//!
//! Front-ends resolve names and field references; the compiler in [`crate::compile`] owns byte
//! layout, automata and the cost check. Nothing here knows about files on disk.

use sensor_core::op::{Action, Level, Operator};

/// Where a piece of rule source came from, for diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The source file, as given on the command line.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

/// A whole channel file's worth of content.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    /// Channel number (291 for named pipes).
    pub channel: u32,
    /// Content version, increasing with each update of the channel.
    pub version: u64,
    /// Template type id.
    pub template_id: u16,
    /// Template type version.
    pub template_version: u16,
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// One rule: metadata, its predicates and the condition over them.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Stable rule id (a Sigma UUID, or the author's own).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Author(s); Sigma's licence requires it with every alert. Empty when unknown.
    pub author: String,
    /// Severity.
    pub level: Level,
    /// What a match does.
    pub action: Action,
    /// The rule's predicates, referred to by index from `condition`.
    pub predicates: Vec<Predicate>,
    /// The rule's boolean condition.
    pub condition: Expr,
    /// Where the rule was written.
    pub origin: Origin,
}

/// One test of one input field.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// Index of the template field read.
    pub field: usize,
    /// The operator.
    pub op: Operator,
    /// Invert the comparison (a missing input stays false).
    pub negate: bool,
    /// Every operand must hold rather than any (`contains all`).
    pub all: bool,
    /// Operands: strings for string operators, one pattern for glob and regex, one integer for
    /// numeric and flag operators, none for wildcard and null-or-empty.
    pub operands: Vec<Operand>,
    /// For regex: match case-insensitively.
    pub case_insensitive: bool,
    /// Where the predicate was written.
    pub origin: Origin,
}

/// One operand value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A literal string (for globs: the glob text, with Sigma escapes still in it; for regex:
    /// the pattern).
    Str(String),
    /// An integer or mask.
    Int(u64),
}

/// A boolean condition over a rule's predicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// The predicate with this index in [`Rule::predicates`].
    Pred(usize),
    /// Every sub-expression holds (true when empty).
    And(Vec<Expr>),
    /// At least one sub-expression holds (false when empty).
    Or(Vec<Expr>),
    /// The sub-expression does not hold.
    Not(Box<Expr>),
}
