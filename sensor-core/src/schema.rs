//! Template types (the input schemas content is written against) and sensor declarations (what a
//! sensor build actually supplies for each template type).
//!
//! These are compiled into the sensor, never read from content. The loader checks every field a
//! channel file reads against the [`SensorDecl`] it is loaded for: that is the check whose absence
//! let a 21-field rule run against a 20-entry input array in July 2024.

/// The type of one input field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FieldType {
    /// A counted UTF-16 string, as a driver receives it in a `UNICODE_STRING`.
    String = 1,
    /// An unsigned integer up to 64 bits.
    Integer = 2,
    /// A bit mask (pipe modes, access masks), compared with flag-mask operators.
    Flags = 3,
}

impl FieldType {
    /// Decodes the on-disk tag of a field type.
    pub const fn from_u8(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::String),
            2 => Some(Self::Integer),
            3 => Some(Self::Flags),
            _ => None,
        }
    }

    /// The name used in diagnostics and rule sources.
    pub const fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Flags => "flags",
        }
    }
}

/// One named, typed input field of a template type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name in rule sources and diagnostics.
    pub name: &'static str,
    /// The field's type.
    pub ty: FieldType,
}

/// An input schema: the ordered fields that content of this template type may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateType {
    /// Numeric id, as written in channel-file headers.
    pub id: u16,
    /// Schema version, as written in channel-file headers.
    pub version: u16,
    /// Name used in diagnostics and rule sources.
    pub name: &'static str,
    /// The declared fields, in input-array order.
    pub fields: &'static [Field],
}

impl TemplateType {
    /// Number of fields the template declares.
    pub const fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The field at `index`, if the template declares one there.
    pub fn field(&self, index: usize) -> Option<&'static Field> {
        self.fields.get(index)
    }

    /// The index of the field called `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

const fn field(name: &'static str, ty: FieldType) -> Field {
    Field { name, ty }
}

/// Number of fields of the named-pipe (IPC) template type.
pub const FIELD_COUNT_IPC: usize = 21;

/// The named-pipe (inter-process communication) template type: 21 fields, the 21st added last.
pub const IPC: TemplateType = TemplateType {
    id: 1,
    version: 1,
    name: "ipc",
    fields: &IPC_FIELDS,
};

static IPC_FIELDS: [Field; FIELD_COUNT_IPC] = [
    field("event_kind", FieldType::Integer),
    field("pipe_name", FieldType::String),
    field("image_path", FieldType::String),
    field("process_id", FieldType::Integer),
    field("parent_process_id", FieldType::Integer),
    field("session_id", FieldType::Integer),
    field("user", FieldType::String),
    field("integrity_level", FieldType::Integer),
    field("pipe_type", FieldType::Flags),
    field("read_mode", FieldType::Flags),
    field("completion_mode", FieldType::Flags),
    field("max_instances", FieldType::Integer),
    field("inbound_quota", FieldType::Integer),
    field("outbound_quota", FieldType::Integer),
    field("default_timeout", FieldType::Integer),
    field("desired_access", FieldType::Flags),
    field("share_access", FieldType::Flags),
    field("create_disposition", FieldType::Integer),
    field("command_line", FieldType::String),
    field("parent_image", FieldType::String),
    field("remote_client", FieldType::Integer),
];

