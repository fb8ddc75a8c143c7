//! Sigma string values: wildcards and backslash escapes.
//!
//! In a Sigma value that is not a regular expression, `*` matches any run of characters and
//! `?` any one character. A backslash escapes only `*`, `?` and another backslash; every other
//! backslash is literal, including one that ends the value (`'\pipe\'` is five characters
//! ending in a backslash). A value without unescaped wildcards is a plain string, compared with
//! the escapes removed; one with wildcards becomes a glob.

/// One piece of a Sigma value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    /// A literal character.
    Char(char),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: any one character.
    AnyOne,
}

/// A Sigma value split into literal characters and wildcards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigmaString(Vec<Piece>);

impl SigmaString {
    /// Reads `raw` as Sigma writes values.
    pub fn parse(raw: &str) -> Self {
        let mut pieces = Vec::with_capacity(raw.len());
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            pieces.push(match c {
                '*' => Piece::AnyRun,
                '?' => Piece::AnyOne,
                '\\' => match chars.next_if(|&n| matches!(n, '*' | '?' | '\\')) {
                    Some(escaped) => Piece::Char(escaped),
                    None => Piece::Char('\\'),
                },
                c => Piece::Char(c),
            });
        }
        Self(pieces)
    }

    /// The literal string, when the value has no wildcards.
    pub fn plain(&self) -> Option<String> {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Char(c) => Some(*c),
                Piece::AnyRun | Piece::AnyOne => None,
            })
            .collect()
    }

    /// The value as a glob for [`crate::compile::glob_to_regex`], with every literal `\`, `*`
    /// and `?` escaped, so that wildcards can be put around it safely: a value ending in a
    /// literal backslash would otherwise escape an appended `*`.
    pub fn glob(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for piece in &self.0 {
            match piece {
                Piece::AnyRun => out.push('*'),
                Piece::AnyOne => out.push('?'),
                Piece::Char(c @ ('\\' | '*' | '?')) => {
                    out.push('\\');
                    out.push(*c);
                }
                Piece::Char(c) => out.push(*c),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::glob_to_regex;

    fn glob_matches(glob: &str, value: &str) -> bool {
        regex::Regex::new(&glob_to_regex(glob))
            .unwrap()
            .is_match(value)
    }

    #[test]
    fn escapes_only_wildcards_and_backslashes() {
        let cases = [
            (r"\PSEXESVC", Some(r"\PSEXESVC")),
            (r"\pipe\", Some(r"\pipe\")),
            (r"a\\b", Some(r"a\b")),
            (r"a\*b\?", Some("a*b?")),
            (r"\\\*", Some(r"\*")),
            (r"\Posh*", None),
            (r"a?c", None),
            (r"a\\*", None),
            ("", Some("")),
        ];
        for (raw, plain) in cases {
            assert_eq!(SigmaString::parse(raw).plain().as_deref(), plain, "{raw:?}");
        }
    }

    #[test]
    fn globs_keep_literal_backslashes_at_the_end() {
        let coerced = SigmaString::parse(r"\coerced\");
        let contains = format!("*{}*", coerced.glob());
        assert_eq!(contains, r"*\\coerced\\*");
        assert!(glob_matches(&contains, r"\a\COERCED\b"));
        assert!(!glob_matches(&contains, r"\a\coerced"));
        let posh = SigmaString::parse(r"\Posh*");
        assert!(glob_matches(&posh.glob(), r"\posh_x"));
        assert!(!glob_matches(&posh.glob(), r"\xposh"));
        let star = SigmaString::parse(r"a\*?");
        assert!(glob_matches(&star.glob(), "a*b"));
        assert!(!glob_matches(&star.glob(), "aab"));
    }
}
