//! How long one event can take within the default work budget.
//!
//! `cargo run --release -p sensor-fuzz --example budget`
//!
//! Compiles a rule set of one `contains-any` predicate with 64 operands of 4,096 UTF-16 code
//! units that match an all-`a` input except in their last unit (the same string 64 times, so
//! the string pool holds it once and the file stays small), loads it for sensor build 7.11
//! with its default work budget, and times one evaluation against a pipe name of 32,767 `a`s
//! (the longest `UNICODE_STRING`). The loader accepts it: its worst case is far under the
//! budget of 2^40 work units. See docs/fuzzing.md ("Known gaps").

use std::time::Instant;

use sensor_core::schema::{FIELD_COUNT_IPC, SENSOR_7_11};
use sensor_core::{RuleSet, Value};
use sensor_host::compile::compile;
use sensor_host::content::ContentBuf;
use sensor_host::source;

fn main() {
    let operand = format!("'{}b'", "a".repeat(4095));
    let operands = vec![operand; 64];
    let text = format!(
        "channel = 291\nversion = 1\ntemplate = \"ipc\"\n[[rule]]\nid = \"SLOW\"\n\
         title = \"contains-any, 64 operands of 4096 units\"\nlevel = \"low\"\n[rule.where]\n\
         p = {{ field = \"pipe_name\", op = \"contains-any\", value = [{}] }}\n",
        operands.join(", ")
    );
    let content = source::parse(&text, "budget.toml").expect("the rule source parses");
    let bytes = compile(&content).expect("the compiler accepts it");
    let buf = ContentBuf::new(&bytes);
    let rules = RuleSet::load(buf.as_bytes(), &SENSOR_7_11).expect("build 7.11 accepts it");
    println!(
        "channel file: {} bytes; worst case {} work units; budget {} work units",
        bytes.len(),
        rules.worst_case_work(),
        SENSOR_7_11.work_budget
    );
    let name = vec![u16::from(b'a'); 32_767];
    let mut inputs = [Value::Absent; FIELD_COUNT_IPC - 1];
    inputs[1] = Value::Str(&name);
    let start = Instant::now();
    let verdict = rules.evaluate(&inputs, &mut |_| true);
    println!(
        "one event: {:.2?}, {} work units, {} rules matched",
        start.elapsed(),
        verdict.counters.work,
        verdict.matched
    );
}
