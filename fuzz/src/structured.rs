//! The `structured` target: a rule set at source level, generated with `Arbitrary`, checked
//! from source text to verdicts.
//!
//! The generator builds IR that the rule source can express (every operator on every field
//! type it accepts, negation, `contains all`, conditions of `and`, `or` and `not`, globs and
//! small regular expressions, case-insensitive regexes), over a small alphabet shared with the
//! events so that predicates do match: letters in both cases, a backslash, `.` `*` `?`, letters
//! whose case mapping is irregular (`ß`, `İ`, `ı`, `ς`), and a character outside the BMP.
//!
//! For every input: the IR written as source parses back to the same IR; it compiles (or the
//! compiler refuses a pattern, and nothing else); the file loads on the fixed build, and on
//! build 7.11 exactly when no predicate reads field 20; decompiling the file and compiling the
//! result gives the same bytes; and for every event the rules the core matches are the rules
//! [`sensor_host::reference`] matches, on 21 inputs and, where the content loads on 7.11, on
//! 20, with [`check::evaluation`]'s invariants on each.

use arbitrary::{Arbitrary, Unstructured};
use sensor_core::op::{Action, Level, Operands, Operator, ALL_OPERATORS};
use sensor_core::schema::{ipc, IPC, SENSOR_7_11, SENSOR_FIXED};
use sensor_core::RuleSet;
use sensor_host::compile::{compile, CompileErrorKind};
use sensor_host::content::ContentBuf;
use sensor_host::event::{EncodedEvent, EventKind, PipeEvent};
use sensor_host::ir::{Content, Expr, Operand, Origin, Predicate, Rule};
use sensor_host::reference::Reference;
use sensor_host::source;

use crate::check;
use crate::decompile::{decompile, restore_patterns, to_source, without_origins};
use crate::Reached;

/// Characters strings are made of, in operands and events alike.
pub const ALPHABET: &[char] = &[
    'a', 'b', 'A', 'B', 'x', '\\', '.', '*', '?', ' ', 'ß', 'İ', 'ı', 'ς', 'Σ', 'é', 'É', '😀',
];

/// Most rules, predicates per rule, operands per predicate and events per input.
const MAX_RULES: usize = 6;
const MAX_PREDICATES: usize = 6;
const MAX_OPERANDS: usize = 4;
const MAX_EVENTS: usize = 6;
const MAX_TEXT: usize = 12;

/// A short string over [`ALPHABET`].
#[derive(Clone, Debug)]
pub struct Text(pub String);

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = u.int_in_range(0..=MAX_TEXT)?;
        let mut s = String::new();
        for _ in 0..len {
            s.push(*u.choose(ALPHABET)?);
        }
        Ok(Self(s))
    }
}

/// One piece of a generated regular expression.
#[derive(Clone, Copy, Debug, Arbitrary)]
enum RegexPiece {
    Literal(u8),
    Any,
    Class,
    NegatedClass,
    Digit,
    Start,
    End,
    Star,
    Plus,
    Optional,
    Counted,
    Alternate,
    Group(u8),
}

/// Pieces that match any character (`.`, `.{1,3}`, `[^\\]`) one rule set may hold in all.
///
/// The compiler puts every regex on a field into one DFA, and DFA states multiply with each
/// distinct pattern's Unicode wildcards: eight regexes of up to five `.{1,3}` each on one field
/// compiled in 1.6 s to a 1.2 MB file, and took the harness (two compilations, under coverage
/// instrumentation) 22 s, over libFuzzer's timeout (`fuzz/artifacts/structured/slow/`). With
/// at most four, the worst combinations tried compile in under 20 ms. Pieces past the budget
/// become literals.
const WILDCARD_PIECES: u32 = 4;

