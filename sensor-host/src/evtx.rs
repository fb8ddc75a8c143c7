//! Sysmon named-pipe events read from Windows event log files (`.evtx`), through the `evtx`
//! crate.
//!
//! A Sysmon log holds every kind of Sysmon event; only records of the provider
//! `Microsoft-Windows-Sysmon` with event ID 17 or 18 are pipe events, and the others are
//! counted and passed over. Each pipe record is rendered to JSON by the crate, its `System` and
//! `EventData` values are gathered into one flat record, and [`crate::sysmon::parse_line`] reads
//! that, so the mapping from Sysmon's fields to the IPC template is the one JSON lines get.
//!
//! Records come out chunk by chunk (an EVTX chunk is 64 KiB), so memory stays bounded however
//! large the log.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use evtx::{EvtxParser, IntoIterChunks, ParserSettings};
use serde_json::{Map, Value as Json};

use crate::event::PipeEvent;
use crate::sysmon::{self, SysmonError, SysmonMeta, PIPE_CONNECTED, PIPE_CREATED};

/// The provider name of Sysmon's events.
pub const SYSMON_PROVIDER: &str = "Microsoft-Windows-Sysmon";

/// Why an event log, or part of it, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvtxError {
    /// The file could not be opened or is not an event log.
    #[error("cannot read the event log: {0}")]
    Open(String),
    /// A chunk of the log could not be read; its records are lost.
    #[error("chunk {chunk}: {message}")]
    Chunk {
        /// The chunk's number, counting from 0 in read order.
        chunk: u64,
        /// The parser's message.
        message: String,
    },
    /// A record could not be read or rendered.
    #[error("record: {0}")]
    Record(String),
    /// A Sysmon pipe record whose fields do not make a pipe event.
    #[error("record {record}: {error}")]
    Event {
        /// The record's `EventRecordID`.
        record: u64,
        /// Why its fields do not make an event.
        error: SysmonError,
    },
}

/// One pipe event from an event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvtxEvent {
    /// The record's `EventRecordID`.
    pub record: u64,
    /// The event.
    pub event: PipeEvent,
    /// Where it came from.
    pub meta: SysmonMeta,
}

/// The pipe events of an event log, in record order; other records are counted in
/// [`skipped`](Self::skipped).
pub struct EvtxEvents<T: Read + Seek> {
    chunks: IntoIterChunks<T>,
    settings: Arc<ParserSettings>,
    pending: VecDeque<Result<EvtxEvent, EvtxError>>,
    chunk: u64,
    skipped: u64,
}

/// Opens the event log at `path`.
pub fn open(path: &Path) -> Result<EvtxEvents<File>, EvtxError> {
    let parser = EvtxParser::from_path(path).map_err(|e| EvtxError::Open(e.to_string()))?;
    Ok(EvtxEvents::new(parser))
}

/// Reads an event log held in memory.
pub fn from_bytes(bytes: Vec<u8>) -> Result<EvtxEvents<Cursor<Vec<u8>>>, EvtxError> {
    let parser = EvtxParser::from_buffer(bytes).map_err(|e| EvtxError::Open(e.to_string()))?;
    Ok(EvtxEvents::new(parser))
}

impl<T: Read + Seek> EvtxEvents<T> {
    fn new(parser: EvtxParser<T>) -> Self {
        let settings = ParserSettings::new().num_threads(1);
        Self {
            chunks: parser.with_configuration(settings.clone()).into_chunks(),
            settings: Arc::new(settings),
            pending: VecDeque::new(),
            chunk: 0,
            skipped: 0,
        }
    }

    /// Records read so far that were not Sysmon pipe events.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Reads the next chunk's records into `pending`; false when there are no more chunks.
    fn fill(&mut self) -> bool {
        let Some(chunk) = self.chunks.next() else {
            return false;
        };
        let number = self.chunk;
        self.chunk += 1;
        let chunk_error = |message: String| EvtxError::Chunk {
            chunk: number,
            message,
        };
        let mut data = match chunk {
            Ok(data) => data,
            Err(e) => {
                self.pending.push_back(Err(chunk_error(e.to_string())));
                return true;
            }
        };
        let mut parsed = match data.parse(self.settings.clone()) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.pending.push_back(Err(chunk_error(e.to_string())));
                return true;
            }
        };
        for record in parsed.iter() {
            let rendered = record.and_then(|r| r.into_json_value());
            match rendered {
                Err(e) => self
                    .pending
                    .push_back(Err(EvtxError::Record(e.to_string()))),
                Ok(record) => match pipe_event(record.event_record_id, &record.data) {
                    Ok(Some(event)) => self.pending.push_back(Ok(event)),
                    Ok(None) => self.skipped += 1,
                    Err(e) => self.pending.push_back(Err(e)),
                },
            }
        }
        true
    }
}

