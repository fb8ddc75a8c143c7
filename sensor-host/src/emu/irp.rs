//! Named-pipe I/O requests as a file-system minifilter sees them: `IRP_MJ_CREATE_NAMED_PIPE`
//! when a server creates a pipe, `IRP_MJ_CREATE` on the named-pipe file system (NPFS) when a
//! client opens one.
//!
//! This module owns the shape of those requests (file name, access, disposition,
//! `NAMED_PIPE_CREATE_PARAMETERS`, requesting process) and the two conversions around them:
//! [`PipeIrp::issue`], which plays the I/O manager turning a host-side [`PipeEvent`] into the
//! request, and [`PipeIrp::capture`], which plays the sensor reading the request back into the
//! template's fields. It never evaluates rules and never touches emulated memory.

use serde::{Deserialize, Serialize};

use crate::event::{EventKind, PipeEvent};

/// `IRP_MJ_CREATE`.
pub const IRP_MJ_CREATE: u8 = 0x00;
/// `IRP_MJ_CREATE_NAMED_PIPE`.
pub const IRP_MJ_CREATE_NAMED_PIPE: u8 = 0x01;
/// The device object of the named-pipe file system.
pub const NPFS_DEVICE: &str = r"\Device\NamedPipe";
/// Process id of the System process, in whose context the SMB server opens pipes for remote
/// clients.
pub const SYSTEM_PID: u64 = 4;

/// The process that issued the request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requestor {
    /// Image path (`System` for the kernel's own process).
    pub image: String,
    /// Process id.
    pub pid: u64,
    /// Parent process id.
    pub parent_pid: u64,
    /// Terminal-services session.
    pub session: u64,
    /// Account, as `DOMAIN\name`.
    pub user: String,
    /// Mandatory integrity level RID.
    pub integrity: u64,
    /// Command line.
    pub command_line: String,
    /// Parent image path.
    pub parent_image: String,
}

/// `NAMED_PIPE_CREATE_PARAMETERS`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedPipeCreateParameters {
    /// `NamedPipeType`: message type (1) and reject-remote-clients (2) bits.
    pub named_pipe_type: u64,
    /// `ReadMode`.
    pub read_mode: u64,
    /// `CompletionMode`.
    pub completion_mode: u64,
    /// `MaximumInstances`.
    pub maximum_instances: u64,
    /// `InboundQuota`.
    pub inbound_quota: u64,
    /// `OutboundQuota`.
    pub outbound_quota: u64,
    /// `DefaultTimeout`, in 100 ns units (a relative time; the structure stores it negated).
    pub default_timeout: u64,
    /// `TimeoutSpecified`.
    pub timeout_specified: bool,
}

/// Fields both request kinds carry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCommon {
    /// The pipe's name relative to NPFS, as Sysmon logs it (`\status_4a`).
    pub file_name: String,
    /// `DesiredAccess`.
    pub desired_access: u64,
    /// `ShareAccess`.
    pub share_access: u64,
    /// `Options`: create disposition in the high 8 bits, create options in the low 24.
    pub options: u64,
    /// Who asked.
    pub requestor: Requestor,
}

impl CreateCommon {
    /// The create disposition (`FILE_CREATE` 2, `FILE_OPEN_IF` 3, `FILE_OPEN` 1).
    pub fn disposition(&self) -> u64 {
        self.options >> 24
    }
}

/// A pipe request reaching the sensor's pre-operation callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "irp")]
pub enum PipeIrp {
    /// `IRP_MJ_CREATE_NAMED_PIPE`: a server creates a pipe instance.
    #[serde(rename = "IRP_MJ_CREATE_NAMED_PIPE")]
    CreateNamedPipe {
        /// Name, access, disposition, requestor.
        common: CreateCommon,
        /// The pipe's parameters.
        parameters: NamedPipeCreateParameters,
    },
    /// `IRP_MJ_CREATE` on NPFS: a client opens an existing pipe.
    #[serde(rename = "IRP_MJ_CREATE")]
    Create {
        /// Name, access, disposition, requestor.
        common: CreateCommon,
    },
}