/// A small regular expression: pieces, each repetition applied to a literal or `.`. Spends
/// `wildcards` for every piece that matches any character, and writes a literal instead when
/// none is left.
fn regex(u: &mut Unstructured<'_>, wildcards: &mut u32) -> arbitrary::Result<String> {
    let pieces: Vec<RegexPiece> = (0..u.int_in_range(1..=6)?)
        .map(|_| u.arbitrary())
        .collect::<arbitrary::Result<_>>()?;
    let mut out = String::new();
    for mut piece in pieces {
        if matches!(
            piece,
            RegexPiece::Any | RegexPiece::NegatedClass | RegexPiece::Counted
        ) {
            match wildcards.checked_sub(1) {
                Some(left) => *wildcards = left,
                None => piece = RegexPiece::Literal(0),
            }
        }
        match piece {
            RegexPiece::Literal(k) => {
                let c = ALPHABET[usize::from(k) % ALPHABET.len()];
                out.push_str(&regex_syntax_escape(c));
            }
            RegexPiece::Any => out.push('.'),
            RegexPiece::Class => out.push_str("[a-bx]"),
            RegexPiece::NegatedClass => out.push_str("[^\\\\]"),
            RegexPiece::Digit => out.push_str("[0-9]"),
            RegexPiece::Start => out.push('^'),
            RegexPiece::End => out.push('$'),
            RegexPiece::Star => out.push_str("a*"),
            RegexPiece::Plus => out.push_str("x+"),
            RegexPiece::Optional => out.push_str("b?"),
            RegexPiece::Counted => out.push_str(".{1,3}"),
            RegexPiece::Alternate => out.push_str("(?:ab|ß)"),
            RegexPiece::Group(k) => {
                let c = ALPHABET[usize::from(k) % ALPHABET.len()];
                out.push_str(&format!("({})+", regex_syntax_escape(c)));
            }
        }
    }
    Ok(out)
}

fn regex_syntax_escape(c: char) -> String {
    let mut buf = [0u8; 4];
    let s = c.encode_utf8(&mut buf);
    if s.len() == 1 && r"\.+*?()|[]{}^$#&-~".contains(c) {
        format!("\\{c}")
    } else {
        s.to_owned()
    }
}

/// A glob: text over the alphabet, with `*`, `?` and their escapes.
fn glob(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let mut out = String::new();
    for _ in 0..u.int_in_range(0..=8)? {
        match u.int_in_range(0..=9)? {
            0 => out.push('*'),
            1 => out.push('?'),
            2 => out.push_str("\\*"),
            3 => out.push_str("\\?"),
            4 => out.push_str("\\\\"),
            _ => out.push(*u.choose(ALPHABET)?),
        }
    }
    Ok(out)
}

/// An integer that makes comparisons interesting.
fn integer(u: &mut Unstructured<'_>) -> arbitrary::Result<u64> {
    Ok(match u.int_in_range(0..=5)? {
        0 => u.int_in_range(0..=3)?,
        1 => 1 << u.int_in_range(0..=63)?,
        2 => u64::MAX,
        3 => 0x2000 * u.int_in_range(1..=4)?,
        _ => u.arbitrary()?,
    })
}

fn predicate(u: &mut Unstructured<'_>, wildcards: &mut u32) -> arbitrary::Result<Predicate> {
    let field = u.int_in_range(0..=IPC.field_count() - 1)?;
    let ty = IPC.fields[field].ty;
    let accepted: Vec<Operator> = ALL_OPERATORS
        .iter()
        .copied()
        .filter(|op| op.accepts(ty))
        .collect();
    let op = *u.choose(&accepted)?;
    let operands = match op.operands() {
        Operands::None => Vec::new(),
        Operands::Immediate => vec![Operand::Int(integer(u)?)],
        Operands::Pattern if op == Operator::Glob => vec![Operand::Str(glob(u)?)],
        Operands::Pattern => vec![Operand::Str(regex(u, wildcards)?)],
        Operands::Strings { max, .. } => {
            let n = u.int_in_range(1..=max.min(MAX_OPERANDS))?;
            (0..n)
                .map(|_| Ok(Operand::Str(u.arbitrary::<Text>()?.0)))
                .collect::<arbitrary::Result<_>>()?
        }
    };
    Ok(Predicate {
        field,
        op,
        negate: op.reads_input() && u.arbitrary()?,
        all: op.takes_all() && u.arbitrary()?,
        operands,
        case_insensitive: op == Operator::Regex && u.arbitrary()?,
        origin: Origin::default(),
    })
}

/// A condition in the form the condition parser produces: no empty or one-item connective, no
/// connective directly inside one of its own kind.
fn condition(u: &mut Unstructured<'_>, predicates: usize, depth: u32) -> arbitrary::Result<Expr> {
    let choice = if depth >= 3 {
        0
    } else {
        u.int_in_range(0..=4)?
    };
    Ok(match choice {
        0 | 1 => Expr::Pred(u.int_in_range(0..=predicates - 1)?),
        2 => Expr::Not(Box::new(condition(u, predicates, depth + 1)?)),
        kind => {
            let and = kind == 3;
            let n = u.int_in_range(2..=4)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                match condition(u, predicates, depth + 1)? {
                    Expr::And(inner) if and => items.extend(inner),
                    Expr::Or(inner) if !and => items.extend(inner),
                    other => items.push(other),
                }
            }
            if and {
                Expr::And(items)
            } else {
                Expr::Or(items)
            }
        }
    })
}

