//! Named-pipe events on the host side, and their hand-off to the core.
//!
//! A [`PipeEvent`] owns one value per field of the IPC template type
//! ([`sensor_core::schema::IPC`]), with `None` for what the source did not record. An
//! [`EncodedEvent`] turns it into the `[Value; FIELD_COUNT_IPC]` input array the core evaluates:
//! strings become UTF-16 in one reusable buffer, so encoding in a loop stops allocating once the
//! buffer has grown to the longest event seen.

use sensor_core::schema::ipc;
use sensor_core::{Value, FIELD_COUNT_IPC};

/// The `pipe_name` Sysmon records for anonymous pipes (`CreatePipe`), which have no name.
pub const ANONYMOUS_PIPE: &str = "<Anonymous Pipe>";

/// What happened to the pipe: the IPC template's `event_kind` field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A server created the pipe (Sysmon event 17, `CreatePipe`).
    #[default]
    Create = 1,
    /// A client opened the pipe (Sysmon event 18, `ConnectPipe`).
    Connect = 2,
}

impl EventKind {
    /// The value of the `event_kind` field.
    pub const fn code(self) -> u64 {
        self as u64
    }

    /// The kind whose `event_kind` value is `code`.
    pub const fn from_code(code: u64) -> Option<Self> {
        match code {
            1 => Some(Self::Create),
            2 => Some(Self::Connect),
            _ => None,
        }
    }
}

/// One named-pipe event, one field per IPC template field, in template order.
///
/// Integer fields hold what the driver would pass: masks and enumerations from
/// `NAMED_PIPE_CREATE_PARAMETERS` and the create IRP, unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipeEvent {
    /// `event_kind`.
    pub kind: EventKind,
    /// `pipe_name`, without the `\\.\pipe` prefix (`\lsass`, `<Anonymous Pipe>`).
    pub pipe_name: Option<String>,
    /// `image_path` of the process that created or opened the pipe.
    pub image_path: Option<String>,
    /// `process_id`.
    pub process_id: Option<u64>,
    /// `parent_process_id`.
    pub parent_process_id: Option<u64>,
    /// `session_id`.
    pub session_id: Option<u64>,
    /// `user`, as `DOMAIN\name` or a SID string.
    pub user: Option<String>,
    /// `integrity_level`: mandatory-label RID (0x2000 medium, 0x3000 high, 0x4000 system).
    pub integrity_level: Option<u64>,
    /// `pipe_type`: `FILE_PIPE_MESSAGE_TYPE` (1) and `FILE_PIPE_REJECT_REMOTE_CLIENTS` (2) bits.
    pub pipe_type: Option<u64>,
    /// `read_mode`: `FILE_PIPE_MESSAGE_MODE` (1) or byte-stream mode (0).
    pub read_mode: Option<u64>,
    /// `completion_mode`: `FILE_PIPE_COMPLETE_OPERATION` (1) or queue operation (0).
    pub completion_mode: Option<u64>,
    /// `max_instances`; `0xffffffff` is `FILE_PIPE_UNLIMITED_INSTANCES`.
    pub max_instances: Option<u64>,
    /// `inbound_quota`, in bytes.
    pub inbound_quota: Option<u64>,
    /// `outbound_quota`, in bytes.
    pub outbound_quota: Option<u64>,
    /// `default_timeout`, in 100 ns units.
    pub default_timeout: Option<u64>,
    /// `desired_access` mask.
    pub desired_access: Option<u64>,
    /// `share_access` mask.
    pub share_access: Option<u64>,
    /// `create_disposition` (`FILE_CREATE` 2, `FILE_OPEN_IF` 3, `FILE_OPEN` 1).
    pub create_disposition: Option<u64>,
    /// `command_line` of the process.
    pub command_line: Option<String>,
    /// `parent_image` path.
    pub parent_image: Option<String>,
    /// `remote_client`: whether the pipe end belongs to a remote (SMB) client.
    pub remote_client: Option<bool>,
}

