//! The `sensor-host` command line.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sensor_core::schema::IPC;
use sensor_core::schema::{self, SensorDecl};
use sensor_core::RuleSet;
use sensor_host::compile::{compile_report, Compiled};
use sensor_host::content::ContentBuf;
use sensor_host::diag::describe;
use sensor_host::emu::replay::{replay, Design, Layout, ReplayOptions};
use sensor_host::emu::trace;
use sensor_host::evtx;
use sensor_host::import::{self, Imported, ImportedRule, Severity};
use sensor_host::ir::Content;
use sensor_host::progress::{CountingReader, Progress};
use sensor_host::rules::{read_sources, summary};
use sensor_host::run::{run, RunConfig};
use sensor_host::scan::{evtx_inputs, jsonl_inputs, scan_events, Format};
use sensor_host::{sigma, sysmon_config};

/// A fault-proof content interpreter for kernel security sensors, and the tools around it.
#[derive(Parser)]
#[command(name = "sensor-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Counts heap allocations so that `bench` can report allocations per event; a plain pass-through
/// to the system allocator otherwise.
#[global_allocator]
static ALLOC: sensor_host::bench::alloc::CountingAlloc = sensor_host::bench::alloc::CountingAlloc;

#[derive(Subcommand)]
enum Command {
    /// Run a sensor on the built-in rule set and a synthetic event stream, deliver the 19 July
    /// 2024 content update halfway, and report.
    Run {
        /// Events to evaluate.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Seed of the synthetic event stream.
        #[arg(long, default_value_t = 291)]
        seed: u64,
        /// Sensor build: 7.11 (20 IPC fields) or fixed (21).
        #[arg(long, default_value = "7.11", value_parser = parse_sensor)]
        sensor: SensorDecl,
    },
    /// Measure evaluation against a naive evaluator, regex::RegexSet and a memchr floor on
    /// generated rule sets of growing size; or, with --scan, the end-to-end rate on a file.
    Bench(sensor_host::bench::BenchArgs),
    /// Compile rules into one channel file: rule sources (TOML), Sigma rules, the PipeEvent
    /// filters of Sysmon configurations, or a mix. Exit status: 0 compiled, 1 refused (also when
    /// a rule cannot be imported, unless --skip-unsupported).
    Compile {
        /// Rule source files (TOML); all must name the same channel and template.
        #[arg(required_unless_present_any = ["sigma", "sysmon_config"])]
        rules: Vec<PathBuf>,
        /// Sigma rules with `logsource: category: pipe_created`: files, or directories searched
        /// for .yml and .yaml files. Rules for other log sources are noted and left out.
        #[arg(long, num_args = 1.., value_name = "PATH")]
        sigma: Vec<PathBuf>,
        /// Sysmon XML configurations whose PipeEvent filters are imported, all together as one
        /// configuration (as sysmon-modular merges its modules).
        #[arg(long = "sysmon-config", num_args = 1.., value_name = "FILE")]
        sysmon_config: Vec<PathBuf>,
        /// Compile what imports even when some rules or entries cannot be imported; each is
        /// still reported.
        #[arg(long)]
        skip_unsupported: bool,
        /// Content version of the channel file when no rule source gives one.
        #[arg(long, default_value_t = 1)]
        content_version: u64,
        /// Output channel file.
        #[arg(short, long)]
        output: PathBuf,
        /// Also check the result loads on this sensor build.
        #[arg(long, value_parser = parse_sensor)]
        sensor: Option<SensorDecl>,
    },
    /// Validate a channel file for a sensor build; exit 0 with a summary or 1 with the reason.
    Validate {
        /// The channel file.
        file: PathBuf,
        /// Sensor build: 7.11 or fixed.
        #[arg(long, default_value = "7.11", value_parser = parse_sensor)]
        sensor: SensorDecl,
    },
    /// Evaluate Sysmon pipe events (JSON lines, or a Windows event log .evtx) against a channel
    /// file. Exit status: 0 no matches, 1 matches found, 2 errors (unreadable input, refused
    /// content, malformed lines or records). Shows progress on standard error when it is a
    /// terminal.
    Scan {
        /// The channel file.
        #[arg(long)]
        content: PathBuf,
        /// Sysmon event 17/18 records, one JSON object per line, or a Windows event log file
        /// (.evtx) whose other records are passed over.
        #[arg(long)]
        events: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Sensor build the content is loaded for.
        #[arg(long, default_value = "fixed", value_parser = parse_sensor)]
        sensor: SensorDecl,
    },
    /// Replay the 2024 channel 291 history on an emulated Windows host with the sensor
    /// installed, and print the timeline. Exit status: 0 when the run went as the design
    /// predicts, 1 when it did not, 2 on errors.
    ReplayIncident {
        /// Sensor design: flawed (the 2024 validator and interpreter) or fixed (this core).
        #[arg(long, value_enum, default_value = "flawed")]
        design: Design,
        /// Memory after the flawed model's input array: seed (NULL, read at 0x9c) or dump
        /// (stale paged-pool pointer, as in Microsoft's crash dump).
        #[arg(long, value_enum, default_value = "seed")]
        layout: Layout,
        /// Directory to write one fault trace per bugcheck to.
        #[arg(long)]
        trace_dir: Option<PathBuf>,
        /// Seed of the pipe-request stream.
        #[arg(long, default_value_t = 291)]
        seed: u64,
        /// Pipe requests per stretch of time between two steps of the history.
        #[arg(long, default_value_t = 400)]
        events: u64,
        /// Boots the flawed host goes through with the 04:09 file on disk before it is
        /// deleted by hand.
        #[arg(long, default_value_t = 3)]
        boot_loop: u32,
    },
    /// Fault traces written by replay-incident.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Show a fault trace the way WinDbg's `!analyze -v` shows a crash dump.
    Show {
        /// The trace file (JSON).
        file: PathBuf,
    },
}

