//! Rule sources on disk to channel-file bytes: reading, merging several sources into one
//! channel, compiling, and the summary the command line prints for a rule set.

use std::fmt::Write as _;
use std::path::Path;

use sensor_core::RuleSet;

use crate::compile::compile;
use crate::ir::Content;
use crate::source;

/// Reads and merges rule sources. All must name the same channel and template; the merged
/// version is the highest of theirs, and rules keep their order, file by file.
pub fn read_sources(paths: &[impl AsRef<Path>]) -> Result<Content, String> {
    let mut merged: Option<Content> = None;
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let content =
            source::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
        merged = Some(match merged {
            None => content,
            Some(mut m) => {
                if (m.channel, m.template_id, m.template_version)
                    != (
                        content.channel,
                        content.template_id,
                        content.template_version,
                    )
                {
                    return Err(format!(
                        "{}: channel {} template {}/{} differs from the first source's channel {} template {}/{}",
                        path.display(), content.channel, content.template_id, content.template_version,
                        m.channel, m.template_id, m.template_version
                    ));
                }
                m.version = m.version.max(content.version);
                m.rules.extend(content.rules);
                m
            }
        });
    }
    merged.ok_or_else(|| "no rule sources given".to_owned())
}

/// Reads, merges and compiles rule sources.
pub fn compile_sources(paths: &[impl AsRef<Path>]) -> Result<Vec<u8>, String> {
    compile(&read_sources(paths)?).map_err(|e| e.to_string())
}

/// A multi-line summary of a validated rule set.
pub fn summary(rules: &RuleSet<'_>) -> String {
    let h = rules.header();
    let t = rules.template();
    let mut s = String::new();
    let _ = writeln!(s, "channel {} version {}", h.channel, h.content_version);
    let _ = writeln!(
        s,
        "template {} v{} ({} fields); sensor {} supplies {}",
        t.name,
        t.version,
        t.field_count(),
        rules.build(),
        rules.supplied()
    );
    let _ = writeln!(
        s,
        "{} rules, {} predicates, {} automata ({} lazy, {} in lanes); worst case {} work units per event",
        rules.rule_count(),
        rules.predicate_count(),
        rules.automaton_count(),
        rules.lazy_automata(),
        rules.laned_automata(),
        rules.worst_case_work()
    );
    for i in 0..rules.rule_count() {
        if let Some(r) = rules.rule(i) {
            let _ = writeln!(
                s,
                "  {:<10} {:<13} {:<5} {}",
                r.id,
                r.level.name(),
                r.action.name(),
                r.title
            );
        }
    }
    s
}
