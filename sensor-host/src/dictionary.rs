//! Builds dictionary automata ([`sensor_core::dictionary`]): the folded operands of literal
//! predicates as one Aho-Corasick automaton, serialized in the layout the core checks.
//!
//! Operands with the same text and placement share a key, so the sensor reports a text that
//! many rules name once per event, and the trie holds it once.
//!
//! States are numbered breadth-first, so the root's children come first and a scan's hot
//! states sit together; fail and output links are computed in the same order, each from
//! shallower states already done.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use sensor_core::dictionary::{Placement, DIRECT_UNITS, MAX_CLASSES, REPORTS};
use sensor_core::fold::fold;

/// One pattern: folded code units (at least one) and where a match must sit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal {
    /// Folded UTF-16 code units.
    pub units: Vec<u16>,
    /// Where a match counts.
    pub placement: Placement,
}

/// Why a set of literals cannot become a dictionary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DictionaryError {
    /// A pattern has no code units (the format needs at least one).
    Empty(usize),
    /// The patterns use more distinct code units than the format has classes for.
    Classes(usize),
}

/// A trie under construction: each state's children by class, its depth and its patterns.
struct Trie {
    children: Vec<BTreeMap<u32, u32>>,
    depth: Vec<u32>,
    outputs: Vec<Vec<u32>>,
}

impl Trie {
    fn insert(&mut self, classes: impl Iterator<Item = u32>, key: u32) {
        let mut state = 0usize;
        for class in classes {
            let next = self.children.len() as u32;
            let depth = self.depth[state] + 1;
            let child = *self.children[state].entry(class).or_insert(next);
            if child == next {
                self.children.push(BTreeMap::new());
                self.depth.push(depth);
                self.outputs.push(Vec::new());
            }
            state = child as usize;
        }
        self.outputs[state].push(key);
    }

    /// The states in breadth-first order, root first.
    fn breadth_first(&self) -> Vec<u32> {
        let mut order = Vec::with_capacity(self.children.len());
        let mut queue = VecDeque::from([0u32]);
        while let Some(state) = queue.pop_front() {
            order.push(state);
            queue.extend(self.children[state as usize].values());
        }
        order
    }

    /// Fail and output links of every state, in old numbering.
    fn links(&self, order: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let n = self.children.len();
        let (mut fail, mut link) = (vec![0u32; n], vec![0u32; n]);
        for &state in order {
            for (&class, &child) in &self.children[state as usize] {
                let target = if state == 0 {
                    0
                } else {
                    let mut f = fail[state as usize];
                    loop {
                        if let Some(&t) = self.children[f as usize].get(&class) {
                            break t;
                        }
                        if f == 0 {
                            break 0;
                        }
                        f = fail[f as usize];
                    }
                };
                fail[child as usize] = target;
                link[child as usize] = if self.outputs[target as usize].is_empty() {
                    link[target as usize]
                } else {
                    target
                };
            }
        }
        (fail, link)
    }
}

/// The classes: 0 for units no pattern holds, then one per distinct unit in ascending order.
fn classes(literals: &[Literal]) -> Result<BTreeMap<u16, u32>, DictionaryError> {
    let units: BTreeSet<u16> = literals
        .iter()
        .flat_map(|l| l.units.iter().copied())
        .collect();
    if units.len() + 1 > MAX_CLASSES {
        return Err(DictionaryError::Classes(units.len() + 1));
    }
    Ok(units.into_iter().zip(1u32..).collect())
}

/// The key of each literal, numbering distinct literals in order of first appearance, and the
/// distinct literals.
fn keys(literals: &[Literal]) -> (Vec<u32>, Vec<&Literal>) {
    let mut seen: HashMap<(&[u16], u8), u32> = HashMap::new();
    let mut distinct = Vec::new();
    let keys = literals
        .iter()
        .map(|l| {
            *seen
                .entry((&l.units, l.placement as u8))
                .or_insert_with(|| {
                    distinct.push(l);
                    distinct.len() as u32 - 1
                })
        })
        .collect();
    (keys, distinct)
}

/// A serialized dictionary and the key of each of its patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// The dictionary.
    pub bytes: Vec<u8>,
    /// The key pattern `i` names: what a scan reports when it matches.
    pub keys: Vec<u32>,
}

/// Most bytes of dense rows per dictionary: rows go to the shallowest states, where a scan
/// spends most of its steps, until this is spent.
pub const DENSE_BYTES: usize = 4 << 20;

