//! DFAs that read the same field scan it together, in lanes: the verdicts, match lists and
//! predicate counts are those of the same rules compiled into fewer DFAs, where each scans
//! alone; and the bench's twin, which measures what the checks cost, does what the core does,
//! work and counters included.

use sensor_core::channel::{ChannelFile, AUTOMATON_DFA};
use sensor_core::op::Action;
use sensor_core::schema::{ipc, FIELD_COUNT_IPC, SENSOR_FIXED};
use sensor_core::{MatchedRule, RuleSet, Value};
use sensor_host::bench::checks::{check_twin, Twin};
use sensor_host::bench::events::EventSet;
use sensor_host::bench::generate;
use sensor_host::compile::{compile_with, Layout};
use sensor_host::content::ContentBuf;
use sensor_host::ir::Content;
use sensor_host::source;

/// What one evaluation decided: the action, the predicates the rules that ran evaluated, and
/// the rules matched.
type Outcome = (Option<Action>, u32, Vec<u32>);

/// The content compiled with DFAs of at most `dfa_bytes`, and how many DFAs scan the pipe name.
fn compiled(content: &Content, dfa_bytes: usize) -> (ContentBuf, usize) {
    let layout = Layout {
        dfa_bytes,
        ..Layout::default()
    };
    let bytes = ContentBuf::new(&compile_with(content, layout).unwrap().bytes);
    let file = ChannelFile::parse(bytes.as_bytes()).unwrap();
    let dfas = (0..file.automaton_count().unwrap())
        .filter_map(|i| file.automaton_entry(i))
        .filter(|e| e.flags == AUTOMATON_DFA && e.field as usize == ipc::PIPE_NAME)
        .count();
    (bytes, dfas)
}

fn evaluate(rules: &RuleSet<'_>, inputs: &[Value<'_>]) -> Outcome {
    let mut matched = Vec::new();
    let verdict = rules.evaluate(inputs, &mut |m: MatchedRule| {
        matched.push(m.rule);
        true
    });
    assert_eq!(verdict.matched as usize, matched.len());
    (verdict.action, verdict.counters.predicates, matched)
}

/// Evaluates every event of `inputs` against `content` compiled with DFAs of at most
/// `small` bytes and with the default layout, which must give it at least `fewer` fewer
/// pipe-name DFAs, and requires the same outcome from both, and the twin's from the split
/// file. Returns the outcomes.
fn same_outcomes(
    content: &Content,
    small: usize,
    fewer: usize,
    inputs: &[Vec<Value<'_>>],
) -> Vec<Outcome> {
    let (split, split_dfas) = compiled(content, small);
    let (whole, whole_dfas) = compiled(content, Layout::default().dfa_bytes);
    assert!(
        split_dfas >= whole_dfas + fewer,
        "{split_dfas} pipe-name DFAs split against {whole_dfas} whole"
    );
    let twin = Twin::new(split.as_bytes(), &SENSOR_FIXED).unwrap();
    let split = RuleSet::load(split.as_bytes(), &SENSOR_FIXED).unwrap();
    let whole = RuleSet::load(whole.as_bytes(), &SENSOR_FIXED).unwrap();
    assert!(
        split.laned_automata() >= 2,
        "the split file must pair DFAs in lanes"
    );
    let events: Vec<[Value<'_>; FIELD_COUNT_IPC]> = inputs
        .iter()
        .map(|e| e.as_slice().try_into().unwrap())
        .collect();
    check_twin(&split, &twin, &events).unwrap();
    inputs
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let outcome = evaluate(&split, event);
            assert_eq!(outcome, evaluate(&whole, event), "event {i}");
            outcome
        })
        .collect()
}

/// Rules `R0`..`R23`, each an unanchored regex or glob on the pipe name, numbered so that each
/// event below names which should match.
fn numbered_rules() -> String {
    let mut text = String::from("channel = 291\nversion = 1\ntemplate = \"ipc\"\n");
    for i in 0..24 {
        let (op, value) = if i % 3 == 0 {
            ("glob", format!(r"*\agent{i}-*"))
        } else {
            ("regex", format!(r"\\svc{i}-[0-9a-f]+\\"))
        };
        text.push_str(&format!(
            "\n[[rule]]\nid = \"R{i}\"\ntitle = \"pipe {i}\"\nlevel = \"high\"\n\
             [rule.where]\np = {{ field = \"pipe_name\", op = \"{op}\", value = '{value}' }}\n"
        ));
    }
    text
}

#[test]
fn split_dfas_in_lanes_decide_as_fewer_dfas_do() {
    let content = source::parse(&numbered_rules(), "lanes.toml").unwrap();
    let names: Vec<String> = (0..24)
        .flat_map(|i| {
            [
                format!(r"\pipe\svc{i}-beef\x"),
                format!(r"\agent{i}-caf{}", '\u{e9}'),
                format!(r"\svc{i}-\x"),
                format!(
                    r"\svc{i}-0\ then \svc{}-1\ and \agent{}-2",
                    (i + 1) % 24,
                    (i + 2) % 24
                ),
                format!("\u{1F600}\\svc{i}-ab\\\u{1F600}"),
            ]
        })
        .chain([String::new(), r"\nothing".to_owned()])
        .collect();
    let units: Vec<Vec<u16>> = names.iter().map(|n| n.encode_utf16().collect()).collect();
    let inputs: Vec<Vec<Value<'_>>> = units
        .iter()
        .map(|pipe| {
            let mut event = vec![Value::Absent; FIELD_COUNT_IPC];
            event[ipc::PIPE_NAME] = Value::Str(pipe);
            event
        })
        .collect();
    let outcomes = same_outcomes(&content, 16 * 1024, 2, &inputs);
    let matched = outcomes.iter().filter(|(_, _, m)| !m.is_empty()).count();
    let several = outcomes.iter().filter(|(_, _, m)| m.len() > 1).count();
    assert!(
        matched >= 60 && several >= 8,
        "{matched} events matched, {several} several rules"
    );
}

#[test]
fn the_generated_set_in_lanes_decides_as_with_fewer_dfas() {
    let content = generate::generate(400, 29);
    let events = EventSet::synthetic(3_000, 291);
    let inputs: Vec<Vec<Value<'_>>> = events.inputs().iter().map(|e| e.to_vec()).collect();
    same_outcomes(&content, 256 * 1024, 2, &inputs);
}
