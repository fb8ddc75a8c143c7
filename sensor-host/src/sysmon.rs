//! Sysmon named-pipe events (event IDs 17 and 18) read from JSON lines.
//!
//! Two record shapes are accepted, one JSON object a line:
//!
//! - flat records, as collected by nxlog or Logstash and published in OTRF Security-Datasets:
//!   `{"EventID": 18, "PipeName": "\\lsass", "Image": "...", "ProcessId": "4204", ...}`;
//! - the `{"Event": {"System": {...}, "EventData": {...}}}` envelope of EVTX-to-JSON converters.
//!
//! Sysmon records only four of the IPC template's fields (`PipeName`, `Image`, `ProcessId`,
//! `User`) besides the event kind; the others stay `None`. Numbers may be JSON numbers or decimal
//! strings.
//!
//! A flat record is read by [`crate::json_object`] in one pass that checks all of it and
//! stores nothing but the raw text of the keys this module reads; anything that reader declines
//! (an envelope, a key with escapes, a repeated or `null` key of interest, text that is not
//! JSON) is read again by serde_json, whose errors are the ones reported. [`JsonlReader`] parses
//! a line where it lies in the read buffer and can fill one reused [`PipeEvent`], so that `scan`
//! allocates nothing per record.

use std::borrow::Cow;
use std::io::{self, BufRead};

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use crate::event::{EventKind, PipeEvent, ANONYMOUS_PIPE};
use crate::json_object;

/// Sysmon event ID of "Pipe Created".
pub const PIPE_CREATED: u64 = 17;
/// Sysmon event ID of "Pipe Connected".
pub const PIPE_CONNECTED: u64 = 18;

/// How some collectors write [`ANONYMOUS_PIPE`]: XML-escaped, as it appears in the event XML.
const ANONYMOUS_PIPE_ESCAPED: &str = "&lt;Anonymous Pipe&gt;";

/// Where a parsed event came from, for reports: the parts of the record that identify it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysmonMeta {
    /// `UtcTime`: when Sysmon saw the event.
    pub utc_time: Option<String>,
    /// `@timestamp`: when the collector received the event.
    pub timestamp: Option<String>,
    /// `Hostname`, or else `Computer`.
    pub host: Option<String>,
    /// `EventRecordID`, or else `RecordNumber`: the record's number in the event log.
    pub record_id: Option<u64>,
    /// `ProcessGuid` of the process that created or opened the pipe.
    pub process_guid: Option<String>,
    /// `_dataset`: the OTRF Security-Datasets archive the record was taken from.
    pub dataset: Option<String>,
}

/// Why a line is not a named-pipe event.
#[derive(Debug, thiserror::Error)]
pub enum SysmonError {
    /// The line could not be read.
    #[error("cannot read line: {0}")]
    Io(io::Error),
    /// The line is not JSON, or serde rejected its shape (a repeated key, an `Event` that is
    /// not an object).
    #[error("invalid JSON: {error}")]
    InvalidJson {
        /// 1-based column of the error, as serde_json reports it.
        column: usize,
        /// The parser's error.
        error: serde_json::Error,
    },
    /// The line is JSON but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// The record has no `EventID`, and no `EventType` naming a pipe event.
    #[error("no EventID and no pipe EventType")]
    NoEventId,
    /// The record is a Sysmon event other than 17 or 18.
    #[error("event ID {0} is not a pipe event")]
    NotPipeEvent(u64),
    /// `EventID` and `EventType` name different pipe events.
    #[error("EventID {event_id} contradicts EventType {event_type:?}")]
    KindMismatch {
        /// The `EventID`.
        event_id: u64,
        /// The `EventType`.
        event_type: String,
    },
    /// A key holds a JSON value of the wrong type.
    #[error("{key} is {found}, expected {expected}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// What the key should hold.
        expected: &'static str,
        /// What it holds.
        found: &'static str,
    },
    /// A key that holds a number holds something else, or a negative or fractional number.
    #[error("{key} is {value}, not an unsigned integer")]
    BadNumber {
        /// The key.
        key: &'static str,
        /// The value, as JSON.
        value: String,
    },
}

/// The raw JSON text of a value, borrowed from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Raw<'a>(&'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(de).map(|raw| Raw(raw.get()))
    }
}

