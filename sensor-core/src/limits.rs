//! Every cap the loader enforces, in one place.
//!
//! The loader refuses content that exceeds any of these before it looks further, so every loop
//! over content is bounded by a constant here and every index fits the types that carry it.

/// Largest channel file the loader accepts, in bytes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Most rules in one channel file.
pub const MAX_RULES: usize = 16_384;
/// Most predicates in one channel file.
pub const MAX_PREDICATES: usize = 65_536;
/// Most operand strings in one channel file.
pub const MAX_OPERANDS: usize = 262_144;
/// Most program instructions in one channel file.
pub const MAX_INSTRUCTIONS: usize = 1_048_576;
/// Most instructions in one rule's program.
pub const MAX_RULE_PROGRAM: usize = 4_096;
/// Deepest evaluation stack a rule's program may need (the stack is one `u64` of bits).
pub const MAX_STACK_DEPTH: u32 = 64;
/// Most operands one predicate may carry (for `any of`, `contains any`, ...).
pub const MAX_PREDICATE_OPERANDS: usize = 4_096;
/// Longest operand string, in UTF-16 code units.
pub const MAX_OPERAND_UNITS: usize = 4_096;
/// Most automata in one channel file.
pub const MAX_AUTOMATA: usize = 16;
/// Most patterns in one automaton.
pub const MAX_PATTERNS_PER_AUTOMATON: usize = 65_536;
/// Most patterns over all automata of one channel file (pattern slots of the rule index).
pub const MAX_PATTERNS: usize = 262_144;
/// Most distinct patterns one event may fire before the interpreter stops using the rule index
/// for that event and evaluates every rule (exactly, only slower).
pub const MAX_FIRED: usize = 64;
/// Most input fields a template type may declare.
pub const MAX_FIELDS: usize = 32;
/// Longest rule id, title or author, in bytes.
pub const MAX_META_BYTES: usize = 1_024;
