//! Compiled channel files from `test-driver/fixtures/`, held 8-byte aligned, and pipe events
//! in the C ABI's shape.
#![allow(dead_code)]

use std::path::PathBuf;

use sensor_core::schema::ipc;
use sensor_ffi::{SensorUnicodeString, SensorValue, SENSOR_VALUE_INT, SENSOR_VALUE_STR};

/// Every fixture, oldest first.
pub const STEMS: [&str; 6] = [
    "C-00000291-2024-03-05",
    "C-00000291-2024-04-08",
    "C-00000291-2024-04-16",
    "C-00000291-2024-04-24",
    "C-00000291-2024-07-19-0409",
    "C-00000291-2024-07-19-0527",
];

/// The file sensor 7.11 must refuse (rule IPC-0006 reads field 20).
pub const JULY_0409: &str = "C-00000291-2024-07-19-0409";
/// The March/April content as it stood on 24 April: four instances, wildcard on field 21.
pub const APRIL_24: &str = "C-00000291-2024-04-24";

pub fn fixture_path(stem: &str) -> PathBuf {
    super::header::root()
        .join("test-driver/fixtures")
        .join(format!("{stem}.sys"))
}

/// A channel file copied into its own 8-byte-aligned heap buffer.
pub struct Content {
    words: Vec<u64>,
    len: usize,
}

impl Content {
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (i, b) in bytes.iter().enumerate() {
            words[i / 8] |= u64::from(*b) << (8 * (i % 8));
        }
        Self {
            words,
            len: bytes.len(),
        }
    }

    pub fn fixture(stem: &str) -> Self {
        let path = fixture_path(stem);
        Self::new(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    pub fn ptr(&self) -> *const u8 {
        self.words.as_ptr().cast()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }
    }

    /// Overwrites every byte (what a driver's pool would do after ExFreePool).
    pub fn scribble(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }
}

/// One input value, owned.
#[derive(Clone, Debug)]
pub enum V {
    Int(u64),
    Str(&'static str),
}

/// A pipe event: input values by field, in the C ABI's shape, owning its UTF-16 strings.
pub struct Event {
    strings: Vec<Vec<u16>>,
    pub values: Vec<SensorValue>,
}

impl Event {
    /// An event with `count` fields (20 for sensor 7.11, 21 for the fixed build), absent unless
    /// given.
    pub fn new(count: usize, given: &[(usize, V)]) -> Self {
        let mut strings = Vec::new();
        let mut values = vec![
            SensorValue {
                kind: 0,
                reserved: 0,
                integer: 0,
                string: SensorUnicodeString {
                    Length: 0,
                    MaximumLength: 0,
                    Buffer: std::ptr::null(),
                },
            };
            count
        ];
        for (field, v) in given {
            let Some(slot) = values.get_mut(*field) else {
                continue;
            };
            match v {
                V::Int(n) => {
                    slot.kind = SENSOR_VALUE_INT;
                    slot.integer = *n;
                }
                V::Str(s) => {
                    let units: Vec<u16> = s.encode_utf16().collect();
                    let bytes = u16::try_from(units.len() * 2).expect("short string");
                    slot.kind = SENSOR_VALUE_STR;
                    slot.string = SensorUnicodeString {
                        Length: bytes,
                        MaximumLength: bytes,
                        Buffer: units.as_ptr(),
                    };
                    strings.push(units);
                }
            }
        }
        Self { strings, values }
    }
}

/// A named pipe event of the kinds the incident content looks at.
pub fn pipe(
    count: usize,
    kind: u64,
    pipe: &'static str,
    image: &'static str,
    remote: u64,
) -> Event {
    Event::new(
        count,
        &[
            (ipc::EVENT_KIND, V::Int(kind)),
            (ipc::PIPE_NAME, V::Str(pipe)),
            (ipc::IMAGE_PATH, V::Str(image)),
            (ipc::PROCESS_ID, V::Int(4242)),
            (ipc::SESSION_ID, V::Int(1)),
            (ipc::REMOTE_CLIENT, V::Int(remote)),
        ],
    )
}

/// Probe events, each hitting a different rule of the incident content (or none).
pub fn probes(count: usize) -> Vec<Event> {
    vec![
        // IPC-0001: \PSHost... from a user-writable directory.
        pipe(
            count,
            1,
            r"\PSHost.133.4242.DefaultAppDomain.powershell",
            r"C:\Users\eve\AppData\Local\Temp\ps.exe",
            0,
        ),
        // IPC-0002: \srvsvc from rundll32.
        pipe(count, 1, r"\srvsvc", r"C:\Windows\System32\rundll32.exe", 0),
        // IPC-0003: PsExec service pipe, connect.
        pipe(
            count,
            2,
            r"\PSEXESVC-HOST-4242-stdin",
            r"C:\Tools\psexec.exe",
            0,
        ),
        // IPC-0004: hexadecimal pipe name (regex automaton).
        pipe(count, 1, r"\1a2b3c4d-9f0e", r"C:\Windows\explorer.exe", 0),
        // IPC-0005 (July content only): C2 default pipe.
        pipe(
            count,
            1,
            r"\postex_8a1f",
            r"C:\Windows\System32\svchost.exe",
            0,
        ),
        // IPC-0005 and IPC-0006 (July content only): remote SMB client connecting to it.
        pipe(
            count,
            2,
            r"\gruntsvc",
            r"C:\Windows\System32\svchost.exe",
            1,
        ),
        // Nothing.
        pipe(
            count,
            1,
            r"\mojo.4242.1234.5678",
            r"C:\Program Files\Browser\browser.exe",
            0,
        ),
    ]
}