/// The keys read from a record (or from one part of an envelope); all others are skipped.
#[derive(Debug, Default, PartialEq, Deserialize)]
struct Fields<'a> {
    #[serde(rename = "EventID", borrow)]
    event_id: Option<Raw<'a>>,
    #[serde(rename = "EventType", borrow)]
    event_type: Option<Raw<'a>>,
    #[serde(rename = "PipeName", borrow)]
    pipe_name: Option<Raw<'a>>,
    #[serde(rename = "Image", borrow)]
    image: Option<Raw<'a>>,
    #[serde(rename = "ProcessId", borrow)]
    process_id: Option<Raw<'a>>,
    #[serde(rename = "User", borrow)]
    user: Option<Raw<'a>>,
    #[serde(rename = "UtcTime", borrow)]
    utc_time: Option<Raw<'a>>,
    #[serde(rename = "@timestamp", borrow)]
    timestamp: Option<Raw<'a>>,
    #[serde(rename = "Hostname", borrow)]
    hostname: Option<Raw<'a>>,
    #[serde(rename = "Computer", borrow)]
    computer: Option<Raw<'a>>,
    #[serde(rename = "EventRecordID", borrow)]
    event_record_id: Option<Raw<'a>>,
    #[serde(rename = "RecordNumber", borrow)]
    record_number: Option<Raw<'a>>,
    #[serde(rename = "ProcessGuid", borrow)]
    process_guid: Option<Raw<'a>>,
    #[serde(rename = "_dataset", borrow)]
    dataset: Option<Raw<'a>>,
    #[serde(rename = "Event", borrow)]
    envelope: Option<Box<Envelope<'a>>>,
}

/// The `Event` object of EVTX-to-JSON converters.
#[derive(Debug, PartialEq, Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "System", borrow)]
    system: Option<Fields<'a>>,
    #[serde(rename = "EventData", borrow)]
    event_data: Option<Fields<'a>>,
}

impl<'a> Fields<'a> {
    /// Folds an `Event` envelope into one set of fields; top-level keys win, then `EventData`.
    fn flatten(mut self) -> Self {
        let Some(envelope) = self.envelope.take() else {
            return self;
        };
        [envelope.event_data, envelope.system]
            .into_iter()
            .flatten()
            .fold(self, Self::or)
    }

    /// Takes one member of a flat record read by [`json_object::members`]; declines what the
    /// derived deserializer would treat differently or refuse: an envelope, a `null` (which it
    /// reads as absent) and a key given twice.
    fn take(&mut self, key: &str, value: &'a str) -> Option<()> {
        let field = match key {
            "EventID" => &mut self.event_id,
            "EventType" => &mut self.event_type,
            "PipeName" => &mut self.pipe_name,
            "Image" => &mut self.image,
            "ProcessId" => &mut self.process_id,
            "User" => &mut self.user,
            "UtcTime" => &mut self.utc_time,
            "@timestamp" => &mut self.timestamp,
            "Hostname" => &mut self.hostname,
            "Computer" => &mut self.computer,
            "EventRecordID" => &mut self.event_record_id,
            "RecordNumber" => &mut self.record_number,
            "ProcessGuid" => &mut self.process_guid,
            "_dataset" => &mut self.dataset,
            "Event" => return None,
            _ => return Some(()),
        };
        if field.is_some() || value == "null" {
            return None;
        }
        *field = Some(Raw(value));
        Some(())
    }

    /// Each field of `self`, or else of `other`.
    fn or(self, other: Self) -> Self {
        Self {
            event_id: self.event_id.or(other.event_id),
            event_type: self.event_type.or(other.event_type),
            pipe_name: self.pipe_name.or(other.pipe_name),
            image: self.image.or(other.image),
            process_id: self.process_id.or(other.process_id),
            user: self.user.or(other.user),
            utc_time: self.utc_time.or(other.utc_time),
            timestamp: self.timestamp.or(other.timestamp),
            hostname: self.hostname.or(other.hostname),
            computer: self.computer.or(other.computer),
            event_record_id: self.event_record_id.or(other.event_record_id),
            record_number: self.record_number.or(other.record_number),
            process_guid: self.process_guid.or(other.process_guid),
            dataset: self.dataset.or(other.dataset),
            envelope: None,
        }
    }
}

/// Parses one JSON line as a Sysmon pipe event, with the record's metadata.
///
/// `EventID` decides the kind; without one, `EventType` (`CreatePipe`, `ConnectPipe`) does.
/// Other `EventType` values carry no kind and are ignored (nxlog overwrites the field with the
/// log level, `INFO`). A pipe event without `PipeName` is still an event, with `pipe_name: None`.
pub fn parse_line(line: &str) -> Result<(PipeEvent, SysmonMeta), SysmonError> {
    with_fields(line.as_bytes(), |fields| {
        let meta = meta(fields)?;
        let mut event = PipeEvent::default();
        fill(fields, &mut event)?;
        Ok((event, meta))
    })
}

