//! Boolean condition expressions over named predicates, as our rule source and Sigma write them.
//!
//! ```text
//! condition  := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" or ")" | quantifier "of" pattern | identifier
//! quantifier := "1" | "any" | "all"
//! pattern    := "them" | glob
//! ```
//!
//! Identifiers are runs of letters, digits, `_`, `-` and `.`; a glob may add `*`, which matches
//! any run of characters. Keywords are case-insensitive; `and`, `or`, `not`, `of` and `them` are
//! reserved, while `1`, `any` and `all` are keywords only before `of`. As in Sigma, a quantifier
//! never selects names beginning with `_`.
//!
//! [`parse`] builds a [`Cond`] with byte spans; [`resolve`] maps it to an [`Expr`] over a rule's
//! names. Conditions are untrusted input: nesting is limited to [`MAX_DEPTH`] levels.

use std::ops::Range;

use crate::ir::Expr;

/// Most `(` and `not` a condition may nest.
pub const MAX_DEPTH: usize = 64;

/// A parsed condition node and the bytes of the condition string it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    /// What the node is.
    pub kind: CondKind,
    /// Byte range in the condition string.
    pub span: Range<usize>,
}

/// The kinds of condition nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CondKind {
    /// A name.
    Name(String),
    /// `1 of PATTERN` or `all of PATTERN`.
    Of(Quantifier, Pattern),
    /// `not X`.
    Not(Box<Cond>),
    /// `X and Y and ...`, at least two operands.
    And(Vec<Cond>),
    /// `X or Y or ...`, at least two operands.
    Or(Vec<Cond>),
}

/// How many of the names a pattern selects must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// `1 of`, `any of`.
    Any,
    /// `all of`.
    All,
}

/// The names a quantifier ranges over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `them`: every name not beginning with `_`.
    Them,
    /// Names not beginning with `_` matching a glob, where `*` matches any run of characters.
    Glob(String),
}

impl Pattern {
    /// Whether the pattern selects `name`.
    pub fn selects(&self, name: &str) -> bool {
        !name.starts_with('_')
            && match self {
                Self::Them => true,
                Self::Glob(glob) => glob_matches(glob, name),
            }
    }
}

/// Why a condition was refused. Every variant carries the byte offset in the condition string
/// where the problem lies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// The condition has no tokens.
    #[error("empty condition")]
    Empty {
        /// Byte offset.
        offset: usize,
    },
    /// A token, or a character that starts none, where it cannot stand.
    #[error("unexpected `{token}`")]
    UnexpectedToken {
        /// Byte offset.
        offset: usize,
        /// The token's text.
        token: String,
    },
    /// The condition ends where an operand is expected.
    #[error("unexpected end of condition")]
    UnexpectedEnd {
        /// Byte offset.
        offset: usize,
    },
    /// A `(` without its `)`, or a `)` without its `(`.
    #[error("unbalanced parenthesis")]
    UnbalancedParen {
        /// Byte offset of the lone parenthesis.
        offset: usize,
    },
    /// More than [`MAX_DEPTH`] nested `(` and `not`.
    #[error("condition nests deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Byte offset.
        offset: usize,
    },
    /// An identifier that names nothing.
    #[error("unknown identifier `{name}`")]
    UnknownIdentifier {
        /// Byte offset.
        offset: usize,
        /// The identifier.
        name: String,
    },
    /// A quantifier whose pattern selects no name.
    #[error("`{pattern}` matches nothing")]
    NoMatch {
        /// Byte offset of the quantifier.
        offset: usize,
        /// The pattern.
        pattern: String,
    },
}

impl ConditionError {
    /// Byte offset in the condition string.
    pub fn offset(&self) -> usize {
        match *self {
            Self::Empty { offset }
            | Self::UnexpectedToken { offset, .. }
            | Self::UnexpectedEnd { offset }
            | Self::UnbalancedParen { offset }
            | Self::TooDeep { offset }
            | Self::UnknownIdentifier { offset, .. }
            | Self::NoMatch { offset, .. } => offset,
        }
    }
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Cond, ConditionError> {
    let mut parser = Parser {
        text,
        tokens: tokenize(text)?,
        pos: 0,
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ConditionError::Empty { offset: 0 });
    }
    let cond = parser.or()?;
    match parser.next() {
        None => Ok(cond),
        Some(token) if token.kind == Tok::Close => Err(ConditionError::UnbalancedParen {
            offset: token.span.start,
        }),
        Some(token) => Err(parser.unexpected(token)),
    }
}

