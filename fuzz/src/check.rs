//! The invariants every fuzz target checks on every loaded rule set and every evaluation.
//!
//! A violated invariant panics with what was expected and what happened, which libFuzzer
//! reports as a crash and the replay test reports as a failure.

use sensor_core::schema::{FieldType, SensorDecl, IPC};
use sensor_core::{MatchBuffer, MatchedRule, RuleSet, Value, Verdict};
use sensor_host::content::ContentBuf;

use crate::bytes::without_index;
use crate::events::{values, Input};

/// Checks a rule set that loaded for `decl`: its cost is within the sensor's budget, it reads
/// only fields the sensor supplies, and every rule's metadata is readable.
pub fn loaded(rules: &RuleSet<'_>, decl: &SensorDecl) {
    assert!(
        rules.worst_case_work() <= decl.work_budget,
        "worst case {} over the budget {} yet loaded",
        rules.worst_case_work(),
        decl.work_budget
    );
    assert_eq!(rules.build(), decl.build);
    let header = rules.header();
    let declared = decl
        .supplied(header.template_id, header.template_version)
        .expect("content loaded for a template the sensor does not supply");
    assert_eq!(
        rules.supplied(),
        declared.min(rules.template().field_count())
    );
    assert_eq!(
        (rules.template().id, rules.template().version),
        (header.template_id, header.template_version)
    );
    for i in 0..rules.rule_count() {
        assert!(
            rules.rule(i).is_some(),
            "rule {i} of a loaded set is unreadable"
        );
    }
    assert!(rules.rule(rules.rule_count()).is_none());
}

/// What one evaluation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// The rules the sink received, in order.
    pub matches: Vec<MatchedRule>,
}

/// Evaluates `inputs` and checks the invariants that hold for any event: work within the
/// declared bound, matched rules are rules of the set (in order, with their own level and
/// action), the decisive action is the strongest matched, the same event gives the same verdict
/// twice, and a bounded sink sees a prefix of the matches and counts the rest as dropped.
pub fn evaluation(rules: &RuleSet<'_>, inputs: &[Value<'_>]) -> Outcome {
    let mut matches = Vec::new();
    let verdict = rules.evaluate(inputs, &mut |m| {
        matches.push(m);
        true
    });
    assert!(
        verdict.counters.work <= rules.worst_case_work(),
        "work {} over the declared worst case {}",
        verdict.counters.work,
        rules.worst_case_work()
    );
    assert_eq!(verdict.matched as usize, matches.len());
    assert_eq!(verdict.dropped, 0, "an unbounded sink dropped matches");
    for m in &matches {
        let info = rules
            .rule(m.rule as usize)
            .unwrap_or_else(|| panic!("matched rule {} is not in the set", m.rule));
        assert_eq!(
            (m.level, m.action),
            (info.level, info.action),
            "rule {}",
            m.rule
        );
    }
    for pair in matches.windows(2) {
        assert!(pair[0].rule < pair[1].rule, "matches out of rule order");
    }
    assert_eq!(verdict.action, matches.iter().map(|m| m.action).max());
    let predicates = u64::from(verdict.counters.predicates);
    assert!(predicates <= verdict.counters.work, "predicates cost work");
    let reads = verdict.counters.predicates as usize + rules.automaton_count();
    for skipped in [
        verdict.counters.missing_inputs,
        verdict.counters.type_mismatches,
        verdict.counters.oversized_inputs,
    ] {
        assert!(
            skipped as usize <= reads,
            "a skipped read is a predicate's or an automaton's"
        );
    }

    let mut again = Vec::new();
    let second = rules.evaluate(inputs, &mut |m| {
        again.push(m);
        true
    });
    assert_eq!(second, verdict, "the same event gave two verdicts");
    assert_eq!(again, matches, "the same event matched different rules");

    let mut bounded = MatchBuffer::<2>::default();
    let third = rules.evaluate(inputs, &mut bounded);
    assert_eq!(bounded.as_slice(), &matches[..matches.len().min(2)]);
    assert_eq!(third.dropped as usize, matches.len().saturating_sub(2));
    assert_eq!(
        (third.matched, third.action, third.counters),
        (verdict.matched, verdict.action, verdict.counters)
    );
    Outcome { verdict, matches }
}

/// Checks the rule index of `rules` (loaded from `file` for `decl`) against running every rule.
///
/// The loader proves the index sound: a rule that is not unindexed cannot match unless a pattern
/// it is listed under fired. This checks the proof's conclusion on the events given: the same
/// file with its triggers section emptied ([`without_index`]) must load for the same sensor, at
/// a worst case no higher, and for every event match exactly the same rules with the same
/// decisive action, evaluating no fewer predicates (the index only skips rules). Does nothing
/// for content without an index.
pub fn index_agrees(rules: &RuleSet<'_>, file: &[u8], decl: &SensorDecl, events: &[Vec<Input>]) {
    if !rules.indexed() {
        return;
    }
    let stripped = without_index(file).expect("a file that loaded holds a directory");
    let buf = ContentBuf::new(&stripped);
    let plain = RuleSet::load(buf.as_bytes(), decl)
        .unwrap_or_else(|e| panic!("the content loaded with its index, and not without: {e:?}"));
    assert!(!plain.indexed());
    assert!(
        plain.worst_case_work() <= rules.worst_case_work(),
        "dropping the index raised the worst case from {} to {}",
        rules.worst_case_work(),
        plain.worst_case_work()
    );
    for event in events {
        let inputs = values(event);
        let mut indexed = Vec::new();
        let with = rules.evaluate(&inputs, &mut |m| {
            indexed.push(m);
            true
        });
        let mut every = Vec::new();
        let without = plain.evaluate(&inputs, &mut |m| {
            every.push(m);
            true
        });
        assert_eq!(
            indexed, every,
            "the rule index skipped a rule that matches (or ran one that does not)"
        );
        assert_eq!(
            (with.matched, with.action),
            (without.matched, without.action)
        );
        assert!(
            with.counters.predicates <= without.counters.predicates,
            "the index evaluated more predicates ({}) than running every rule ({})",
            with.counters.predicates,
            without.counters.predicates
        );
    }
}

