//! Generated rule sets in the proportions of the public Sigma `pipe_created` rules.
//!
//! `shared/corpus/README.md` counts the 21 Sigma rules' detection keys: 70 `field|modifier` keys,
//! 55 on `PipeName` and 15 on `Image`; by modifier `startswith` 22, `re` 19, `contains` 12,
//! plain (equals) 9, `endswith` 5, `contains|all` 3; 165 values in all (2.4 a key); conditions
//! `selection` 16 times, `selection and not 1 of filter_*` 4 times, `1 of selection*` once.
//! The corpus does not split modifiers by field; this generator uses the split below, which adds
//! up to exactly the corpus totals, and puts `Image` keys in `and not` filters as the corpus
//! rules do ("image filters"):
//!
//! | field | begins-with | regex | contains | equals | ends-with | contains-all | keys |
//! |---|---:|---:|---:|---:|---:|---:|---:|
//! | `pipe_name` | 18 | 19 | 8 | 7 | 0 | 3 | 55 |
//! | `image_path` | 4 | 0 | 4 | 2 | 5 | 0 | 15 |
//!
//! Values are made from a fixed vocabulary (pipe-name words, vendors, executables) so that they
//! look like the corpus's (`\postex_`, `\MSSE-`, `:\Program Files\Websense\`); a few percent are
//! the corpus's real indicators, so the synthetic generator's malicious events match some rules.
//! Regexes follow the shapes of `pipe_created_hktl_cobaltstrike_re` (a mixed-case literal, then
//! `[0-9a-f]{n}`, alternations, anchors), case-sensitive as Sigma's `re` is.
//!
//! The core refuses content with more than 16 automata of 256 patterns
//! (`sensor-core/src/limits.rs`), and the compiler refuses a field's DFA above 4 MiB. A large set
//! in corpus proportions can exceed that; [`build`] then keeps as many regexes as compile (the
//! others become `begins-with` on the regex's literal prefix) and says so in
//! [`BuiltSet::notes`]. Nothing is dropped silently.

use std::collections::BTreeMap;
use std::fmt;

use sensor_core::op::{Action, Level, Operator};
use sensor_core::schema::{ipc, IPC};

use crate::compile::{compile_report, CompileError};
use crate::content::ContentBuf;
use crate::ir::{Content, Expr, Operand, Origin, Predicate, Rule};

use super::rng::Rng;

/// Keys of the Sigma corpus by (field, kind), as in the module documentation.
pub const CORPUS_KEYS: [(Field, Kind, u32); 10] = [
    (Field::Pipe, Kind::BeginsWith, 18),
    (Field::Pipe, Kind::Regex, 19),
    (Field::Pipe, Kind::Contains, 8),
    (Field::Pipe, Kind::Equals, 7),
    (Field::Pipe, Kind::ContainsAll, 3),
    (Field::Image, Kind::BeginsWith, 4),
    (Field::Image, Kind::Contains, 4),
    (Field::Image, Kind::Equals, 2),
    (Field::Image, Kind::EndsWith, 5),
    (Field::Image, Kind::Regex, 0),
];

/// The field a generated key reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    /// `pipe_name`.
    Pipe,
    /// `image_path`.
    Image,
}

/// A Sigma modifier chain, as the corpus counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `startswith`.
    BeginsWith,
    /// `re`.
    Regex,
    /// `contains`.
    Contains,
    /// No modifier: equality (a value with `*` or `?` is a glob).
    Equals,
    /// `endswith`.
    EndsWith,
    /// `contains|all`.
    ContainsAll,
    /// A plain value with a wildcard: a glob.
    Glob,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::BeginsWith => "begins-with",
            Kind::Regex => "regex",
            Kind::Contains => "contains",
            Kind::Equals => "equals",
            Kind::EndsWith => "ends-with",
            Kind::ContainsAll => "contains-all",
            Kind::Glob => "glob",
        }
    }
}

/// How many predicates of each (field, kind) a rule set has, and how many values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mix {
    /// Predicates by field and kind.
    pub keys: BTreeMap<(Field, Kind), usize>,
    /// Operand values (strings and patterns) in all.
    pub values: usize,
    /// Rules.
    pub rules: usize,
}

