//! A writer of small Windows event logs (`.evtx`) for tests.
//!
//! No real Sysmon `.evtx` file is in the corpus, and none may be copied in, so the tests write
//! their own: a minimal log in the EVTX layout (file header, one chunk, records of BinXML
//! fragments whose element and attribute names are written inline, with the checksums the
//! format requires), holding Sysmon records as Windows lays out their XML. Reading them back is
//! all the `evtx` crate's work.

#![allow(dead_code)]

use sensor_core::crc32::crc32;
use sensor_host::evtx::SYSMON_PROVIDER;

pub const FILE_HEADER: usize = 4096;
pub const CHUNK: usize = 65536;
const CHUNK_HEADER: usize = 512;
const RECORD_HEADER: usize = 24;

/// BinXML written at a known offset in its chunk, so inline names can point at themselves.
struct BinXml {
    bytes: Vec<u8>,
    base: usize,
}

impl BinXml {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }

    fn utf16(&mut self, s: &str) -> &mut Self {
        s.encode_utf16().for_each(|u| {
            self.u16(u);
        });
        self
    }

    /// A name: its chunk offset, which is right after, then next-name offset, hash, length,
    /// the characters and a NUL.
    fn name(&mut self, name: &str) -> &mut Self {
        let at = (self.base + self.bytes.len() + 4) as u32;
        let units = name.encode_utf16().count() as u16;
        self.u32(at).u32(0).u16(0).u16(units).utf16(name).u16(0)
    }

    /// A string value.
    fn text(&mut self, text: &str) -> &mut Self {
        let units = text.encode_utf16().count() as u16;
        self.u8(0x05).u8(0x01).u16(units).utf16(text)
    }

    /// An element start with its attributes, then its content, then its end.
    fn element(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
        content: impl FnOnce(&mut Self),
    ) {
        let token = if attributes.is_empty() { 0x01 } else { 0x41 };
        self.u8(token).u32(0).name(name);
        if !attributes.is_empty() {
            self.u32(0);
            for (i, (attribute, value)) in attributes.iter().enumerate() {
                let more = i + 1 < attributes.len();
                self.u8(if more { 0x46 } else { 0x06 })
                    .name(attribute)
                    .text(value);
            }
        }
        let before = self.bytes.len();
        self.u8(0x02);
        content(self);
        if self.bytes.len() == before + 1 {
            self.bytes[before] = 0x03;
        } else {
            self.u8(0x04);
        }
    }
}

/// One record: provider, event ID, and its `EventData` as `Data Name=...` elements.
pub struct Record<'a> {
    pub provider: &'a str,
    pub id: u16,
    pub data: &'a [(&'a str, &'a str)],
}

