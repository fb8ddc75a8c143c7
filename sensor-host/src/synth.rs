//! A seeded generator of synthetic named-pipe events, benign and known-malicious.
//!
//! Benign events come from the pipes a Windows host creates all day (RPC endpoints, browser IPC,
//! PowerShell hosts, anonymous pipes) with the images, parents, accounts and
//! `NAMED_PIPE_CREATE_PARAMETERS` that go with them. Malicious events use the default pipe names
//! of the tools that the Sigma `pipe_created` rules detect (Cobalt Strike, PsExec, Covenant,
//! SUNBURST, ...). The numbers are plausible, not measured.
//!
//! The same [`SynthConfig`] always yields the same stream. [`Generator::fill`] overwrites an
//! event in place, reusing its strings, so a benchmark can generate without allocating once the
//! strings have grown.

use crate::event::{EventKind, PipeEvent, ANONYMOUS_PIPE};

/// Settings of a [`Generator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthConfig {
    /// Seed of the pseudo-random stream.
    pub seed: u64,
    /// Events per thousand that come from a known-malicious tool.
    pub malicious_per_mille: u32,
    /// Events per thousand that are connects; the rest are creates.
    pub connect_per_mille: u32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            malicious_per_mille: 5,
            connect_per_mille: 500,
        }
    }
}

/// An endless, reproducible stream of synthetic named-pipe events.
#[derive(Clone, Debug)]
pub struct Generator {
    config: SynthConfig,
    rng: SplitMix64,
    last_family: Option<&'static str>,
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: SynthConfig) -> Self {
        Self {
            config,
            rng: SplitMix64(config.seed),
            last_family: None,
        }
    }

    /// The tool family of the last event if it was malicious ("Cobalt Strike", "PsExec", ...).
    pub fn last_family(&self) -> Option<&'static str> {
        self.last_family
    }

    /// Whether the last event came from a known-malicious tool.
    pub fn last_was_malicious(&self) -> bool {
        self.last_family.is_some()
    }

    /// Overwrites every field of `ev` with the next event, reusing its strings' capacity.
    pub fn fill(&mut self, ev: &mut PipeEvent) {
        let threat = if self.rng.per_mille(self.config.malicious_per_mille) {
            Some(self.rng.weighted(&THREATS, |t| t.profile.weight))
        } else {
            None
        };
        self.last_family = threat.map(|t| t.family);
        let profile = match threat {
            Some(threat) => &threat.profile,
            None => self.rng.weighted(&BENIGN, |p| p.weight),
        };
        let kind = if self.rng.per_mille(self.config.connect_per_mille) {
            EventKind::Connect
        } else {
            EventKind::Create
        };
        let remote = kind == EventKind::Connect && self.rng.per_mille(profile.remote_per_mille);
        let program = match kind {
            _ if remote => &REMOTE_CLIENT,
            EventKind::Connect if !profile.clients.is_empty() => self.rng.pick(profile.clients),
            _ => self.rng.pick(profile.servers),
        };
        let ctx = self.context(program.account, kind);
        ev.kind = kind;
        self.fill_process(ev, program, &ctx);
        expand(text(&mut ev.pipe_name), profile.pipe, &ctx, &mut self.rng);
        match kind {
            EventKind::Create => fill_create(ev, &profile.shape),
            EventKind::Connect => self.fill_connect(ev, &profile.shape),
        }
        ev.remote_client = Some(remote);
    }

    /// Draws the process and session facts of one event.
    fn context(&mut self, account: Account, kind: EventKind) -> Context {
        let pid = self.rng.pid();
        let owner = match kind {
            EventKind::Create => pid,
            EventKind::Connect => self.rng.pid(),
        };
        let (pid, parent_pid, user, session, integrity) = match account {
            Account::Kernel => (4, 0, SYSTEM_USER, 0, SYSTEM_INTEGRITY),
            Account::Service { user, integrity } => (pid, self.rng.pid(), user, 0, integrity),
            Account::Interactive => {
                let user = *self.rng.pick(USERS);
                let session = if self.rng.per_mille(850) { 1 } else { 2 };
                let integrity = if self.rng.per_mille(800) {
                    MEDIUM_INTEGRITY
                } else {
                    HIGH_INTEGRITY
                };
                (pid, self.rng.pid(), user, session, integrity)
            }
        };
        let host = *self.rng.pick(HOSTS);
        Context {
            pid,
            parent_pid,
            owner,
            peer: self.rng.pid(),
            user,
            host,
            session,
            integrity,
        }
    }

    /// Writes the fields that describe the process behind the event.
    fn fill_process(&mut self, ev: &mut PipeEvent, program: &Program, ctx: &Context) {
        ev.process_id = Some(ctx.pid);
        ev.parent_process_id = Some(ctx.parent_pid);
        ev.session_id = Some(ctx.session);
        ev.integrity_level = Some(ctx.integrity);
        text(&mut ev.user).push_str(ctx.user);

        let image = text(&mut ev.image_path);
        expand(image, program.image, ctx, &mut self.rng);
        vary_case(image, &mut self.rng);
        let parent = text(&mut ev.parent_image);
        expand(parent, program.parent, ctx, &mut self.rng);
        vary_case(parent, &mut self.rng);

        let command_line = text(&mut ev.command_line);
        if matches!(program.account, Account::Kernel) {
            return;
        }
        if image.contains(' ') {
            command_line.push('"');
            command_line.push_str(image);
            command_line.push('"');
        } else {
            command_line.push_str(image);
        }
        if !program.args.is_empty() {
            command_line.push(' ');
            expand(command_line, program.args, ctx, &mut self.rng);
        }
    }

    /// Writes the fields of a client opening the pipe; the create parameters do not exist.
    fn fill_connect(&mut self, ev: &mut PipeEvent, shape: &Shape) {
        clear_create_parameters(ev);
        ev.desired_access = Some(match shape.access {
            Access::Inbound => FILE_GENERIC_WRITE,
            Access::Outbound => FILE_GENERIC_READ,
            Access::Duplex => FILE_GENERIC_READ | FILE_GENERIC_WRITE,
        });
        ev.share_access = Some(if self.rng.per_mille(300) {
            FILE_SHARE_READ | FILE_SHARE_WRITE
        } else {
            0
        });
        ev.create_disposition = Some(FILE_OPEN);
    }
}

