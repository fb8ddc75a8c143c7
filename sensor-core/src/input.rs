//! The values a sensor hands the interpreter for one event.
//!
//! Strings stay as the UTF-16 code units the kernel gave the driver; nothing here copies or
//! decodes them. An event is a slice of [`Value`]s indexed by template field.

/// One input field's value for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// The sensor supplies the field but has no value for this event (Sigma's `null`).
    Absent,
    /// An integer or flag mask.
    Int(u64),
    /// A counted UTF-16 string, borrowed (the `Buffer`/`Length` of a `UNICODE_STRING`).
    Str(&'a [u16]),
}
