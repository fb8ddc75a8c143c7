//! Helpers shared by the importer tests: corpus paths, events written as TOML tables, and the
//! compiled engine beside the reference matcher.

#![allow(dead_code)]

pub mod evtx_log;

use std::path::PathBuf;

use sensor_core::schema::{SENSOR_7_11, SENSOR_FIXED};
use sensor_core::{MatchBuffer, RuleSet};
use sensor_host::compile::compile;
use sensor_host::content::ContentBuf;
use sensor_host::event::{EncodedEvent, EventKind, PipeEvent};
use sensor_host::ir::Content;
use sensor_host::reference::Reference;

/// A path under the shared corpus, which CI checks out beside the repository.
pub fn corpus(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(path)
}

/// Every file of a corpus directory, in name order.
pub fn corpus_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus(dir))
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files
}

/// An event written as a TOML table: `pipe`, `image`, `user`, `pid`, `kind`.
pub fn event(table: &toml::Table) -> PipeEvent {
    let text = |key: &str| table.get(key).map(|v| v.as_str().expect(key).to_owned());
    for key in table.keys() {
        assert!(
            ["pipe", "image", "user", "pid", "kind"].contains(&key.as_str()),
            "unknown event key {key}"
        );
    }
    PipeEvent {
        kind: match table.get("kind").and_then(|k| k.as_str()) {
            None | Some("create") => EventKind::Create,
            Some("connect") => EventKind::Connect,
            Some(other) => panic!("unknown kind {other}"),
        },
        pipe_name: text("pipe"),
        image_path: text("image"),
        user: text("user"),
        process_id: table
            .get("pid")
            .map(|p| p.as_integer().expect("pid") as u64),
        ..PipeEvent::default()
    }
}

/// Content compiled to a channel file, ready to load.
pub fn channel_file(content: &Content) -> ContentBuf {
    ContentBuf::new(&compile(content).unwrap_or_else(|e| panic!("{e}")))
}

/// Content compiled and checked to load on both sensor builds (none of the importers reads
/// the 21st field).
pub fn loaded(buf: &ContentBuf) -> RuleSet<'_> {
    RuleSet::load(buf.as_bytes(), &SENSOR_7_11).unwrap_or_else(|e| panic!("7.11: {e:?}"));
    RuleSet::load(buf.as_bytes(), &SENSOR_FIXED).unwrap_or_else(|e| panic!("fixed: {e:?}"))
}

/// The rule indices the engine matches for `event`.
pub fn engine_matches(
    rules: &RuleSet<'_>,
    encoded: &mut EncodedEvent,
    event: &PipeEvent,
) -> Vec<usize> {
    encoded.encode(event);
    let mut matches = MatchBuffer::<64>::default();
    let verdict = rules.evaluate(&encoded.values()[..rules.supplied()], &mut matches);
    assert_eq!(verdict.dropped, 0, "more matches than the buffer holds");
    matches.as_slice().iter().map(|m| m.rule as usize).collect()
}

/// The compiled engine and the reference matcher over the same content.
pub struct Both<'c> {
    pub rules: RuleSet<'c>,
    pub reference: Reference<'c>,
    encoded: EncodedEvent,
}

impl<'c> Both<'c> {
    pub fn new(content: &'c Content, buf: &'c ContentBuf) -> Self {
        Self {
            rules: loaded(buf),
            reference: Reference::new(content).unwrap_or_else(|e| panic!("{e}")),
            encoded: EncodedEvent::new(),
        }
    }

    /// The matched rule indices, after checking engine and reference agree.
    pub fn matches(&mut self, event: &PipeEvent) -> Result<Vec<usize>, String> {
        let engine = engine_matches(&self.rules, &mut self.encoded, event);
        let reference = self.reference.evaluate(event, self.rules.supplied());
        if engine == reference {
            Ok(engine)
        } else {
            Err(format!(
                "engine matched {engine:?}, reference {reference:?}"
            ))
        }
    }
}