fn parse_sensor(name: &str) -> Result<SensorDecl, String> {
    schema::sensor(name).copied().ok_or_else(|| {
        let known: Vec<_> = schema::SENSOR_BUILDS.iter().map(|s| s.build).collect();
        format!("unknown sensor build {name:?}; known: {}", known.join(", "))
    })
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            events,
            seed,
            sensor,
        } => {
            print!(
                "{}",
                run(RunConfig {
                    events,
                    seed,
                    sensor
                })
            );
            ExitCode::SUCCESS
        }
        Command::Compile {
            rules,
            sigma,
            sysmon_config,
            skip_unsupported,
            content_version,
            output,
            sensor,
        } => {
            let sources = Sources {
                rules,
                sigma,
                sysmon_config,
                skip_unsupported,
                content_version,
            };
            compile_command(&sources, &output, sensor)
        }
        Command::Bench(args) => sensor_host::bench::main(args),
        Command::Validate { file, sensor } => validate_command(&file, &sensor),
        Command::ReplayIncident {
            design,
            layout,
            trace_dir,
            seed,
            events,
            boot_loop,
        } => replay_command(&ReplayOptions {
            design,
            layout,
            trace_dir,
            seed,
            events,
            boot_loop,
        }),
        Command::Trace {
            command: TraceCommand::Show { file },
        } => match trace::read(&file) {
            Ok(t) => {
                print!("{}", trace::render(&t));
                ExitCode::SUCCESS
            }
            Err(e) => fail(2, e),
        },
        Command::Scan {
            content,
            events,
            format,
            sensor,
        } => scan_command(&content, &events, format, &sensor),
    }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// What `compile` reads.
struct Sources {
    rules: Vec<PathBuf>,
    sigma: Vec<PathBuf>,
    sysmon_config: Vec<PathBuf>,
    skip_unsupported: bool,
    content_version: u64,
}

/// Prints an import's diagnostics on standard error (notes as a count) and returns its rules
/// and the number of errors.
fn report<K: std::fmt::Display>(what: &str, imported: Imported<K>) -> (Vec<ImportedRule>, usize) {
    for d in imported
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
    {
        eprintln!("{d}\n");
    }
    let notes = imported.with_severity(Severity::Note).count();
    if notes > 0 {
        eprintln!("note: {notes} {what} are not for the named-pipe channel and were left out");
    }
    eprintln!("{}: {} rules imported", what, imported.rules.len());
    let errors = imported.errors();
    (imported.rules, errors)
}

/// Reads rule sources and imports Sigma rules and Sysmon configurations into one content.
fn gather(sources: &Sources) -> Result<Content, String> {
    let mut imported = Vec::new();
    let mut errors = 0;
    if !sources.sigma.is_empty() {
        let (rules, n) = report("Sigma rules", sigma::import(&sources.sigma));
        imported.extend(rules);
        errors += n;
    }
    if !sources.sysmon_config.is_empty() {
        let (rules, n) = report(
            "Sysmon configuration rules",
            sysmon_config::import(&sources.sysmon_config),
        );
        imported.extend(rules);
        errors += n;
    }
    if errors > 0 && !sources.skip_unsupported {
        return Err(format!(
            "{errors} rules or entries could not be imported (see above); nothing was written. \
             Fix them, or pass --skip-unsupported to compile the rest"
        ));
    }
    let mut content = match sources.rules.is_empty() {
        true => import::content(&[], sources.content_version),
        false => read_sources(&sources.rules)?,
    };
    if (content.channel, content.template_id) != (import::PIPE_CHANNEL, IPC.id)
        && !imported.is_empty()
    {
        return Err(format!(
            "imported rules are for channel {} (named pipes); the rule sources name channel {}",
            import::PIPE_CHANNEL,
            content.channel
        ));
    }
    content.rules.extend(imported.into_iter().map(|r| r.rule));
    if content.rules.is_empty() {
        return Err("no rules to compile".into());
    }
    Ok(content)
}