/// The event a sensor that keeps its declaration would pass: exactly the supplied fields, each
/// of its template type (strings stay strings, anything else becomes an empty string or zero;
/// absent stays absent).
pub fn conforming(rules: &RuleSet<'_>, event: &[Input]) -> Vec<Input> {
    (0..rules.supplied())
        .map(|i| {
            let ty = rules.template().field(i).map(|f| f.ty);
            match (ty, event.get(i)) {
                (_, Some(Input::Absent)) => Input::Absent,
                (Some(FieldType::String), Some(Input::Str(s))) => Input::Str(s.clone()),
                (Some(FieldType::String), _) => Input::Str(Vec::new()),
                (_, Some(Input::Int(v))) => Input::Int(*v),
                _ => Input::Int(0),
            }
        })
        .collect()
}

/// Evaluates the conforming form of `event` and checks what the schema handshake promises on
/// top of [`evaluation`]: with every supplied field present and well typed, no predicate finds
/// its input missing or of the wrong type, and none is over the length limit unless the event
/// holds a string over it.
pub fn conforming_evaluation(rules: &RuleSet<'_>, decl: &SensorDecl, event: &[Input]) -> Outcome {
    let event = conforming(rules, event);
    let values: Vec<Value<'_>> = event.iter().map(Input::value).collect();
    let outcome = evaluation(rules, &values);
    let c = outcome.verdict.counters;
    assert_eq!(
        c.missing_inputs, 0,
        "a loaded rule read a field the sensor does not supply"
    );
    assert_eq!(
        c.type_mismatches, 0,
        "a well-typed event caused a type mismatch"
    );
    let longest = event
        .iter()
        .map(|i| match i {
            Input::Str(s) => s.len(),
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    if longest <= usize::from(decl.max_string_units) {
        assert_eq!(c.oversized_inputs, 0, "no input was over the limit");
    }
    outcome
}

/// A few fixed events for targets whose input is only content: every IPC field present and
/// well typed, nothing, only the 20 fields build 7.11 passes, all absent, everything of the
/// wrong type, and broken UTF-16.
pub fn probe_events() -> Vec<Vec<Input>> {
    let typed: Vec<Input> = IPC
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| match (f.ty, i) {
            (FieldType::String, 1) => Input::text(r"\postex_ab12"),
            (FieldType::String, 2 | 19) => {
                Input::text(r"C:\Users\x\AppData\Local\Temp\rundll32.exe")
            }
            (FieldType::String, _) => Input::text("S-1-5-21 MSSE-1234-server"),
            (_, 0) => Input::Int(2),
            (_, _) => Input::Int(1),
        })
        .collect();
    let wrong: Vec<Input> = typed
        .iter()
        .map(|i| match i {
            Input::Str(_) => Input::Int(u64::MAX),
            _ => Input::text("1"),
        })
        .collect();
    let broken: Vec<Input> = typed
        .iter()
        .map(|i| match i {
            Input::Str(_) => Input::Str(vec![0xDC00, 0x5C, 0xD800, 0xD83D, 0xDE00, 0xD800]),
            other => other.clone(),
        })
        .collect();
    vec![
        typed.clone(),
        Vec::new(),
        typed[..20].to_vec(),
        vec![Input::Absent; IPC.fields.len()],
        wrong,
        broken,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_skips_rules_and_changes_no_match() {
        let source = crate::seeds::sources()
            .into_iter()
            .find(|s| s.name == "C-00000291-2024-04-24")
            .expect("the April file");
        let file = crate::seeds::compile_source(&source).expect("it compiles");
        let buf = ContentBuf::new(&file);
        let rules = RuleSet::load(buf.as_bytes(), &sensor_core::schema::SENSOR_FIXED).unwrap();
        assert!(rules.indexed());
        index_agrees(
            &rules,
            &file,
            &sensor_core::schema::SENSOR_FIXED,
            &probe_events(),
        );
        let stripped = without_index(&file).unwrap();
        let plain_buf = ContentBuf::new(&stripped);
        let plain =
            RuleSet::load(plain_buf.as_bytes(), &sensor_core::schema::SENSOR_FIXED).unwrap();
        assert!(!plain.indexed());
        let absent = probe_events().swap_remove(3);
        let nothing = values(&absent);
        let with = rules.evaluate(&nothing, &mut |_| true);
        let without = plain.evaluate(&nothing, &mut |_| true);
        assert!(
            with.counters.predicates < without.counters.predicates,
            "an event that fires no pattern runs fewer rules with the index: {} vs {}",
            with.counters.predicates,
            without.counters.predicates
        );
    }

    #[test]
    fn probes_cover_the_template() {
        let probes = probe_events();
        assert_eq!(probes[0].len(), IPC.field_count());
        assert_eq!(probes[2].len(), 20);
        for (input, field) in probes[0].iter().zip(IPC.fields) {
            let string = matches!(input, Input::Str(_));
            assert_eq!(string, field.ty == FieldType::String, "{}", field.name);
        }
    }
}
