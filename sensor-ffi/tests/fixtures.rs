//! The compiled channel files under `test-driver/fixtures/` (embedded by the bare-metal test
//! driver with `include_bytes!`, loaded by the C program) are exactly what the compiler makes
//! of the incident sources today. Regenerate with `test-driver/fixtures/regenerate.sh`.
// Tests: a failed assertion is how they report, and they call the C ABI the way C does (each
// call's contract is the function's own `# Safety` section).
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/header.rs"]
mod header;

use sensor_host::rules::compile_sources;

#[test]
fn every_fixture_is_byte_for_byte_what_the_compiler_makes_of_its_source() {
    let mut stale = Vec::new();
    for stem in fixtures::STEMS {
        let source = header::root()
            .join("sensor-host/content/incident")
            .join(format!("{stem}.toml"));
        let compiled = compile_sources(&[&source]).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let committed = std::fs::read(fixtures::fixture_path(stem))
            .unwrap_or_else(|e| panic!("{stem}.sys: {e}"));
        if compiled != committed {
            stale.push(stem);
        }
    }
    assert!(
        stale.is_empty(),
        "stale fixtures {stale:?}: run test-driver/fixtures/regenerate.sh and commit the result"
    );
}

#[test]
fn the_fixture_directory_holds_exactly_the_listed_files() {
    let dir = header::root().join("test-driver/fixtures");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sys"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = fixtures::STEMS.iter().map(|s| format!("{s}.sys")).collect();
    listed.sort();
    assert_eq!(found, listed);
}