impl Iterator for Generator {
    type Item = PipeEvent;

    fn next(&mut self) -> Option<PipeEvent> {
        let mut ev = PipeEvent::default();
        self.fill(&mut ev);
        Some(ev)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// Writes the fields of a server creating the pipe, as `NtCreateNamedPipeFile` receives them.
fn fill_create(ev: &mut PipeEvent, shape: &Shape) {
    let message = u64::from(shape.message);
    ev.pipe_type = Some(message | u64::from(shape.reject_remote) << 1);
    ev.read_mode = Some(message);
    ev.completion_mode = Some(FILE_PIPE_QUEUE_OPERATION);
    ev.max_instances = Some(shape.max_instances);
    ev.inbound_quota = Some(shape.quota);
    ev.outbound_quota = Some(shape.quota);
    ev.default_timeout = Some(shape.timeout);
    // What `CreateNamedPipeW` derives from the open mode.
    let (desired_access, share_access) = match shape.access {
        Access::Inbound => (FILE_GENERIC_READ, FILE_SHARE_WRITE),
        Access::Outbound => (FILE_GENERIC_WRITE, FILE_SHARE_READ),
        Access::Duplex => (
            FILE_GENERIC_READ | FILE_GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
        ),
    };
    ev.desired_access = Some(desired_access);
    ev.share_access = Some(share_access);
    ev.create_disposition = Some(if shape.first_instance {
        FILE_CREATE
    } else {
        FILE_OPEN_IF
    });
}

fn clear_create_parameters(ev: &mut PipeEvent) {
    ev.pipe_type = None;
    ev.read_mode = None;
    ev.completion_mode = None;
    ev.max_instances = None;
    ev.inbound_quota = None;
    ev.outbound_quota = None;
    ev.default_timeout = None;
}

/// The string in `slot`, emptied, keeping its capacity.
fn text(slot: &mut Option<String>) -> &mut String {
    let s = slot.get_or_insert_with(String::new);
    s.clear();
    s
}

/// Spells `C:\Windows\System32\` the way some processes report it (`C:\WINDOWS\system32\`).
fn vary_case(path: &mut String, rng: &mut SplitMix64) {
    if !path.starts_with("C:\\Windows\\") || !rng.per_mille(300) {
        return;
    }
    let windows = &mut path.as_mut_str()[3..10];
    match rng.below(3) {
        0 => windows.make_ascii_uppercase(),
        1 => windows.make_ascii_lowercase(),
        _ => {}
    }
    if let Some(system32) = path.as_mut_str().get_mut(11..19) {
        if system32 == "System32" && rng.per_mille(700) {
            system32.make_ascii_lowercase();
        }
    }
}

/// Appends `pattern` to `out`, replacing placeholders:
///
/// - `{pid}`: the process id; `{owner}`: the id of the process that created the pipe;
///   `{peer}`: the id of some other process; `{tid}`: a thread id;
/// - `{user}`: the name part of the user; `{host}`: a host name; `{guid}`: a random GUID;
/// - `{dN}`, `{xN}`, `{AN}`, `{aN}`: `N` random decimal digits, lowercase hex digits, uppercase
///   letters, lowercase letters and digits.
///
/// Anything else in braces is copied as is.
fn expand(out: &mut String, pattern: &str, ctx: &Context, rng: &mut SplitMix64) {
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let Some(close) = rest.find('}') else {
            break;
        };
        if !placeholder(out, &rest[1..close], ctx, rng) {
            out.push_str(&rest[..=close]);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
}

/// Appends the value of placeholder `name`; false if there is no such placeholder.
fn placeholder(out: &mut String, name: &str, ctx: &Context, rng: &mut SplitMix64) -> bool {
    match name {
        "pid" => push_decimal(out, ctx.pid),
        "owner" => push_decimal(out, ctx.owner),
        "peer" => push_decimal(out, ctx.peer),
        "tid" => push_decimal(out, rng.pid()),
        "user" => out.push_str(ctx.user.rsplit('\\').next().unwrap_or(ctx.user)),
        "host" => out.push_str(ctx.host),
        "guid" => push_guid(out, rng),
        _ => {
            let Some((class, count)) = name.split_at_checked(1) else {
                return false;
            };
            let Ok(count) = count.parse() else {
                return false;
            };
            let alphabet: &[u8] = match class {
                "d" => b"0123456789",
                "x" => HEX,
                "A" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "a" => b"abcdefghijklmnopqrstuvwxyz0123456789",
                _ => return false,
            };
            push_random(out, alphabet, count, rng);
        }
    }
    true
}

const HEX: &[u8] = b"0123456789abcdef";

fn push_decimal(out: &mut String, n: u64) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

fn push_random(out: &mut String, alphabet: &[u8], count: usize, rng: &mut SplitMix64) {
    for _ in 0..count {
        out.push(char::from(*rng.pick(alphabet)));
    }
}

fn push_guid(out: &mut String, rng: &mut SplitMix64) {
    for (i, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_random(out, HEX, len, rng);
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and good enough for test data.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, by multiply-shift (Lemire); the bias is at most `n / 2^64`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True `per_mille` times in a thousand.
    fn per_mille(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }

    /// A uniformly chosen item of a non-empty slice.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An item of a non-empty slice, chosen with probability proportional to its weight.
    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
        let total: u64 = items.iter().map(|item| u64::from(weight(item))).sum();
        let mut point = self.below(total);
        for item in items {
            match point.checked_sub(u64::from(weight(item))) {
                Some(rest) => point = rest,
                None => return item,
            }
        }
        unreachable!("point is below the total weight")
    }

    /// A Windows process or thread id: a multiple of 4 below 65536, above the System process's 4.
    fn pid(&mut self) -> u64 {
        4 * (2 + self.below(16_382))
    }
}

/// The process facts of one event, shared by the patterns that describe it.
struct Context {
    pid: u64,
    parent_pid: u64,
    owner: u64,
    peer: u64,
    user: &'static str,
    host: &'static str,
    session: u64,
    integrity: u64,
}

/// The account a program runs under.
#[derive(Clone, Copy)]
enum Account {
    /// The System process (pid 4), which opens pipes for remote SMB clients.
    Kernel,
    /// A service account in session 0.
    Service { user: &'static str, integrity: u64 },
    /// One of [`USERS`], logged on in session 1 or 2, at medium or high integrity.
    Interactive,
}

const SYSTEM_USER: &str = "NT AUTHORITY\\SYSTEM";
const MEDIUM_INTEGRITY: u64 = 0x2000;
const HIGH_INTEGRITY: u64 = 0x3000;
const SYSTEM_INTEGRITY: u64 = 0x4000;
const SYSTEM: Account = Account::Service {
    user: SYSTEM_USER,
    integrity: SYSTEM_INTEGRITY,
};
const LOCAL_SERVICE: Account = Account::Service {
    user: "NT AUTHORITY\\LOCAL SERVICE",
    integrity: SYSTEM_INTEGRITY,
};
const NETWORK_SERVICE: Account = Account::Service {
    user: "NT AUTHORITY\\NETWORK SERVICE",
    integrity: SYSTEM_INTEGRITY,
};
const MSSQL_SERVICE: Account = Account::Service {
    user: "NT SERVICE\\MSSQLSERVER",
    integrity: HIGH_INTEGRITY,
};
const WID_SERVICE: Account = Account::Service {
    user: "NT SERVICE\\MSSQL$MICROSOFT##WID",
    integrity: HIGH_INTEGRITY,
};
const APP_POOL: Account = Account::Service {
    user: "IIS APPPOOL\\DefaultAppPool",
    integrity: HIGH_INTEGRITY,
};
const USER: Account = Account::Interactive;

const USERS: &[&str] = &[
    "CONTOSO\\j.smith",
    "CONTOSO\\a.nguyen",
    "CONTOSO\\m.garcia",
    "CONTOSO\\adm-kpatel",
    "WKS-0417\\localadmin",
];

const HOSTS: &[&str] = &["WKS-0417", "WKS-1190", "LT-2231", "FS01", "SQL02"];

/// A program that creates or opens pipes. Strings are [`expand`] patterns.
struct Program {
    /// Image path.
    image: &'static str,
    /// Command-line arguments after the image path.
    args: &'static str,
    /// Parent image path.
    parent: &'static str,
    account: Account,
}

const fn program(
    image: &'static str,
    args: &'static str,
    parent: &'static str,
    account: Account,
) -> Program {
    Program {
        image,
        args,
        parent,
        account,
    }
}

/// How a server creates its pipe.
#[derive(Clone, Copy)]
struct Shape {
    /// Message type and message read mode, rather than byte stream.
    message: bool,
    /// `FILE_PIPE_REJECT_REMOTE_CLIENTS`.
    reject_remote: bool,
    access: Access,
    /// `FILE_FLAG_FIRST_PIPE_INSTANCE`: created with `FILE_CREATE` instead of `FILE_OPEN_IF`.
    first_instance: bool,
    max_instances: u64,
    /// Inbound and outbound quota, in bytes.
    quota: u64,
    /// Default timeout, in 100 ns units.
    timeout: u64,
}

/// The server's end of the pipe: `PIPE_ACCESS_INBOUND`, `_OUTBOUND` or `_DUPLEX`.
#[derive(Clone, Copy)]
enum Access {
    Inbound,
    Outbound,
    Duplex,
}

/// A pipe, the programs that create and open it, and how often it is seen.
struct Profile {
    /// Relative frequency within its table.
    weight: u32,
    /// Pipe name pattern.
    pipe: &'static str,
    shape: Shape,
    /// Programs that create the pipe.
    servers: &'static [Program],
    /// Programs that open it; empty when they are the servers' kind.
    clients: &'static [Program],
    /// Connects per thousand that come from a remote client.
    remote_per_mille: u32,
}

/// A malicious tool's pipe.
struct Threat {
    family: &'static str,
    profile: Profile,
}

const FILE_GENERIC_READ: u64 = 0x0012_0089;
const FILE_GENERIC_WRITE: u64 = 0x0012_0116;
const FILE_SHARE_READ: u64 = 1;
const FILE_SHARE_WRITE: u64 = 2;
const FILE_OPEN: u64 = 1;
const FILE_CREATE: u64 = 2;
const FILE_OPEN_IF: u64 = 3;
const FILE_PIPE_QUEUE_OPERATION: u64 = 0;
const FILE_PIPE_UNLIMITED_INSTANCES: u64 = 0xffff_ffff;
/// The 50 ms a server gets when it passes a timeout of 0.
const DEFAULT_TIMEOUT: u64 = 500_000;

/// RPC over named pipes: message mode, unlimited instances, remote clients welcome.
const RPC: Shape = Shape {
    message: true,
    reject_remote: false,
    access: Access::Duplex,
    first_instance: false,
    max_instances: FILE_PIPE_UNLIMITED_INSTANCES,
    quota: 4096,
    timeout: DEFAULT_TIMEOUT,
};
/// Chromium's Mojo and IPC channels: one instance, local only.
const BROWSER: Shape = Shape {
    message: false,
    reject_remote: true,
    access: Access::Duplex,
    first_instance: true,
    max_instances: 1,
    quota: 4096,
    timeout: 50_000_000,
};
/// Crashpad's registration pipe.
const CRASHPAD: Shape = Shape {
    message: true,
    reject_remote: false,
    access: Access::Duplex,
    first_instance: true,
    max_instances: 2,
    quota: 512,
    timeout: DEFAULT_TIMEOUT,
};
/// `CreatePipe`: a one-instance inbound pipe with a 120 s timeout.
const ANONYMOUS: Shape = Shape {
    message: false,
    reject_remote: false,
    access: Access::Inbound,
    first_instance: true,
    max_instances: 1,
    quota: 4096,
    timeout: 1_200_000_000,
};
/// .NET `NamedPipeServerStream` with default buffers.
const DOTNET: Shape = Shape {
    message: false,
    reject_remote: false,
    access: Access::Duplex,
    first_instance: false,
    max_instances: 1,
    quota: 0,
    timeout: DEFAULT_TIMEOUT,
};
/// A service's control pipe with a fixed number of instances.
const SERVICE: Shape = Shape {
    message: true,
    reject_remote: false,
    access: Access::Duplex,
    first_instance: false,
    max_instances: 10,
    quota: 65_536,
    timeout: DEFAULT_TIMEOUT,
};
/// An implant's command channel.
const IMPLANT: Shape = Shape {
    message: true,
    reject_remote: false,
    access: Access::Duplex,
    first_instance: false,
    max_instances: FILE_PIPE_UNLIMITED_INSTANCES,
    quota: 1_048_576,
    timeout: DEFAULT_TIMEOUT,
};
/// A post-exploitation job returning output to its implant.
const JOB_OUTPUT: Shape = Shape {
    message: false,
    reject_remote: true,
    access: Access::Outbound,
    first_instance: true,
    max_instances: 1,
    quota: 0,
    timeout: DEFAULT_TIMEOUT,
};

const WININIT: &str = "C:\\Windows\\System32\\wininit.exe";
const SERVICES: &str = "C:\\Windows\\System32\\services.exe";
const SVCHOST: &str = "C:\\Windows\\System32\\svchost.exe";
const EXPLORER: &str = "C:\\Windows\\explorer.exe";
const CMD: &str = "C:\\Windows\\System32\\cmd.exe";
const POWERSHELL: &str = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
const RUNDLL32: &str = "C:\\Windows\\System32\\rundll32.exe";
const CHROME: &str = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe";
const MSEDGE: &str = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
const W3WP: &str = "C:\\Windows\\System32\\inetsrv\\w3wp.exe";

const LSASS_EXE: Program = program("C:\\Windows\\System32\\lsass.exe", "", WININIT, SYSTEM);
const SERVICES_EXE: Program = program(SERVICES, "", WININIT, SYSTEM);
const WININIT_EXE: Program = program(WININIT, "", "C:\\Windows\\System32\\smss.exe", SYSTEM);
const SPOOLSV: Program = program("C:\\Windows\\System32\\spoolsv.exe", "", SERVICES, SYSTEM);
const LANMAN_SERVER: Program = program(SVCHOST, "-k netsvcs -p -s LanmanServer", SERVICES, SYSTEM);
const SCHEDULE: Program = program(SVCHOST, "-k netsvcs -p -s Schedule", SERVICES, SYSTEM);
const LSM: Program = program(SVCHOST, "-k DcomLaunch -p -s LSM", SERVICES, SYSTEM);
const RPCSS: Program = program(SVCHOST, "-k RPCSS -p", SERVICES, NETWORK_SERVICE);
const DNSCACHE: Program = program(
    SVCHOST,
    "-k NetworkService -p -s Dnscache",
    SERVICES,
    NETWORK_SERVICE,
);
const LANMAN_WORKSTATION: Program = program(
    SVCHOST,
    "-k NetworkService -p -s LanmanWorkstation",
    SERVICES,
    NETWORK_SERVICE,
);
const TERM_SERVICE: Program = program(
    SVCHOST,
    "-k NetworkService -s TermService",
    SERVICES,
    NETWORK_SERVICE,
);
const EVENTLOG: Program = program(
    SVCHOST,
    "-k LocalServiceNetworkRestricted -p -s EventLog",
    SERVICES,
    LOCAL_SERVICE,
);
const W32TIME: Program = program(
    SVCHOST,
    "-k LocalService -s W32Time",
    SERVICES,
    LOCAL_SERVICE,
);
const WMIPRVSE: Program = program(
    "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
    "-secured -Embedding",
    SVCHOST,
    NETWORK_SERVICE,
);
const SEARCH_INDEXER: Program = program(
    "C:\\Windows\\System32\\SearchIndexer.exe",
    "/Embedding",
    SERVICES,
    SYSTEM,
);
const SEARCH_PROTOCOL_HOST: Program = program(
    "C:\\Windows\\System32\\SearchProtocolHost.exe",
    "Global\\UsGthrFltPipeMssGthrPipe{d2}_ Global\\UsGthrCtrlFltPipeMssGthrPipe{d2} 1 \
     -2147483646 \"Software\\Microsoft\\Windows Search\"",
    "C:\\Windows\\System32\\SearchIndexer.exe",
    SYSTEM,
);
const SQLSERVR: Program = program(
    "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe",
    "-sMSSQLSERVER",
    SERVICES,
    MSSQL_SERVICE,
);
const WID_SQLSERVR: Program = program(
    "C:\\Windows\\WID\\Binn\\sqlservr.exe",
    "-sMICROSOFT##WID -T1802 -k -C",
    SERVICES,
    WID_SERVICE,
);
const ADFS_HOST: Program = program(
    "C:\\Windows\\ADFS\\Microsoft.IdentityServer.ServiceHost.exe",
    "",
    SERVICES,
    NETWORK_SERVICE,
);
const SQLCMD: Program = program(
    "C:\\Program Files\\Microsoft SQL Server\\Client SDK\\ODBC\\170\\Tools\\Binn\\SQLCMD.EXE",
    "-S . -E -Q \"SELECT @@VERSION\"",
    CMD,
    USER,
);
const EXPLORER_EXE: Program = program(EXPLORER, "", "C:\\Windows\\System32\\userinit.exe", USER);
const CMD_EXE: Program = program(CMD, "/c \"C:\\Users\\{user}\\build.cmd\"", EXPLORER, USER);
const POWERSHELL_EXE: Program = program(POWERSHELL, "-NoProfile", EXPLORER, USER);
const NET1: Program = program(
    "C:\\Windows\\System32\\net1.exe",
    "view \\\\{host}",
    "C:\\Windows\\System32\\net.exe",
    USER,
);
const DFSRS: Program = program("C:\\Windows\\System32\\DFSRs.exe", "", SERVICES, SYSTEM);
const VBOX_TRAY: Program = program("C:\\Windows\\System32\\VBoxTray.exe", "", EXPLORER, USER);
const VBOX_SERVICE: Program = program(
    "C:\\Windows\\System32\\VBoxService.exe",
    "",
    SERVICES,
    SYSTEM,
);
const CHROME_EXE: Program = program(CHROME, "", EXPLORER, USER);
const CHROME_RENDERER: Program = program(
    CHROME,
    "--type=renderer --lang=en-US --renderer-client-id={d2} \
     --mojo-platform-channel-handle={d4} /prefetch:1",
    CHROME,
    USER,
);
const MSEDGE_EXE: Program = program(MSEDGE, "--profile-directory=Default", EXPLORER, USER);
const MSEDGE_UTILITY: Program = program(
    MSEDGE,
    "--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US \
     --service-sandbox-type=none --mojo-platform-channel-handle={d4} /prefetch:11",
    MSEDGE,
    USER,
);
const CRASHPAD_HANDLER: Program = program(
    CHROME,
    "--type=crashpad-handler \
     \"--user-data-dir=C:\\Users\\{user}\\AppData\\Local\\Google\\Chrome\\User Data\" \
     /prefetch:7 --monitor-self-annotation=ptype=crashpad-handler",
    CHROME,
    USER,
);

/// The System process acting for a remote SMB client.
const REMOTE_CLIENT: Program = program("System", "", "", Account::Kernel);

/// Pipes of a healthy Windows estate.
#[rustfmt::skip]
static BENIGN: [Profile; 27] = [
    rpc(120, "\\lsass", &[LSASS_EXE], &[WMIPRVSE, DFSRS, EXPLORER_EXE, LANMAN_SERVER]),
    rpc(80, "\\srvsvc", &[LANMAN_SERVER], &[WMIPRVSE, EXPLORER_EXE, NET1]),
    rpc(80, "\\wkssvc", &[LANMAN_WORKSTATION], &[WMIPRVSE, EXPLORER_EXE, NET1]),
    rpc(20, "\\ntsvcs", &[SERVICES_EXE], &[WMIPRVSE, EXPLORER_EXE]),
    rpc(10, "\\scerpc", &[SERVICES_EXE], &[SCHEDULE]),
    rpc(10, "\\eventlog", &[EVENTLOG], &[WMIPRVSE, SERVICES_EXE]),
    rpc(10, "\\spoolss", &[SPOOLSV], &[EXPLORER_EXE]),
    rpc(5, "\\InitShutdown", &[WININIT_EXE], &[SERVICES_EXE]),
    rpc(5, "\\atsvc", &[SCHEDULE], &[POWERSHELL_EXE]),
    rpc(5, "\\epmapper", &[RPCSS], &[LANMAN_SERVER]),
    rpc(5, "\\LSM_API_service", &[LSM], &[TERM_SERVICE]),
    rpc(5, "\\W32TIME_ALT", &[W32TIME], &[]),
    rpc(10, "\\TSVCPIPE-{guid}", &[TERM_SERVICE], &[]),
    rpc(15, "\\MsFteWds", &[SEARCH_INDEXER], &[SEARCH_PROTOCOL_HOST]),
    rpc(5, "\\SQLLocal\\MSSQLSERVER", &[SQLSERVR], &[SQLCMD]),
    rpc(3, "\\MICROSOFT##WID\\tsql\\query", &[WID_SQLSERVR], &[ADFS_HOST]),
    rpc(25, "\\Winsock2\\CatalogChangeListener-{x3}-0", &[DNSCACHE, EVENTLOG, LSASS_EXE], &[]),
    local(20, "\\VBoxTrayIPC-{user}", DOTNET, &[VBOX_TRAY], &[VBOX_SERVICE]),
    local(15, "\\PSHost.133{d15}.{pid}.DefaultAppDomain.powershell", DOTNET, &[POWERSHELL_EXE],
        &[]),
    local(150, "\\mojo.{owner}.{tid}.{d20}", BROWSER, &[CHROME_EXE, CHROME_RENDERER], &[]),
    local(60, "\\LOCAL\\mojo.{owner}.{tid}.{d19}", BROWSER, &[MSEDGE_EXE, MSEDGE_UTILITY], &[]),
    local(20, "\\chrome.{owner}.{d1}.{d9}", BROWSER, &[CHROME_EXE, CHROME_RENDERER], &[]),
    local(15, "\\crashpad_{owner}_{A16}", CRASHPAD, &[CRASHPAD_HANDLER], &[CHROME_RENDERER]),
    local(10, "\\LOCAL\\crashpad_{owner}_{A16}", CRASHPAD, &[MSEDGE_EXE], &[MSEDGE_UTILITY]),
    local(100, ANONYMOUS_PIPE, ANONYMOUS, &[CMD_EXE, POWERSHELL_EXE, EXPLORER_EXE, SCHEDULE], &[]),
    local(5, "\\PIPE_EVENTROOT\\CIMV2SCM EVENT PROVIDER", RPC, &[WMIPRVSE], &[SERVICES_EXE]),
    local(5, "\\fbc.{x15}-{x4}.{x15}", DOTNET, &[DFSRS], &[]),
];

/// A well-known RPC endpoint, which remote clients open too.
const fn rpc(
    weight: u32,
    pipe: &'static str,
    servers: &'static [Program],
    clients: &'static [Program],
) -> Profile {
    Profile {
        weight,
        pipe,
        shape: RPC,
        servers,
        clients,
        remote_per_mille: 50,
    }
}

/// A pipe only local processes open.
const fn local(
    weight: u32,
    pipe: &'static str,
    shape: Shape,
    servers: &'static [Program],
    clients: &'static [Program],
) -> Profile {
    Profile {
        weight,
        pipe,
        shape,
        servers,
        clients,
        remote_per_mille: 0,
    }
}

/// A malicious tool's pipe, opened remotely `remote_per_mille` times in a thousand.
const fn threat(
    family: &'static str,
    pipe: &'static str,
    shape: Shape,
    servers: &'static [Program],
    remote_per_mille: u32,
) -> Threat {
    Threat {
        family,
        profile: Profile {
            weight: 1,
            pipe,
            shape,
            servers,
            clients: &[],
            remote_per_mille,
        },
    }
}

/// Cobalt Strike's default spawn-to process: `rundll32.exe` without arguments.
const SPAWN_TO: Program = program(RUNDLL32, "", POWERSHELL, USER);
const BEACON: Program = program(
    "C:\\Users\\{user}\\AppData\\Local\\Temp\\{a8}.exe",
    "",
    EXPLORER,
    USER,
);
const BEACON_SERVICE: Program = program("C:\\Windows\\{a7}.exe", "", SERVICES, SYSTEM);
const PAYLOAD: Program = program(
    "C:\\Users\\{user}\\Downloads\\payload.exe",
    "",
    EXPLORER,
    USER,
);
const PSEXESVC: Program = program("C:\\Windows\\PSEXESVC.exe", "", SERVICES, SYSTEM);
const PAEXEC: Program = program(
    "C:\\Windows\\PAExec-{peer}-{host}.exe",
    "-service",
    SERVICES,
    SYSTEM,
);
const REMCOM: Program = program("C:\\Windows\\RemComSvc.exe", "", SERVICES, SYSTEM);
const CSEXEC: Program = program("C:\\Windows\\csexecsvc.exe", "", SERVICES, SYSTEM);
const LSREMORA: Program = program(
    "C:\\Windows\\Temp\\{a8}\\lsremora.exe",
    "",
    SERVICES,
    SYSTEM,
);
const CACHEDUMP: Program = program(
    "C:\\Windows\\Temp\\{a8}\\cachedump.exe",
    "",
    SERVICES,
    SYSTEM,
);
const WCE: Program = program("C:\\Windows\\Temp\\wce.exe", "-S", SERVICES, SYSTEM);
const KOH: Program = program("C:\\Users\\{user}\\Desktop\\Koh.exe", "capture", CMD, USER);
const GRUNT: Program = program(
    "C:\\Users\\{user}\\Desktop\\GruntHTTP.exe",
    "",
    EXPLORER,
    USER,
);
const POSHC2: Program = program(
    POWERSHELL,
    "-exec bypass -Noninteractive -windowstyle hidden -e {a40}",
    CMD,
    USER,
);
const ORION: Program = program(
    "C:\\Program Files (x86)\\SolarWinds\\Orion\\SolarWinds.BusinessLayerHost.exe",
    "",
    SERVICES,
    SYSTEM,
);
const REDSUN: Program = program(
    "C:\\Users\\{user}\\Downloads\\RedSun.exe",
    "",
    EXPLORER,
    USER,
);
const DIAGTRACK_EOP: Program = program(
    "C:\\Users\\{user}\\Downloads\\DiagTrackEoP.exe",
    "",
    CMD,
    USER,
);
/// A potato exploit run from a web shell, as the application pool's account.
const POTATO: Program = program(
    "C:\\Users\\Public\\{a6}.exe",
    "-c \"cmd /c whoami > C:\\Users\\Public\\o.txt\"",
    W3WP,
    APP_POOL,
);
const IMPLANTS: &[Program] = &[SPAWN_TO, BEACON, BEACON_SERVICE];
const DROPPED: &[Program] = &[
    PAYLOAD,
    program("C:\\Users\\Public\\{a6}.exe", "", CMD, USER),
    program("C:\\Windows\\Temp\\{a8}.exe", "", SERVICES, SYSTEM),
];

/// Default pipes of the tools the Sigma `pipe_created` rules detect.
#[rustfmt::skip]
static THREATS: [Threat; 50] = [
    threat("Cobalt Strike", "\\MSSE-{d4}-server", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\msagent_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\status_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\postex_{x4}", JOB_OUTPUT, &[SPAWN_TO], 0),
    threat("Cobalt Strike", "\\postex_ssh_{x4}", JOB_OUTPUT, &[SPAWN_TO], 0),
    threat("Cobalt Strike", "\\interprocess_{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\lsarpc_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\samr_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\netlogon_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\wkssvc_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\ntsvcs{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\DserNamePipe{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\SearchTextHarvester{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\mypipe-f{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\windows.update.manager{x3}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\PGMessagePipe{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\MsFteWds{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\f4c3{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\fullduplex_{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\msrpc_{x4}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\win\\msrpc_{x2}", IMPLANT, IMPLANTS, 300),
    threat("Cobalt Strike", "\\mojo.5688.8052.183894939787088877{x2}", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\Winsock2\\CatalogChangeListener-{x3}-0,", IMPLANT, IMPLANTS, 0),
    threat("Cobalt Strike", "\\demoagent_11", IMPLANT, IMPLANTS, 0),
    threat("PsExec", "\\PSEXESVC", SERVICE, &[PSEXESVC], 800),
    threat("PAExec", "\\PAExec-{peer}-{host}", SERVICE, &[PAEXEC], 800),
    threat("RemCom", "\\RemCom_communicaton", SERVICE, &[REMCOM], 800),
    threat("CSExec", "\\csexecsvc", SERVICE, &[CSEXEC], 800),
    threat("CrackMapExec", "\\svcctl", SERVICE, &[BEACON_SERVICE], 800),
    threat("fgdump", "\\lsadump", SERVICE, &[LSREMORA], 800),
    threat("fgdump", "\\cachedump", SERVICE, &[CACHEDUMP], 800),
    threat("Windows Credentials Editor", "\\wceservicepipe", SERVICE, &[WCE], 0),
    threat("Koh", "\\imposecost", SERVICE, &[KOH], 0),
    threat("Covenant", "\\gruntsvc", IMPLANT, &[GRUNT], 300),
    threat("PoshC2", "\\jaccdpqnvbrrxlaf", IMPLANT, &[POSHC2], 0),
    threat("PoshC2", "\\Posh{a8}", IMPLANT, DROPPED, 0),
    threat("SUNBURST", "\\583da945-62af-10e8-4902-a8f205c72b2e", SERVICE, &[ORION], 0),
    threat("Turla", "\\atctl", IMPLANT, DROPPED, 0),
    threat("Turla", "\\comnap", IMPLANT, DROPPED, 300),
    threat("Turla", "\\sdlrpc", IMPLANT, DROPPED, 300),
    threat("Qbot", "\\dce_3d", IMPLANT, DROPPED, 0),
    threat("Project Sauron", "\\rpchlp_3", IMPLANT, DROPPED, 300),
    threat("Uroburos", "\\isapi_http", IMPLANT, DROPPED, 300),
    threat("Equation Group", "\\pcheap_reuse", IMPLANT, DROPPED, 0),
    threat("Hyperbro", "\\testPipe", IMPLANT, DROPPED, 0),
    threat("RedSun", "\\REDSUN", SERVICE, &[REDSUN], 0),
    threat("CoercedPotato", "\\coerced\\pipe\\spoolss", RPC, &[POTATO], 0),
    threat("EfsPotato", "\\{guid}\\pipe\\srvsvc", RPC, &[POTATO], 0),
    threat("DiagTrackEoP", "\\thisispipe", SERVICE, &[DIAGTRACK_EOP], 0),
    threat(
        "PowerShell alternate host",
        "\\PSHost.133{d15}.{pid}.DefaultAppDomain.payload",
        DOTNET,
        &[PAYLOAD],
        0,
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn config(seed: u64) -> SynthConfig {
        SynthConfig {
            seed,
            malicious_per_mille: 200,
            connect_per_mille: 500,
        }
    }

    #[test]
    fn splitmix64_reference_output() {
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<_> = Generator::new(config(7)).take(2000).collect();
        let b: Vec<_> = Generator::new(config(7)).take(2000).collect();
        let c: Vec<_> = Generator::new(config(8)).take(2000).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn fill_equals_next() {
        let mut by_next = Generator::new(config(3));
        let mut by_fill = Generator::new(config(3));
        let mut ev = PipeEvent::default();
        for _ in 0..20_000 {
            by_fill.fill(&mut ev);
            assert_eq!(by_next.next().as_ref(), Some(&ev));
            assert_eq!(by_next.last_family(), by_fill.last_family());
        }
    }

    #[test]
    fn shares_follow_the_config() {
        let mut gen = Generator::new(SynthConfig::default());
        let (mut malicious, mut connects) = (0, 0);
        for _ in 0..100_000 {
            let ev = gen.next().expect("endless");
            malicious += usize::from(gen.last_was_malicious());
            connects += usize::from(ev.kind == EventKind::Connect);
        }
        assert!((400..=600).contains(&malicious), "{malicious} malicious");
        assert!((48_500..=51_500).contains(&connects), "{connects} connects");
    }

    /// Whether `expand` could turn `pattern` into `name`.
    fn could_expand_to(pattern: &str, name: &str) -> bool {
        let Some(open) = pattern.find('{') else {
            return pattern == name;
        };
        let Some(rest) = name.strip_prefix(&pattern[..open]) else {
            return false;
        };
        let close = open + pattern[open..].find('}').expect("closed placeholder");
        let placeholder = &pattern[open + 1..close];
        let class: fn(char) -> bool = match placeholder {
            "pid" | "owner" | "peer" | "tid" => |c| c.is_ascii_digit(),
            "guid" => |c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c),
            "user" | "host" => |c| c != '\\',
            _ => match &placeholder[..1] {
                "d" => |c| c.is_ascii_digit(),
                "x" => |c| c.is_ascii_digit() || ('a'..='f').contains(&c),
                "A" => |c| c.is_ascii_uppercase(),
                _ => |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            },
        };
        let len = placeholder[1..]
            .parse()
            .unwrap_or_else(|_| rest.find(|c| !class(c)).unwrap_or(rest.len()));
        rest.get(..len)
            .is_some_and(|taken| !taken.is_empty() && taken.chars().all(class))
            && could_expand_to(&pattern[close + 1..], &rest[len..])
    }

    #[test]
    fn pattern_matcher_for_tests() {
        assert!(could_expand_to("\\status_{x2}", "\\status_a9"));
        assert!(!could_expand_to("\\status_{x2}", "\\status_A9"));
        assert!(!could_expand_to("\\ntsvcs{x2}", "\\ntsvcs"));
        assert!(could_expand_to(
            "\\PAExec-{peer}-{host}",
            "\\PAExec-1234-FS01"
        ));
        assert!(could_expand_to(
            "\\{guid}\\pipe\\srvsvc",
            "\\0f-a\\pipe\\srvsvc"
        ));
    }

    #[test]
    fn malicious_events_carry_known_indicators() {
        // Substrings from the Sigma `pipe_created` rules.
        const INDICATORS: &[&str] = &[
            "\\MSSE-",
            "\\msagent_",
            "\\status_",
            "\\postex_",
            "\\interprocess_",
            "\\lsarpc_",
            "\\samr_",
            "\\netlogon_",
            "\\wkssvc_",
            "\\ntsvcs",
            "\\DserNamePipe",
            "\\SearchTextHarvester",
            "\\mypipe-f",
            "\\windows.update.manager",
            "\\PGMessagePipe",
            "\\MsFteWds",
            "\\f4c3",
            "\\fullduplex_",
            "\\msrpc_",
            "\\mojo.5688.8052.",
            "\\Winsock2\\CatalogChangeListener-",
            "\\demoagent_11",
            "\\PSEXESVC",
            "\\PAExec",
            "\\RemCom",
            "\\csexecsvc",
            "\\svcctl",
            "\\lsadump",
            "\\cachedump",
            "\\wceservicepipe",
            "\\imposecost",
            "\\gruntsvc",
            "\\jaccdpqnvbrrxlaf",
            "\\Posh",
            "\\583da945-62af-10e8-4902-a8f205c72b2e",
            "\\atctl",
            "\\comnap",
            "\\sdlrpc",
            "\\dce_3d",
            "\\rpchlp_3",
            "\\isapi_http",
            "\\pcheap_reuse",
            "\\testPipe",
            "\\REDSUN",
            "\\coerced\\",
            "\\pipe\\srvsvc",
            "thisispipe",
            "\\PSHost",
        ];
        let mut gen = Generator::new(config(11));
        let mut families = BTreeSet::new();
        for _ in 0..50_000 {
            let ev = gen.next().expect("endless");
            let name = ev.pipe_name.expect("pipe name");
            match gen.last_family() {
                Some(family) => {
                    assert!(
                        INDICATORS.iter().any(|i| name.contains(i)),
                        "{family}: {name}"
                    );
                    families.insert(family);
                }
                None => {
                    let threat = THREATS
                        .iter()
                        .find(|t| could_expand_to(t.profile.pipe, &name));
                    assert!(threat.is_none(), "benign {name}");
                }
            }
        }
        let all: BTreeSet<_> = THREATS.iter().map(|t| t.family).collect();
        assert_eq!(families, all);
    }

    #[test]
    fn fields_are_consistent() {
        for ev in Generator::new(config(5)).take(50_000) {
            let create = ev.kind == EventKind::Create;
            assert_eq!(ev.pipe_type.is_some(), create);
            assert_eq!(ev.default_timeout.is_some(), create);
            if let (Some(pipe_type), Some(read_mode)) = (ev.pipe_type, ev.read_mode) {
                assert!(pipe_type <= 3);
                assert_eq!(
                    read_mode,
                    pipe_type & 1,
                    "message read mode needs a message pipe"
                );
            }
            if let Some(max) = ev.max_instances {
                assert!((1..=254).contains(&max) || max == FILE_PIPE_UNLIMITED_INSTANCES);
            }
            let integrity = ev.integrity_level.expect("integrity");
            assert!([MEDIUM_INTEGRITY, HIGH_INTEGRITY, SYSTEM_INTEGRITY].contains(&integrity));
            let remote = ev.remote_client.expect("remote_client");
            assert!(!remote || !create);
            assert_eq!(remote, ev.image_path.as_deref() == Some("System"));
            assert_eq!(remote, ev.process_id == Some(4));
            let command_line = ev.command_line.expect("command line");
            let image = ev.image_path.expect("image");
            assert!(command_line.trim_start_matches('"').starts_with(&image) || remote);
            for s in [
                &image,
                &command_line,
                ev.pipe_name.as_ref().expect("pipe name"),
            ] {
                assert!(!s.contains(['{', '}']), "unexpanded pattern in {s}");
            }
        }
    }

    #[test]
    fn images_vary_in_case() {
        let images: Vec<_> = Generator::new(config(9))
            .take(5000)
            .filter_map(|ev| ev.image_path)
            .collect();
        for prefix in [
            "C:\\Windows\\System32\\",
            "C:\\WINDOWS\\system32\\",
            "C:\\windows\\system32\\",
        ] {
            assert!(images.iter().any(|i| i.starts_with(prefix)), "{prefix}");
        }
    }

    #[test]
    fn patterns_expand() {
        let ctx = Context {
            pid: 1234,
            parent_pid: 8,
            owner: 5678,
            peer: 42,
            user: "CONTOSO\\j.smith",
            host: "FS01",
            session: 1,
            integrity: 0x2000,
        };
        let mut rng = SplitMix64(1);
        let mut out = String::new();
        let mut check = |pattern: &str, expected: Option<&str>| {
            out.clear();
            expand(&mut out, pattern, &ctx, &mut rng);
            match expected {
                Some(expected) => assert_eq!(out, expected),
                None => assert!(could_expand_to(pattern, &out), "{pattern}: {out}"),
            }
        };
        check("\\VBoxTrayIPC-{user}", Some("\\VBoxTrayIPC-j.smith"));
        check("\\PAExec-{peer}-{host}", Some("\\PAExec-42-FS01"));
        check("\\PSHost.133{d15}.{pid}.DefaultAppDomain.powershell", None);
        check("\\mojo.{owner}.{tid}.{d20}", None);
        check("\\TSVCPIPE-{guid}", None);
        check("\\crashpad_{owner}_{A16}", None);
        check("{unknown}{d}{", Some("{unknown}{d}{"));
        for profile in BENIGN.iter().chain(THREATS.iter().map(|t| &t.profile)) {
            check(profile.pipe, None);
        }
    }
}