/// Maps `cond` to an expression: each name becomes `leaf(i)` for its index `i` in `names`;
/// `1 of` becomes an [`Expr::Or`] and `all of` an [`Expr::And`] over the selected names, in
/// `names` order. Nested conjunctions and disjunctions are flattened. Fails on a name missing
/// from `names` and on a pattern that selects none.
pub fn resolve(
    cond: &Cond,
    names: &[&str],
    leaf: impl Fn(usize) -> Expr,
) -> Result<Expr, ConditionError> {
    lower(cond, names, &leaf)
}

fn lower<F: Fn(usize) -> Expr>(
    cond: &Cond,
    names: &[&str],
    leaf: &F,
) -> Result<Expr, ConditionError> {
    let offset = cond.span.start;
    Ok(match &cond.kind {
        CondKind::Name(name) => {
            names
                .iter()
                .position(|n| n == name)
                .map(leaf)
                .ok_or_else(|| ConditionError::UnknownIdentifier {
                    offset,
                    name: name.clone(),
                })?
        }
        CondKind::Of(quantifier, pattern) => {
            let selected: Vec<Expr> = (0..names.len())
                .filter(|&i| pattern.selects(names[i]))
                .map(leaf)
                .collect();
            if selected.is_empty() {
                let pattern = match pattern {
                    Pattern::Them => "them".to_owned(),
                    Pattern::Glob(glob) => glob.clone(),
                };
                return Err(ConditionError::NoMatch { offset, pattern });
            }
            join(selected, *quantifier == Quantifier::All)
        }
        CondKind::Not(inner) => Expr::Not(Box::new(lower(inner, names, leaf)?)),
        CondKind::And(items) => join(lower_all(items, names, leaf)?, true),
        CondKind::Or(items) => join(lower_all(items, names, leaf)?, false),
    })
}

fn lower_all<F: Fn(usize) -> Expr>(
    items: &[Cond],
    names: &[&str],
    leaf: &F,
) -> Result<Vec<Expr>, ConditionError> {
    items.iter().map(|item| lower(item, names, leaf)).collect()
}

/// Joins `items` with `and` (`all`) or `or`, splicing in operands of the same connective and
/// returning a single operand as it is.
fn join(items: Vec<Expr>, all: bool) -> Expr {
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Expr::And(inner) if all => flat.extend(inner),
            Expr::Or(inner) if !all => flat.extend(inner),
            item => flat.push(item),
        }
    }
    match <[Expr; 1]>::try_from(flat) {
        Ok([only]) => only,
        Err(flat) if all => Expr::And(flat),
        Err(flat) => Expr::Or(flat),
    }
}

/// Whether `name` matches `glob`, where `*` matches any run of characters.
fn glob_matches(glob: &str, name: &str) -> bool {
    let Some((head, tail)) = glob.split_once('*') else {
        return glob == name;
    };
    let Some(mut rest) = name.strip_prefix(head) else {
        return false;
    };
    let (middle, last) = tail.rsplit_once('*').unwrap_or(("", tail));
    for part in middle.split('*') {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Word,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Tok,
    span: Range<usize>,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*')
}

fn tokenize(text: &str) -> Result<Vec<Token>, ConditionError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            '(' => Tok::Open,
            ')' => Tok::Close,
            c if c.is_whitespace() => continue,
            c if is_word_char(c) => {
                while chars.next_if(|&(_, c)| is_word_char(c)).is_some() {}
                Tok::Word
            }
            c => {
                return Err(ConditionError::UnexpectedToken {
                    offset: start,
                    token: c.to_string(),
                })
            }
        };
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        tokens.push(Token {
            kind,
            span: start..end,
        });
    }
    Ok(tokens)
}