/// The dense rows of the first `dense` states in breadth-first order, as target words (see
/// `target`): for each class, the child on it, or else the fail state's entry (already
/// computed, since a fail state is shallower and so numbered earlier), or the root.
fn dense_rows(
    trie: &Trie,
    order: &[u32],
    fail: &[u32],
    target: &[u32],
    dense: usize,
    classes: usize,
) -> Vec<u32> {
    let mut rows = vec![0u32; dense * classes];
    for (new, &state) in order[..dense].iter().enumerate() {
        let fallback = (target[fail[state as usize] as usize] & !REPORTS) as usize;
        for class in 0..classes {
            rows[new * classes + class] = match trie.children[state as usize].get(&(class as u32)) {
                Some(&child) => target[child as usize],
                None if new == 0 => 0,
                None => rows[fallback * classes + class],
            };
        }
    }
    rows
}

/// Serializes a dictionary of `literals`; pattern `i` is `literals[i]`.
pub fn build(literals: &[Literal]) -> Result<Built, DictionaryError> {
    build_with(literals, DENSE_BYTES)
}

/// [`build`], with at most `dense_bytes` of dense rows (the root's row at least).
pub fn build_with(literals: &[Literal], dense_bytes: usize) -> Result<Built, DictionaryError> {
    if let Some(empty) = literals.iter().position(|l| l.units.is_empty()) {
        return Err(DictionaryError::Empty(empty));
    }
    let classes = classes(literals)?;
    let (pattern_keys, distinct) = keys(literals);
    let mut trie = Trie {
        children: vec![BTreeMap::new()],
        depth: vec![0],
        outputs: vec![Vec::new()],
    };
    for (key, literal) in distinct.iter().enumerate() {
        trie.insert(literal.units.iter().map(|u| classes[u]), key as u32);
    }
    let order = trie.breadth_first();
    let (fail, link) = trie.links(&order);
    let mut renumber = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old as usize] = new as u32;
    }
    // Target words: the new number, with REPORTS where the state has outputs.
    let target: Vec<u32> = (0..order.len())
        .map(|old| {
            let reports = !trie.outputs[old].is_empty() || link[old] != 0;
            renumber[old] | if reports { REPORTS } else { 0 }
        })
        .collect();
    let class_count = classes.len() + 1;
    // Dense rows of at most 2^30 bytes, and at most 2^28 states (65,536 patterns of 4,096
    // units), keep every position below 2^31, where the format needs it.
    let dense = (dense_bytes.min(1 << 30) / (4 * class_count)).clamp(1, order.len());
    let rows = dense_rows(&trie, &order, &fail, &target, dense, class_count);
    let transitions: usize = order[dense..]
        .iter()
        .map(|&s| trie.children[s as usize].len())
        .sum();
    let outputs: usize = trie.outputs.iter().map(Vec::len).sum();
    let mut out = Words::default();
    for count in [
        order.len(),
        class_count,
        classes
            .keys()
            .filter(|&&u| usize::from(u) >= DIRECT_UNITS)
            .count(),
        transitions,
        literals.len(),
        distinct.len(),
        outputs,
        dense,
    ] {
        out.word(count as u32);
    }
    for unit in 0..DIRECT_UNITS as u16 {
        let class = classes.get(&fold(unit)).copied().unwrap_or(0) as u16;
        out.0.extend_from_slice(&class.to_le_bytes());
    }
    for (&unit, &class) in classes.range(DIRECT_UNITS as u16..) {
        out.word(u32::from(unit) | class << 16);
    }
    for &key in &pattern_keys {
        out.word(key);
    }
    for literal in &distinct {
        out.word(literal.units.len() as u32 | (literal.placement as u32) << 24);
    }
    let word = |target: u32| position(target, dense, class_count);
    for &target in &rows {
        out.word(word(target));
    }
    let (mut transitions_end, mut outputs_end) = (0u32, 0u32);
    for (new, &state) in order.iter().enumerate() {
        let s = state as usize;
        if new >= dense {
            transitions_end += trie.children[s].len() as u32;
        }
        outputs_end += trie.outputs[s].len() as u32;
        for w in [
            trie.depth[s],
            renumber[fail[s] as usize],
            renumber[link[s] as usize],
            transitions_end,
            outputs_end,
        ] {
            out.word(w);
        }
    }
    for &state in &order[dense..] {
        for (&class, &child) in &trie.children[state as usize] {
            out.word(class);
            out.word(word(target[child as usize]));
        }
    }
    for &state in &order {
        for &pattern in &trie.outputs[state as usize] {
            out.word(pattern);
        }
    }
    Ok(Built {
        bytes: out.0,
        keys: pattern_keys,
    })
}