/// [`parse_line`] without the metadata, into `event`, whose string buffers are reused; after
/// an error `event` holds no event in particular.
fn parse_event_into(bytes: &[u8], event: &mut PipeEvent) -> Result<(), SysmonError> {
    with_fields(bytes, |fields| fill(fields, event))
}

/// Replaces `ev` with the event `fields` describe, keeping the capacity of its strings.
fn fill(fields: &Fields<'_>, ev: &mut PipeEvent) -> Result<(), SysmonError> {
    let event_id = number("EventID", fields.event_id)?;
    let event_type = text("EventType", fields.event_type)?;
    let kind = kind(event_id, event_type.as_deref())?;
    let pipe_name = string_into(ev.pipe_name.take(), "PipeName", fields.pipe_name)?;
    let image_path = string_into(ev.image_path.take(), "Image", fields.image)?;
    let process_id = number("ProcessId", fields.process_id)?;
    let user = string_into(ev.user.take(), "User", fields.user)?;
    *ev = PipeEvent {
        kind,
        pipe_name: pipe_name.map(unescape_pipe_name),
        image_path,
        process_id,
        user,
        ..PipeEvent::default()
    };
    Ok(())
}

fn meta(fields: &Fields<'_>) -> Result<SysmonMeta, SysmonError> {
    let host = match string("Hostname", fields.hostname)? {
        Some(host) => Some(host),
        None => string("Computer", fields.computer)?,
    };
    let record_id = match number("EventRecordID", fields.event_record_id)? {
        Some(id) => Some(id),
        None => number("RecordNumber", fields.record_number)?,
    };
    Ok(SysmonMeta {
        utc_time: string("UtcTime", fields.utc_time)?,
        timestamp: string("@timestamp", fields.timestamp)?,
        host,
        record_id,
        process_guid: string("ProcessGuid", fields.process_guid)?,
        dataset: string("_dataset", fields.dataset)?,
    })
}

/// Reads the keys of interest from a JSON object and hands them to `then`: a flat record of
/// valid UTF-8 through [`json_object::members`], into fields that stay where they are, and
/// anything that declines through serde_json.
fn with_fields<T>(
    bytes: &[u8],
    then: impl FnOnce(&Fields<'_>) -> Result<T, SysmonError>,
) -> Result<T, SysmonError> {
    let mut fields = Fields::default();
    match fast_fields(bytes, &mut fields) {
        Some(()) => then(&fields),
        None => then(&serde_fields(bytes)?.flatten()),
    }
}

/// Fills `fields` through [`json_object::members`]; `None` if it declines (`fields` then holds
/// whatever it took before declining).
fn fast_fields<'a>(bytes: &'a [u8], fields: &mut Fields<'a>) -> Option<()> {
    let text = std::str::from_utf8(bytes).ok()?;
    json_object::members(text, |key, value| fields.take(key, value))
}

fn serde_fields(bytes: &[u8]) -> Result<Fields<'_>, SysmonError> {
    // A derived struct also accepts a JSON array, field by field: rule that out first.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return match serde_json::from_slice::<IgnoredAny>(bytes) {
            Ok(_) => Err(SysmonError::NotAnObject),
            Err(error) => Err(invalid(error)),
        };
    }
    serde_json::from_slice(bytes).map_err(invalid)
}

fn invalid(error: serde_json::Error) -> SysmonError {
    SysmonError::InvalidJson {
        column: error.column(),
        error,
    }
}

/// A raw value as a JSON value; it was valid JSON when the record was parsed.
fn value(raw: Raw<'_>) -> Result<Json, SysmonError> {
    serde_json::from_str(raw.0).map_err(invalid)
}

/// The event kind that `EventID` and `EventType` agree on.
fn kind(event_id: Option<u64>, event_type: Option<&str>) -> Result<EventKind, SysmonError> {
    let typed = event_type.and_then(kind_of_type);
    let Some(event_id) = event_id else {
        return typed.ok_or(SysmonError::NoEventId);
    };
    let kind = match event_id {
        PIPE_CREATED => EventKind::Create,
        PIPE_CONNECTED => EventKind::Connect,
        other => return Err(SysmonError::NotPipeEvent(other)),
    };
    match (typed, event_type) {
        (Some(typed), Some(event_type)) if typed != kind => Err(SysmonError::KindMismatch {
            event_id,
            event_type: event_type.to_owned(),
        }),
        _ => Ok(kind),
    }
}

