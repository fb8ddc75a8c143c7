//! A reproducible stream of named-pipe events, built in fixed buffers (no heap), handed to the
//! interpreter as `UNICODE_STRING`-shaped values, and the verdict each event must get.
//!
//! Each event comes from a template: a kind of pipe activity (a PowerShell host pipe in a temp
//! directory, PsExec's service pipe, a browser's Mojo pipe, a C2 framework pipe reached over
//! SMB, ...). A template says which incident rules it matches when the content holds them, read
//! off the rule sources by hand (`sensor-host/content/incident/*.toml`): this is the test's
//! oracle, independent of the interpreter.

use core::ptr;

use sensor_core::schema::ipc;
use sensor_core::Value;
use sensor_ffi::{SensorUnicodeString, SensorValue, SENSOR_VALUE_INT, SENSOR_VALUE_STR};

/// Fields of the IPC template type.
pub const FIELDS: usize = 21;

/// A UTF-16 string in a fixed buffer.
#[derive(Clone, Copy)]
pub struct Utf16<const N: usize> {
    units: [u16; N],
    len: usize,
}

impl<const N: usize> Default for Utf16<N> {
    fn default() -> Self {
        Self {
            units: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> Utf16<N> {
    /// Empties the string.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `s` (truncating at capacity).
    pub fn push(&mut self, s: &str) -> &mut Self {
        for unit in s.encode_utf16() {
            if self.len < N {
                self.units[self.len] = unit;
                self.len += 1;
            }
        }
        self
    }

    /// Appends `value` as `digits` lower-case hexadecimal digits.
    pub fn hex(&mut self, value: u64, digits: u32) -> &mut Self {
        for i in (0..digits).rev() {
            let nibble = ((value >> (4 * i)) & 0xF) as u8;
            let c = if nibble < 10 {
                b'0' + nibble
            } else {
                b'a' + nibble - 10
            };
            if self.len < N {
                self.units[self.len] = u16::from(c);
                self.len += 1;
            }
        }
        self
    }

    /// Appends `value` in decimal.
    pub fn dec(&mut self, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in digits[..count].iter().rev() {
            if self.len < N {
                self.units[self.len] = u16::from(d);
                self.len += 1;
            }
        }
        self
    }

    /// The code units.
    pub fn units(&self) -> &[u16] {
        &self.units[..self.len]
    }

    fn value(&self) -> SensorValue {
        let bytes = (self.len * 2) as u16;
        SensorValue {
            kind: SENSOR_VALUE_STR,
            reserved: 0,
            integer: 0,
            string: SensorUnicodeString {
                Length: bytes,
                MaximumLength: (N * 2) as u16,
                Buffer: self.units.as_ptr(),
            },
        }
    }
}

fn int(value: u64) -> SensorValue {
    SensorValue {
        kind: SENSOR_VALUE_INT,
        reserved: 0,
        integer: value,
        string: SensorUnicodeString {
            Length: 0,
            MaximumLength: 0,
            Buffer: ptr::null(),
        },
    }
}

/// A kind of pipe activity, and the incident rules it matches when the content holds them.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    /// Short name, for reports.
    pub name: &'static str,
    /// Rule ids matched by a sensor that supplies 20 fields (7.11).
    pub matches_20: &'static [&'static str],
    /// Rule ids matched by a sensor that supplies all 21 fields.
    pub matches_21: &'static [&'static str],
}

/// Every template; [`Stream`] picks among them uniformly.
pub static TEMPLATES: [Template; 14] = [
    // IPC-0001: pipe begins \PSHost or \msagent_, image contains \AppData\ or \Temp\.
    Template {
        name: "powershell-host-in-temp",
        matches_20: &["IPC-0001"],
        matches_21: &["IPC-0001"],
    },
    Template {
        name: "msagent-from-appdata",
        matches_20: &["IPC-0001"],
        matches_21: &["IPC-0001"],
    },
    Template {
        name: "powershell-host-system32",
        matches_20: &[],
        matches_21: &[],
    },
    // IPC-0002: pipe ends \srvsvc or \spoolss, image rundll32/regsvr32/mshta.
    Template {
        name: "srvsvc-from-rundll32",
        matches_20: &["IPC-0002"],
        matches_21: &["IPC-0002"],
    },
    Template {
        name: "spoolss-from-mshta",
        matches_20: &["IPC-0002"],
        matches_21: &["IPC-0002"],
    },
    Template {
        name: "srvsvc-from-svchost",
        matches_20: &[],
        matches_21: &[],
    },
    // IPC-0003: pipe begins \PSEXESVC, \RemCom or \PAExec, and it is a connect.
    Template {
        name: "psexec-connect",
        matches_20: &["IPC-0003"],
        matches_21: &["IPC-0003"],
    },
    Template {
        name: "remcom-create",
        matches_20: &[],
        matches_21: &[],
    },
    // IPC-0004: pipe matches ^\\[0-9a-f]{8}-[0-9a-f]{4}$ (case-sensitive).
    Template {
        name: "hex-pipe",
        matches_20: &["IPC-0004"],
        matches_21: &["IPC-0004"],
    },
    Template {
        name: "hex-pipe-too-long",
        matches_20: &[],
        matches_21: &[],
    },
    Template {
        name: "browser-mojo",
        matches_20: &[],
        matches_21: &[],
    },
    // IPC-0005: pipe contains \gruntsvc, \postex_ or \status_. IPC-0006: the same, a connect,
    // and remote_client (field 21) is 1: only a sensor that supplies field 21 can match it.
    Template {
        name: "gruntsvc-remote-connect",
        matches_20: &["IPC-0005"],
        matches_21: &["IPC-0005", "IPC-0006"],
    },
    Template {
        name: "postex-create",
        matches_20: &["IPC-0005"],
        matches_21: &["IPC-0005"],
    },
    Template {
        name: "lsass-local",
        matches_20: &[],
        matches_21: &[],
    },
];