/// Where one field's value lives in an [`EncodedEvent`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Slot {
    #[default]
    Absent,
    Int(u64),
    Str {
        start: usize,
        end: usize,
    },
}

/// A [`PipeEvent`] encoded as the core's input array, with its strings in UTF-16.
///
/// Keep one per event loop and call [`encode`](Self::encode) for each event: all strings of
/// an event share one buffer whose capacity is kept between events.
#[derive(Clone, Debug, Default)]
pub struct EncodedEvent {
    units: Vec<u16>,
    slots: [Slot; FIELD_COUNT_IPC],
}

impl EncodedEvent {
    /// An empty encoding; every field is absent until the first [`encode`](Self::encode).
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the encoded event with `ev`.
    pub fn encode(&mut self, ev: &PipeEvent) {
        self.units.clear();
        self.slots[ipc::EVENT_KIND] = Slot::Int(ev.kind.code());
        self.slots[ipc::PIPE_NAME] = self.string(ev.pipe_name.as_deref());
        self.slots[ipc::IMAGE_PATH] = self.string(ev.image_path.as_deref());
        self.slots[ipc::PROCESS_ID] = int(ev.process_id);
        self.slots[ipc::PARENT_PROCESS_ID] = int(ev.parent_process_id);
        self.slots[ipc::SESSION_ID] = int(ev.session_id);
        self.slots[ipc::USER] = self.string(ev.user.as_deref());
        self.slots[ipc::INTEGRITY_LEVEL] = int(ev.integrity_level);
        self.slots[ipc::PIPE_TYPE] = int(ev.pipe_type);
        self.slots[ipc::READ_MODE] = int(ev.read_mode);
        self.slots[ipc::COMPLETION_MODE] = int(ev.completion_mode);
        self.slots[ipc::MAX_INSTANCES] = int(ev.max_instances);
        self.slots[ipc::INBOUND_QUOTA] = int(ev.inbound_quota);
        self.slots[ipc::OUTBOUND_QUOTA] = int(ev.outbound_quota);
        self.slots[ipc::DEFAULT_TIMEOUT] = int(ev.default_timeout);
        self.slots[ipc::DESIRED_ACCESS] = int(ev.desired_access);
        self.slots[ipc::SHARE_ACCESS] = int(ev.share_access);
        self.slots[ipc::CREATE_DISPOSITION] = int(ev.create_disposition);
        self.slots[ipc::COMMAND_LINE] = self.string(ev.command_line.as_deref());
        self.slots[ipc::PARENT_IMAGE] = self.string(ev.parent_image.as_deref());
        self.slots[ipc::REMOTE_CLIENT] = int(ev.remote_client.map(u64::from));
    }

    /// The input array for the encoded event, in IPC template order.
    ///
    /// A sensor that supplies fewer fields passes a prefix: `&encoded.values()[..supplied]`.
    pub fn values(&self) -> [Value<'_>; FIELD_COUNT_IPC] {
        self.slots.map(|slot| match slot {
            Slot::Absent => Value::Absent,
            Slot::Int(n) => Value::Int(n),
            Slot::Str { start, end } => Value::Str(&self.units[start..end]),
        })
    }

    /// Appends `s` to the buffer as UTF-16 and returns where it went.
    fn string(&mut self, s: Option<&str>) -> Slot {
        let Some(s) = s else {
            return Slot::Absent;
        };
        let start = self.units.len();
        if s.is_ascii() {
            // Known length: the copy widens bytes in bulk instead of growing unit by unit.
            self.units.extend(s.bytes().map(u16::from));
        } else {
            self.units.extend(s.encode_utf16());
        }
        Slot::Str {
            start,
            end: self.units.len(),
        }
    }
}

