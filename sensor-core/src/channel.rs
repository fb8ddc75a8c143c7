//! The channel-file format, version 3: a zero-copy view over untrusted bytes.
//!
//! [`ChannelFile::parse`] checks the header, the checksum and the section directory once; after
//! that every record accessor is bounds-checked by construction and returns `None` only for an
//! index past the section's end. This module owns layout only: what the records *mean*, and
//! whether they agree with each other and with the sensor, is [`crate::validate`]'s job.
//! The layout is specified in `docs/channel-file-format.md`.

use crate::crc32::crc32;
use crate::error::{LoadError, Section};
use crate::limits;

/// The first four bytes of every channel file.
pub const MAGIC: [u8; 4] = *b"SNCF";
/// The format version this module reads.
pub const FORMAT_VERSION: u16 = 3;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 64;
/// Length of the section directory that follows the header: one (offset, length) pair of
/// `u32`s per section.
pub const DIRECTORY_LEN: usize = SECTIONS * 8;
/// Number of sections.
pub const SECTIONS: usize = Section::ALL.len();
/// Sections start on multiples of this, so automata sit aligned for zero-copy use.
pub const SECTION_ALIGN: usize = 8;

/// Size of one field declaration record.
pub const FIELD_RECORD: usize = 4;
/// Size of one rule record.
pub const RULE_RECORD: usize = 32;
/// Size of one predicate record.
pub const PREDICATE_RECORD: usize = 24;
/// Size of one operand record.
pub const OPERAND_RECORD: usize = 8;
/// Size of one program instruction.
pub const INSTRUCTION: usize = 4;
/// Size of the automata section's leading count.
pub const AUTOMATA_HEADER: usize = 8;
/// Size of one automata directory entry.
pub const AUTOMATON_ENTRY: usize = 16;
/// Automaton flags of a DFA (globs and regexes).
pub const AUTOMATON_DFA: u32 = 0;
/// Automaton flags of a dictionary: an Aho-Corasick automaton over input code units
/// upper-cased by [`crate::fold::fold`] ([`crate::dictionary`]), for the literal operators.
pub const AUTOMATON_DICTIONARY: u32 = 2;
/// Size of the triggers section's leading counts.
pub const TRIGGERS_HEADER: usize = 16;
/// Size of one word of the triggers section.
pub const TRIGGER_WORD: usize = 4;

pub(crate) fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    bytes.get(at..end)?.try_into().ok()
}

pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    array(bytes, at).map(u16::from_le_bytes)
}

pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_le_bytes)
}

pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    array(bytes, at).map(u64::from_le_bytes)
}

fn u8_at(bytes: &[u8], at: usize) -> Option<u8> {
    bytes.get(at).copied()
}

fn record_size(section: Section) -> usize {
    match section {
        Section::Fields => FIELD_RECORD,
        Section::Rules => RULE_RECORD,
        Section::Predicates => PREDICATE_RECORD,
        Section::Operands => OPERAND_RECORD,
        Section::Program => INSTRUCTION,
        Section::Strings | Section::Automata => 1,
        Section::Triggers => TRIGGER_WORD,
    }
}

fn record_cap(section: Section) -> usize {
    match section {
        Section::Fields => limits::MAX_FIELDS,
        Section::Rules => limits::MAX_RULES,
        Section::Predicates => limits::MAX_PREDICATES,
        Section::Operands => limits::MAX_OPERANDS,
        Section::Program => limits::MAX_INSTRUCTIONS,
        Section::Strings | Section::Automata => limits::MAX_FILE_BYTES,
        Section::Triggers => limits::MAX_FILE_BYTES / TRIGGER_WORD,
    }
}

/// The fixed header of a channel file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Channel number (291 for named pipes).
    pub channel: u32,
    /// Template type id the content is written for.
    pub template_id: u16,
    /// Template type version.
    pub template_version: u16,
    /// Content version.
    pub content_version: u64,
    /// Length of everything after the header.
    pub body_len: u32,
    /// CRC-32 of everything after the header.
    pub body_crc: u32,
}

/// A field the content declares it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDecl {
    /// Template field index.
    pub field: u8,
    /// Type tag.
    pub ty: u8,
    /// Must be zero.
    pub reserved: u16,
}