fn compile_command(sources: &Sources, output: &Path, sensor: Option<SensorDecl>) -> ExitCode {
    let compiled = gather(sources).and_then(|c| compile_report(&c).map_err(|e| e.to_string()));
    let bytes = match compiled {
        Ok(Compiled {
            bytes,
            direct_literals,
        }) => {
            if direct_literals > 0 {
                eprintln!(
                    "note: {direct_literals} literal predicates are compared directly: their automata would not fit in {} automata and the {}-byte file cap; rules that depend on them run on every event",
                    sensor_core::limits::MAX_AUTOMATA,
                    sensor_core::limits::MAX_FILE_BYTES
                );
            }
            bytes
        }
        Err(e) => return fail(1, e),
    };
    let buf = ContentBuf::new(&bytes);
    let check = sensor.unwrap_or(schema::SENSOR_FIXED);
    match RuleSet::load(buf.as_bytes(), &check) {
        Ok(rules) => print!("{}", summary(&rules)),
        Err(e) => {
            return fail(
                1,
                format!(
                    "compiled content is refused by sensor {}: {}",
                    check.build,
                    describe(&e, &bytes)
                ),
            )
        }
    }
    if let Err(e) = std::fs::write(output, &bytes) {
        return fail(1, format!("{}: {e}", output.display()));
    }
    println!("wrote {} ({} bytes)", output.display(), bytes.len());
    ExitCode::SUCCESS
}

fn validate_command(file: &Path, sensor: &SensorDecl) -> ExitCode {
    let buf = match ContentBuf::read(file) {
        Ok(buf) => buf,
        Err(e) => return fail(2, format!("{}: {e}", file.display())),
    };
    match RuleSet::load(buf.as_bytes(), sensor) {
        Ok(rules) => {
            print!(
                "{}: valid for sensor {}\n{}",
                file.display(),
                sensor.build,
                summary(&rules)
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(
            1,
            format!(
                "{}: refused by sensor {}: {}",
                file.display(),
                sensor.build,
                describe(&e, buf.as_bytes())
            ),
        ),
    }
}

fn scan_command(content: &Path, events: &Path, format: Format, sensor: &SensorDecl) -> ExitCode {
    let buf = match ContentBuf::read(content) {
        Ok(buf) => buf,
        Err(e) => return fail(2, format!("{}: {e}", content.display())),
    };
    let rules = match RuleSet::load(buf.as_bytes(), sensor) {
        Ok(rules) => rules,
        Err(e) => {
            return fail(
                2,
                format!(
                    "{}: refused by sensor {}: {}",
                    content.display(),
                    sensor.build,
                    describe(&e, buf.as_bytes())
                ),
            )
        }
    };
    let out = BufWriter::new(io::stdout().lock());
    let is_evtx = events
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"));
    let scanned = if is_evtx {
        let log = match evtx::open(events) {
            Ok(log) => log,
            Err(e) => return fail(2, format!("{}: {e}", events.display())),
        };
        let mut progress = Progress::stderr(None);
        let scanned = scan_events(&rules, evtx_inputs(log), format, out, |s| {
            progress.update(0, s.events as u64, s.events_matched as u64)
        });
        progress.finish();
        scanned
    } else {
        let file = match File::open(events) {
            Ok(f) => f,
            Err(e) => return fail(2, format!("{}: {e}", events.display())),
        };
        let mut progress = Progress::stderr(file.metadata().ok().map(|m| m.len()));
        let reader = CountingReader::new(file);
        let read = reader.counter();
        // Lines that lie whole in the buffer are parsed in place; 64 KiB holds about 57 records.
        let input = jsonl_inputs(BufReader::with_capacity(1 << 16, reader));
        let scanned = scan_events(&rules, input, format, out, |s| {
            progress.update(read.get(), s.events as u64, s.events_matched as u64)
        });
        progress.finish();
        scanned
    };
    match scanned {
        Ok(s) if s.errors > 0 => {
            eprintln!("{} of {} lines were not pipe events", s.errors, s.lines);
            ExitCode::from(2)
        }
        Ok(s) if s.events_matched > 0 => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(2, e),
    }
}

fn replay_command(options: &ReplayOptions) -> ExitCode {
    match replay(options) {
        Ok(report) => {
            print!("{report}");
            if report.as_expected() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => fail(2, e),
    }
}
