//! `replay-incident` end to end: the channel-291 history of 2024 on one emulated host, for the
//! flawed design with both memory layouts and for the fixed design, and the fault traces the
//! flawed runs leave on disk.

use std::path::PathBuf;

use sensor_host::emu::bugcheck::BugCheckCode;
use sensor_host::emu::flawed::site;
use sensor_host::emu::modules::SENSOR_BASE;
use sensor_host::emu::replay::{replay, Design, Happening, Layout, ReplayOptions, ReplayReport};
use sensor_host::emu::trace;

fn options(design: Design, layout: Layout) -> ReplayOptions {
    ReplayOptions {
        design,
        layout,
        events: 120,
        ..ReplayOptions::default()
    }
}

fn run(options: &ReplayOptions) -> ReplayReport {
    replay(options).unwrap_or_else(|e| panic!("replay failed: {e}"))
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sensor-host-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn flawed_design_crashes_loops_and_recovers_by_hand_in_both_layouts() {
    for layout in [Layout::Seed, Layout::Dump] {
        let report = run(&options(Design::Flawed, layout));
        assert!(report.as_expected(), "{report}");
        let stops: Vec<_> = report.bugchecks().collect();
        assert_eq!(stops.len(), 4, "the first crash and three looping boots");
        for stop in &stops {
            assert_eq!(stop.code, BugCheckCode::PageFaultInNonpagedArea);
            assert_eq!(
                stop.args,
                [
                    layout.read_address(),
                    0,
                    SENSOR_BASE + site::READ_INPUT_VALUE,
                    2
                ]
            );
        }
        assert_eq!(report.traces.len(), 4);
        let deleted = report.entries.iter().find_map(|e| match &e.happening {
            Happening::Remediation(deleted) => Some(deleted.clone()),
            _ => None,
        });
        assert_eq!(
            deleted,
            Some(vec!["C-00000291-2024-07-19-0409.sys".to_owned()])
        );
    }
}

#[test]
fn the_two_layouts_read_where_the_two_accounts_say() {
    let seed = run(&options(Design::Flawed, Layout::Seed));
    let dump = run(&options(Design::Flawed, Layout::Dump));
    assert_eq!(seed.bugchecks().next().unwrap().args[0], 0x9c);
    assert_eq!(
        dump.bugchecks().next().unwrap().args[0],
        0xffff_8405_0000_0074
    );
    let seed_regs = seed.traces[0].registers.as_ref().unwrap();
    let dump_regs = dump.traces[0].registers.as_ref().unwrap();
    assert_eq!((seed_regs.r8.0, seed_regs.r11.0), (0, 0x14));
    assert_eq!(
        (dump_regs.r8.0, dump_regs.r11.0),
        (0xffff_8405_0000_0074, 0x14)
    );
    assert_eq!(
        dump.traces[0].fault.as_ref().unwrap().region.as_deref(),
        Some("Paged pool")
    );
    assert_eq!(seed.traces[0].fault.as_ref().unwrap().region, None);
}

#[test]
fn fixed_design_refuses_the_0409_file_and_never_crashes() {
    for layout in [Layout::Seed, Layout::Dump] {
        let report = run(&options(Design::Fixed, layout));
        assert!(report.as_expected(), "{report}");
        assert_eq!(report.bugchecks().count(), 0);
        assert!(report.traces.is_empty());
        let timeline = report.to_string();
        assert!(
            timeline.contains("REFUSED, version 2024042400 kept"),
            "{timeline}"
        );
        assert!(
            timeline.contains("supplies 20 of the 21 input fields"),
            "{timeline}"
        );
        assert!(timeline.ends_with("result: as the design predicts\n"));
    }
}

#[test]
fn the_boot_loop_lasts_as_long_as_the_file_stays() {
    for boot_loop in [2, 5] {
        let report = run(&ReplayOptions {
            boot_loop,
            ..options(Design::Flawed, Layout::Seed)
        });
        assert!(report.as_expected(), "{report}");
        assert_eq!(report.bugchecks().count(), 1 + boot_loop as usize);
        let boots = report
            .entries
            .iter()
            .filter(|e| matches!(e.happening, Happening::Boot { .. }))
            .count();
        assert_eq!(boots, 2 + boot_loop as usize);
    }
}

#[test]
fn other_seeds_tell_the_same_story() {
    for seed in [1, 2024, u64::MAX] {
        for design in [Design::Flawed, Design::Fixed] {
            let report = run(&ReplayOptions {
                seed,
                ..options(design, Layout::Dump)
            });
            assert!(report.as_expected(), "seed {seed}: {report}");
        }
    }
}

#[test]
fn traces_are_written_one_per_bugcheck_and_read_back() {
    let dir = TempDir::new("traces");
    let report = run(&ReplayOptions {
        trace_dir: Some(dir.0.clone()),
        ..options(Design::Flawed, Layout::Dump)
    });
    let mut files: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "boot-001-stop-50.json",
            "boot-002-stop-50.json",
            "boot-003-stop-50.json",
            "boot-004-stop-50.json"
        ]
    );
    for (path, expected) in files.iter().zip(&report.traces) {
        assert_eq!(&trace::read(path).unwrap(), expected);
    }
    let timeline = report.to_string();
    assert!(timeline.contains("boot-004-stop-50.json"), "{timeline}");
    assert!(trace::read(&dir.0.join("missing.json")).is_err());
}