/// A rule record. Text fields are (offset, length) into the string pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleRecord {
    /// Rule id text.
    pub id: (u32, u16),
    /// Title text.
    pub title: (u32, u16),
    /// Author text.
    pub author: (u32, u16),
    /// Level tag.
    pub level: u8,
    /// Action tag.
    pub action: u8,
    /// First instruction of the rule's program.
    pub program_start: u32,
    /// Instruction count.
    pub program_len: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// A predicate record. `a` and `b` are read as [`crate::op::Operator::operands`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PredicateRecord {
    /// Template field index.
    pub field: u8,
    /// Operator tag.
    pub op: u8,
    /// Flag bits.
    pub flags: u8,
    /// The automaton that tests this predicate, plus one; zero when none does.
    pub automaton: u8,
    /// First argument word.
    pub a: u32,
    /// Second argument word.
    pub b: u64,
    /// Total UTF-16 code units of the operand strings, for the cost bound.
    pub weight: u32,
    /// The predicate's first pattern in its automaton; zero when no automaton tests it.
    pub pattern: u32,
}

/// An operand record: a UTF-16LE string in the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperandRecord {
    /// Byte offset into the string pool.
    pub start: u32,
    /// Length in UTF-16 code units.
    pub units: u32,
}

/// An automata directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutomatonEntry {
    /// Byte offset of the serialized DFA from the start of the automata section.
    pub start: u32,
    /// Its length in bytes.
    pub len: u32,
    /// The template field the automaton scans.
    pub field: u32,
    /// Flags: [`AUTOMATON_DFA`] or [`AUTOMATON_DICTIONARY`].
    pub flags: u32,
}

/// The counts at the head of the triggers section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TriggersHeader {
    /// Rules that run on every event, listed first.
    pub unindexed: u32,
    /// Pattern slots: the patterns of every automaton, numbered in automaton order.
    pub slots: u32,
    /// Rule entries listed under the slots.
    pub entries: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// A structurally valid channel file: header, checksum and section bounds checked.
#[derive(Clone, Copy, Debug)]
pub struct ChannelFile<'a> {
    header: Header,
    offsets: [usize; SECTIONS],
    sections: [&'a [u8]; SECTIONS],
}

impl<'a> ChannelFile<'a> {
    /// Checks the header, checksum and section directory of `bytes`.
    ///
    /// Runs in time linear in `bytes.len()` (the checksum) and never reads out of bounds.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, LoadError> {
        let header = parse_header(bytes)?;
        let mut offsets = [0usize; SECTIONS];
        let mut sections: [&'a [u8]; SECTIONS] = [&[]; SECTIONS];
        let mut min = HEADER_LEN.saturating_add(DIRECTORY_LEN);
        for ((section, offset), slice) in Section::ALL
            .into_iter()
            .zip(offsets.iter_mut())
            .zip(sections.iter_mut())
        {
            let (start, body) = parse_section(bytes, section, min)?;
            *offset = start;
            *slice = body;
            min = start.saturating_add(body.len());
        }
        Ok(Self {
            header,
            offsets,
            sections,
        })
    }