fn rule(u: &mut Unstructured<'_>, index: usize, wildcards: &mut u32) -> arbitrary::Result<Rule> {
    let n = u.int_in_range(1..=MAX_PREDICATES)?;
    let predicates = (0..n)
        .map(|_| predicate(u, wildcards))
        .collect::<arbitrary::Result<Vec<_>>>()?;
    Ok(Rule {
        id: format!("R{index}"),
        title: u.arbitrary::<Text>()?.0,
        author: u.arbitrary::<Text>()?.0,
        level: Level::from_u8(u.int_in_range(0..=4)?).unwrap_or(Level::Low),
        action: Action::from_u8(u.int_in_range(0..=2)?).unwrap_or(Action::Log),
        condition: condition(u, n, 0)?,
        predicates,
        origin: Origin::default(),
    })
}

fn content(u: &mut Unstructured<'_>) -> arbitrary::Result<Content> {
    let n = u.int_in_range(0..=MAX_RULES)?;
    let mut wildcards = WILDCARD_PIECES;
    Ok(Content {
        channel: if u.arbitrary()? { 291 } else { u.arbitrary()? },
        version: u.arbitrary()?,
        template_id: IPC.id,
        template_version: IPC.version,
        rules: (0..n)
            .map(|i| rule(u, i, &mut wildcards))
            .collect::<arbitrary::Result<_>>()?,
    })
}

fn text(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<String>> {
    Ok(if u.ratio(1, 6)? {
        None
    } else {
        Some(u.arbitrary::<Text>()?.0)
    })
}

fn number(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<u64>> {
    Ok(if u.ratio(1, 6)? {
        None
    } else {
        Some(integer(u)?)
    })
}

fn event(u: &mut Unstructured<'_>) -> arbitrary::Result<PipeEvent> {
    Ok(PipeEvent {
        kind: if u.arbitrary()? {
            EventKind::Create
        } else {
            EventKind::Connect
        },
        pipe_name: text(u)?,
        image_path: text(u)?,
        process_id: number(u)?,
        parent_process_id: number(u)?,
        session_id: number(u)?,
        user: text(u)?,
        integrity_level: number(u)?,
        pipe_type: number(u)?,
        read_mode: number(u)?,
        completion_mode: number(u)?,
        max_instances: number(u)?,
        inbound_quota: number(u)?,
        outbound_quota: number(u)?,
        default_timeout: number(u)?,
        desired_access: number(u)?,
        share_access: number(u)?,
        create_disposition: number(u)?,
        command_line: text(u)?,
        parent_image: text(u)?,
        remote_client: if u.ratio(1, 6)? {
            None
        } else {
            Some(u.arbitrary()?)
        },
    })
}

/// A `structured` input: content and events.
#[derive(Clone, Debug)]
pub struct StructuredInput {
    /// The rule set.
    pub content: Content,
    /// Events to evaluate.
    pub events: Vec<PipeEvent>,
}

impl<'a> Arbitrary<'a> for StructuredInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let content = content(u)?;
        let n = u.int_in_range(1..=MAX_EVENTS)?;
        let events = (0..n).map(|_| event(u)).collect::<arbitrary::Result<_>>()?;
        Ok(Self { content, events })
    }
}

fn reads_field_20(content: &Content) -> bool {
    content
        .rules
        .iter()
        .flat_map(|r| &r.predicates)
        .any(|p| p.field == ipc::REMOTE_CLIENT && p.op.reads_input())
}

/// Rule indices the core matches for `event`, on the first `supplied` inputs.
fn core_matches(rules: &RuleSet<'_>, event: &PipeEvent, supplied: usize) -> Vec<usize> {
    let mut encoded = EncodedEvent::new();
    encoded.encode(event);
    let values = encoded.values();
    let outcome = check::evaluation(rules, &values[..supplied]);
    outcome.matches.iter().map(|m| m.rule as usize).collect()
}

/// The harness of the `structured` target.
pub fn structured(data: &[u8]) -> Reached {
    let Ok(input) = StructuredInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return Reached::default();
    };
    check_input(&input)
}