fn int(n: Option<u64>) -> Slot {
    n.map_or(Slot::Absent, Slot::Int)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor_core::schema::IPC;
    use sensor_core::FieldType;

    fn full_event() -> PipeEvent {
        PipeEvent {
            kind: EventKind::Connect,
            pipe_name: Some("\\lsass".into()),
            image_path: Some("C:\\Windows\\System32\\svchost.exe".into()),
            process_id: Some(1234),
            parent_process_id: Some(688),
            session_id: Some(0),
            user: Some("NT AUTHORITY\\SYSTEM".into()),
            integrity_level: Some(0x4000),
            pipe_type: Some(1),
            read_mode: Some(1),
            completion_mode: Some(0),
            max_instances: Some(0xffff_ffff),
            inbound_quota: Some(4096),
            outbound_quota: Some(4096),
            default_timeout: Some(500_000),
            desired_access: Some(0x0012_019f),
            share_access: Some(3),
            create_disposition: Some(1),
            command_line: Some("C:\\Windows\\system32\\svchost.exe -k netsvcs".into()),
            parent_image: Some("C:\\Windows\\System32\\services.exe".into()),
            remote_client: Some(true),
        }
    }

    fn utf16(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn event_kind_codes_round_trip() {
        for kind in [EventKind::Create, EventKind::Connect] {
            assert_eq!(EventKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(EventKind::from_code(0), None);
        assert_eq!(EventKind::from_code(3), None);
    }

    #[test]
    fn value_types_follow_the_template() {
        let mut enc = EncodedEvent::new();
        enc.encode(&full_event());
        for (field, value) in IPC.fields.iter().zip(enc.values()) {
            let is_str = matches!(value, Value::Str(_));
            assert_eq!(is_str, field.ty == FieldType::String, "{}", field.name);
            assert_ne!(value, Value::Absent, "{}", field.name);
        }
    }

    #[test]
    fn values_land_at_their_template_index() {
        let mut enc = EncodedEvent::new();
        enc.encode(&full_event());
        let values = enc.values();
        assert_eq!(values[ipc::EVENT_KIND], Value::Int(2));
        assert_eq!(values[ipc::PIPE_NAME], Value::Str(&utf16("\\lsass")));
        assert_eq!(
            values[ipc::USER],
            Value::Str(&utf16("NT AUTHORITY\\SYSTEM"))
        );
        assert_eq!(values[ipc::MAX_INSTANCES], Value::Int(0xffff_ffff));
        let parent = utf16("C:\\Windows\\System32\\services.exe");
        assert_eq!(values[ipc::PARENT_IMAGE], Value::Str(&parent));
        assert_eq!(values[ipc::REMOTE_CLIENT], Value::Int(1));
    }

    #[test]
    fn missing_fields_are_absent_and_empty_strings_are_not() {
        let ev = PipeEvent {
            pipe_name: Some(String::new()),
            ..PipeEvent::default()
        };
        let mut enc = EncodedEvent::new();
        enc.encode(&ev);
        let values = enc.values();
        assert_eq!(values[ipc::EVENT_KIND], Value::Int(1));
        assert_eq!(values[ipc::PIPE_NAME], Value::Str(&[]));
        assert_eq!(values[ipc::IMAGE_PATH], Value::Absent);
        assert_eq!(values[ipc::REMOTE_CLIENT], Value::Absent);
    }

    #[test]
    fn encode_replaces_the_previous_event_and_keeps_capacity() {
        let mut enc = EncodedEvent::new();
        enc.encode(&full_event());
        let capacity = enc.units.capacity();
        enc.encode(&PipeEvent::default());
        assert!(enc.values()[1..].iter().all(|v| *v == Value::Absent));
        assert_eq!(enc.units.capacity(), capacity);
    }

    #[test]
    fn non_ascii_strings_are_utf16() {
        let ev = PipeEvent {
            user: Some("CONTOSO\\jürgen.𝔘".into()),
            ..PipeEvent::default()
        };
        let mut enc = EncodedEvent::new();
        enc.encode(&ev);
        let Value::Str(units) = enc.values()[ipc::USER] else {
            panic!("user is not a string");
        };
        assert_eq!(String::from_utf16_lossy(units), "CONTOSO\\jürgen.𝔘");
        assert_eq!(units.len(), "CONTOSO\\jürgen.".chars().count() + 2);
    }
}