fn kind_of_type(event_type: &str) -> Option<EventKind> {
    match event_type {
        "CreatePipe" => Some(EventKind::Create),
        "ConnectPipe" => Some(EventKind::Connect),
        _ => None,
    }
}

/// Undoes the XML escaping some collectors leave on the anonymous-pipe name.
///
/// Only that one name is unescaped: a pipe may be called `&lt;` for real, and records do not
/// say whether their collector escaped them.
fn unescape_pipe_name(mut name: String) -> String {
    if name == ANONYMOUS_PIPE_ESCAPED {
        name.clear();
        name.push_str(ANONYMOUS_PIPE);
    }
    name
}

/// A string value, decoded by [`json_object::decode_string`]; serde_json explains a refusal.
fn string(key: &'static str, raw: Option<Raw<'_>>) -> Result<Option<String>, SysmonError> {
    string_into(None, key, raw)
}

/// [`string`], decoded into `buffer` when there is one.
fn string_into(
    buffer: Option<String>,
    key: &'static str,
    raw: Option<Raw<'_>>,
) -> Result<Option<String>, SysmonError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let mut text = buffer.unwrap_or_default();
    text.clear();
    if json_object::decode_string(raw.0, &mut text).is_some() {
        return Ok(Some(text));
    }
    match value(raw)? {
        Json::String(s) => Ok(Some(s)),
        other => Err(SysmonError::WrongType {
            key,
            expected: "a string",
            found: type_name(&other),
        }),
    }
}

/// [`string`], borrowed from the line when it has no escapes.
fn text<'a>(key: &'static str, raw: Option<Raw<'a>>) -> Result<Option<Cow<'a, str>>, SysmonError> {
    let plain = raw
        .and_then(|raw| raw.0.strip_prefix('"')?.strip_suffix('"'))
        .filter(|body| !body.contains('\\'));
    match plain {
        Some(body) => Ok(Some(Cow::Borrowed(body))),
        None => Ok(string(key, raw)?.map(Cow::Owned)),
    }
}

/// An unsigned integer given as a JSON number or as a decimal string.
fn number(key: &'static str, raw: Option<Raw<'_>>) -> Result<Option<u64>, SysmonError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let digits = raw.0.trim_matches('"');
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = digits.parse() {
            return Ok(Some(n));
        }
    }
    let bad = |value: String| SysmonError::BadNumber { key, value };
    match value(raw)? {
        Json::Number(n) => n.as_u64().map(Some).ok_or_else(|| bad(n.to_string())),
        Json::String(s) => match s.parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(bad(Json::String(s).to_string())),
        },
        other => Err(SysmonError::WrongType {
            key,
            expected: "an integer",
            found: type_name(&other),
        }),
    }
}

fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Reads pipe events from JSON lines, one record a line.
///
/// Yields each non-blank line's 1-based number with its parse result. A line that fails to
/// parse is reported and skipped; after an I/O error the reader ends. The line buffer is reused,
/// and lines are handed to the JSON parser as bytes, so invalid UTF-8 is a per-line
/// [`SysmonError::InvalidJson`] rather than an I/O error.
#[derive(Debug)]
pub struct JsonlReader<R> {
    reader: R,
    line: Vec<u8>,
    line_number: usize,
    failed: bool,
}

