//! How long one event can take within the default work budget.
//!
//! `cargo run --release -p sensor-fuzz --example budget [-- UNITS]`
//!
//! Compiles a rule of one `contains-any` predicate with 64 operands of UNITS (default 4,096,
//! the longest operand the format takes) UTF-16 code units
//! that match an all-`a` input except in their last unit (the same string 64 times, so the
//! string pool holds it once and the file stays small), loads it for sensor build 7.11 with
//! its default work budget, and times one evaluation against a pipe name of 32,767 `a`s (the
//! longest `UNICODE_STRING`). Format 2 tests the predicate with an automaton, in time linear
//! in the input.
//!
//! Then the same rule with a second one beside it: `contains-any` of `a`, `aa`, ... (65
//! operands), every one of which the all-`a` name contains. The two predicates share the
//! pipe name's automaton, the event fires more patterns than the interpreter's fired list
//! holds (64), and the interpreter falls back to comparing the first predicate's operands
//! directly: 64 operands of 4,096 units at every offset of the name. The loader accepts both
//! sets: their worst cases are far under the budget of 2^40 work units. See docs/fuzzing.md
//! ("Known gaps").

use std::time::Instant;

use sensor_core::schema::{FIELD_COUNT_IPC, SENSOR_7_11};
use sensor_core::{RuleSet, Value};
use sensor_host::compile::compile;
use sensor_host::content::ContentBuf;
use sensor_host::source;

fn rule(id: &str, title: &str, operands: &[String]) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\ntitle = \"{title}\"\nlevel = \"low\"\n[rule.where]\n\
         p = {{ field = \"pipe_name\", op = \"contains-any\", value = [{}] }}\n",
        operands.join(", ")
    )
}

fn time(label: &str, rules_text: &str) {
    let text = format!("channel = 291\nversion = 1\ntemplate = \"ipc\"\n{rules_text}");
    let content = source::parse(&text, "budget.toml").expect("the rule source parses");
    let bytes = compile(&content).expect("the compiler accepts it");
    let buf = ContentBuf::new(&bytes);
    let rules = RuleSet::load(buf.as_bytes(), &SENSOR_7_11).expect("build 7.11 accepts it");
    println!(
        "{label}: channel file {} bytes, {} automata; worst case {} work units; budget {}",
        bytes.len(),
        rules.automaton_count(),
        rules.worst_case_work(),
        SENSOR_7_11.work_budget
    );
    let name = vec![u16::from(b'a'); 32_767];
    let mut inputs = [Value::Absent; FIELD_COUNT_IPC - 1];
    inputs[1] = Value::Str(&name);
    let start = Instant::now();
    let verdict = rules.evaluate(&inputs, &mut |_| true);
    println!(
        "{label}: one event {:.2?}, {} work units, {} rules matched",
        start.elapsed(),
        verdict.counters.work,
        verdict.matched
    );
}

fn main() {
    let units: usize = std::env::args()
        .nth(1)
        .map_or(4096, |a| a.parse().expect("operand length in code units"));
    let slow = vec![format!("'{}b'", "a".repeat(units - 1)); 64];
    let slow_rule = rule("SLOW", "contains-any, 64 long operands", &slow);
    time("automaton", &slow_rule);
    let fill: Vec<String> = (1..=65).map(|k| format!("'{}'", "a".repeat(k))).collect();
    let fill_rule = rule("FILL", "contains-any, 65 operands that all fire", &fill);
    time("fallback", &format!("{slow_rule}{fill_rule}"));
}
