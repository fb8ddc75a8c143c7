//! YAML documents as trees whose every node knows where it was written.
//!
//! Built from `saphyr-parser` events. Mappings keep their keys in written order and refuse a
//! key written twice (a map type would silently keep one of them). Scalars stay text, with
//! their style, so `null` and `'null'` remain different. Aliases are refused: Sigma rules do
//! not use them, and expanding them can blow up. Nesting is bounded, since the text is
//! untrusted.

use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 64;

/// A node and the span it was written at.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node is.
    pub value: Value,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar: its text and how it was quoted.
    Scalar(String, ScalarStyle),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Whether this is YAML's null: an empty, `~` or `null` plain scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(text, ScalarStyle::Plain)
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The text of a scalar that is not null.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(text, _) if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under the scalar key `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    }

    /// What kind of node this is, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            _ if self.is_null() => "null",
            Value::Scalar(..) => "a scalar",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Why a text is not YAML this module accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 0-based column, in characters.
    pub column: usize,
    /// 0-based column where the offending text ends, when it ends on the same line.
    pub end: Option<usize>,
    /// What is wrong.
    pub kind: YamlErrorKind,
}

/// What is wrong with a YAML text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum YamlErrorKind {
    /// The parser's own message.
    #[error("invalid YAML: {0}")]
    Syntax(String),
    /// A mapping key written twice.
    #[error("key `{0}` is written twice")]
    DuplicateKey(String),
    /// A mapping key that is not a scalar.
    #[error("mapping keys must be scalars")]
    ComplexKey,
    /// An alias (`*name`).
    #[error("YAML aliases are not supported")]
    Alias,
    /// Nesting deeper than `MAX_DEPTH` (64) levels.
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column + 1, self.kind)
    }
}

/// Parses every document of `text`.
pub fn documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
    };
    let mut documents = Vec::new();
    loop {
        let (event, span) = reader.next()?;
        match event {
            Event::StreamEnd => return Ok(documents),
            Event::DocumentStart(_) => {
                let (event, span) = reader.next()?;
                documents.push(reader.node(event, span, 0)?);
                reader.expect_document_end()?;
            }
            _ => return Err(syntax(span, "unexpected event")),
        }
    }
}

fn error(span: Span, kind: YamlErrorKind) -> YamlError {
    YamlError {
        line: span.start.line(),
        column: span.start.col(),
        end: (span.end.line() == span.start.line() && span.end.col() > span.start.col())
            .then_some(span.end.col()),
        kind,
    }
}

fn syntax(span: Span, message: &str) -> YamlError {
    error(span, YamlErrorKind::Syntax(message.to_owned()))
}

struct Reader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
}

impl<'a> Reader<'a> {
    /// The next event that carries content; the stream start is skipped.
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        loop {
            match self.parser.next_event() {
                None => return Ok((Event::StreamEnd, Span::default())),
                Some(Err(e)) => {
                    let at = Span::empty(*e.marker());
                    return Err(error(at, YamlErrorKind::Syntax(e.info().to_owned())));
                }
                Some(Ok((Event::StreamStart | Event::Nothing, _))) => {}
                Some(Ok(event)) => return Ok(event),
            }
        }
    }

    fn expect_document_end(&mut self) -> Result<(), YamlError> {
        match self.next()? {
            (Event::DocumentEnd, _) => Ok(()),
            (_, span) => Err(syntax(span, "expected the end of the document")),
        }
    }

    /// The node that starts with `event`.
    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, YamlError> {
        let value = match event {
            Event::Scalar(text, style, ..) => Value::Scalar(text.into_owned(), style),
            Event::SequenceStart(..) => Value::Seq(self.sequence(span, depth)?),
            Event::MappingStart(..) => Value::Map(self.mapping(span, depth)?),
            Event::Alias(_) => return Err(error(span, YamlErrorKind::Alias)),
            _ => return Err(syntax(span, "expected a node")),
        };
        Ok(Node { value, span })
    }

    fn deeper(span: Span, depth: usize) -> Result<usize, YamlError> {
        if depth == MAX_DEPTH {
            return Err(error(span, YamlErrorKind::TooDeep));
        }
        Ok(depth + 1)
    }

    fn sequence(&mut self, start: Span, depth: usize) -> Result<Vec<Node>, YamlError> {
        let depth = Self::deeper(start, depth)?;
        let mut items = Vec::new();
        loop {
            match self.next()? {
                (Event::SequenceEnd, _) => return Ok(items),
                (event, span) => items.push(self.node(event, span, depth)?),
            }
        }
    }

    fn mapping(&mut self, start: Span, depth: usize) -> Result<Vec<(Node, Node)>, YamlError> {
        let depth = Self::deeper(start, depth)?;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        loop {
            let (event, span) = match self.next()? {
                (Event::MappingEnd, _) => return Ok(entries),
                next => next,
            };
            let key = self.node(event, span, depth)?;
            let Value::Scalar(name, _) = &key.value else {
                return Err(error(key.span, YamlErrorKind::ComplexKey));
            };
            if entries.iter().any(|(k, _)| k.value == key.value) {
                return Err(error(key.span, YamlErrorKind::DuplicateKey(name.clone())));
            }
            let (event, span) = self.next()?;
            let value = self.node(event, span, depth)?;
            entries.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = documents(text).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn nodes_know_where_they_are() {
        let doc = one("title: T\ndetection:\n    sel:\n        PipeName: '\\x'\n");
        let sel = doc.get("detection").unwrap().get("sel").unwrap();
        let (key, value) = &sel.entries().unwrap()[0];
        assert_eq!(key.text(), Some("PipeName"));
        assert_eq!((key.span.start.line(), key.span.start.col()), (4, 8));
        assert_eq!(value.text(), Some("\\x"));
        assert_eq!((value.span.start.line(), value.span.start.col()), (4, 18));
        assert_eq!(value.span.end.col(), 22);
    }

    #[test]
    fn null_is_plain_only() {
        let doc = one("a: null\nb: 'null'\nc:\nd: ~\ne: NULL\nf: \"\"\n");
        let nulls: Vec<bool> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| doc.get(k).unwrap().is_null())
            .collect();
        assert_eq!(nulls, [true, false, true, true, true, false]);
        assert_eq!(doc.get("b").unwrap().text(), Some("null"));
        assert_eq!(doc.get("f").unwrap().text(), Some(""));
    }

    #[test]
    fn several_documents() {
        let docs = documents("a: 1\n---\nb: [x, y]\n").unwrap();
        assert_eq!(docs.len(), 2);
        let Value::Seq(items) = &docs[1].get("b").unwrap().value else {
            panic!("sequence expected");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(documents("").unwrap(), []);
    }

    #[test]
    fn refusals_are_located() {
        let kind = |text: &str| documents(text).map(drop).map_err(|e| e.to_string());
        assert_eq!(
            kind("a: 1\nb: 2\na: 3\n"),
            Err("3:1: key `a` is written twice".into())
        );
        assert_eq!(
            kind("a: &x 1\nb: *x\n"),
            Err("2:4: YAML aliases are not supported".into())
        );
        assert_eq!(
            kind("? [a]\n: 1\n"),
            Err("1:3: mapping keys must be scalars".into())
        );
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(
            kind(&deep),
            Err(format!(
                "1:{}: nesting deeper than 64 levels",
                MAX_DEPTH + 1
            ))
        );
        assert!(kind("a: [1, 2\n").unwrap_err().contains("invalid YAML"));
    }
}