fn text(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn number(n: Option<u64>) -> u64 {
    n.unwrap_or_default()
}

impl PipeIrp {
    /// The request the I/O manager sends for `event`. A create carries the pipe parameters; a
    /// connect does not. Values the event lacks are zero or empty.
    pub fn issue(event: &PipeEvent) -> Self {
        let common = CreateCommon {
            file_name: text(&event.pipe_name),
            desired_access: number(event.desired_access),
            share_access: number(event.share_access),
            options: number(event.create_disposition) << 24,
            requestor: Requestor {
                image: text(&event.image_path),
                pid: number(event.process_id),
                parent_pid: number(event.parent_process_id),
                session: number(event.session_id),
                user: text(&event.user),
                integrity: number(event.integrity_level),
                command_line: text(&event.command_line),
                parent_image: text(&event.parent_image),
            },
        };
        match event.kind {
            EventKind::Create => Self::CreateNamedPipe {
                common,
                parameters: NamedPipeCreateParameters {
                    named_pipe_type: number(event.pipe_type),
                    read_mode: number(event.read_mode),
                    completion_mode: number(event.completion_mode),
                    maximum_instances: number(event.max_instances),
                    inbound_quota: number(event.inbound_quota),
                    outbound_quota: number(event.outbound_quota),
                    default_timeout: number(event.default_timeout),
                    timeout_specified: event.default_timeout.is_some(),
                },
            },
            EventKind::Connect => Self::Create { common },
        }
    }

    /// The fields both kinds carry.
    pub fn common(&self) -> &CreateCommon {
        match self {
            Self::CreateNamedPipe { common, .. } | Self::Create { common } => common,
        }
    }

    /// The major function code.
    pub fn major(&self) -> u8 {
        match self {
            Self::CreateNamedPipe { .. } => IRP_MJ_CREATE_NAMED_PIPE,
            Self::Create { .. } => IRP_MJ_CREATE,
        }
    }

    /// The major function's name.
    pub fn major_name(&self) -> &'static str {
        match self {
            Self::CreateNamedPipe { .. } => "IRP_MJ_CREATE_NAMED_PIPE",
            Self::Create { .. } => "IRP_MJ_CREATE",
        }
    }

    /// Whether the request comes from a remote client: an open on NPFS made by the System
    /// process, which is how the SMB server relays a client's `\\host\pipe\name`.
    pub fn is_remote(&self) -> bool {
        matches!(self, Self::Create { common } if common.requestor.pid == SYSTEM_PID)
    }

    /// What the sensor records from the request: one value per template field. `pipe_name` is
    /// the name as captured (the caller may have read it back from pool).
    pub fn capture(&self, pipe_name: String) -> PipeEvent {
        let common = self.common();
        let r = &common.requestor;
        let mut event = PipeEvent {
            kind: EventKind::Connect,
            pipe_name: Some(pipe_name),
            image_path: Some(r.image.clone()),
            process_id: Some(r.pid),
            parent_process_id: Some(r.parent_pid),
            session_id: Some(r.session),
            user: Some(r.user.clone()),
            integrity_level: Some(r.integrity),
            desired_access: Some(common.desired_access),
            share_access: Some(common.share_access),
            create_disposition: Some(common.disposition()),
            command_line: Some(r.command_line.clone()),
            parent_image: Some(r.parent_image.clone()),
            remote_client: Some(self.is_remote()),
            ..PipeEvent::default()
        };
        if let Self::CreateNamedPipe { parameters: p, .. } = self {
            event.kind = EventKind::Create;
            event.pipe_type = Some(p.named_pipe_type);
            event.read_mode = Some(p.read_mode);
            event.completion_mode = Some(p.completion_mode);
            event.max_instances = Some(p.maximum_instances);
            event.inbound_quota = Some(p.inbound_quota);
            event.outbound_quota = Some(p.outbound_quota);
            event.default_timeout = p.timeout_specified.then_some(p.default_timeout);
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Generator, SynthConfig};

    #[test]
    fn synthetic_events_survive_issue_and_capture() {
        let config = SynthConfig {
            seed: 17,
            malicious_per_mille: 300,
            connect_per_mille: 500,
        };
        let (mut creates, mut connects, mut remote) = (0, 0, 0);
        for event in Generator::new(config).take(5_000) {
            let irp = PipeIrp::issue(&event);
            let name = irp.common().file_name.clone();
            assert_eq!(irp.capture(name), event);
            match irp {
                PipeIrp::CreateNamedPipe { .. } => creates += 1,
                PipeIrp::Create { .. } => connects += 1,
            }
            remote += usize::from(irp.is_remote());
        }
        assert!(
            creates > 1_000 && connects > 1_000 && remote > 0,
            "{creates} {connects} {remote}"
        );
    }

    #[test]
    fn majors_dispositions_and_json_shape() {
        let connect = PipeIrp::issue(&PipeEvent {
            kind: EventKind::Connect,
            pipe_name: Some(r"\srvsvc".into()),
            create_disposition: Some(1),
            process_id: Some(SYSTEM_PID),
            ..PipeEvent::default()
        });
        assert_eq!(
            (connect.major(), connect.major_name()),
            (0x00, "IRP_MJ_CREATE")
        );
        assert_eq!(connect.common().disposition(), 1);
        assert!(connect.is_remote());
        let json = serde_json::to_value(&connect).unwrap();
        assert_eq!(json["irp"], "IRP_MJ_CREATE");
        assert_eq!(json["common"]["file_name"], r"\srvsvc");
        let create = PipeIrp::issue(&PipeEvent {
            process_id: Some(SYSTEM_PID),
            ..PipeEvent::default()
        });
        assert_eq!(create.major(), IRP_MJ_CREATE_NAMED_PIPE);
        assert!(
            !create.is_remote(),
            "only opens are relayed for remote clients"
        );
    }
}