/// Field indices of the IPC template type, for code that builds inputs.
pub mod ipc {
    /// `event_kind`: 1 for pipe created, 2 for pipe connected.
    pub const EVENT_KIND: usize = 0;
    /// `pipe_name`, without the `\\.\pipe` prefix, as Sysmon logs it.
    pub const PIPE_NAME: usize = 1;
    /// `image_path` of the process that created or opened the pipe.
    pub const IMAGE_PATH: usize = 2;
    /// `process_id` of that process.
    pub const PROCESS_ID: usize = 3;
    /// `parent_process_id`.
    pub const PARENT_PROCESS_ID: usize = 4;
    /// `session_id`.
    pub const SESSION_ID: usize = 5;
    /// `user`: SID string or `DOMAIN\name`.
    pub const USER: usize = 6;
    /// `integrity_level`: the mandatory-label RID (0x2000 medium, 0x3000 high, 0x4000 system).
    pub const INTEGRITY_LEVEL: usize = 7;
    /// `pipe_type`: `NamedPipeType` of `NAMED_PIPE_CREATE_PARAMETERS`.
    pub const PIPE_TYPE: usize = 8;
    /// `read_mode`.
    pub const READ_MODE: usize = 9;
    /// `completion_mode`.
    pub const COMPLETION_MODE: usize = 10;
    /// `max_instances`.
    pub const MAX_INSTANCES: usize = 11;
    /// `inbound_quota`.
    pub const INBOUND_QUOTA: usize = 12;
    /// `outbound_quota`.
    pub const OUTBOUND_QUOTA: usize = 13;
    /// `default_timeout`, in 100 ns units.
    pub const DEFAULT_TIMEOUT: usize = 14;
    /// `desired_access` mask.
    pub const DESIRED_ACCESS: usize = 15;
    /// `share_access` mask.
    pub const SHARE_ACCESS: usize = 16;
    /// `create_disposition`.
    pub const CREATE_DISPOSITION: usize = 17;
    /// `command_line` of the process.
    pub const COMMAND_LINE: usize = 18;
    /// `parent_image` path.
    pub const PARENT_IMAGE: usize = 19;
    /// `remote_client`: 1 when the pipe end belongs to a remote (SMB) client. The 21st field.
    pub const REMOTE_CLIENT: usize = 20;
}

/// Every template type this core knows.
pub static TEMPLATE_TYPES: &[TemplateType] = &[IPC];

/// Looks up a template type by the id and version a channel file names.
pub fn template(id: u16, version: u16) -> Option<&'static TemplateType> {
    TEMPLATE_TYPES
        .iter()
        .find(|t| t.id == id && t.version == version)
}

/// How many leading fields of one template type a sensor build fills in its input array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Supply {
    /// Template type id.
    pub template_id: u16,
    /// Template type version.
    pub template_version: u16,
    /// The sensor fills fields `0..supplied` of the template's input array.
    pub supplied: u8,
}

/// What one sensor build supplies, per template type, and the limits it evaluates under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorDecl {
    /// Build name, for diagnostics ("7.11").
    pub build: &'static str,
    /// Inputs supplied per template type.
    pub supplies: &'static [Supply],
    /// Longest string input the sensor will pass, in UTF-16 code units; longer inputs are not
    /// read (the predicate is false and a counter is bumped).
    pub max_string_units: u16,
    /// Most work units one event may cost; content whose worst case exceeds it is refused.
    pub work_budget: u64,
}

impl SensorDecl {
    /// How many leading fields of template `id`/`version` this sensor supplies, if it supports it.
    pub fn supplied(&self, id: u16, version: u16) -> Option<usize> {
        self.supplies
            .iter()
            .find(|s| s.template_id == id && s.template_version == version)
            .map(|s| usize::from(s.supplied))
    }
}

/// Longest string the sensor builds below pass: the maximum `UNICODE_STRING` length in code units.
pub const MAX_UNICODE_STRING_UNITS: u16 = 32_767;

/// Default per-event work budget of the sensor builds below, in work units.
pub const DEFAULT_WORK_BUDGET: u64 = 1 << 40;

/// Sensor build 7.11 as it shipped in 2024: it fills 20 of the IPC template's 21 fields.
pub const SENSOR_7_11: SensorDecl = SensorDecl {
    build: "7.11",
    supplies: &[Supply {
        template_id: IPC.id,
        template_version: IPC.version,
        supplied: 20,
    }],
    max_string_units: MAX_UNICODE_STRING_UNITS,
    work_budget: DEFAULT_WORK_BUDGET,
};

/// A fixed sensor build that fills all 21 IPC fields.
pub const SENSOR_FIXED: SensorDecl = SensorDecl {
    build: "fixed",
    supplies: &[Supply {
        template_id: IPC.id,
        template_version: IPC.version,
        supplied: 21,
    }],
    max_string_units: MAX_UNICODE_STRING_UNITS,
    work_budget: DEFAULT_WORK_BUDGET,
};

/// Every sensor build this crate declares, by name.
pub static SENSOR_BUILDS: &[SensorDecl] = &[SENSOR_7_11, SENSOR_FIXED];

/// Looks up a sensor build by name.
pub fn sensor(build: &str) -> Option<&'static SensorDecl> {
    SENSOR_BUILDS.iter().find(|s| s.build == build)
}