/// One event, its strings in fixed buffers.
#[derive(Clone, Copy, Default)]
pub struct Event {
    /// Index into [`TEMPLATES`].
    pub template: usize,
    kind: u64,
    pipe: Utf16<64>,
    image: Utf16<96>,
    user: Utf16<40>,
    command_line: Utf16<128>,
    parent_image: Utf16<96>,
    pid: u64,
    ppid: u64,
    integrity: u64,
    pipe_type: u64,
    desired_access: u64,
    remote: u64,
}

impl Event {
    /// The template this event came from.
    pub fn template(&self) -> &'static Template {
        &TEMPLATES[self.template]
    }

    /// The event as the interpreter's input array: all 21 fields; a sensor that supplies 20
    /// passes the first 20.
    pub fn values(&self) -> [SensorValue; FIELDS] {
        let mut v = [int(0); FIELDS];
        v[ipc::EVENT_KIND] = int(self.kind);
        v[ipc::PIPE_NAME] = self.pipe.value();
        v[ipc::IMAGE_PATH] = self.image.value();
        v[ipc::PROCESS_ID] = int(self.pid);
        v[ipc::PARENT_PROCESS_ID] = int(self.ppid);
        v[ipc::SESSION_ID] = int(1);
        v[ipc::USER] = self.user.value();
        v[ipc::INTEGRITY_LEVEL] = int(self.integrity);
        v[ipc::PIPE_TYPE] = int(self.pipe_type);
        v[ipc::READ_MODE] = int(self.pipe_type & 1);
        v[ipc::COMPLETION_MODE] = int(0);
        v[ipc::MAX_INSTANCES] = int(255);
        v[ipc::INBOUND_QUOTA] = int(4096);
        v[ipc::OUTBOUND_QUOTA] = int(4096);
        v[ipc::DEFAULT_TIMEOUT] = int(500_000);
        v[ipc::DESIRED_ACCESS] = int(self.desired_access);
        v[ipc::SHARE_ACCESS] = int(3);
        v[ipc::CREATE_DISPOSITION] = int(if self.kind == 1 { 2 } else { 1 });
        v[ipc::COMMAND_LINE] = self.command_line.value();
        v[ipc::PARENT_IMAGE] = self.parent_image.value();
        v[ipc::REMOTE_CLIENT] = int(self.remote);
        v
    }
}

impl Event {
    /// The event as the core's own input array (for measuring the core without the C ABI).
    pub fn core_values(&self) -> [Value<'_>; FIELDS] {
        let mut v = [Value::Int(0); FIELDS];
        for (slot, c) in v.iter_mut().zip(self.values()) {
            *slot = match c.kind {
                SENSOR_VALUE_INT => Value::Int(c.integer),
                SENSOR_VALUE_STR => Value::Str(match c.string.Buffer {
                    b if b == self.pipe.units.as_ptr() => self.pipe.units(),
                    b if b == self.image.units.as_ptr() => self.image.units(),
                    b if b == self.user.units.as_ptr() => self.user.units(),
                    b if b == self.command_line.units.as_ptr() => self.command_line.units(),
                    _ => self.parent_image.units(),
                }),
                _ => Value::Absent,
            };
        }
        v
    }
}

/// xorshift64*: reproducible, no state beyond one word.
#[derive(Clone, Copy, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random word.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const USERS: [&str; 4] = ["alice", "bob", "svc_backup", "eve"];
const HOSTS: [&str; 3] = ["WS-0142", "SRV-DC01", "LAPTOP-7Q"];

