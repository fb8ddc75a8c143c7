//! Predicate operators: what each one reads, which field types it accepts, and how its operands
//! are encoded in a predicate record.
//!
//! This module only names and classifies operators; [`crate::eval`] runs them.

use crate::schema::FieldType;

/// A predicate operator, as tagged in channel files.
///
/// String operators compare case-insensitively, code unit by code unit, against operands the
/// compiler stored already folded. Globs and regular expressions run as automata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Operator {
    /// Always true; reads nothing. A wildcard may name a field the sensor does not supply.
    Wildcard = 1,
    /// The value equals one of the operands (Sysmon `is`, `is any`; `is not` with [`NEGATE`]).
    Equals = 2,
    /// The value contains one (or, with [`ALL`], every) operand (`contains`, `excludes` forms).
    Contains = 3,
    /// The value begins with one of the operands (`begin with`, `not begin with`).
    BeginsWith = 4,
    /// The value ends with one of the operands (`end with`, `not end with`).
    EndsWith = 5,
    /// The value sorts before the operand, case-insensitively (Sysmon `less than`).
    LessThan = 6,
    /// The value sorts after the operand, case-insensitively (Sysmon `more than`).
    MoreThan = 7,
    /// The value is the operand path, or its file name is the operand (Sysmon `image`).
    Image = 8,
    /// The value is absent or empty (Sigma `null`).
    NullOrEmpty = 9,
    /// The value matches a Sigma glob (`*`, `?`, escapes), compiled to an automaton pattern.
    Glob = 10,
    /// A regular expression matches somewhere in the value, compiled to an automaton pattern.
    Regex = 11,
    /// The integer value equals the immediate.
    NumEquals = 12,
    /// The integer value is less than the immediate.
    NumLess = 13,
    /// The integer value is greater than the immediate.
    NumGreater = 14,
    /// Every bit of the immediate mask is set in the value.
    FlagsAll = 15,
    /// At least one bit of the immediate mask is set in the value.
    FlagsAny = 16,
}

/// Predicate flag: invert the comparison. A missing input stays false whatever this says.
pub const NEGATE: u8 = 1;
/// Predicate flag: every operand must hold, instead of any one (`contains all`).
pub const ALL: u8 = 2;
/// Every flag bit a predicate may carry.
pub const KNOWN_FLAGS: u8 = NEGATE | ALL;

/// How a predicate record's two argument words are read for an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operands {
    /// No operands.
    None,
    /// A run of operand strings: `a` = first operand index, `b` = count.
    Strings {
        /// Fewest operands the operator accepts.
        min: usize,
        /// Most operands the operator accepts.
        max: usize,
    },
    /// One automaton pattern, named by the record's automaton byte and first-pattern word;
    /// `a` and `b` are zero.
    Pattern,
    /// An immediate integer in `b`.
    Immediate,
}

/// Whether, and by which kind of automaton, a predicate with a given operator is tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// Never: the interpreter evaluates the predicate directly.
    Never,
    /// Optionally, by an automaton that reads folded input, one pattern per operand.
    Folded,
    /// Always, by an automaton that reads the input as it is, one pattern.
    Raw,
}

