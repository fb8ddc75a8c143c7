//! The `sensor-host` command line.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sensor_core::schema::{self, SensorDecl};
use sensor_core::RuleSet;
use sensor_host::content::ContentBuf;
use sensor_host::diag::describe;
use sensor_host::rules::{compile_sources, summary};
use sensor_host::run::{run, RunConfig};
use sensor_host::scan::{scan, Format};

/// A fault-proof content interpreter for kernel security sensors, and the tools around it.
#[derive(Parser)]
#[command(name = "sensor-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

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
    /// Compile rule sources (TOML) into one channel file.
    Compile {
        /// Rule source files; all must name the same channel and template.
        #[arg(required = true)]
        rules: Vec<PathBuf>,
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
    /// Evaluate Sysmon pipe events (JSON lines) against a channel file. Exit status: 0 no
    /// matches, 1 matches found, 2 errors (unreadable input, refused content, malformed lines).
    Scan {
        /// The channel file.
        #[arg(long)]
        content: PathBuf,
        /// Sysmon event 17/18 records, one JSON object per line.
        #[arg(long)]
        events: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Sensor build the content is loaded for.
        #[arg(long, default_value = "fixed", value_parser = parse_sensor)]
        sensor: SensorDecl,
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
            output,
            sensor,
        } => compile_command(&rules, &output, sensor),
        Command::Validate { file, sensor } => validate_command(&file, &sensor),
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

fn compile_command(rules: &[PathBuf], output: &Path, sensor: Option<SensorDecl>) -> ExitCode {
    let bytes = match compile_sources(rules) {
        Ok(bytes) => bytes,
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
    let input = match File::open(events) {
        Ok(f) => BufReader::new(f),
        Err(e) => return fail(2, format!("{}: {e}", events.display())),
    };
    let out = BufWriter::new(io::stdout().lock());
    match scan(&rules, input, format, out) {
        Ok(s) if s.errors > 0 => {
            eprintln!("{} of {} lines were not pipe events", s.errors, s.lines);
            ExitCode::from(2)
        }
        Ok(s) if s.events_matched > 0 => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(2, e),
    }
}