fn record_xml(record: &Record<'_>, record_id: u64, base: usize) -> Vec<u8> {
    let mut xml = BinXml {
        bytes: Vec::new(),
        base,
    };
    xml.u8(0x0f).u8(1).u8(1).u8(0);
    let ns = [(
        "xmlns",
        "http://schemas.microsoft.com/win/2004/08/events/event",
    )];
    xml.element("Event", &ns, |x| {
        x.element("System", &[], |x| {
            x.element("Provider", &[("Name", record.provider)], |_| {});
            x.element("EventID", &[], |x| {
                x.text(&record.id.to_string());
            });
            x.element("EventRecordID", &[], |x| {
                x.text(&record_id.to_string());
            });
            x.element("Computer", &[], |x| {
                x.text("wks7.contoso.local");
            });
        });
        x.element("EventData", &[], |x| {
            for (name, value) in record.data {
                x.element("Data", &[("Name", name)], |x| {
                    x.text(value);
                });
            }
        });
    });
    xml.u8(0x00);
    xml.bytes
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A one-chunk event log holding `records`, with record IDs from 1.
pub fn event_log(records: &[Record<'_>]) -> Vec<u8> {
    let mut file = vec![0u8; FILE_HEADER + CHUNK];
    put(&mut file, 0, b"ElfFile\0");
    put(&mut file, 24, &(records.len() as u64 + 1).to_le_bytes());
    put(&mut file, 32, &128u32.to_le_bytes());
    put(&mut file, 36, &1u16.to_le_bytes());
    put(&mut file, 38, &3u16.to_le_bytes());
    put(&mut file, 40, &(FILE_HEADER as u16).to_le_bytes());
    put(&mut file, 42, &1u16.to_le_bytes());
    let checksum = crc32(&file[..120]);
    put(&mut file, 124, &checksum.to_le_bytes());

    let chunk = &mut file[FILE_HEADER..];
    let mut at = CHUNK_HEADER;
    let mut last = at;
    for (i, record) in records.iter().enumerate() {
        let id = i as u64 + 1;
        let xml = record_xml(record, id, at + RECORD_HEADER);
        let size = RECORD_HEADER + xml.len() + 4;
        put(chunk, at, b"**\0\0");
        put(chunk, at + 4, &(size as u32).to_le_bytes());
        put(chunk, at + 8, &id.to_le_bytes());
        put(chunk, at + 16, &134_000_000_000_000_000u64.to_le_bytes());
        put(chunk, at + RECORD_HEADER, &xml);
        put(chunk, at + size - 4, &(size as u32).to_le_bytes());
        last = at;
        at += size;
    }
    put(chunk, 0, b"ElfChnk\0");
    let count = records.len() as u64;
    for (offset, value) in [(8, 1), (16, count), (24, 1), (32, count)] {
        put(chunk, offset, &value.to_le_bytes());
    }
    put(chunk, 40, &128u32.to_le_bytes());
    put(chunk, 44, &(last as u32).to_le_bytes());
    put(chunk, 48, &(at as u32).to_le_bytes());
    let data_checksum = crc32(&chunk[CHUNK_HEADER..at]);
    put(chunk, 52, &data_checksum.to_le_bytes());
    let header: Vec<u8> = [&chunk[..120], &chunk[128..CHUNK_HEADER]].concat();
    put(chunk, 124, &crc32(&header).to_le_bytes());
    file
}

pub const REDSUN: [(&str, &str); 8] = [
    ("RuleName", "-"),
    ("EventType", "CreatePipe"),
    ("UtcTime", "2026-04-20 10:00:00.000"),
    ("ProcessGuid", "{b669e388-a0f3-5edf-5d00-000000000300}"),
    ("ProcessId", "15596"),
    ("PipeName", "\\REDSUN"),
    ("Image", "C:\\Users\\x\\Downloads\\RedSun.exe"),
    ("User", "WKS7\\x"),
];

pub const SRVSVC: [(&str, &str); 6] = [
    ("EventType", "ConnectPipe"),
    ("UtcTime", "2026-04-20 10:00:01.000"),
    ("ProcessId", "4204"),
    ("PipeName", "\\srvsvc"),
    ("Image", "C:\\windows\\system32\\wbem\\wmiprvse.exe"),
    ("User", "NT AUTHORITY\\SYSTEM"),
];

pub const PSEXESVC: [(&str, &str); 4] = [
    ("EventType", "CreatePipe"),
    ("ProcessId", "700"),
    ("PipeName", "\\PSEXESVC"),
    ("Image", "C:\\Windows\\PSEXESVC.exe"),
];

pub fn sample_log() -> Vec<u8> {
    event_log(&[
        Record {
            provider: SYSMON_PROVIDER,
            id: 17,
            data: &REDSUN,
        },
        Record {
            provider: SYSMON_PROVIDER,
            id: 1,
            data: &[("Image", "C:\\x.exe")],
        },
        Record {
            provider: "Microsoft-Windows-Kernel-General",
            id: 17,
            data: &[],
        },
        Record {
            provider: SYSMON_PROVIDER,
            id: 18,
            data: &SRVSVC,
        },
        Record {
            provider: SYSMON_PROVIDER,
            id: 17,
            data: &PSEXESVC,
        },
    ])
}
