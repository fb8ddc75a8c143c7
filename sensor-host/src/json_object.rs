//! A fast path for reading the top-level members of one JSON object: a single pass that checks
//! the whole text against the JSON grammar (RFC 8259) without allocating, and hands each
//! member's key and raw value text to the caller.
//!
//! It declines rather than explains. Anything it does not take on (text that is not JSON, a key
//! written with escapes, containers nested deeper than [`MAX_DEPTH`]) gives `None`, and the
//! caller falls back to serde_json, which names what is wrong. The one rule this module must
//! keep: it never accepts text that serde_json would refuse, and where it accepts, the raw values
//! it hands out are the ones serde_json's `RawValue` would hold.

/// Deepest nesting of arrays and objects inside a member's value; serde_json allows 128.
pub const MAX_DEPTH: u32 = 64;

/// Reads the object in `text`, calling `member` with each key (as written: it has no escapes)
/// and the raw JSON text of its value, in order; `member` declines by returning `None`.
///
/// Whitespace may surround the object; nothing else may follow it.
pub fn members<'a>(
    text: &'a str,
    mut member: impl FnMut(&'a str, &'a str) -> Option<()>,
) -> Option<()> {
    let mut cursor = Cursor { text, at: 0 };
    cursor.whitespace();
    cursor.expect(b'{')?;
    cursor.whitespace();
    if !cursor.eat(b'}') {
        loop {
            let key = cursor.key()?;
            let start = cursor.at;
            cursor.value()?;
            member(key, text.get(start..cursor.at)?)?;
            cursor.whitespace();
            if cursor.eat(b'}') {
                break;
            }
            cursor.expect(b',')?;
            cursor.whitespace();
        }
    }
    cursor.whitespace();
    (cursor.at == text.len()).then_some(())
}

/// Appends the text of the JSON string `raw` (quotes included, as [`members`] hands it out) to
/// `out`, escapes decoded; `None`, with `out` as it was, if `raw` is not one string or holds a
/// `\u` escape that is half of a surrogate pair alone (serde_json refuses those).
pub fn decode_string(raw: &str, out: &mut String) -> Option<()> {
    let restore = out.len();
    let decoded = raw
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|body| decode_body(body, out));
    if decoded.is_none() {
        out.truncate(restore);
    }
    decoded
}

fn decode_body(body: &str, out: &mut String) -> Option<()> {
    let mut rest = body;
    loop {
        let at = special(rest);
        out.push_str(rest.get(..at)?);
        let Some(escape) = rest.get(at..)?.strip_prefix('\\') else {
            // The body's end, or a quote or control character, which a string cannot hold.
            return (at == rest.len()).then_some(());
        };
        let (c, tail) = match escape.as_bytes().first()? {
            b'"' => ('"', escape.get(1..)?),
            b'\\' => ('\\', escape.get(1..)?),
            b'/' => ('/', escape.get(1..)?),
            b'b' => ('\u{8}', escape.get(1..)?),
            b'f' => ('\u{c}', escape.get(1..)?),
            b'n' => ('\n', escape.get(1..)?),
            b'r' => ('\r', escape.get(1..)?),
            b't' => ('\t', escape.get(1..)?),
            b'u' => code_point(escape.get(1..)?)?,
            _ => return None,
        };
        out.push(c);
        rest = tail;
    }
}

/// Where the first quote, backslash or control character of `text` lies, or its length.
fn special(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        at = plain_run(bytes, at);
        match bytes.get(at) {
            Some(&byte) if !byte.is_ascii() => at += 1,
            _ => return at,
        }
    }
}

/// The character of a `\u` escape whose four hex digits start `text`, with a second escape for
/// the low half of a surrogate pair; and the text after them.
fn code_point(text: &str) -> Option<(char, &str)> {
    let high = hex4(text)?;
    let rest = text.get(4..)?;
    if !(0xd800..0xdc00).contains(&high) {
        return Some((char::from_u32(high)?, rest));
    }
    let low = hex4(rest.strip_prefix("\\u")?)?;
    if !(0xdc00..0xe000).contains(&low) {
        return None;
    }
    let c = char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))?;
    Some((c, rest.get(6..)?))
}

fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then_some(())?;
    u32::from_str_radix(digits, 16).ok()
}