/// `target` (a state number, [`REPORTS`] aside) as the format's target word: the state's
/// position, the byte offset of its dense row or, past the rows, of its word among the listed
/// states.
fn position(target: u32, dense: usize, classes: usize) -> u32 {
    let state = (target & !REPORTS) as usize;
    let position = 4 * match state.checked_sub(dense) {
        None => state * classes,
        Some(listed) => dense * classes + listed,
    };
    position as u32 | target & REPORTS
}

#[derive(Default)]
struct Words(Vec<u8>);

impl Words {
    fn word(&mut self, w: u32) {
        self.0.extend_from_slice(&w.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use sensor_core::dictionary::{Dictionary, Malformed};
    use sensor_core::fold::{fold, Meter};

    use super::*;

    fn literal(s: &str, placement: Placement) -> Literal {
        Literal {
            units: s.encode_utf16().map(fold).collect(),
            placement,
        }
    }

    /// The keys a scan of `input` reports, each once, in order; the same whether only the root
    /// has a dense row or every state does.
    fn found(literals: &[Literal], input: &str) -> Vec<usize> {
        let sparse = scan(&build_with(literals, 0).unwrap().bytes, input);
        let dense = scan(&build_with(literals, usize::MAX / 8).unwrap().bytes, input);
        assert_eq!(sparse, dense, "{input:?}");
        sparse
    }

    fn scan(bytes: &[u8], input: &str) -> Vec<usize> {
        let dictionary = Dictionary::load(bytes).expect("the builder's output loads");
        let units: Vec<u16> = input.encode_utf16().collect();
        let mut hits = Vec::new();
        let mut meter = Meter::default();
        let _ = dictionary.scan(&units, &mut meter, |k| {
            hits.push(k);
            ControlFlow::Continue(())
        });
        assert!(meter.used() <= dictionary.scan_cost(units.len()));
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    #[test]
    fn placements_decide_which_matches_count() {
        let literals = [
            literal(r"\PIPE", Placement::Anywhere),
            literal(r"\pipe", Placement::Start),
            literal("EXE", Placement::End),
            literal(r"\pipe\a", Placement::Whole),
            literal("cmd.exe", Placement::FileName),
        ];
        assert_eq!(found(&literals, r"\pipe\a"), [0, 1, 3]);
        assert_eq!(found(&literals, r"x\PIPE\b.exe"), [0, 2]);
        assert_eq!(found(&literals, r"C:\Windows\cmd.exe"), [2, 4]);
        assert_eq!(found(&literals, "cmd.exe"), [2, 4]);
        assert_eq!(found(&literals, "xcmd.exe"), [2]);
        assert_eq!(found(&literals, ""), Vec::<usize>::new());
    }

    #[test]
    fn fail_and_output_links_find_overlapping_patterns() {
        let literals: Vec<_> = ["he", "she", "his", "hers", "e", "ers"]
            .iter()
            .map(|w| literal(w, Placement::Anywhere))
            .collect();
        assert_eq!(found(&literals, "USHERS"), [0, 1, 3, 4, 5]);
        assert_eq!(found(&literals, "hishe"), [0, 1, 2, 4]);
        assert_eq!(found(&literals, "hhhhhershhis"), [0, 2, 3, 4, 5]);
        assert_eq!(found(&literals, "xyz"), Vec::<usize>::new());
    }

    #[test]
    fn units_past_the_direct_table_have_classes() {
        let literals = [
            literal("Ωmega", Placement::Anywhere),
            literal("\u{1F600}", Placement::End),
        ];
        assert_eq!(found(&literals, "xxωMEGA"), [0]);
        assert_eq!(found(&literals, "a\u{1F600}"), [1]);
        assert_eq!(found(&literals, "\u{1F600}a"), Vec::<usize>::new());
    }

    #[test]
    fn the_same_text_with_another_placement_is_another_key() {
        let literals = [
            literal("abc", Placement::Anywhere),
            literal("ABC", Placement::Whole),
        ];
        assert_eq!(found(&literals, "abc"), [0, 1]);
        assert_eq!(found(&literals, "xabc"), [0]);
    }

    #[test]
    fn operands_with_the_same_text_and_placement_share_a_key() {
        let literals = [
            literal("abc", Placement::Anywhere),
            literal("xyz", Placement::Anywhere),
            literal("ABC", Placement::Anywhere),
        ];
        let built = build(&literals).unwrap();
        assert_eq!(built.keys, [0, 1, 0]);
        let dictionary = Dictionary::load(&built.bytes).unwrap();
        assert_eq!((dictionary.patterns(), dictionary.keys()), (3, 2));
        assert_eq!(
            [0, 1, 2, 3].map(|p| dictionary.key(p)),
            [Some(0), Some(1), Some(0), None]
        );
        assert_eq!(found(&literals, "xabcx"), [0]);
    }

    /// Whether `literal` matches `input` where its placement says, compared unit by unit.
    fn naive(literal: &Literal, input: &[u16]) -> bool {
        let folded: Vec<u16> = input.iter().map(|&u| fold(u)).collect();
        let pattern = &literal.units[..];
        let n = pattern.len();
        let at = |start: usize| folded.get(start..start + n) == Some(pattern);
        let last = folded.len().checked_sub(n);
        match literal.placement {
            Placement::Anywhere => (0..=last.unwrap_or(0)).any(|s| last.is_some() && at(s)),
            Placement::Start => at(0),
            Placement::End => last.is_some_and(at),
            Placement::Whole => folded.len() == n && at(0),
            Placement::FileName => {
                last.is_some_and(|s| at(s) && (s == 0 || folded[s - 1] == u16::from(b'\\')))
            }
        }
    }

    #[test]
    fn random_sets_agree_with_a_unit_by_unit_comparison() {
        let mut seed = 0x2910_2024_u64;
        let mut next = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        let alphabet = ['a', 'B', '\\', 'c'];
        let placements = [
            Placement::Anywhere,
            Placement::Start,
            Placement::End,
            Placement::Whole,
            Placement::FileName,
        ];
        for _ in 0..200 {
            let literals: Vec<Literal> = (0..1 + next(12))
                .map(|_| {
                    let text: String = (0..1 + next(4)).map(|_| alphabet[next(4)]).collect();
                    literal(&text, placements[next(5)])
                })
                .collect();
            let built = build(&literals).unwrap();
            for _ in 0..20 {
                let input: String = (0..next(10)).map(|_| alphabet[next(4)]).collect();
                let units: Vec<u16> = input.encode_utf16().collect();
                let mut expected: Vec<usize> = literals
                    .iter()
                    .zip(&built.keys)
                    .filter(|(l, _)| naive(l, &units))
                    .map(|(_, &k)| k as usize)
                    .collect();
                expected.sort_unstable();
                expected.dedup();
                assert_eq!(found(&literals, &input), expected, "{literals:?} {input:?}");
            }
        }
    }

    /// Where each table of a dictionary starts, read from its header as the format lays them
    /// out: direct classes, wide units, patterns, keys, dense rows, states, transitions,
    /// outputs.
    struct Layout {
        states: usize,
        classes: usize,
        wide: usize,
        patterns: usize,
        keys: usize,
        dense_rows: usize,
        records: usize,
        transitions: usize,
        outputs: usize,
    }

    fn word(bytes: &[u8], at: usize) -> usize {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
    }

    fn layout(bytes: &[u8]) -> Layout {
        let count = |i: usize| word(bytes, 4 * i);
        let (states, classes, wide, transitions, patterns, keys, dense) = (
            count(0),
            count(1),
            count(2),
            count(3),
            count(4),
            count(5),
            count(7),
        );
        let wide_at = 32 + 512;
        let patterns_at = wide_at + 4 * wide;
        let keys_at = patterns_at + 4 * patterns;
        let dense_at = keys_at + 4 * keys;
        let records = dense_at + 4 * dense * classes;
        let transitions_at = records + 20 * states;
        Layout {
            states,
            classes,
            wide: wide_at,
            patterns: patterns_at,
            keys: keys_at,
            dense_rows: dense_at,
            records,
            transitions: transitions_at,
            outputs: transitions_at + 8 * transitions,
        }
    }

    #[test]
    fn every_broken_rule_of_the_format_is_refused_at_its_word() {
        let literals = [
            literal(r"\pipe\abc", Placement::Anywhere),
            literal("bcd", Placement::End),
            literal("Ωx", Placement::Start),
        ];
        let good = build_with(&literals, 0).unwrap().bytes;
        assert!(Dictionary::load(&good).is_ok());
        let l = layout(&good);
        assert!(l.states > 8 && l.outputs < good.len());
        let record = |state: usize| l.records + 20 * state;
        let deepest = l.states - 1;
        let deep_depth = word(&good, record(deepest));
        assert!(deep_depth >= 3);
        let first_transition = l.transitions;
        // Only the root has a dense row: state s > 0 sits at position 4 * (classes + s - 1).
        let listed_at = |state: usize| (4 * (l.classes + state - 1)) as u32;
        let put = |at: usize, value: u32| {
            let mut bytes = good.clone();
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            bytes
        };
        let cases: Vec<(&str, Vec<u8>, usize)> = vec![
            ("no states", put(0, 0), 0),
            ("no classes", put(4, 0), 4),
            ("too many classes", put(4, 1 << 17), 4),
            ("no patterns", put(16, 0), 16),
            ("no keys", put(20, 0), 20),
            ("no dense row", put(28, 0), 28),
            (
                "more dense rows than states",
                put(28, l.states as u32 + 1),
                28,
            ),
            ("positions past 31 bits", put(0, 1 << 31), 28),
            (
                "a byte short",
                good[..good.len() - 4].to_vec(),
                good.len() - 4,
            ),
            (
                "direct class past the classes",
                {
                    let mut bytes = good.clone();
                    bytes[32 + 2 * 65..32 + 2 * 66]
                        .copy_from_slice(&(l.classes as u16).to_le_bytes());
                    bytes
                },
                32 + 2 * 65,
            ),
            ("wide unit of class 0", put(l.wide, 0x03A9), l.wide),
            ("pattern past the keys", put(l.patterns, 3), l.patterns),
            ("key of no length", put(l.keys, 0), l.keys),
            (
                "key of an unknown placement",
                put(l.keys, 9 << 24 | 3),
                l.keys,
            ),
            (
                "root row to a deep state",
                put(l.dense_rows + 4, listed_at(deepest)),
                l.dense_rows + 4,
            ),
            (
                "root row into its own row",
                put(l.dense_rows + 4, 4),
                l.dense_rows + 4,
            ),
            (
                "root row between two listed states",
                put(l.dense_rows + 4, listed_at(1) + 2),
                l.dense_rows + 4,
            ),
            (
                "root row past the states",
                put(l.dense_rows, listed_at(l.states)),
                l.dense_rows,
            ),
            ("root with a depth", put(record(0), 1), record(0)),
            ("state at depth 0", put(record(1), 0), record(1)),
            (
                "fail link to itself",
                put(record(deepest) + 4, deepest as u32),
                record(deepest) + 4,
            ),
            (
                "output link to itself",
                put(record(deepest) + 8, deepest as u32),
                record(deepest) + 4,
            ),
            (
                "transitions running backwards",
                put(record(l.states / 2) + 12, 0),
                record(l.states / 2) + 12,
            ),
            (
                "outputs running backwards",
                put(record(deepest) + 16, 0),
                record(deepest) + 16,
            ),
            (
                "transition on class 0",
                put(first_transition, 0),
                first_transition,
            ),
            (
                "transition to the root",
                put(first_transition + 4, 0),
                first_transition + 4,
            ),
            (
                "transition past the states",
                put(first_transition + 4, listed_at(l.states)),
                first_transition + 4,
            ),
            ("output past the keys", put(l.outputs, 7), l.outputs),
        ];
        for (what, bytes, at) in cases {
            assert_eq!(
                Dictionary::load(&bytes).map(drop),
                Err(Malformed(at)),
                "{what}"
            );
        }
        let mut flagged = good.clone();
        let entry = l.dense_rows + 4;
        let value = word(&good, entry) as u32 | REPORTS;
        flagged[entry..entry + 4].copy_from_slice(&value.to_le_bytes());
        assert!(
            Dictionary::load(&flagged).is_ok(),
            "the reports bit is not a state"
        );
    }

    #[test]
    fn empty_patterns_are_refused() {
        assert_eq!(
            build(&[
                literal("a", Placement::Anywhere),
                literal("", Placement::Start)
            ]),
            Err(DictionaryError::Empty(1))
        );
    }
}