impl Operator {
    /// Decodes an operator tag.
    pub const fn from_u8(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => Self::Wildcard,
            2 => Self::Equals,
            3 => Self::Contains,
            4 => Self::BeginsWith,
            5 => Self::EndsWith,
            6 => Self::LessThan,
            7 => Self::MoreThan,
            8 => Self::Image,
            9 => Self::NullOrEmpty,
            10 => Self::Glob,
            11 => Self::Regex,
            12 => Self::NumEquals,
            13 => Self::NumLess,
            14 => Self::NumGreater,
            15 => Self::FlagsAll,
            16 => Self::FlagsAny,
            _ => return None,
        })
    }

    /// The operator's name in rule sources and diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Wildcard => "wildcard",
            Self::Equals => "equals",
            Self::Contains => "contains",
            Self::BeginsWith => "begins-with",
            Self::EndsWith => "ends-with",
            Self::LessThan => "less-than",
            Self::MoreThan => "more-than",
            Self::Image => "image",
            Self::NullOrEmpty => "null-or-empty",
            Self::Glob => "glob",
            Self::Regex => "regex",
            Self::NumEquals => "num-equals",
            Self::NumLess => "num-less",
            Self::NumGreater => "num-greater",
            Self::FlagsAll => "flags-all",
            Self::FlagsAny => "flags-any",
        }
    }

    /// How this operator's operands are encoded.
    pub const fn operands(self) -> Operands {
        match self {
            Self::Wildcard | Self::NullOrEmpty => Operands::None,
            Self::Equals | Self::Contains | Self::BeginsWith | Self::EndsWith | Self::Image => {
                Operands::Strings {
                    min: 1,
                    max: crate::limits::MAX_PREDICATE_OPERANDS,
                }
            }
            Self::LessThan | Self::MoreThan => Operands::Strings { min: 1, max: 1 },
            Self::Glob | Self::Regex => Operands::Pattern,
            Self::NumEquals
            | Self::NumLess
            | Self::NumGreater
            | Self::FlagsAll
            | Self::FlagsAny => Operands::Immediate,
        }
    }

    /// Whether, and by which kind of automaton, this operator's predicates are tested.
    pub const fn scanned(self) -> Scanned {
        match self {
            Self::Equals | Self::Contains | Self::BeginsWith | Self::EndsWith | Self::Image => {
                Scanned::Folded
            }
            Self::Glob | Self::Regex => Scanned::Raw,
            Self::Wildcard
            | Self::NullOrEmpty
            | Self::LessThan
            | Self::MoreThan
            | Self::NumEquals
            | Self::NumLess
            | Self::NumGreater
            | Self::FlagsAll
            | Self::FlagsAny => Scanned::Never,
        }
    }

    /// Whether this operator may be applied to a field of type `ty`.
    pub const fn accepts(self, ty: FieldType) -> bool {
        match self {
            Self::Wildcard | Self::NullOrEmpty => true,
            Self::Equals
            | Self::Contains
            | Self::BeginsWith
            | Self::EndsWith
            | Self::LessThan
            | Self::MoreThan
            | Self::Image
            | Self::Glob
            | Self::Regex => matches!(ty, FieldType::String),
            Self::NumEquals | Self::NumLess | Self::NumGreater => {
                matches!(ty, FieldType::Integer | FieldType::Flags)
            }
            Self::FlagsAll | Self::FlagsAny => matches!(ty, FieldType::Flags),
        }
    }

    /// Whether the [`ALL`] flag means anything for this operator.
    pub const fn takes_all(self) -> bool {
        matches!(self, Self::Contains)
    }

    /// Whether evaluating this operator reads its input field.
    pub const fn reads_input(self) -> bool {
        !matches!(self, Self::Wildcard)
    }
}

/// Every operator, in tag order.
pub const ALL_OPERATORS: [Operator; 16] = [
    Operator::Wildcard,
    Operator::Equals,
    Operator::Contains,
    Operator::BeginsWith,
    Operator::EndsWith,
    Operator::LessThan,
    Operator::MoreThan,
    Operator::Image,
    Operator::NullOrEmpty,
    Operator::Glob,
    Operator::Regex,
    Operator::NumEquals,
    Operator::NumLess,
    Operator::NumGreater,
    Operator::FlagsAll,
    Operator::FlagsAny,
];

/// Severity a rule reports with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Informational.
    Informational = 0,
    /// Low.
    Low = 1,
    /// Medium.
    Medium = 2,
    /// High.
    High = 3,
    /// Critical.
    Critical = 4,
}

impl Level {
    /// Decodes a level tag.
    pub const fn from_u8(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::Informational,
            1 => Self::Low,
            2 => Self::Medium,
            3 => Self::High,
            4 => Self::Critical,
            _ => return None,
        })
    }

    /// The level's name, as Sigma spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Informational => "informational",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// What the sensor does when a rule matches. The decisive action of an event is the strongest
/// action among its matched rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Action {
    /// Record the match in telemetry only.
    Log = 0,
    /// Raise a detection.
    Alert = 1,
    /// Raise a detection and deny the pipe operation.
    Block = 2,
}

impl Action {
    /// Decodes an action tag.
    pub const fn from_u8(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => Self::Log,
            1 => Self::Alert,
            2 => Self::Block,
            _ => return None,
        })
    }

    /// The action's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Alert => "alert",
            Self::Block => "block",
        }
    }
}
