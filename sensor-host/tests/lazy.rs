//! Lazy automata: an automaton under whose slots the rule index lists no rule scans an event only
//! when a rule about to run cannot be decided without it, at most once, and the verdicts, match
//! lists and counters are those of the same content run without its index, where every
//! automaton scans every event.

mod common;

use common::{compile_toml, Patient};
use sensor_core::error::Section;
use sensor_core::schema::{ipc, SENSOR_FIXED};
use sensor_core::{RuleSet, Value, Verdict};
use sensor_host::content::ContentBuf;

const RULES: &str = r#"
channel = 291
version = 1
template = "ipc"

[[rule]]
id = "PIPE"
title = "an alpha pipe, unless a tool made it"
level = "high"
condition = "pipe and not tool"
[rule.where]
pipe = { field = "pipe_name", op = "begins-with", value = '\alpha' }
tool = { field = "image_path", op = "glob", value = '*\tool?.exe' }

[[rule]]
id = "EVERY"
title = "unindexed: any image but a helper's"
level = "low"
condition = "not helper"
[rule.where]
helper = { field = "image_path", op = "glob", value = '*\helper.exe' }
"#;

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Evaluates one event with `pipe` and `image`; returns the verdict and the ids matched.
fn evaluate(rules: &RuleSet<'_>, pipe: &str, image: &str) -> (Verdict, Vec<String>) {
    let (pipe, image) = (utf16(pipe), utf16(image));
    let mut inputs = vec![Value::Absent; rules.supplied()];
    inputs[ipc::PIPE_NAME] = Value::Str(&pipe);
    inputs[ipc::IMAGE_PATH] = Value::Str(&image);
    let mut ids = Vec::new();
    let verdict = rules.evaluate(&inputs, &mut |m: sensor_core::MatchedRule| {
        ids.push(rules.rule(m.rule as usize).unwrap().id.to_owned());
        true
    });
    (verdict, ids)
}

#[test]
fn a_lazy_automaton_scans_only_for_the_rules_that_need_it() {
    let bytes = compile_toml(RULES);
    let buf = ContentBuf::new(&bytes);
    let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap();
    let mut stripped = Patient::new(&bytes);
    stripped
        .put_u32(Patient::directory(Section::Triggers) + 4, 0)
        .reseal();
    let plain_buf = stripped.aligned();
    let plain = RuleSet::load(plain_buf.as_bytes(), &SENSOR_FIXED).unwrap();
    assert!(rules.indexed() && !plain.indexed());
    assert_eq!(
        rules.automaton_count(),
        2,
        "the pipe dictionary and the image DFA"
    );
    assert_eq!(
        rules.lazy_automata(),
        1,
        "no rule is listed under the image DFA"
    );
    assert_eq!(
        plain.lazy_automata(),
        0,
        "without an index every automaton scans"
    );
    assert!(
        rules.worst_case_work() > plain.worst_case_work(),
        "a rule that may wait on a lazy automaton counts its program twice"
    );

    // The predicates of the rules that ran, each rule counted once: `PIPE` runs only on an
    // alpha pipe, `EVERY` always (and always waits on the DFA first).
    let events = [
        (r"\beta", r"C:\tool1.exe", vec!["EVERY"], 1),
        (r"\alpha1", r"C:\tool1.exe", vec!["EVERY"], 3),
        (r"\alpha1", r"C:\other.exe", vec!["PIPE", "EVERY"], 3),
        (r"\alpha1", r"C:\helper.exe", vec!["PIPE"], 3),
        (r"\beta", r"C:\helper.exe", vec![], 1),
    ];
    for (pipe, image, expected, predicates) in events {
        let (with, ids) = evaluate(&rules, pipe, image);
        let (without, all_ids) = evaluate(&plain, pipe, image);
        assert_eq!(ids, expected, "{pipe} {image}");
        assert_eq!(ids, all_ids, "{pipe} {image}");
        assert_eq!(
            (with.matched, with.action, with.dropped),
            (without.matched, without.action, without.dropped)
        );
        assert_eq!(with.counters.predicates, predicates, "{pipe} {image}");
        let mut counted = with.counters;
        (counted.work, counted.predicates) = (without.counters.work, without.counters.predicates);
        assert_eq!(counted, without.counters, "{pipe} {image}");
        assert!(with.counters.work <= rules.worst_case_work());
    }
}

#[test]
fn the_image_is_read_once_however_many_rules_wait_on_it() {
    let bytes = compile_toml(RULES);
    let buf = ContentBuf::new(&bytes);
    let rules = RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap();
    let long = format!(r"C:\{}\other.exe", "d".repeat(400));
    let (short_pipe, _) = evaluate(&rules, r"\beta", r"C:\other.exe");
    let (long_pipe, _) = evaluate(&rules, r"\beta", &long);
    let grown = long_pipe.counters.work - short_pipe.counters.work;
    assert!(
        (400..800).contains(&grown),
        "one rule waits on the DFA: one scan of the 400 more units, not two ({grown})"
    );
    let (both_short, _) = evaluate(&rules, r"\alpha1", r"C:\other.exe");
    let (both_long, _) = evaluate(&rules, r"\alpha1", &long);
    assert_eq!(
        both_long.counters.work - both_short.counters.work,
        grown,
        "two rules wait on the DFA, and it still scans once"
    );
}