/// A recursive-descent parser; `depth` bounds its recursion.
struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += usize::from(token.is_some());
        token
    }

    fn text(&self, token: &Token) -> &str {
        &self.text[token.span.clone()]
    }

    fn is_keyword(&self, token: &Token, keyword: &str) -> bool {
        token.kind == Tok::Word && self.text(token).eq_ignore_ascii_case(keyword)
    }

    fn is_reserved(&self, token: &Token) -> bool {
        ["and", "or", "not", "of", "them"]
            .iter()
            .any(|keyword| self.is_keyword(token, keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek().is_some_and(|t| self.is_keyword(t, keyword));
        self.pos += usize::from(found);
        found
    }

    fn unexpected(&self, token: Token) -> ConditionError {
        ConditionError::UnexpectedToken {
            offset: token.span.start,
            token: self.text(&token).to_owned(),
        }
    }

    fn end(&self) -> ConditionError {
        ConditionError::UnexpectedEnd {
            offset: self.text.len(),
        }
    }

    fn or(&mut self) -> Result<Cond, ConditionError> {
        let mut items = vec![self.and()?];
        while self.eat_keyword("or") {
            items.push(self.and()?);
        }
        Ok(connect(items, CondKind::Or))
    }

    fn and(&mut self) -> Result<Cond, ConditionError> {
        let mut items = vec![self.unary()?];
        while self.eat_keyword("and") {
            items.push(self.unary()?);
        }
        Ok(connect(items, CondKind::And))
    }

    fn unary(&mut self) -> Result<Cond, ConditionError> {
        let token = self.next().ok_or_else(|| self.end())?;
        match token.kind {
            Tok::Open => self.nested(&token, |p| p.group(token.span.start)),
            Tok::Close => Err(self.unexpected(token)),
            Tok::Word if self.is_keyword(&token, "not") => self.nested(&token, |p| {
                let inner = p.unary()?;
                Ok(Cond {
                    span: token.span.start..inner.span.end,
                    kind: CondKind::Not(Box::new(inner)),
                })
            }),
            Tok::Word => self.operand(token),
        }
    }

    /// Runs `parse` one nesting level deeper, for the `(` or `not` in `token`.
    fn nested(
        &mut self,
        token: &Token,
        parse: impl FnOnce(&mut Self) -> Result<Cond, ConditionError>,
    ) -> Result<Cond, ConditionError> {
        if self.depth == MAX_DEPTH {
            return Err(ConditionError::TooDeep {
                offset: token.span.start,
            });
        }
        self.depth += 1;
        let cond = parse(self)?;
        self.depth -= 1;
        Ok(cond)
    }

    /// The rest of a parenthesised condition, after its `(` at `open`.
    fn group(&mut self, open: usize) -> Result<Cond, ConditionError> {
        let inner = self.or()?;
        match self.next() {
            Some(token) if token.kind == Tok::Close => Ok(inner),
            Some(token) => Err(self.unexpected(token)),
            None => Err(ConditionError::UnbalancedParen { offset: open }),
        }
    }

    /// A name or a quantified pattern, starting with the word `token`.
    fn operand(&mut self, token: Token) -> Result<Cond, ConditionError> {
        let quantifier = match self.text(&token).to_ascii_lowercase().as_str() {
            "1" | "any" => Some(Quantifier::Any),
            "all" => Some(Quantifier::All),
            _ => None,
        };
        if let Some(quantifier) = quantifier {
            if self.eat_keyword("of") {
                return self.quantified(token.span.start, quantifier);
            }
        }
        if self.is_reserved(&token) || self.text(&token).contains('*') {
            return Err(self.unexpected(token));
        }
        Ok(Cond {
            kind: CondKind::Name(self.text(&token).to_owned()),
            span: token.span,
        })
    }

    /// The pattern of a quantifier starting at `start`, after its `of`.
    fn quantified(&mut self, start: usize, quantifier: Quantifier) -> Result<Cond, ConditionError> {
        let token = self.next().ok_or_else(|| self.end())?;
        let pattern = if self.is_keyword(&token, "them") {
            Pattern::Them
        } else if token.kind == Tok::Word && !self.is_reserved(&token) {
            Pattern::Glob(self.text(&token).to_owned())
        } else {
            return Err(self.unexpected(token));
        };
        Ok(Cond {
            kind: CondKind::Of(quantifier, pattern),
            span: start..token.span.end,
        })
    }
}

/// Builds an `and` or `or` node over `items`, or returns the single item.
fn connect(items: Vec<Cond>, kind: fn(Vec<Cond>) -> CondKind) -> Cond {
    match <[Cond; 1]>::try_from(items) {
        Ok([only]) => only,
        Err(items) => {
            let span = items[0].span.start..items[items.len() - 1].span.end;
            Cond {
                kind: kind(items),
                span,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Expr::{And, Not, Or, Pred};

    fn eval(text: &str, names: &[&str]) -> Result<Expr, ConditionError> {
        resolve(&parse(text)?, names, Pred)
    }

    #[test]
    fn precedence_is_not_and_or() {
        let names = ["a", "b", "c", "d"];
        assert_eq!(
            eval("a or not b and c or d", &names),
            Ok(Or(vec![
                Pred(0),
                And(vec![Not(Box::new(Pred(1))), Pred(2)]),
                Pred(3)
            ]))
        );
        assert_eq!(
            eval("(a or b) and not (c or d)", &names),
            Ok(And(vec![
                Or(vec![Pred(0), Pred(1)]),
                Not(Box::new(Or(vec![Pred(2), Pred(3)])))
            ]))
        );
    }

    #[test]
    fn flattens_nested_connectives() {
        let names = ["a", "b", "c"];
        assert_eq!(
            eval("a and (b and (c))", &names),
            Ok(And(vec![Pred(0), Pred(1), Pred(2)]))
        );
        assert_eq!(eval("((a))", &names), Ok(Pred(0)));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let expected = Or(vec![
            And(vec![Pred(0), Not(Box::new(Pred(1)))]),
            And(vec![Pred(0), Pred(1)]),
        ]);
        assert_eq!(
            eval("A AND NOT b-1.x Or ALL OF Them", &["A", "b-1.x"]),
            Ok(expected)
        );
    }

    #[test]
    fn quantifiers_select_by_glob() {
        let names = ["selection_a", "filter", "selection_b", "_selection_c"];
        assert_eq!(
            eval("1 of selection*", &names),
            Ok(Or(vec![Pred(0), Pred(2)]))
        );
        assert_eq!(
            eval("any of sel*_b and not filter", &names),
            Ok(And(vec![Pred(2), Not(Box::new(Pred(1)))]))
        );
        assert_eq!(
            eval("all of them", &names),
            Ok(And(vec![Pred(0), Pred(1), Pred(2)]))
        );
        assert_eq!(
            eval("1 of x*", &names),
            Err(ConditionError::NoMatch {
                offset: 0,
                pattern: "x*".into()
            })
        );
    }

    #[test]
    fn globs() {
        assert!(glob_matches("a*b*b", "abxb"));
        assert!(!glob_matches("a*b*b", "ab"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("*_main_*", "filter_main_x"));
        assert!(!glob_matches("filter", "filter_x"));
    }

    #[test]
    fn errors_carry_offsets() {
        let names = ["a", "b"];
        let cases = [
            ("", ConditionError::Empty { offset: 0 }),
            ("a and", ConditionError::UnexpectedEnd { offset: 5 }),
            ("a b", unexpected(2, "b")),
            ("a and or b", unexpected(6, "or")),
            ("a | b", unexpected(2, "|")),
            ("a*", unexpected(0, "a*")),
            ("1 of and", unexpected(5, "and")),
            ("(a or b", ConditionError::UnbalancedParen { offset: 0 }),
            ("a or b)", ConditionError::UnbalancedParen { offset: 6 }),
            ("()", unexpected(1, ")")),
            (
                "a or zz",
                ConditionError::UnknownIdentifier {
                    offset: 5,
                    name: "zz".into(),
                },
            ),
        ];
        for (text, error) in cases {
            assert_eq!(eval(text, &names), Err(error), "{text:?}");
        }
    }

    fn unexpected(offset: usize, token: &str) -> ConditionError {
        ConditionError::UnexpectedToken {
            offset,
            token: token.into(),
        }
    }

    #[test]
    fn depth_is_limited() {
        let nested = |n| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(eval(&nested(MAX_DEPTH), &["a"]), Ok(Pred(0)));
        assert_eq!(
            eval(&nested(MAX_DEPTH + 1), &["a"]),
            Err(ConditionError::TooDeep { offset: MAX_DEPTH })
        );
        let nots = format!("{}a", "not ".repeat(100_000));
        assert_eq!(
            eval(&nots, &["a"]),
            Err(ConditionError::TooDeep {
                offset: 4 * MAX_DEPTH
            })
        );
    }
}