/// An endless, reproducible stream of events.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    rng: Rng,
}

impl Stream {
    /// The stream for `seed` (non-zero).
    pub fn new(seed: u64) -> Self {
        Self { rng: Rng(seed | 1) }
    }

    /// Overwrites `e` with the next event.
    pub fn fill(&mut self, e: &mut Event) {
        let r = &mut self.rng;
        let t = r.below(TEMPLATES.len() as u64) as usize;
        let user = USERS[r.below(USERS.len() as u64) as usize];
        let host = HOSTS[r.below(HOSTS.len() as u64) as usize];
        e.template = t;
        e.pid = 1000 + r.below(60_000);
        e.ppid = 4 + r.below(10_000);
        e.integrity = [0x2000, 0x3000, 0x4000][r.below(3) as usize];
        e.pipe_type = r.below(4);
        e.desired_access = [0x0012_019F, 0x0012_0089, 0x001F_01FF][r.below(3) as usize];
        e.remote = 0;
        e.kind = 1;
        for s in [&mut e.image, &mut e.parent_image] {
            s.clear();
        }
        e.pipe.clear();
        e.user.clear();
        e.command_line.clear();
        e.user.push(host).push("\\").push(user);
        e.parent_image.push(r"C:\Windows\explorer.exe");
        let tag = r.next_u64();
        match t {
            0 => {
                e.pipe
                    .push(r"\PSHost.")
                    .dec(133_000_000 + tag % 1_000_000)
                    .push(".")
                    .dec(e.pid)
                    .push(".DefaultAppDomain.powershell");
                e.image
                    .push(r"C:\Users\")
                    .push(user)
                    .push(r"\AppData\Local\Temp\")
                    .hex(tag, 8)
                    .push(r"\pwsh.exe");
            }
            1 => {
                e.pipe.push(r"\msagent_").hex(tag, 2);
                e.image
                    .push(r"C:\Users\")
                    .push(user)
                    .push(r"\AppData\Roaming\")
                    .hex(tag >> 8, 4)
                    .push(".exe");
            }
            2 => {
                e.pipe
                    .push(r"\PSHost.")
                    .dec(133_000_000 + tag % 1_000_000)
                    .push(".")
                    .dec(e.pid)
                    .push(".DefaultAppDomain.powershell");
                e.image
                    .push(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe");
            }
            3 => {
                e.pipe.push(r"\srvsvc");
                e.image.push(r"C:\Windows\System32\rundll32.exe");
                e.command_line
                    .push(r"rundll32.exe C:\Users\Public\")
                    .hex(tag, 6)
                    .push(".dll,Start");
            }
            4 => {
                e.pipe.push(r"\spoolss");
                e.image.push(r"C:\Windows\SysWOW64\MSHTA.EXE");
            }
            5 => {
                e.pipe.push(r"\srvsvc");
                e.image.push(r"C:\Windows\System32\svchost.exe");
                e.command_line
                    .push(r"C:\Windows\system32\svchost.exe -k netsvcs -p");
            }
            6 => {
                e.kind = 2;
                e.pipe
                    .push(r"\PSEXESVC-")
                    .push(host)
                    .push("-")
                    .dec(e.pid)
                    .push("-stdin");
                e.image.push(r"C:\Windows\PSEXESVC.exe");
            }
            7 => {
                e.pipe.push(r"\RemCom_communicaton");
                e.image.push(r"C:\Windows\RemComSvc.exe");
            }
            8 => {
                e.pipe.push(r"\").hex(tag, 8).push("-").hex(tag >> 32, 4);
                e.image
                    .push(r"C:\ProgramData\")
                    .hex(tag >> 16, 6)
                    .push(".exe");
            }
            9 => {
                e.pipe.push(r"\").hex(tag, 8).push("-").hex(tag >> 32, 5);
                e.image.push(r"C:\Windows\System32\svchost.exe");
            }
            10 => {
                e.pipe
                    .push(r"\mojo.")
                    .dec(e.pid)
                    .push(".")
                    .dec(tag % 100_000)
                    .push(".")
                    .dec(tag >> 40);
                e.image
                    .push(r"C:\Program Files\Google\Chrome\Application\chrome.exe");
            }
            11 => {
                e.kind = 2;
                e.remote = 1;
                e.pipe.push(r"\gruntsvc");
                e.image.push(r"C:\Windows\System32\svchost.exe");
            }
            12 => {
                e.pipe.push(r"\postex_").hex(tag, 4);
                e.image.push(r"C:\Windows\System32\rundll32.exe");
            }
            _ => {
                e.pipe.push(r"\lsass");
                e.image.push(r"C:\Windows\System32\lsass.exe");
            }
        }
    }
}