impl Mix {
    /// Counts the string predicates of `content` on `pipe_name` and `image_path`.
    pub fn of(content: &Content) -> Self {
        let mut mix = Mix {
            rules: content.rules.len(),
            ..Mix::default()
        };
        for p in content.rules.iter().flat_map(|r| &r.predicates) {
            let field = match p.field {
                ipc::PIPE_NAME => Field::Pipe,
                ipc::IMAGE_PATH => Field::Image,
                _ => continue,
            };
            let kind = match p.op {
                Operator::BeginsWith => Kind::BeginsWith,
                Operator::Regex => Kind::Regex,
                Operator::Contains if p.all => Kind::ContainsAll,
                Operator::Contains => Kind::Contains,
                Operator::Equals => Kind::Equals,
                Operator::EndsWith => Kind::EndsWith,
                Operator::Glob => Kind::Glob,
                _ => continue,
            };
            *mix.keys.entry((field, kind)).or_default() += 1;
            mix.values += p.operands.len();
        }
        mix
    }

    /// Predicates of `kind` on any field.
    pub fn kind(&self, kind: Kind) -> usize {
        self.keys
            .iter()
            .filter(|((_, k), _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// Predicates on `field`.
    pub fn field(&self, field: Field) -> usize {
        self.keys
            .iter()
            .filter(|((f, _), _)| *f == field)
            .map(|(_, n)| n)
            .sum()
    }

    /// Predicates in all.
    pub fn total(&self) -> usize {
        self.keys.values().sum()
    }

    /// Automaton patterns (regexes and globs).
    pub fn patterns(&self) -> usize {
        self.kind(Kind::Regex) + self.kind(Kind::Glob)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total().max(1) as f64;
        let pct = |n: usize| 100.0 * n as f64 / total;
        write!(
            f,
            "{} rules, {} string predicates (",
            self.rules,
            self.total()
        )?;
        let kinds = [
            Kind::BeginsWith,
            Kind::Regex,
            Kind::Contains,
            Kind::Equals,
            Kind::EndsWith,
            Kind::ContainsAll,
            Kind::Glob,
        ];
        let mut first = true;
        for kind in kinds {
            let n = self.kind(kind);
            if n == 0 {
                continue;
            }
            if !first {
                write!(f, ", ")?;
            }
            first = false;
            write!(f, "{} {:.0}%", kind.name(), pct(n))?;
        }
        write!(
            f,
            "; image_path {:.0}%), {:.1} values a predicate",
            pct(self.field(Field::Image)),
            self.values as f64 / total
        )
    }
}

/// Words pipe names and regexes are made of, two at a time (`\ghostRelay_`). Words that
/// begin or make up the names of benign pipes (`lsass`, `mojo`, `srvsvc`, `PSHost`,
/// `VBoxTrayIPC`, `crashpad`, ...) are left out, so that generated rules are about as
/// selective as the corpus's tool-specific values.
const WORDS: &[&str] = &[
    "guard", "scan", "sense", "cyber", "shadow", "ghost", "night", "storm", "red", "blue", "black",
    "ice", "fire", "beacon", "implant", "stage", "loader", "relay", "bridge", "link", "port",
    "socket", "stream", "queue", "mail", "fax", "scard", "audit", "policy", "token", "auth",
    "kerb", "ntlm", "ldap", "smb", "store", "vault", "crypt", "hash", "secret", "pass", "guest",
    "demo", "temp", "harvest", "collect", "spy", "hook", "exec", "helper", "broker", "task",
    "channel", "comm", "remote", "cred", "dump", "vnc", "rdp", "ctl", "job", "report", "diag",
    "trace", "debug", "proxy", "tunnel", "daemon", "watch", "mgr", "agent", "wolf", "fox", "bear",
    "hawk", "raven", "viper", "cobra", "spider", "mantis", "falcon", "tiger", "panda", "kitten",
    "bat", "owl", "cat", "dragon", "phantom", "specter", "wraith", "goblin", "zero", "one",
    "alpha", "omega", "delta", "sigma", "gamma", "nova", "pulse", "echo", "drift", "flux", "nexus",
    "core", "grid", "mesh", "node", "cell", "shard", "prism", "orbit", "comet",
];

/// Separators between a pipe-name word and what follows.
const SEPARATORS: &[&str] = &["_", "-", ".", "", "_", "-"];

/// Software vendors, for `Image` filters.
const VENDORS: &[&str] = &[
    "Websense",
    "Citrix",
    "VMware",
    "Microsoft SQL Server",
    "Google",
    "Mozilla",
    "Adobe",
    "Oracle",
    "Zoom",
    "Cisco",
    "Symantec",
    "McAfee",
    "Sophos",
    "Trend Micro",
    "Dell",
    "HP",
    "Lenovo",
    "Intel",
    "NVIDIA",
    "Realtek",
    "SolarWinds",
    "Veeam",
    "Splunk",
    "Elastic",
    "CrowdStrike",
    "SentinelOne",
    "Tanium",
    "Qualys",
    "Rapid7",
    "Tenable",
    "Atlassian",
    "JetBrains",
    "Docker",
    "Git",
    "Notepad++",
    "7-Zip",
    "WinRAR",
    "PuTTY",
    "TeamViewer",
    "AnyDesk",
    "Slack",
    "Microsoft Office",
    "Windows Defender",
    "PowerShell",
    "Python",
];

/// Real indicators from the Sigma `pipe_created` rules (`PipeName` values).
const PIPE_INDICATORS: &[&str] = &[
    "\\postex_",
    "\\msagent_",
    "\\status_",
    "\\MSSE-",
    "\\PSEXESVC",
    "\\lsadump",
    "\\cachedump",
    "\\wceservicepipe",
    "\\RemCom",
    "\\csexecsvc",
    "\\PAExec",
    "\\gruntsvc",
    "\\atctl",
    "\\comnap",
    "\\sdlrpc",
    "\\coerced\\",
    "\\imposecost",
    "\\REDSUN",
    "\\isapi_http",
    "\\rpchlp_3",
    "\\interprocess_",
    "\\wkssvc_",
    "\\samr_",
    "\\netlogon_",
];

/// Real `Image` filter values from the Sigma `pipe_created` rules.
const IMAGE_INDICATORS: &[&str] = &[
    ":\\Program Files\\Websense\\",
    ":\\Windows\\system32\\wbem\\wmiprvse.exe",
    ":\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "C:\\Program Files\\Citrix\\",
    "\\scrcons.exe",
    "\\Tools\\Binn\\SQLPS.exe",
    "C:\\Windows\\",
];

/// Corpus levels: critical 8, high 3, medium 8, low 1, informational 1.
const LEVELS: [(Level, u32); 5] = [
    (Level::Critical, 8),
    (Level::High, 3),
    (Level::Medium, 8),
    (Level::Low, 1),
    (Level::Informational, 1),
];

/// Condition shapes of the corpus: `selection` 16, `selection and not filter` 4, `1 of` 1.
#[derive(Clone, Copy)]
enum Shape {
    Selection,
    Filtered,
    AnyOf,
}

const SHAPES: [(Shape, u32); 3] = [
    (Shape::Selection, 16),
    (Shape::Filtered, 4),
    (Shape::AnyOf, 1),
];

/// Generates `rules` rules in corpus proportions, reproducibly from `seed`.
pub fn generate(rules: usize, seed: u64) -> Content {
    let mut g = Gen {
        rng: Rng::new(seed ^ 0x5167_6d61_7069_7065),
    };
    Content {
        channel: 291,
        version: 2_026_112_400,
        template_id: IPC.id,
        template_version: IPC.version,
        rules: (0..rules).map(|i| g.rule(i)).collect(),
    }
}

struct Gen {
    rng: Rng,
}

impl Gen {
    fn rule(&mut self, index: usize) -> Rule {
        let mut predicates = Vec::new();
        let shape = *self.rng.weighted(&SHAPES);
        let condition = match shape {
            Shape::Selection => self.selection(&mut predicates),
            Shape::Filtered => {
                let selection = self.selection(&mut predicates);
                let filters = (0..1 + self.rng.below(3))
                    .map(|_| self.key(Field::Image, &mut predicates))
                    .collect();
                Expr::And(vec![selection, Expr::Not(Box::new(Expr::Or(filters)))])
            }
            Shape::AnyOf => {
                let n = 2 + self.rng.below(7);
                Expr::Or(
                    (0..n)
                        .map(|_| self.key(Field::Pipe, &mut predicates))
                        .collect(),
                )
            }
        };
        let level = *self.rng.weighted(&LEVELS);
        let action = match level {
            Level::Critical => Action::Block,
            Level::High | Level::Medium => Action::Alert,
            Level::Low | Level::Informational => Action::Log,
        };
        Rule {
            id: format!("GEN-{index:05}"),
            title: format!("Generated named-pipe rule {index}"),
            author: "sensor-host bench generator".into(),
            level,
            action,
            predicates,
            condition,
            origin: Origin::default(),
        }
    }

    /// One selection: one `pipe_name` key, or two ANDed (as `startswith` + `endswith`).
    fn selection(&mut self, predicates: &mut Vec<Predicate>) -> Expr {
        if self.rng.per_mille(200) {
            Expr::And(vec![
                self.key(Field::Pipe, predicates),
                self.key(Field::Pipe, predicates),
            ])
        } else {
            self.key(Field::Pipe, predicates)
        }
    }

    /// Adds one key's predicate and returns its reference.
    fn key(&mut self, field: Field, predicates: &mut Vec<Predicate>) -> Expr {
        let keys: Vec<(Kind, u32)> = CORPUS_KEYS
            .iter()
            .filter(|(f, _, _)| *f == field)
            .map(|&(_, k, n)| (k, n))
            .collect();
        let mut kind = *self.rng.weighted(&keys);
        // One corpus value in 165 is a plain value with a wildcard (`\Posh*`): a glob.
        if kind == Kind::Equals && self.rng.per_mille(30) {
            kind = Kind::Glob;
        }
        let (op, all, operands) = match kind {
            Kind::Regex => (Operator::Regex, false, vec![self.regex()]),
            Kind::Glob => (Operator::Glob, false, vec![self.glob()]),
            Kind::ContainsAll => (
                Operator::Contains,
                true,
                vec![self.pipe_fragment(true), self.pipe_fragment(false)],
            ),
            _ => {
                let n = self.value_count();
                let values = (0..n).map(|_| self.value(field, kind)).collect();
                let op = match kind {
                    Kind::BeginsWith => Operator::BeginsWith,
                    Kind::Contains => Operator::Contains,
                    Kind::Equals => Operator::Equals,
                    _ => Operator::EndsWith,
                };
                (op, false, values)
            }
        };
        predicates.push(Predicate {
            field: match field {
                Field::Pipe => ipc::PIPE_NAME,
                Field::Image => ipc::IMAGE_PATH,
            },
            op,
            negate: false,
            all,
            operands: operands.into_iter().map(Operand::Str).collect(),
            case_insensitive: false,
            origin: Origin::default(),
        });
        Expr::Pred(predicates.len() - 1)
    }

    /// Values under one key: one half the time, sometimes a long list (the corpus has one of
    /// 27). With regexes at one value each this gives the corpus's 2.4 values a key.
    fn value_count(&mut self) -> usize {
        match self.rng.below(100) {
            0..=49 => 1,
            50..=84 => 2 + self.rng.below(2) as usize,
            _ => 5 + self.rng.below(10) as usize,
        }
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.rng.below(WORDS.len() as u64) as usize]
    }

    /// Two words run together, capitalized now and then, as tool pipe names are spelled
    /// (`\\ghostRelay`, `\\NightStorm`).
    fn spelled(&mut self) -> String {
        let (a, b) = (self.word(), self.word());
        match self.rng.below(3) {
            0 => capitalized(a) + &capitalized(b),
            1 => a.to_owned() + &capitalized(b),
            _ => a.to_owned() + b,
        }
    }

    fn token(&mut self, min: usize, max: usize) -> String {
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let len = min + self.rng.below((max - min + 1) as u64) as usize;
        (0..len)
            .map(|_| char::from(*self.rng.pick(ALNUM)))
            .collect()
    }

    fn value(&mut self, field: Field, kind: Kind) -> String {
        match field {
            Field::Pipe => self.pipe_value(kind),
            Field::Image => self.image_value(kind),
        }
    }

    fn pipe_value(&mut self, kind: Kind) -> String {
        if self.rng.per_mille(40) {
            return self.rng.pick(PIPE_INDICATORS).to_string();
        }
        let first = self.spelled();
        let sep = self.rng.pick(SEPARATORS);
        match kind {
            Kind::BeginsWith => format!("\\{first}{sep}"),
            Kind::Contains => {
                let leading = self.rng.per_mille(500);
                self.pipe_fragment(leading)
            }
            _ => {
                let tail = self.token(0, 6);
                format!("\\{first}{sep}{tail}")
            }
        }
    }

    /// A `contains` value: `\word-` at the front of a name, or `-word` inside it.
    fn pipe_fragment(&mut self, leading: bool) -> String {
        let word = self.spelled();
        let sep = self.rng.pick(SEPARATORS);
        if leading {
            format!("\\{word}{sep}")
        } else {
            format!("{sep}{word}")
        }
    }

    fn image_value(&mut self, kind: Kind) -> String {
        if self.rng.per_mille(60) {
            return self.rng.pick(IMAGE_INDICATORS).to_string();
        }
        let vendor = self.rng.pick(VENDORS);
        let exe = format!("{}{}.exe", self.word(), self.token(0, 3));
        let program_files = if self.rng.per_mille(700) {
            "Program Files"
        } else {
            "Program Files (x86)"
        };
        match kind {
            Kind::BeginsWith => format!("C:\\{program_files}\\{vendor}\\"),
            Kind::Contains => format!(":\\{program_files}\\{vendor}\\"),
            Kind::EndsWith => format!("\\{exe}"),
            _ => format!("C:\\{program_files}\\{vendor}\\{exe}"),
        }
    }

    /// A glob like the corpus's `\Posh*`.
    fn glob(&mut self) -> String {
        let word = self.spelled();
        match self.rng.below(3) {
            0 => format!("\\{word}*"),
            1 => format!("\\{word}-*-{}", self.word()),
            _ => format!("\\{word}_??"),
        }
    }

    /// A regex in the shapes of `pipe_created_hktl_cobaltstrike_re`.
    fn regex(&mut self) -> String {
        let a = regex_syntax::escape(&capitalized(self.word()));
        let b = regex_syntax::escape(&capitalized(self.word()));
        let c = regex_syntax::escape(&(self.word().to_owned() + self.word()));
        let d = regex_syntax::escape(self.word());
        match self.rng.below(8) {
            0 => format!(r"\\{a}{b}[0-9a-f]{{2}}"),
            1 => format!(r"\\{c}_?[0-9a-f]{{2}}"),
            2 => format!(r"\\{c}_[0-9a-f]{{4}}"),
            3 => format!(r"\\{c}\.{d}\.(?:{a}|{b})[0-9a-f]{{2}}"),
            4 => format!(r"\\{c}-(?:f|h)[0-9a-f]{{2}}"),
            5 => format!(r"\\{a}\\{b}-[0-9a-f]{{3}}-0,"),
            6 => format!(r"\\{c}[0-9a-f]{{2}}$"),
            _ => format!(r"\\{c}\.{d}\.{c}[0-9a-f]{{2,3}}"),
        }
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The literal text a generated regex starts with (`\\postex_[0-9a-f]{4}` → `\postex_`).
fn literal_prefix(regex: &str) -> String {
    let mut out = String::new();
    let mut chars = regex.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => match chars.next() {
                Some(next) if !next.is_ascii_alphanumeric() => next,
                _ => break,
            },
            '[' | '(' | ')' | '.' | '$' | '^' | '|' => break,
            // A quantifier makes the character before it optional or repeated.
            '?' | '*' | '+' | '{' => {
                out.pop();
                break;
            }
            c => c,
        };
        out.push(literal);
    }
    out
}

/// Turns every automaton pattern after the first `keep` into `begins-with` on its literal
/// prefix. Returns how many were turned.
fn demote_patterns(content: &mut Content, keep: usize) -> usize {
    let mut seen = 0;
    let mut demoted = 0;
    for p in content.rules.iter_mut().flat_map(|r| &mut r.predicates) {
        if !matches!(p.op, Operator::Regex | Operator::Glob) {
            continue;
        }
        seen += 1;
        if seen <= keep {
            continue;
        }
        let Some(Operand::Str(text)) = p.operands.first() else {
            continue;
        };
        let prefix = match p.op {
            Operator::Regex => literal_prefix(text),
            _ => text.split(['*', '?']).next().unwrap_or_default().to_owned(),
        };
        p.op = Operator::BeginsWith;
        p.operands = vec![Operand::Str(prefix)];
        demoted += 1;
    }
    demoted
}

/// A rule set ready to run: its IR, its compiled bytes, and what had to give to compile it.
#[derive(Clone, Debug)]
pub struct BuiltSet {
    /// Short name for tables ("default.toml", "generated-1000").
    pub name: String,
    /// The rules as compiled.
    pub content: Content,
    /// The channel file.
    pub bytes: ContentBuf,
    /// Predicate mix of `content`.
    pub mix: Mix,
    /// What was changed to make the set compile, and why; empty when nothing was.
    pub notes: Vec<String>,
}

impl BuiltSet {
    /// Compiles `content` as it is.
    pub fn compile(name: &str, content: Content) -> Result<Self, CompileError> {
        let compiled = compile_report(&content)?;
        let notes = (compiled.direct_literals > 0)
            .then(|| {
                format!(
                    "{} literal predicates are compared directly: their automata would not fit the format's automaton count and file size",
                    compiled.direct_literals
                )
            })
            .into_iter()
            .collect();
        Ok(Self {
            name: name.to_owned(),
            mix: Mix::of(&content),
            content,
            bytes: ContentBuf::new(&compiled.bytes),
            notes,
        })
    }
}

/// Generates a set of `rules` rules and compiles it. When the corpus mix of regexes does not
/// compile under the core's limits, keeps the most patterns that do (found by bisection) and
/// records the refusal and what was kept in [`BuiltSet::notes`].
pub fn build(rules: usize, seed: u64) -> Result<BuiltSet, String> {
    let name = format!("generated-{rules}");
    let content = generate(rules, seed);
    let first_error = match BuiltSet::compile(&name, content.clone()) {
        Ok(set) => return Ok(set),
        Err(e) => e,
    };
    let patterns = Mix::of(&content).patterns();
    let attempt = |keep: usize| {
        let mut reduced = content.clone();
        demote_patterns(&mut reduced, keep);
        BuiltSet::compile(&name, reduced)
    };
    // Bisect the largest number of patterns that compiles: `good` compiles, `bad` does not.
    let (mut good, mut bad) = (0usize, patterns);
    let mut best = attempt(0).map_err(|e| {
        format!("{name}: does not compile even without automata: {e} (first: {first_error})")
    })?;
    while bad - good > 1.max(patterns / 512) {
        let mid = good + (bad - good) / 2;
        match attempt(mid) {
            Ok(set) => {
                good = mid;
                best = set;
            }
            Err(_) => bad = mid,
        }
    }
    best.notes.push(format!(
        "in corpus proportions the set has {patterns} regex/glob patterns; the compiler refused it: {first_error}"
    ));
    best.notes.push(format!(
        "kept the first {good} patterns (largest that compiles, to within {}); the other {} became begins-with on their literal prefix",
        1.max(patterns / 512),
        patterns - good
    ));
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_rules() {
        assert_eq!(generate(50, 1), generate(50, 1));
        assert_ne!(generate(50, 1), generate(50, 2));
    }

    #[test]
    fn mix_follows_the_corpus() {
        let mix = Mix::of(&generate(4000, 7));
        let total = mix.total() as f64;
        let corpus_total: u32 = CORPUS_KEYS.iter().map(|k| k.2).sum();
        for kind in [
            Kind::BeginsWith,
            Kind::Contains,
            Kind::EndsWith,
            Kind::ContainsAll,
        ] {
            let want: u32 = CORPUS_KEYS
                .iter()
                .filter(|k| k.1 == kind)
                .map(|k| k.2)
                .sum();
            let want = f64::from(want) / f64::from(corpus_total);
            let got = mix.kind(kind) as f64 / total;
            assert!((got - want).abs() < 0.03, "{kind:?}: {got:.3} vs {want:.3}");
        }
        // Equals and regex share the corpus's plain values with globs.
        let patterns = (mix.kind(Kind::Regex) + mix.kind(Kind::Glob)) as f64 / total;
        assert!(
            (patterns - 19.0 / 70.0).abs() < 0.04,
            "patterns {patterns:.3}"
        );
        let image = mix.field(Field::Image) as f64 / total;
        assert!((image - 15.0 / 70.0).abs() < 0.03, "image {image:.3}");
        let per_key = mix.values as f64 / total;
        assert!(
            (per_key - 165.0 / 70.0).abs() < 0.3,
            "{per_key:.2} values a key"
        );
    }

    #[test]
    fn small_sets_compile_as_generated() {
        let set = build(100, 3).expect("compiles");
        assert!(set.notes.is_empty(), "{:?}", set.notes);
        assert_eq!(set.content, generate(100, 3));
    }

    #[test]
    fn literal_prefixes_of_generated_regexes() {
        assert_eq!(literal_prefix(r"\\postex_[0-9a-f]{4}"), "\\postex_");
        assert_eq!(literal_prefix(r"\\wkssvc_?[0-9a-f]{2}"), "\\wkssvc");
        assert_eq!(
            literal_prefix(r"\\mojo\.ps\.(?:A|B)[0-9a-f]{2}"),
            "\\mojo.ps."
        );
        assert_eq!(
            literal_prefix(r"\\Agent\\Svc-[0-9a-f]{3}-0,"),
            "\\Agent\\Svc-"
        );
    }

    #[test]
    fn demotion_keeps_the_first_patterns() {
        let mut content = generate(300, 4);
        let before = Mix::of(&content);
        let demoted = demote_patterns(&mut content, 10);
        let after = Mix::of(&content);
        assert_eq!(after.patterns(), 10);
        assert_eq!(demoted, before.patterns() - 10);
        assert_eq!(after.total(), before.total());
    }
}