    /// A file with no sections: zero header, every section empty. What an empty
    /// [`crate::RuleSet`] holds; never the result of parsing.
    pub const fn empty() -> Self {
        Self {
            header: Header {
                channel: 0,
                template_id: 0,
                template_version: 0,
                content_version: 0,
                body_len: 0,
                body_crc: 0,
            },
            offsets: [0; Section::ALL.len()],
            sections: [&[]; Section::ALL.len()],
        }
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    fn section(&self, section: Section) -> &'a [u8] {
        self.sections
            .get(section as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Byte offset of a section in the file, for diagnostics.
    pub fn section_offset(&self, section: Section) -> usize {
        self.offsets.get(section as usize).copied().unwrap_or(0)
    }

    /// Byte offset in the file of record `index` of `section`.
    pub fn record_offset(&self, section: Section, index: usize) -> usize {
        index
            .saturating_mul(record_size(section))
            .saturating_add(self.section_offset(section))
    }

    /// Number of records in `section`.
    pub fn count(&self, section: Section) -> usize {
        self.section(section)
            .len()
            .checked_div(record_size(section))
            .unwrap_or(0)
    }

    fn record(&self, section: Section, index: usize) -> Option<&'a [u8]> {
        let size = record_size(section);
        let start = index.checked_mul(size)?;
        self.section(section).get(start..start.checked_add(size)?)
    }

    /// Field declaration `index`.
    pub fn field(&self, index: usize) -> Option<FieldDecl> {
        let r = self.record(Section::Fields, index)?;
        Some(FieldDecl {
            field: u8_at(r, 0)?,
            ty: u8_at(r, 1)?,
            reserved: u16_at(r, 2)?,
        })
    }

    /// Rule record `index`.
    pub fn rule(&self, index: usize) -> Option<RuleRecord> {
        let r = self.record(Section::Rules, index)?;
        Some(RuleRecord {
            id: (u32_at(r, 0)?, u16_at(r, 4)?),
            title: (u32_at(r, 8)?, u16_at(r, 6)?),
            author: (u32_at(r, 12)?, u16_at(r, 16)?),
            level: u8_at(r, 18)?,
            action: u8_at(r, 19)?,
            program_start: u32_at(r, 20)?,
            program_len: u32_at(r, 24)?,
            reserved: u32_at(r, 28)?,
        })
    }

    /// Predicate record `index`.
    pub fn predicate(&self, index: usize) -> Option<PredicateRecord> {
        let r = self.record(Section::Predicates, index)?;
        Some(PredicateRecord {
            field: u8_at(r, 0)?,
            op: u8_at(r, 1)?,
            flags: u8_at(r, 2)?,
            automaton: u8_at(r, 3)?,
            a: u32_at(r, 4)?,
            b: u64_at(r, 8)?,
            weight: u32_at(r, 16)?,
            pattern: u32_at(r, 20)?,
        })
    }

    /// Operand record `index`.
    pub fn operand(&self, index: usize) -> Option<OperandRecord> {
        let r = self.record(Section::Operands, index)?;
        Some(OperandRecord {
            start: u32_at(r, 0)?,
            units: u32_at(r, 4)?,
        })
    }

    /// Instruction `index` of the program section.
    pub fn instruction(&self, index: usize) -> Option<u32> {
        u32_at(self.record(Section::Program, index)?, 0)
    }

    /// `len` bytes of the string pool from `start`.
    pub fn string_bytes(&self, start: u32, len: usize) -> Option<&'a [u8]> {
        let start = usize::try_from(start).ok()?;
        self.section(Section::Strings)
            .get(start..start.checked_add(len)?)
    }

    /// The operand string of `record`, as UTF-16LE bytes.
    pub fn operand_bytes(&self, record: OperandRecord) -> Option<&'a [u8]> {
        let len = usize::try_from(record.units).ok()?.checked_mul(2)?;
        self.string_bytes(record.start, len)
    }

    /// Number of automata the automata section's directory declares.
    pub fn automaton_count(&self) -> Option<usize> {
        let section = self.section(Section::Automata);
        if section.is_empty() {
            return Some(0);
        }
        usize::try_from(u32_at(section, 0)?).ok()
    }

    /// Automata directory entry `index`.
    pub fn automaton_entry(&self, index: usize) -> Option<AutomatonEntry> {
        let at = index
            .checked_mul(AUTOMATON_ENTRY)?
            .checked_add(AUTOMATA_HEADER)?;
        let section = self.section(Section::Automata);
        Some(AutomatonEntry {
            start: u32_at(section, at)?,
            len: u32_at(section, at.checked_add(4)?)?,
            field: u32_at(section, at.checked_add(8)?)?,
            flags: u32_at(section, at.checked_add(12)?)?,
        })
    }

    /// The bytes an automata directory entry points at.
    pub fn automaton_bytes(&self, entry: AutomatonEntry) -> Option<&'a [u8]> {
        let start = usize::try_from(entry.start).ok()?;
        let len = usize::try_from(entry.len).ok()?;
        self.section(Section::Automata)
            .get(start..start.checked_add(len)?)
    }

    /// The triggers section's counts, or `None` when the section is empty (no rule index: every
    /// rule runs on every event).
    pub fn triggers_header(&self) -> Option<TriggersHeader> {
        let section = self.section(Section::Triggers);
        Some(TriggersHeader {
            unindexed: u32_at(section, 0)?,
            slots: u32_at(section, 4)?,
            entries: u32_at(section, 8)?,
            reserved: u32_at(section, 12)?,
        })
    }

    /// Word `index` of the triggers section after its header. The caller knows from
    /// [`Self::triggers_header`] which list a word belongs to.
    pub fn trigger_word(&self, index: usize) -> Option<u32> {
        let at = index
            .checked_mul(TRIGGER_WORD)?
            .checked_add(TRIGGERS_HEADER)?;
        u32_at(self.section(Section::Triggers), at)
    }

    /// Words in the triggers section after its header.
    pub fn trigger_words(&self) -> usize {
        self.section(Section::Triggers)
            .len()
            .saturating_sub(TRIGGERS_HEADER)
            / TRIGGER_WORD
    }

    /// Byte offset in the file of a byte offset within the automata section.
    pub fn automata_offset(&self, within: usize) -> usize {
        self.section_offset(Section::Automata)
            .saturating_add(within)
    }
}

