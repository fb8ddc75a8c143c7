//! The flag words of a named-pipe create, as `NAMED_PIPE_CREATE_PARAMETERS` and the create IRP
//! carry them, with the names the Windows headers give each bit.
//!
//! Rules compare these fields with the flag-mask operators; this module only names bits, so
//! rule sources can say `FILE_PIPE_REJECT_REMOTE_CLIENTS` rather than `2`.

use bitflags::bitflags;

use crate::schema::ipc;

bitflags! {
    /// `NamedPipeType` (`ntioapi.h`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PipeType: u32 {
        /// Messages, not a byte stream.
        const FILE_PIPE_MESSAGE_TYPE = 0x1;
        /// Remote (SMB) clients may not connect.
        const FILE_PIPE_REJECT_REMOTE_CLIENTS = 0x2;
    }

    /// `ReadMode`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ReadMode: u32 {
        /// Reads return whole messages.
        const FILE_PIPE_MESSAGE_MODE = 0x1;
    }

    /// `CompletionMode`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CompletionMode: u32 {
        /// Operations complete at once instead of queueing (non-blocking).
        const FILE_PIPE_COMPLETE_OPERATION = 0x1;
    }

    /// `DesiredAccess` bits that matter for pipes (`winnt.h`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct AccessMask: u32 {
        /// Read data.
        const FILE_READ_DATA = 0x1;
        /// Write data.
        const FILE_WRITE_DATA = 0x2;
        /// Create a pipe instance.
        const FILE_CREATE_PIPE_INSTANCE = 0x4;
        /// Read attributes.
        const FILE_READ_ATTRIBUTES = 0x80;
        /// Write attributes.
        const FILE_WRITE_ATTRIBUTES = 0x100;
        /// Delete.
        const DELETE = 0x1_0000;
        /// Read the security descriptor.
        const READ_CONTROL = 0x2_0000;
        /// Change the DACL.
        const WRITE_DAC = 0x4_0000;
        /// Change the owner.
        const WRITE_OWNER = 0x8_0000;
        /// Wait on the handle.
        const SYNCHRONIZE = 0x10_0000;
        /// Everything.
        const GENERIC_ALL = 0x1000_0000;
        /// Execute.
        const GENERIC_EXECUTE = 0x2000_0000;
        /// Write.
        const GENERIC_WRITE = 0x4000_0000;
        /// Read.
        const GENERIC_READ = 0x8000_0000;
    }

    /// `ShareAccess`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ShareAccess: u32 {
        /// Others may read.
        const FILE_SHARE_READ = 0x1;
        /// Others may write.
        const FILE_SHARE_WRITE = 0x2;
        /// Others may delete.
        const FILE_SHARE_DELETE = 0x4;
    }
}

/// The bits of the flag called `name` in the flags field `field` of the IPC template, if that
/// field has such a flag.
pub fn flag(field: usize, name: &str) -> Option<u64> {
    let bits = match field {
        ipc::PIPE_TYPE => PipeType::from_name(name)?.bits(),
        ipc::READ_MODE => ReadMode::from_name(name)?.bits(),
        ipc::COMPLETION_MODE => CompletionMode::from_name(name)?.bits(),
        ipc::DESIRED_ACCESS => AccessMask::from_name(name)?.bits(),
        ipc::SHARE_ACCESS => ShareAccess::from_name(name)?.bits(),
        _ => return None,
    };
    Some(u64::from(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_per_field_only() {
        assert_eq!(
            flag(ipc::PIPE_TYPE, "FILE_PIPE_REJECT_REMOTE_CLIENTS"),
            Some(2)
        );
        assert_eq!(flag(ipc::DESIRED_ACCESS, "GENERIC_READ"), Some(0x8000_0000));
        assert_eq!(flag(ipc::SHARE_ACCESS, "FILE_PIPE_MESSAGE_TYPE"), None);
        assert_eq!(flag(ipc::PIPE_NAME, "FILE_SHARE_READ"), None);
    }
}