impl<T: Read + Seek> Iterator for EvtxEvents<T> {
    type Item = Result<EvtxEvent, EvtxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

/// The pipe event in one rendered record (`{"Event": {"System": ..., "EventData": ...}}`, as
/// the `evtx` crate renders records to JSON); `None` when the record is not a Sysmon pipe event.
pub fn pipe_event(record: u64, json: &Json) -> Result<Option<EvtxEvent>, EvtxError> {
    let event = &json["Event"];
    let system = &event["System"];
    if system["Provider"]["#attributes"]["Name"].as_str() != Some(SYSMON_PROVIDER) {
        return Ok(None);
    }
    let id = match &system["EventID"] {
        Json::Object(qualified) => qualified.get("#text").cloned().unwrap_or(Json::Null),
        plain => plain.clone(),
    };
    let is_pipe = [PIPE_CREATED, PIPE_CONNECTED]
        .iter()
        .any(|&pipe| id.as_u64() == Some(pipe) || id.as_str() == Some(&pipe.to_string()));
    if !is_pipe {
        return Ok(None);
    }
    let mut flat = Map::new();
    if let Json::Object(data) = &event["EventData"] {
        flat.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    flat.insert("EventID".into(), id);
    flat.insert("EventRecordID".into(), Json::from(record));
    if let Some(computer) = system.get("Computer") {
        flat.insert("Computer".into(), computer.clone());
    }
    let line = Json::Object(flat).to_string();
    let (event, meta) =
        sysmon::parse_line(&line).map_err(|error| EvtxError::Event { record, error })?;
    Ok(Some(EvtxEvent {
        record,
        event,
        meta,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    /// A record as `evtx` renders Sysmon's event 17 (the shape of `evtx_dump -o json`).
    fn record(provider: &str, id: Json) -> Json {
        serde_json::json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": provider,
                    "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},
                "EventID": id,
                "Computer": "wks7.contoso.local",
                "EventRecordID": 83237,
            },
            "EventData": {
                "RuleName": "-",
                "EventType": "CreatePipe",
                "UtcTime": "2026-04-20 10:00:00.000",
                "ProcessGuid": "{b669e388-a0f3-5edf-5d00-000000000300}",
                "ProcessId": 15596,
                "PipeName": "\\REDSUN",
                "Image": "C:\\Users\\x\\RedSun.exe",
                "User": "WKS7\\x",
            },
        }})
    }

    #[test]
    fn sysmon_pipe_records_become_events() {
        let event = pipe_event(83237, &record(SYSMON_PROVIDER, Json::from(17)))
            .expect("valid")
            .expect("a pipe event");
        assert_eq!(event.record, 83237);
        assert_eq!(event.event.kind, EventKind::Create);
        assert_eq!(event.event.pipe_name.as_deref(), Some("\\REDSUN"));
        assert_eq!(event.event.process_id, Some(15596));
        assert_eq!(event.event.user.as_deref(), Some("WKS7\\x"));
        assert_eq!(event.meta.host.as_deref(), Some("wks7.contoso.local"));
        assert_eq!(event.meta.record_id, Some(83237));
        assert_eq!(
            event.meta.utc_time.as_deref(),
            Some("2026-04-20 10:00:00.000")
        );
    }

    #[test]
    fn qualified_and_string_event_ids() {
        let qualified = serde_json::json!({"#attributes": {"Qualifiers": 0}, "#text": 17});
        for id in [qualified, Json::from("17")] {
            let event = pipe_event(1, &record(SYSMON_PROVIDER, id)).expect("valid");
            assert_eq!(event.map(|e| e.event.kind), Some(EventKind::Create));
        }
    }

    #[test]
    fn other_records_are_passed_over() {
        assert_eq!(
            pipe_event(1, &record(SYSMON_PROVIDER, Json::from(1))).unwrap(),
            None
        );
        let other = record("Microsoft-Windows-Security-Auditing", Json::from(17));
        assert_eq!(pipe_event(1, &other).unwrap(), None);
        assert_eq!(pipe_event(1, &serde_json::json!({})).unwrap(), None);
    }

    #[test]
    fn contradictions_are_errors_naming_the_record() {
        let connect = record(SYSMON_PROVIDER, Json::from(18));
        let error = pipe_event(9, &connect).unwrap_err();
        assert_eq!(
            error.to_string(),
            "record 9: EventID 18 contradicts EventType \"CreatePipe\""
        );
        let mut bad_pid = record(SYSMON_PROVIDER, Json::from(17));
        bad_pid["Event"]["EventData"]["ProcessId"] = Json::from("x");
        assert_eq!(
            pipe_event(9, &bad_pid).unwrap_err().to_string(),
            "record 9: ProcessId is \"x\", not an unsigned integer"
        );
    }

    #[test]
    fn bytes_that_are_not_a_log_are_refused() {
        assert!(matches!(
            from_bytes(b"not a log".to_vec()),
            Err(EvtxError::Open(_))
        ));
    }
}