/// A position in the text; every method leaves it after what it read.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// A member's key without escapes, and the colon after it; leaves the cursor at the value.
    fn key(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        if self.string()? {
            return None;
        }
        let key = self.text.get(start..self.at - 1)?;
        self.whitespace();
        self.expect(b':')?;
        self.whitespace();
        Some(key)
    }

    /// One value, containers included, read without recursion; leaves the cursor after it.
    fn value(&mut self) -> Option<()> {
        // Bit `d` of `objects` says whether the container at depth `d + 1` is an object.
        let mut objects = 0u64;
        let mut depth = 0u32;
        loop {
            let opened = match self.peek()? {
                open @ (b'{' | b'[') => {
                    self.at += 1;
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    depth += 1;
                    objects = objects << 1 | u64::from(open == b'{');
                    self.whitespace();
                    true
                }
                b'"' => self.string().map(|_| false)?,
                b't' => self.literal("true").map(|()| false)?,
                b'f' => self.literal("false").map(|()| false)?,
                b'n' => self.literal("null").map(|()| false)?,
                b'-' | b'0'..=b'9' => self.number().map(|()| false)?,
                _ => return None,
            };
            let in_object = objects & 1 == 1;
            if opened && !self.eat(if in_object { b'}' } else { b']' }) {
                if in_object {
                    self.key()?;
                }
                continue;
            }
            if opened {
                depth -= 1;
                objects >>= 1;
            }
            // After a value: close what ends here, or step to the next element.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.whitespace();
                let in_object = objects & 1 == 1;
                if self.eat(b',') {
                    self.whitespace();
                    if in_object {
                        self.key()?;
                    }
                    break;
                }
                self.expect(if in_object { b'}' } else { b']' })?;
                depth -= 1;
                objects >>= 1;
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        (self.text.as_bytes().get(self.at..end)? == word.as_bytes()).then_some(())?;
        self.at = end;
        Some(())
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        if !self.eat(b'0') {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if self.eat(b'.') {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// A string, from its opening quote to after its closing one; says whether it has escapes.
    fn string(&mut self) -> Option<bool> {
        self.expect(b'"')?;
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            self.at = plain_run(bytes, self.at);
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                0x00..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    /// `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` or `\u` and four hex digits.
    ///
    /// Surrogates are not paired up here: serde_json does not check them when it skips or
    /// borrows a string either, only when it decodes one.
    fn escape(&mut self) -> Option<()> {
        self.at += 1;
        match self.peek()? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
            b'u' => {
                hex4(self.text.get(self.at + 1..)?)?;
                self.at += 5;
            }
            _ => return None,
        }
        Some(())
    }
}

/// Where the first byte at or after `at` that ends a run of plain string content lies (a quote,
/// a backslash or a control character), or where a non-ASCII byte lies, which is plain but is
/// looked at on its own; `bytes.len()` if there is none.
///
/// Eight bytes are tested at a time. The tests may also flag a byte just above a flagged one or a
/// non-ASCII byte, so a flag only says where to look; the caller looks at that byte itself.
fn plain_run(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let zero_at = |word: u64, b: u8| below(word ^ (ONES * u64::from(b)), 1);
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let flags = zero_at(word, b'"') | zero_at(word, b'\\') | below(word, 0x20) | word & HIGHS;
        if flags != 0 {
            return at + flags.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    bytes
        .get(at..)
        .and_then(|rest| {
            rest.iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        })
        .map_or(bytes.len(), |i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Option<Vec<(&str, &str)>> {
        let mut seen = Vec::new();
        members(text, |k, v| {
            seen.push((k, v));
            Some(())
        })?;
        Some(seen)
    }

    #[test]
    fn hands_out_keys_and_raw_values() {
        let text =
            r#" {"a": 1, "b" :"x\"y", "c":[1, {"d": [true, false, null]}, "z"],"e":{} , "f": []} "#;
        assert_eq!(
            all(text),
            Some(vec![
                ("a", "1"),
                ("b", r#""x\"y""#),
                ("c", r#"[1, {"d": [true, false, null]}, "z"]"#),
                ("e", "{}"),
                ("f", "[]"),
            ])
        );
        assert_eq!(all("{}"), Some(vec![]));
        assert_eq!(all("\t{ }\r\n"), Some(vec![]));
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for good in ["0", "-0", "12", "-12.5", "1e9", "1E+9", "2.5e-3", "0.0"] {
            assert!(all(&format!(r#"{{"n": {good}}}"#)).is_some(), "{good}");
        }
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "1.e3", "--1", "0x1"] {
            assert!(all(&format!(r#"{{"n": {bad}}}"#)).is_none(), "{bad}");
        }
    }

    #[test]
    fn declines_what_is_not_plain_json() {
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1} x",
            "{\"a\":1}{}",
            "{\"a\":[1,]}",
            "{\"a\":[1 2]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":{1:2}}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12g4\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"open}",
            "{'a':1}",
            "{\"\\u0061\":1}",
            "{\"a\":[}",
            "{\"a\":{]}",
        ] {
            assert_eq!(all(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keeps_to_the_depth_limit() {
        let nested = |d: u32| {
            let d = d as usize;
            format!("{{\"a\":{}1{}}}", "[".repeat(d), "]".repeat(d))
        };
        assert!(all(&nested(MAX_DEPTH)).is_some());
        assert!(all(&nested(MAX_DEPTH + 1)).is_none());
    }

    #[test]
    fn the_caller_may_decline() {
        assert_eq!(
            members(r#"{"a":1,"b":2}"#, |k, _| (k == "a").then_some(())),
            None
        );
    }

    #[test]
    fn decodes_strings_as_serde_json_does() {
        let cases = [
            r#""plain""#,
            r#""C:\\Windows\\System32\\svchost.exe""#,
            r#""q\"uote\/slash\b\f\n\r\t""#,
            r#""\u0041\u00e9\u20AC\ud83d\ude00 \u0000""#,
            "\"caf\u{e9} \u{1f600}\"",
            r#""""#,
        ];
        for raw in cases {
            let mut out = String::from("kept:");
            assert_eq!(decode_string(raw, &mut out), Some(()), "{raw}");
            let expected: String = serde_json::from_str(raw).expect("valid");
            assert_eq!(out, format!("kept:{expected}"), "{raw}");
        }
    }

    #[test]
    fn declines_strings_serde_json_refuses() {
        for raw in [
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            r#""\x""#,
            r#""\u12""#,
            "\"tab\there\"",
            r#""a"b""#,
            r#""open"#,
            "1",
        ] {
            let mut out = String::from("kept");
            assert_eq!(decode_string(raw, &mut out), None, "{raw}");
            assert_eq!(out, "kept");
            assert!(serde_json::from_str::<String>(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn plain_runs_stop_at_every_special_byte() {
        let text = "abcdefgh\u{e9}ijklmnopq\"rstuvwxyz\\0123456789\u{1}";
        let bytes = text.as_bytes();
        let mut stops = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            at = plain_run(bytes, at);
            if at < bytes.len() {
                stops.push(bytes[at]);
                at += 1;
            }
        }
        assert_eq!(stops, [0xc3, 0xa9, b'"', b'\\', 1]);
    }
}
