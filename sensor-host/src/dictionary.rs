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
pub const DENSE_BYTES: usize = 256 << 10;

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
fn build_with(literals: &[Literal], dense_bytes: usize) -> Result<Built, DictionaryError> {
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
    let dense = (dense_bytes / (4 * class_count)).clamp(1, order.len());
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
        let class = classes.get(&unit).copied().unwrap_or(0) as u16;
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
    for &target in &rows {
        out.word(target);
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
            out.word(target[child as usize]);
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

    use sensor_core::dictionary::Dictionary;
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