fn parse_header(bytes: &[u8]) -> Result<Header, LoadError> {
    if bytes.len() > limits::MAX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            len: bytes.len(),
            max: limits::MAX_FILE_BYTES,
        });
    }
    let needed = HEADER_LEN.saturating_add(DIRECTORY_LEN);
    let truncated = LoadError::Truncated {
        len: bytes.len(),
        needed,
    };
    if bytes.len() < needed {
        return Err(truncated);
    }
    let magic: [u8; 4] = array(bytes, 0).ok_or(truncated)?;
    if magic != MAGIC {
        return Err(LoadError::BadMagic { found: magic });
    }
    let version = u16_at(bytes, 4).ok_or(truncated)?;
    if version != FORMAT_VERSION {
        return Err(LoadError::UnsupportedFormat { version });
    }
    let header_len = u16_at(bytes, 6).ok_or(truncated)?;
    if usize::from(header_len) != HEADER_LEN {
        return Err(LoadError::BadHeaderLength { len: header_len });
    }
    if let Some(offset) = (32..HEADER_LEN).find(|&at| bytes.get(at) != Some(&0)) {
        return Err(LoadError::ReservedNotZero { offset });
    }
    let header = Header {
        channel: u32_at(bytes, 8).ok_or(truncated)?,
        template_id: u16_at(bytes, 12).ok_or(truncated)?,
        template_version: u16_at(bytes, 14).ok_or(truncated)?,
        content_version: u64_at(bytes, 16).ok_or(truncated)?,
        body_len: u32_at(bytes, 24).ok_or(truncated)?,
        body_crc: u32_at(bytes, 28).ok_or(truncated)?,
    };
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    if usize::try_from(header.body_len).ok() != Some(body.len()) {
        return Err(LoadError::BodyLength {
            declared: header.body_len,
            actual: body.len(),
        });
    }
    let computed = crc32(body);
    if computed != header.body_crc {
        return Err(LoadError::Checksum {
            declared: header.body_crc,
            computed,
        });
    }
    Ok(header)
}

fn parse_section(bytes: &[u8], section: Section, min: usize) -> Result<(usize, &[u8]), LoadError> {
    let entry = HEADER_LEN.saturating_add((section as usize).saturating_mul(8));
    let truncated = LoadError::Truncated {
        len: bytes.len(),
        needed: HEADER_LEN.saturating_add(DIRECTORY_LEN),
    };
    let offset = u32_at(bytes, entry).ok_or(truncated)?;
    let len = u32_at(bytes, entry.saturating_add(4)).ok_or(truncated)?;
    let start = usize::try_from(offset).map_err(|_| truncated)?;
    let size = usize::try_from(len).map_err(|_| truncated)?;
    if !start.is_multiple_of(SECTION_ALIGN) {
        return Err(LoadError::SectionMisaligned { section, offset });
    }
    if start < min {
        return Err(LoadError::SectionOverlap {
            section,
            offset,
            min,
        });
    }
    let body = start
        .checked_add(size)
        .and_then(|end| bytes.get(start..end))
        .ok_or(LoadError::SectionOutOfBounds {
            section,
            offset,
            len,
            file_len: bytes.len(),
        })?;
    let record = record_size(section);
    if !size.is_multiple_of(record) {
        return Err(LoadError::SectionLength {
            section,
            len,
            record,
        });
    }
    let count = size.checked_div(record).unwrap_or(0);
    if count > record_cap(section) {
        return Err(LoadError::TooMany {
            section,
            count,
            max: record_cap(section),
        });
    }
    Ok((start, body))
}