/// Checks one structured input (see the module documentation).
pub fn check_input(input: &StructuredInput) -> Reached {
    let content = &input.content;
    let text = to_source(content).expect("generated IR is expressible as source");
    let parsed = source::parse(&text, "structured.toml")
        .unwrap_or_else(|e| panic!("rendered source does not parse: {e}\n{text}"));
    assert_eq!(
        without_origins(&parsed),
        *content,
        "source round trip changed the IR:\n{text}"
    );

    let bytes = match compile(content) {
        Ok(bytes) => bytes,
        Err(e) => {
            assert!(
                matches!(
                    e.kind,
                    CompileErrorKind::Pattern(..) | CompileErrorKind::AutomatonTooLarge(..)
                ),
                "the compiler refused generated content for a reason other than a pattern: {e}"
            );
            return Reached::default();
        }
    };
    let buf = ContentBuf::new(&bytes);
    let fixed = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED)
        .unwrap_or_else(|e| panic!("compiled content refused by the fixed build: {e:?}"));
    check::loaded(&fixed, &SENSOR_FIXED);
    let old = RuleSet::load(buf.as_bytes(), &SENSOR_7_11);
    assert_eq!(
        old.is_ok(),
        !reads_field_20(content),
        "7.11 must refuse exactly the content that reads field 20: {:?}",
        old.as_ref().err()
    );

    let back = decompile(buf.as_bytes()).unwrap_or_else(|e| panic!("decompile: {e}"));
    let restored = restore_patterns(&back, content);
    let again = compile(&restored).expect("decompiled content compiles");
    assert!(again == bytes, "compile(decompile(file)) differs from file");

    let reference = Reference::new(content)
        .unwrap_or_else(|e| panic!("the reference refused what the compiler took: {e}"));
    let mut reached = Reached {
        loaded: true,
        matched: 0,
    };
    for event in &input.events {
        let want = reference.evaluate(event, IPC.field_count());
        let got = core_matches(&fixed, event, IPC.field_count());
        assert_eq!(got, want, "fixed build vs reference on {event:?}\n{text}");
        reached.matched += got.len();
        if let Ok(old) = &old {
            let want = reference.evaluate(event, old.supplied());
            let got = core_matches(old, event, old.supplied());
            assert_eq!(got, want, "7.11 vs reference on {event:?}\n{text}");
        }
    }
    reached
}

/// Seeds for `structured`: bytes that decode, through `Arbitrary`, to inputs covering every
/// operator. Built by trying fixed byte patterns and keeping those whose content compiles.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut ops_seen = std::collections::BTreeSet::new();
    for seed in 0u32..4000 {
        let bytes: Vec<u8> = (0..512u32)
            .map(|i| {
                let x = seed
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(i.wrapping_mul(40_503));
                (x ^ (x >> 13)) as u8
            })
            .collect();
        let Ok(input) = StructuredInput::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        if compile(&input.content).is_err() {
            continue;
        }
        let new: Vec<u8> = input
            .content
            .rules
            .iter()
            .flat_map(|r| &r.predicates)
            .map(|p| p.op as u8)
            .filter(|op| !ops_seen.contains(op))
            .collect();
        if new.is_empty() {
            continue;
        }
        ops_seen.extend(new);
        out.push((format!("ops-{seed}"), bytes));
        if ops_seen.len() == ALL_OPERATORS.len() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of `pattern` that match any character: unescaped `.` (alone or repeated) and
    /// `[^`.
    fn wildcards(pattern: &str) -> u32 {
        let mut count = 0;
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '.' => count += 1,
                '[' if chars.peek() == Some(&'^') => count += 1,
                _ => {}
            }
        }
        count
    }

    fn rule_set_wildcards(content: &Content) -> u32 {
        content
            .rules
            .iter()
            .flat_map(|r| &r.predicates)
            .filter(|p| p.op == Operator::Regex)
            .flat_map(|p| &p.operands)
            .map(|o| match o {
                Operand::Str(s) => wildcards(s),
                Operand::Int(_) => 0,
            })
            .sum()
    }

    #[test]
    fn a_rule_set_spends_at_most_its_wildcard_pieces() {
        assert_eq!(wildcards(r".{1,3}\.\\.[^\\]x"), 3);
        let slow = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/artifacts/structured/slow/timeout-4d4f48df8515282cc8963d4908a6733d8e89658b"
        ))
        .expect("the slow input");
        let mut inputs = vec![slow];
        let mut x = 0x0291_2024u32;
        for _ in 0..300 {
            inputs.push(
                (0..600)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect(),
            );
        }
        let mut regexes = 0;
        for data in &inputs {
            let Ok(input) = StructuredInput::arbitrary_take_rest(Unstructured::new(data)) else {
                continue;
            };
            let spent = rule_set_wildcards(&input.content);
            assert!(spent <= WILDCARD_PIECES, "{spent} wildcard pieces");
            regexes += input
                .content
                .rules
                .iter()
                .flat_map(|r| &r.predicates)
                .filter(|p| p.op == Operator::Regex)
                .count();
        }
        assert!(regexes > 0, "no regex generated");
    }
}