impl<R: BufRead> JsonlReader<R> {
    /// Reads from `reader`, starting at line 1.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: Vec::new(),
            line_number: 0,
            failed: false,
        }
    }

    /// Reads the next non-blank line into `event`, reusing its string buffers: the line's
    /// number, and whether it held a pipe event (after an error `event` holds no event in
    /// particular). This is the iterator without a new event a line.
    pub fn read_into(&mut self, event: &mut PipeEvent) -> Option<(usize, Result<(), SysmonError>)> {
        while !self.failed {
            if let Some(parsed) = self.next_in_buffer(event) {
                match parsed {
                    Some(parsed) => return Some((self.line_number, parsed)),
                    None => continue,
                }
            }
            self.line.clear();
            let read = self.reader.read_until(b'\n', &mut self.line);
            self.line_number += 1;
            match read {
                Ok(0) => return None,
                Ok(_) if self.line.trim_ascii().is_empty() => {}
                Ok(_) => return Some((self.line_number, parse_event_into(&self.line, event))),
                Err(error) => {
                    self.failed = true;
                    return Some((self.line_number, Err(SysmonError::Io(error))));
                }
            }
        }
        None
    }

    /// Parses the next line where it lies in the reader's buffer, if the buffer holds all of it:
    /// `Some(None)` for a blank line. `None` when the line must be gathered across refills (or
    /// the buffer cannot be filled: `read_until` then reports why).
    fn next_in_buffer(&mut self, event: &mut PipeEvent) -> Option<Option<Result<(), SysmonError>>> {
        let buffered = self.reader.fill_buf().ok()?;
        let end = memchr::memchr(b'\n', buffered)?;
        let line = buffered.get(..end)?;
        let parsed = (!line.trim_ascii().is_empty()).then(|| parse_event_into(line, event));
        self.reader.consume(end + 1);
        self.line_number += 1;
        Some(parsed)
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = (usize, Result<PipeEvent, SysmonError>);

    fn next(&mut self) -> Option<Self::Item> {
        let mut event = PipeEvent::default();
        let (line, parsed) = self.read_into(&mut event)?;
        Some((line, parsed.map(|()| event)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines from OTRF Security-Datasets (MIT), cut down to a few of their keys.
    const CONNECT_SRVSVC: &str = concat!(
        r#"{"ProcessId": "4204", "ProcessGuid": "{b669e388-a0f3-5edf-5d00-000000000300}", "#,
        r#""@timestamp": "2020-06-10T02:51:03.659Z", "Hostname": "MORDORDC.mordor.local", "#,
        r#""Image": "C:\\windows\\system32\\wbem\\wmiprvse.exe", "EventID": 18, "#,
        r#""PipeName": "\\srvsvc", "RecordNumber": 464717, "UtcTime": "2020-06-10 02:51:02.755", "#,
        r#""EventType": "ConnectPipe", "#,
        r#""_dataset": "datasets/atomic/windows/collection/host/msf_record_mic.zip"}"#,
    );
    const CREATE_PSHOST: &str = concat!(
        r#"{"EventID": 17, "EventType": "CreatePipe", "UtcTime": "2023-07-20 00:33:04.320", "#,
        r#""ProcessGuid": "{fe86be69-80bd-64b8-d804-000000001000}", "ProcessId": "6448", "#,
        r#""PipeName": "\\PSHost.133342867816487999.6448.DefaultAppDomain.powershell", "#,
        r#""Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "#,
        r#""User": "PANDALAB\\Administrator", "Hostname": "DC01.pandalab.com", "#,
        r#""@timestamp": "2023-07-19T05:33:04.331Z"}"#,
    );
    const CREATE_ESCAPED_ANONYMOUS: &str = concat!(
        r#"{"PipeName": "&lt;Anonymous Pipe&gt;", "EventID": 17, "UserID": "S-1-5-18", "#,
        r#""ProcessGuid": "{b34bc01c-2f95-5f69-5f01-000000000900}", "#,
        r#""@timestamp": "2020-09-21T22:58:59.037Z", "AccountName": "SYSTEM", "#,
        r#""RecordNumber": 3219369, "Domain": "NT AUTHORITY", "#,
        r#""Image": "C:\\windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", "#,
        r#""UtcTime": "2020-09-21 22:58:57.802", "Hostname": "WORKSTATION5.theshire.local"}"#,
    );
    const CONNECT_ANONYMOUS: &str = concat!(
        r#"{"EventID": 18, "EventType": "ConnectPipe", "ProcessId": "3068", "#,
        r#""PipeName": "<Anonymous Pipe>", "Image": "C:\\Users\\pedro\\Downloads\\payload.exe", "#,
        r#""Hostname": "pedro-computer"}"#,
    );
    const CONNECT_INFO_TYPE: &str = concat!(
        r#"{"ProcessGuid": "{2517d945-6510-5e02-0000-001016f20100}", "PipeName": "\\lsass", "#,
        r#""RecordNumber": 116473, "Hostname": "HFDC01.shire.com", "#,
        r#""Image": "C:\\Windows\\system32\\DFSRs.exe", "EventType": "INFO", "Task": 18, "#,
        r#""Keywords": -9223372036854775808, "ProcessID": 2372, "EventID": 18}"#,
    );

    fn event(line: &str) -> PipeEvent {
        parse_line(line).expect("pipe event").0
    }

    #[test]
    fn connect_event_with_meta() {
        let (ev, meta) = parse_line(CONNECT_SRVSVC).expect("pipe event");
        assert_eq!(ev.kind, EventKind::Connect);
        assert_eq!(ev.pipe_name.as_deref(), Some("\\srvsvc"));
        assert_eq!(
            ev.image_path.as_deref(),
            Some("C:\\windows\\system32\\wbem\\wmiprvse.exe")
        );
        assert_eq!(ev.process_id, Some(4204));
        assert_eq!(ev.user, None);
        assert_eq!(ev.session_id, None);
        assert_eq!(ev.remote_client, None);
        assert_eq!(
            meta,
            SysmonMeta {
                utc_time: Some("2020-06-10 02:51:02.755".into()),
                timestamp: Some("2020-06-10T02:51:03.659Z".into()),
                host: Some("MORDORDC.mordor.local".into()),
                record_id: Some(464_717),
                process_guid: Some("{b669e388-a0f3-5edf-5d00-000000000300}".into()),
                dataset: Some("datasets/atomic/windows/collection/host/msf_record_mic.zip".into()),
            }
        );
    }

    #[test]
    fn create_event_with_user() {
        let ev = event(CREATE_PSHOST);
        assert_eq!(ev.kind, EventKind::Create);
        assert_eq!(ev.user.as_deref(), Some("PANDALAB\\Administrator"));
        assert_eq!(ev.process_id, Some(6448));
    }

    #[test]
    fn escaped_anonymous_pipe_is_unescaped() {
        let (ev, meta) = parse_line(CREATE_ESCAPED_ANONYMOUS).expect("pipe event");
        assert_eq!(ev.kind, EventKind::Create);
        assert_eq!(ev.pipe_name.as_deref(), Some(ANONYMOUS_PIPE));
        assert_eq!(ev.process_id, None);
        assert_eq!(ev.user, None, "Domain/AccountName name the log writer");
        assert_eq!(meta.record_id, Some(3_219_369));
    }

    #[test]
    fn anonymous_pipe_is_kept() {
        assert_eq!(
            event(CONNECT_ANONYMOUS).pipe_name.as_deref(),
            Some(ANONYMOUS_PIPE)
        );
    }

    #[test]
    fn other_xml_escapes_are_kept() {
        let ev = event(r#"{"EventID": 17, "PipeName": "\\a&amp;b"}"#);
        assert_eq!(ev.pipe_name.as_deref(), Some("\\a&amp;b"));
    }

    #[test]
    fn non_pipe_event_type_and_process_id_key_are_ignored() {
        let ev = event(CONNECT_INFO_TYPE);
        assert_eq!(ev.kind, EventKind::Connect);
        assert_eq!(ev.process_id, None, "ProcessID is the collector's process");
    }

    #[test]
    fn numbers_as_strings_or_numbers() {
        let ev = event(r#"{"EventID": "17", "ProcessId": 4}"#);
        assert_eq!(ev.kind, EventKind::Create);
        assert_eq!(ev.process_id, Some(4));
    }

    #[test]
    fn event_type_alone_gives_the_kind() {
        let ev = event(r#"{"EventType": "ConnectPipe", "PipeName": "\\lsass"}"#);
        assert_eq!(ev.kind, EventKind::Connect);
    }

    #[test]
    fn missing_pipe_name_and_null_are_absent() {
        let ev = event(r#"{"EventID": 18, "PipeName": null, "User": null}"#);
        assert_eq!(ev.pipe_name, None);
        assert_eq!(ev.user, None);
    }

    #[test]
    fn evtx_envelope() {
        let line = r#"{"Event": {"System": {"EventID": 17, "EventRecordID": 83, "Computer": "wks7"},
            "EventData": {"EventType": "CreatePipe", "ProcessId": 15596, "PipeName": "\\REDSUN",
            "Image": "C:\\Users\\x\\Downloads\\RedSun.exe", "User": "wks7\\x"}}}"#;
        let (ev, meta) = parse_line(line).expect("pipe event");
        assert_eq!(ev.kind, EventKind::Create);
        assert_eq!(ev.pipe_name.as_deref(), Some("\\REDSUN"));
        assert_eq!(ev.process_id, Some(15596));
        assert_eq!(ev.user.as_deref(), Some("wks7\\x"));
        assert_eq!(meta.host.as_deref(), Some("wks7"));
        assert_eq!(meta.record_id, Some(83));
    }

    #[test]
    fn invalid_json_reports_the_column() {
        let err = parse_line(r#"{"EventID": 17,, }"#).unwrap_err();
        assert!(
            matches!(err, SysmonError::InvalidJson { column: 16, .. }),
            "{err:?}"
        );
        assert!(matches!(
            parse_line("not json"),
            Err(SysmonError::InvalidJson { .. })
        ));
    }

    #[test]
    fn not_an_object() {
        for line in ["[17, 18]", "17", r#""CreatePipe""#, "null"] {
            assert!(
                matches!(parse_line(line), Err(SysmonError::NotAnObject)),
                "{line}"
            );
        }
    }

    #[test]
    fn not_a_pipe_event() {
        let err = parse_line(r#"{"EventID": 1, "Image": "C:\\x.exe"}"#).unwrap_err();
        assert!(matches!(err, SysmonError::NotPipeEvent(1)), "{err:?}");
        let err = parse_line(r#"{"EventType": "INFO"}"#).unwrap_err();
        assert!(matches!(err, SysmonError::NoEventId), "{err:?}");
    }

    #[test]
    fn kind_mismatch() {
        let err = parse_line(r#"{"EventID": 17, "EventType": "ConnectPipe"}"#).unwrap_err();
        let SysmonError::KindMismatch {
            event_id,
            event_type,
        } = err
        else {
            panic!("{err:?}");
        };
        assert_eq!((event_id, event_type.as_str()), (17, "ConnectPipe"));
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = parse_line(r#"{"EventID": 17, "PipeName": 5}"#).unwrap_err();
        assert!(
            matches!(
                err,
                SysmonError::WrongType {
                    key: "PipeName",
                    found: "a number",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "PipeName is a number, expected a string");
        let err = parse_line(r#"{"EventID": [17]}"#).unwrap_err();
        assert!(
            matches!(err, SysmonError::WrongType { key: "EventID", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn bad_numbers_name_the_key() {
        for (line, shown) in [
            (r#"{"EventID": 17, "ProcessId": "12a"}"#, r#""12a""#),
            (r#"{"EventID": 17, "ProcessId": -4}"#, "-4"),
            (r#"{"EventID": 17.0}"#, "17.0"),
        ] {
            match parse_line(line) {
                Err(SysmonError::BadNumber { value, .. }) => assert_eq!(value, shown),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn reader_numbers_lines_and_skips_blank_ones() {
        let input = format!("{CONNECT_SRVSVC}\n\n  \r\n{{\"EventID\": 1}}\r\n{CREATE_PSHOST}");
        let results: Vec<_> = JsonlReader::new(input.as_bytes()).collect();
        let numbers: Vec<_> = results.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [1, 4, 5]);
        assert!(results[0].1.is_ok());
        assert!(matches!(results[1].1, Err(SysmonError::NotPipeEvent(1))));
        assert_eq!(
            results[2].1.as_ref().map(|ev| ev.kind).ok(),
            Some(EventKind::Create)
        );
    }

    #[test]
    fn reader_reports_invalid_utf8_per_line() {
        let input: &[u8] = b"{\"EventID\": 17, \"PipeName\": \"\\\\a\xff\"}\n{\"EventID\": 18}\n";
        let results: Vec<_> = JsonlReader::new(input).collect();
        assert_eq!(results.len(), 2);
        assert!(matches!(results[0].1, Err(SysmonError::InvalidJson { .. })));
        assert!(results[1].1.is_ok());
    }

    #[test]
    fn whole_otrf_corpus_parses() {
        const PATH: &str = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpus/otrf/sysmon-pipe-events.jsonl"
        );
        let file = std::fs::File::open(PATH).expect("OTRF corpus");
        let mut count = 0;
        let mut kinds = [0; 2];
        for (line, result) in JsonlReader::new(io::BufReader::new(file)) {
            let ev = result.unwrap_or_else(|e| panic!("line {line}: {e}"));
            assert!(ev.pipe_name.is_some(), "line {line}");
            kinds[usize::from(ev.kind == EventKind::Connect)] += 1;
            count += 1;
        }
        assert_eq!(count, 1103);
        assert_eq!(kinds, [122, 981]);
        let text = std::fs::read_to_string(PATH).expect("OTRF corpus");
        for (line, record) in text.lines().enumerate() {
            let (ev, meta) = parse_line(record).unwrap_or_else(|e| panic!("line {line}: {e}"));
            assert!(ev.pipe_name.is_some(), "line {line}");
            assert!(ev.image_path.is_some(), "line {line}");
            assert!(
                meta.utc_time.is_some() && meta.host.is_some(),
                "line {line}"
            );
        }
    }

    /// Checks that the fast path agrees with serde_json wherever it does not decline, on `line`
    /// and on every string value it hands out; says whether it declined.
    fn fast_agrees_with_serde(line: &[u8]) -> bool {
        let mut fields = Fields::default();
        let fast = fast_fields(line, &mut fields).map(|()| fields);
        let Ok(serde) = serde_fields(line) else {
            assert!(
                fast.is_none(),
                "fast path took a line serde refuses: {line:?}"
            );
            return true;
        };
        let Some(fast) = fast else {
            return true;
        };
        assert_eq!(fast, serde, "{:?}", String::from_utf8_lossy(line));
        let fast = [
            fast.pipe_name,
            fast.image,
            fast.event_type,
            fast.utc_time,
            fast.dataset,
        ];
        for raw in fast.into_iter().flatten() {
            let mut decoded = String::new();
            let by_serde = serde_json::from_str::<String>(raw.0).ok();
            let ours = json_object::decode_string(raw.0, &mut decoded).map(|()| decoded);
            assert!(ours.is_none() || ours == by_serde, "{raw:?}");
        }
        false
    }

    #[test]
    fn fast_path_agrees_with_serde_on_mutated_records() {
        // Bytes that change JSON's structure, or its string and number grammar.
        const TWEAKS: &[u8] = b"\"\\{}[],: \t\r0-.eEu+nlx\x01\x7f\xc3\xa9\xff";
        let text =
            std::fs::read_to_string(crate::bench::events::OTRF_DEFAULT).expect("OTRF corpus");
        let mut rng = crate::bench::rng::Rng::new(291);
        let (mut cases, mut declined) = (0, 0);
        for line in text
            .lines()
            .chain([CREATE_ESCAPED_ANONYMOUS, CONNECT_INFO_TYPE])
        {
            assert!(!fast_agrees_with_serde(line.as_bytes()), "declined: {line}");
            for _ in 0..8 {
                let mut bytes = line.as_bytes().to_vec();
                for _ in 0..=rng.below(2) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    match rng.below(3) {
                        0 => bytes[at] = *rng.pick(TWEAKS),
                        1 => bytes.insert(at, *rng.pick(TWEAKS)),
                        _ => drop(bytes.remove(at)),
                    }
                }
                cases += 1;
                declined += usize::from(fast_agrees_with_serde(&bytes));
            }
        }
        // Most single tweaks leave valid JSON the fast path must take.
        assert!(declined < cases / 2, "{declined} of {cases} declined");
    }

    /// The keys are written twice, in `Fields`' serde attributes and in `Fields::take`. A record
    /// carrying every key, each with its own value, must come out as expected both ways; the
    /// expected value is a struct literal, so a field added without a key here does not compile.
    #[test]
    fn fast_path_reads_every_key_serde_reads() {
        const KEYS: [&str; 14] = [
            "EventID",
            "EventType",
            "PipeName",
            "Image",
            "ProcessId",
            "User",
            "UtcTime",
            "@timestamp",
            "Hostname",
            "Computer",
            "EventRecordID",
            "RecordNumber",
            "ProcessGuid",
            "_dataset",
        ];
        let values: Vec<String> = (0..KEYS.len()).map(|i| format!("\"value {i}\"")).collect();
        let members: Vec<String> = (KEYS.iter().zip(&values))
            .map(|(key, value)| format!("\"{key}\":{value}"))
            .collect();
        let record = format!("{{\"Other\":1,{}}}", members.join(","));
        let raw = |i: usize| Some(Raw(values[i].as_str()));
        let expected = Fields {
            event_id: raw(0),
            event_type: raw(1),
            pipe_name: raw(2),
            image: raw(3),
            process_id: raw(4),
            user: raw(5),
            utc_time: raw(6),
            timestamp: raw(7),
            hostname: raw(8),
            computer: raw(9),
            event_record_id: raw(10),
            record_number: raw(11),
            process_guid: raw(12),
            dataset: raw(13),
            envelope: None,
        };
        let by_serde: Fields<'_> = serde_json::from_str(&record).unwrap();
        assert_eq!(by_serde, expected);
        let mut fast = Fields::default();
        assert_eq!(fast_fields(record.as_bytes(), &mut fast), Some(()));
        assert_eq!(fast, expected);
    }

    #[test]
    fn sigma_regression_event_parses() {
        const PATH: &str = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpus/sigma/regression_data/",
            "pipe_created_win_exploit_redsun_named_pipe__9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b.json"
        );
        let json = std::fs::read_to_string(PATH).expect("Sigma regression event");
        let (ev, meta) = parse_line(&json).expect("pipe event");
        assert_eq!(ev.kind, EventKind::Create);
        assert_eq!(ev.pipe_name.as_deref(), Some("\\REDSUN"));
        assert_eq!(ev.process_id, Some(15596));
        assert_eq!(meta.record_id, Some(83237));
    }
}
