//! Load-time validation: from a structurally sound [`ChannelFile`] to a [`RuleSet`] that the
//! interpreter can run without any check failing.
//!
//! Checks run in one pass over each table, so loading is linear in the file's length:
//! the template type and the sensor's supply of it; the fields the content declares; every
//! automaton; every predicate (operator, flags, field, operand bounds and weight, the automaton
//! and patterns that test it); the rule index's shape; every rule (text, level, action, program
//! shape), for each predicate a rule reads the schema handshake (the field must be one the
//! sensor supplies), and that the rule index may skip the rule exactly when it does. Last comes
//! the worst-case cost of one event against the sensor's budget. Nothing here evaluates events.

use crate::automaton::{Automaton, AutomatonFault, Form, LANES};
use crate::channel::{
    ChannelFile, Header, PredicateRecord, AUTOMATON_DFA, AUTOMATON_DICTIONARY, AUTOMATON_ENTRY,
};
use crate::error::{LoadError, Section};
use crate::fired::bit;
use crate::index::RuleIndex;
use crate::limits::{
    MAX_AUTOMATA, MAX_META_BYTES, MAX_OPERAND_UNITS, MAX_PATTERNS, MAX_RULE_PROGRAM,
};
use crate::op::{Action, Level, Operands, Operator, Scanned, ALL, KNOWN_FLAGS, NEGATE};
use crate::program::{self, Instruction};
use crate::schema::{self, FieldType, SensorDecl, TemplateType};

/// A validated rule set: a channel file every record of which has been checked against the
/// format, the template type and the sensor it was loaded for.
#[derive(Clone, Debug)]
pub struct RuleSet<'a> {
    pub(crate) file: ChannelFile<'a>,
    pub(crate) template: &'static TemplateType,
    pub(crate) build: &'static str,
    pub(crate) supplied: usize,
    pub(crate) max_units: usize,
    pub(crate) automata: [Option<Automaton<'a>>; MAX_AUTOMATA],
    pub(crate) automaton_count: usize,
    pub(crate) index: Option<RuleIndex>,
    /// Automata, by bit, that scan every event; the others are *lazy*: the rule index lists no
    /// rule under any of their slots, so they scan only when a rule needs them.
    pub(crate) eager: u32,
    /// Per automaton, by bit, the others it scans its field with in one pass
    /// ([`crate::automaton::Lanes`]): DFAs that read the whole input and the same field and are
    /// all eager or all lazy, at most [`LANES`] to a group.
    pub(crate) partners: [u32; MAX_AUTOMATA],
    pub(crate) worst_case: u64,
}

/// A rule's metadata, borrowed from the channel file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleInfo<'a> {
    /// Rule id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Author(s), empty when unknown.
    pub author: &'a str,
    /// Severity.
    pub level: Level,
    /// What a match does.
    pub action: Action,
}

/// A predicate record with its operator and flags decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Predicate {
    pub(crate) field: usize,
    pub(crate) op: Operator,
    pub(crate) negate: bool,
    pub(crate) all: bool,
    pub(crate) a: u32,
    pub(crate) b: u64,
    pub(crate) automaton: Option<usize>,
    pub(crate) pattern: u32,
}

impl Predicate {
    pub(crate) fn decode(record: PredicateRecord) -> Option<Self> {
        Some(Self {
            field: usize::from(record.field),
            op: Operator::from_u8(record.op)?,
            negate: record.flags & NEGATE != 0,
            all: record.flags & ALL != 0,
            a: record.a,
            b: record.b,
            automaton: usize::from(record.automaton).checked_sub(1),
            pattern: record.pattern,
        })
    }

    /// How many patterns of its automaton test the predicate: one per operand for the literal
    /// operators, one for a glob or regex.
    pub(crate) fn pattern_count(&self) -> u64 {
        match self.op.scanned() {
            Scanned::Folded => self.b,
            Scanned::Raw => 1,
            Scanned::Never => 0,
        }
    }

    /// The rule-index slots of its patterns in `automaton`.
    pub(crate) fn slots<'s>(
        &self,
        automaton: &'s Automaton<'_>,
    ) -> impl Iterator<Item = Option<u32>> + 's {
        let first = usize::try_from(self.pattern).unwrap_or(usize::MAX);
        let count = usize::try_from(self.pattern_count()).unwrap_or(0);
        (0..count).map(move |k| automaton.slot(first.checked_add(k)?))
    }
}

/// The form an automata directory entry's flags give, if they are one the format defines.
fn automaton_form(flags: u32) -> Option<Form> {
    match flags {
        AUTOMATON_DFA => Some(Form::Dfa),
        AUTOMATON_DICTIONARY => Some(Form::Dictionary),
        _ => None,
    }
}

fn checked_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Worst-case work of one evaluation of a predicate, for inputs of at most `n` code units.
/// Mirrors what [`crate::fold`] charges; automaton scans are costed once per automaton.
fn predicate_cost(op: Operator, count: u64, weight: u64, n: u64) -> u64 {
    let strings = count.saturating_add(weight);
    let body = match op {
        Operator::Equals | Operator::BeginsWith | Operator::EndsWith => strings,
        Operator::LessThan | Operator::MoreThan => strings,
        Operator::Contains => n.saturating_mul(weight).saturating_add(count),
        Operator::Image => n.saturating_add(strings.saturating_mul(2)),
        Operator::Wildcard
        | Operator::NullOrEmpty
        | Operator::Glob
        | Operator::Regex
        | Operator::NumEquals
        | Operator::NumLess
        | Operator::NumGreater
        | Operator::FlagsAll
        | Operator::FlagsAny => 0,
    };
    body.saturating_add(1)
}

/// Worst-case work of one evaluation of a checked predicate record. A glob or regex also counts
/// one rescan of its automaton, which the interpreter makes when the event fired more patterns
/// than it can list; a literal operator tested by an automaton costs at most its direct
/// comparison, which is the fallback in the same case.
fn record_cost(record: PredicateRecord, n: u64, automata: &[Option<Automaton<'_>>]) -> u64 {
    let Some(op) = Operator::from_u8(record.op) else {
        return 0;
    };
    let count = match op.operands() {
        Operands::Strings { .. } => record.b,
        Operands::None | Operands::Pattern | Operands::Immediate => 0,
    };
    let rescan = match op.scanned() {
        Scanned::Raw => usize::from(record.automaton)
            .checked_sub(1)
            .and_then(|a| automata.get(a))
            .and_then(Option::as_ref)
            .map_or(0, |a| a.scan_cost(usize::try_from(n).unwrap_or(usize::MAX))),
        Scanned::Folded | Scanned::Never => 0,
    };
    predicate_cost(op, count, u64::from(record.weight), n).saturating_add(rescan)
}

/// The automata, by bit, under whose slots `index` lists no rule: the walk never needs to know
/// what they fired, so they may wait until a rule needs them.
fn unlisted_automata(
    file: &ChannelFile<'_>,
    index: &RuleIndex,
    automata: &[Option<Automaton<'_>>],
) -> u32 {
    let mut lazy = 0u32;
    for (at, automaton) in automata.iter().enumerate() {
        let Some(automaton) = automaton else {
            continue;
        };
        let first = usize::try_from(automaton.base()).unwrap_or(usize::MAX);
        if index.lists_none(file, first, automaton.slots()) {
            lazy |= bit(at).unwrap_or(0);
        }
    }
    lazy
}

/// Groups the DFAs that read the whole input by field and by whether they are in `lazy`, in
/// order, at most [`LANES`] to a group, and returns, per automaton, the other members of its
/// group by bit (none for an automaton scanned alone).
fn partners(automata: &[Option<Automaton<'_>>], lazy: u32) -> [u32; MAX_AUTOMATA] {
    let key = |at: usize| {
        let automaton = automata.get(at)?.as_ref()?;
        let lazy = lazy & bit(at)? != 0;
        automaton
            .reads_whole_input()
            .then_some((automaton.field(), lazy))
    };
    let mut partners = [0u32; MAX_AUTOMATA];
    let mut grouped = 0u32;
    for first in 0..automata.len() {
        let (Some(wanted), Some(first_bit)) = (key(first), bit(first)) else {
            continue;
        };
        if grouped & first_bit != 0 {
            continue;
        }
        let group = (first..automata.len())
            .filter(|&at| key(at) == Some(wanted))
            .take(LANES)
            .fold(0u32, |group, at| group | bit(at).unwrap_or(0));
        grouped |= group;
        for (at, slot) in partners.iter_mut().enumerate() {
            if let Some(b) = bit(at).filter(|b| group & b != 0) {
                *slot = group & !b;
            }
        }
    }
    partners
}

struct Loader<'a, 's> {
    file: ChannelFile<'a>,
    header: Header,
    template: &'static TemplateType,
    sensor: &'s SensorDecl,
    supplied: usize,
    declared_fields: u32,
}

/// The template type of an empty rule set: no fields.
static NO_TEMPLATE: TemplateType = TemplateType {
    id: 0,
    version: 0,
    name: "",
    fields: &[],
};

impl<'a> RuleSet<'a> {
    /// A rule set with no rules, no automata and no content: what [`RuleSet::load_into`] starts
    /// from and leaves behind when it refuses content. Evaluating it matches nothing.
    pub const fn empty() -> Self {
        Self {
            file: ChannelFile::empty(),
            template: &NO_TEMPLATE,
            build: "",
            supplied: 0,
            max_units: 0,
            automata: [const { None }; MAX_AUTOMATA],
            automaton_count: 0,
            index: None,
            eager: 0,
            partners: [0; MAX_AUTOMATA],
            worst_case: 0,
        }
    }

    /// Validates `bytes` as content for `sensor` and returns the rule set by value.
    ///
    /// A convenience for hosts: the rule set is large (see [`RuleSet::load_into`], which a
    /// kernel should use instead), and this builds it on the caller's stack.
    pub fn load(bytes: &'a [u8], sensor: &SensorDecl) -> Result<Self, LoadError> {
        let mut rules = Self::empty();
        rules.load_into(bytes, sensor)?;
        Ok(rules)
    }

    /// Validates `bytes` as content for `sensor`, writing the rule set into `self` in place.
    ///
    /// Any byte string yields either a rule set or a typed error naming what is wrong and where,
    /// in time linear in its length; nothing panics and nothing is read out of bounds. Each
    /// part is written straight into its field of `self` (each automaton into its slot of the
    /// array), so no whole rule set is ever built on the stack. On error `self` is left empty
    /// ([`RuleSet::empty`]); whatever it held before is gone either way.
    pub fn load_into(&mut self, bytes: &'a [u8], sensor: &SensorDecl) -> Result<(), LoadError> {
        self.clear();
        let loaded = self.fill(bytes, sensor);
        if loaded.is_err() {
            self.clear();
        }
        loaded
    }

    /// Empties the rule set in place, field by field: afterwards it is [`RuleSet::empty`] and
    /// holds no reference into the content it was loaded from.
    pub fn clear(&mut self) {
        // Destructured, so that a new field cannot be forgotten here.
        let Self {
            file,
            template,
            build,
            supplied,
            max_units,
            automata,
            automaton_count,
            index,
            eager,
            partners,
            worst_case,
        } = self;
        *file = ChannelFile::empty();
        *template = &NO_TEMPLATE;
        *build = "";
        *supplied = 0;
        *max_units = 0;
        for automaton in automata {
            *automaton = None;
        }
        *automaton_count = 0;
        *index = None;
        *eager = 0;
        *partners = [0; MAX_AUTOMATA];
        *worst_case = 0;
    }

    /// The body of [`RuleSet::load_into`]: `self` is empty on entry and may be left half
    /// written on error.
    fn fill(&mut self, bytes: &'a [u8], sensor: &SensorDecl) -> Result<(), LoadError> {
        let file = ChannelFile::parse(bytes)?;
        let header = file.header();
        let template = schema::template(header.template_id, header.template_version).ok_or(
            LoadError::UnknownTemplate {
                id: header.template_id,
                version: header.template_version,
            },
        )?;
        let supplied = sensor
            .supplied(header.template_id, header.template_version)
            .ok_or(LoadError::TemplateNotSupplied {
                channel: header.channel,
                id: header.template_id,
                version: header.template_version,
                build: sensor.build,
            })?
            .min(template.field_count());
        let mut loader = Loader {
            file,
            header,
            template,
            sensor,
            supplied,
            declared_fields: 0,
        };
        loader.fields()?;
        let (automaton_count, slots) = loader.automata(&mut self.automata)?;
        self.automaton_count = automaton_count;
        let automata = &self.automata;
        let max_units = usize::from(sensor.max_string_units);
        loader.predicates(automata)?;
        let index = RuleIndex::load(&file, slots, file.count(Section::Rules))?;
        let lazy = index.map_or(0, |index| unlisted_automata(&file, &index, automata));
        let mut worst_case = loader.rules(automata, index.as_ref(), lazy)?;
        loader.declared_fields_supplied()?;
        for automaton in automata.iter().flatten() {
            worst_case = worst_case.saturating_add(automaton.scan_cost(max_units));
        }
        worst_case = worst_case.saturating_add(checked_u64(file.count(Section::Triggers)));
        if worst_case > sensor.work_budget {
            return Err(LoadError::OverBudget {
                worst_case,
                budget: sensor.work_budget,
            });
        }
        self.file = file;
        self.template = template;
        self.build = sensor.build;
        self.supplied = supplied;
        self.max_units = max_units;
        self.index = index;
        self.eager = bit(automaton_count).map_or(u32::MAX, |b| b.wrapping_sub(1)) & !lazy;
        self.partners = partners(automata, lazy);
        self.worst_case = worst_case;
        Ok(())
    }

    /// The channel file's header.
    pub fn header(&self) -> Header {
        self.file.header()
    }

    /// The template type the content is written for.
    pub fn template(&self) -> &'static TemplateType {
        self.template
    }

    /// The sensor build the rule set was validated for.
    pub fn build(&self) -> &'static str {
        self.build
    }

    /// How many leading template fields the sensor supplies.
    pub fn supplied(&self) -> usize {
        self.supplied
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.file.count(Section::Rules)
    }

    /// Number of predicates.
    pub fn predicate_count(&self) -> usize {
        self.file.count(Section::Predicates)
    }

    /// Number of automata.
    pub fn automaton_count(&self) -> usize {
        self.automaton_count
    }

    /// Whether the content carries a rule index, so that an event runs only the rules its
    /// fired patterns name.
    pub fn indexed(&self) -> bool {
        self.index.is_some()
    }

    /// How many automata scan an event only when a rule about to run needs them, rather than
    /// on every event: those under whose slots the rule index lists no rule.
    pub fn lazy_automata(&self) -> usize {
        self.automaton_count
            .saturating_sub(self.eager.count_ones() as usize)
    }

    /// How many automata scan their field together with others, in lanes: DFAs that read the
    /// whole input, grouped by field ([`crate::automaton::Lanes`]).
    pub fn laned_automata(&self) -> usize {
        self.partners.iter().filter(|&&p| p != 0).count()
    }

    /// The automata that scan their field in one pass with automaton `index`, by bit (0 for
    /// an automaton that scans alone, or none at `index`).
    pub fn partners(&self, index: usize) -> u32 {
        self.partners.get(index).copied().unwrap_or(0)
    }

    /// Upper bound on the work units one evaluation can take.
    pub fn worst_case_work(&self) -> u64 {
        self.worst_case
    }

    /// Metadata of rule `index`.
    pub fn rule(&self, index: usize) -> Option<RuleInfo<'a>> {
        let record = self.file.rule(index)?;
        Some(RuleInfo {
            id: text(&self.file, record.id)?,
            title: text(&self.file, record.title)?,
            author: text(&self.file, record.author)?,
            level: Level::from_u8(record.level)?,
            action: Action::from_u8(record.action)?,
        })
    }
}

fn text<'a>(file: &ChannelFile<'a>, (start, len): (u32, u16)) -> Option<&'a str> {
    let bytes = file.string_bytes(start, usize::from(len))?;
    if bytes.len() > MAX_META_BYTES {
        return None;
    }
    core::str::from_utf8(bytes).ok()
}

impl<'a> Loader<'a, '_> {
    fn fields(&mut self) -> Result<(), LoadError> {
        for index in 0..self.file.count(Section::Fields) {
            let offset = self.file.record_offset(Section::Fields, index);
            let Some(decl) = self.file.field(index) else {
                break;
            };
            if decl.reserved != 0 {
                return Err(LoadError::ReservedNotZero {
                    offset: offset.saturating_add(2),
                });
            }
            let template = self.template.field(usize::from(decl.field)).ok_or(
                LoadError::FieldOutOfTemplate {
                    offset,
                    field: decl.field,
                    declared: self.template.field_count(),
                },
            )?;
            let content = FieldType::from_u8(decl.ty).ok_or(LoadError::UnknownFieldType {
                offset,
                tag: decl.ty,
            })?;
            if content != template.ty {
                return Err(LoadError::FieldTypeMismatch {
                    offset,
                    field: decl.field,
                    template: template.ty,
                    content,
                });
            }
            let bit = 1u32.wrapping_shl(u32::from(decl.field));
            if self.declared_fields & bit != 0 {
                return Err(LoadError::DuplicateField {
                    offset,
                    field: decl.field,
                });
            }
            self.declared_fields |= bit;
        }
        Ok(())
    }

    /// Loads every automaton straight into its slot of `automata` (all `None` on entry);
    /// returns how many there are and the rule-index slots they report in all.
    fn automata(
        &self,
        automata: &mut [Option<Automaton<'a>>; MAX_AUTOMATA],
    ) -> Result<(usize, usize), LoadError> {
        let directory_error = |automaton: usize| LoadError::AutomatonDirectory {
            automaton,
            offset: self
                .file
                .automata_offset(automaton.saturating_mul(AUTOMATON_ENTRY)),
        };
        let count = self.file.automaton_count().ok_or(directory_error(0))?;
        if count > MAX_AUTOMATA {
            return Err(LoadError::TooMany {
                section: Section::Automata,
                count,
                max: MAX_AUTOMATA,
            });
        }
        let mut slots = 0usize;
        for (index, slot) in automata.iter_mut().enumerate().take(count) {
            let entry = self
                .file
                .automaton_entry(index)
                .ok_or(directory_error(index))?;
            let form = automaton_form(entry.flags).ok_or(directory_error(index))?;
            let field = u8::try_from(entry.field)
                .ok()
                .filter(|&f| {
                    self.template.field(usize::from(f)).map(|f| f.ty) == Some(FieldType::String)
                        && self.declared_fields & 1u32.wrapping_shl(u32::from(f)) != 0
                })
                .ok_or(directory_error(index))?;
            let bytes = self
                .file
                .automaton_bytes(entry)
                .ok_or(directory_error(index))?;
            let offset = self
                .file
                .automata_offset(usize::try_from(entry.start).unwrap_or(usize::MAX));
            let base = u32::try_from(slots).unwrap_or(u32::MAX);
            let automaton =
                Automaton::load(bytes, field, form, base).map_err(|fault| match fault {
                    AutomatonFault::Misaligned => LoadError::AutomatonMisaligned {
                        automaton: index,
                        offset,
                    },
                    AutomatonFault::Invalid => LoadError::AutomatonInvalid {
                        automaton: index,
                        offset,
                    },
                    AutomatonFault::Malformed(at) => LoadError::AutomatonInvalid {
                        automaton: index,
                        offset: offset.saturating_add(at),
                    },
                    AutomatonFault::Unusable(patterns) => LoadError::AutomatonUnusable {
                        automaton: index,
                        offset,
                        patterns,
                    },
                })?;
            slots = slots.saturating_add(automaton.slots());
            if slots > MAX_PATTERNS {
                return Err(LoadError::TooMany {
                    section: Section::Automata,
                    count: slots,
                    max: MAX_PATTERNS,
                });
            }
            *slot = Some(automaton);
        }
        Ok((count, slots))
    }

    fn predicates(&self, automata: &[Option<Automaton<'a>>]) -> Result<(), LoadError> {
        for index in 0..self.file.count(Section::Predicates) {
            let Some(record) = self.file.predicate(index) else {
                break;
            };
            self.predicate(index, record, automata)?;
        }
        Ok(())
    }

    fn predicate(
        &self,
        predicate: usize,
        record: PredicateRecord,
        automata: &[Option<Automaton<'a>>],
    ) -> Result<(), LoadError> {
        let offset = self.file.record_offset(Section::Predicates, predicate);
        let op = Operator::from_u8(record.op).ok_or(LoadError::UnknownOperator {
            predicate,
            offset,
            tag: record.op,
        })?;
        let flags_ok = record.flags & !KNOWN_FLAGS == 0
            && (record.flags & ALL == 0 || op.takes_all())
            && (record.flags & NEGATE == 0 || op.reads_input());
        if !flags_ok {
            return Err(LoadError::BadFlags {
                predicate,
                offset,
                flags: record.flags,
            });
        }
        let field = record.field;
        let ty = self
            .template
            .field(usize::from(field))
            .ok_or(LoadError::PredicateFieldOutOfTemplate {
                predicate,
                offset,
                field,
                declared: self.template.field_count(),
            })?
            .ty;
        if op.reads_input() && self.declared_fields & 1u32.wrapping_shl(u32::from(field)) == 0 {
            return Err(LoadError::FieldUndeclared {
                predicate,
                offset,
                field,
            });
        }
        if !op.accepts(ty) {
            return Err(LoadError::OperatorFieldType {
                predicate,
                offset,
                op,
                field,
                ty,
            });
        }
        let count_error = LoadError::OperandCount {
            predicate,
            offset,
            op,
            count: record.b,
        };
        match op.operands() {
            Operands::None => {
                if record.a != 0 || record.b != 0 || record.weight != 0 {
                    return Err(count_error);
                }
            }
            Operands::Immediate => {
                if record.a != 0 || record.weight != 0 {
                    return Err(count_error);
                }
            }
            Operands::Pattern => {
                if record.a != 0 || record.b != 0 || record.weight != 0 {
                    return Err(count_error);
                }
            }
            Operands::Strings { min, max } => {
                let count = usize::try_from(record.b)
                    .ok()
                    .filter(|c| (min..=max).contains(c))
                    .ok_or(count_error)?;
                let weight = self.operands(predicate, offset, record.a, count)?;
                if weight != u64::from(record.weight) {
                    return Err(LoadError::OperandWeight {
                        predicate,
                        offset,
                        declared: record.weight,
                        actual: weight,
                    });
                }
            }
        }
        self.tested_by(predicate, offset, op, record, automata)
    }

    /// Checks the automaton and patterns that test a predicate, if any: the operator must be
    /// one an automaton of that kind tests, the automaton must scan the predicate's field and
    /// hold every pattern the predicate names.
    fn tested_by(
        &self,
        predicate: usize,
        offset: usize,
        op: Operator,
        record: PredicateRecord,
        automata: &[Option<Automaton<'a>>],
    ) -> Result<(), LoadError> {
        let Some(index) = usize::from(record.automaton).checked_sub(1) else {
            if op.scanned() == Scanned::Raw {
                return Err(LoadError::AutomatonMissing {
                    predicate,
                    offset,
                    op,
                });
            }
            if record.pattern != 0 {
                return Err(LoadError::ReservedNotZero {
                    offset: offset.saturating_add(20),
                });
            }
            return Ok(());
        };
        let number = u32::try_from(index).unwrap_or(u32::MAX);
        let automaton = automata.get(index).and_then(Option::as_ref).ok_or(
            LoadError::AutomatonOutOfBounds {
                predicate,
                offset,
                automaton: number,
                available: self.file.automaton_count().unwrap_or(0),
            },
        )?;
        let fits = match op.scanned() {
            Scanned::Folded => automaton.folded(),
            Scanned::Raw => !automaton.folded(),
            Scanned::Never => false,
        };
        if !fits {
            return Err(LoadError::AutomatonKind {
                predicate,
                offset,
                op,
                automaton: number,
                dictionary: automaton.folded(),
            });
        }
        if automaton.field() != record.field {
            return Err(LoadError::AutomatonField {
                predicate,
                offset,
                field: record.field,
                scans: u32::from(automaton.field()),
            });
        }
        let count = Predicate::decode(record).map_or(0, |p| p.pattern_count());
        let end = u64::from(record.pattern).saturating_add(count);
        if end > checked_u64(automaton.patterns()) {
            return Err(LoadError::PatternOutOfBounds {
                predicate,
                offset,
                automaton: number,
                pattern: end.saturating_sub(1),
                available: automaton.patterns(),
            });
        }
        Ok(())
    }

    /// Checks a run of operands; returns their total length in code units.
    fn operands(
        &self,
        predicate: usize,
        offset: usize,
        first: u32,
        count: usize,
    ) -> Result<u64, LoadError> {
        let available = self.file.count(Section::Operands);
        let start = usize::try_from(first).unwrap_or(usize::MAX);
        let end = start
            .checked_add(count)
            .filter(|&end| end <= available)
            .ok_or(LoadError::OperandsOutOfBounds {
                predicate,
                offset,
                first,
                count: checked_u64(count),
                available,
            })?;
        let mut weight = 0u64;
        for operand in start..end {
            let offset = self.file.record_offset(Section::Operands, operand);
            let Some(record) = self.file.operand(operand) else {
                break;
            };
            if usize::try_from(record.units).map_or(true, |u| u > MAX_OPERAND_UNITS) {
                return Err(LoadError::OperandTooLong {
                    operand,
                    offset,
                    units: record.units,
                });
            }
            if self.file.operand_bytes(record).is_none() {
                return Err(LoadError::OperandOutOfBounds {
                    operand,
                    offset,
                    start: record.start,
                    units: record.units,
                });
            }
            weight = weight.saturating_add(u64::from(record.units));
        }
        Ok(weight)
    }

    /// Checks every rule; returns the worst-case work of running all their programs. A rule
    /// that reads a `lazy` automaton may run twice, once before that automaton scans and once
    /// after (see [`crate::eval`]), so its program counts twice.
    fn rules(
        &self,
        automata: &[Option<Automaton<'a>>],
        index: Option<&RuleIndex>,
        lazy: u32,
    ) -> Result<u64, LoadError> {
        let mut total = 0u64;
        for rule in 0..self.file.count(Section::Rules) {
            let (cost, automata_read) = self.rule(rule, automata)?;
            let runs = if automata_read & lazy != 0 { 2 } else { 1 };
            total = total.saturating_add(cost.saturating_mul(runs));
            if let Some(index) = index {
                self.indexed(rule, automata, index)?;
            }
        }
        Ok(total)
    }

    /// Checks that the rule index may skip `rule` on every event that fires none of the patterns
    /// it lists the rule under: either the rule is unindexed, or its program cannot hold when
    /// the predicates those patterns decide are false.
    fn indexed(
        &self,
        rule: usize,
        automata: &[Option<Automaton<'a>>],
        index: &RuleIndex,
    ) -> Result<(), LoadError> {
        if index.is_unindexed(&self.file, rule) {
            return Ok(());
        }
        let Some(record) = self.file.rule(rule) else {
            return Ok(());
        };
        let start = usize::try_from(record.program_start).unwrap_or(usize::MAX);
        let len = usize::try_from(record.program_len).unwrap_or(0);
        let words = (0..len).map(|pc| {
            start
                .checked_add(pc)
                .and_then(|at| self.file.instruction(at))
                .unwrap_or(0)
        });
        let decided =
            |n: u32| self.decided_false(n, automata, |slot| index.lists(&self.file, slot, rule));
        if program::may_hold(words, decided) {
            return Err(LoadError::RuleNotIndexed {
                rule,
                offset: self.file.record_offset(Section::Rules, rule),
            });
        }
        Ok(())
    }

    /// Whether predicate `n` is false whenever none of the slots `listed` accepts fired: it is
    /// tested by an automaton, not negated, and either every one of its patterns is listed or,
    /// with `all`, at least one is.
    fn decided_false(
        &self,
        n: u32,
        automata: &[Option<Automaton<'a>>],
        listed: impl FnMut(usize) -> bool,
    ) -> bool {
        let Some(p) = usize::try_from(n)
            .ok()
            .and_then(|i| self.file.predicate(i))
            .and_then(Predicate::decode)
        else {
            return false;
        };
        let Some(automaton) = p
            .automaton
            .and_then(|a| automata.get(a))
            .and_then(Option::as_ref)
        else {
            return false;
        };
        if p.negate || p.pattern_count() == 0 {
            return false;
        }
        let mut listed = listed;
        let mut slots = p.slots(automaton).map(|slot| {
            slot.and_then(|s| usize::try_from(s).ok())
                .is_some_and(&mut listed)
        });
        if p.all {
            slots.any(|hit| hit)
        } else {
            slots.all(|hit| hit)
        }
    }

    /// Checks one rule; returns the worst-case work of running its program once, and the
    /// automata its predicates are tested by, by bit.
    fn rule(
        &self,
        rule: usize,
        automata: &[Option<Automaton<'a>>],
    ) -> Result<(u64, u32), LoadError> {
        let offset = self.file.record_offset(Section::Rules, rule);
        let Some(record) = self.file.rule(rule) else {
            return Ok((0, 0));
        };
        if record.reserved != 0 {
            return Err(LoadError::ReservedNotZero {
                offset: offset.saturating_add(28),
            });
        }
        for span in [record.id, record.title, record.author] {
            if text(&self.file, span).is_none() {
                return Err(LoadError::BadRuleText { rule, offset });
            }
        }
        if Level::from_u8(record.level).is_none() {
            return Err(LoadError::UnknownLevel {
                rule,
                offset,
                tag: record.level,
            });
        }
        if Action::from_u8(record.action).is_none() {
            return Err(LoadError::UnknownAction {
                rule,
                offset,
                tag: record.action,
            });
        }
        let bounds = LoadError::ProgramBounds {
            rule,
            offset,
            start: record.program_start,
            len: record.program_len,
        };
        let start = usize::try_from(record.program_start).map_err(|_| bounds)?;
        let len = usize::try_from(record.program_len)
            .ok()
            .filter(|len| (1..=MAX_RULE_PROGRAM).contains(len))
            .ok_or(bounds)?;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.file.count(Section::Program))
            .ok_or(bounds)?;
        let words = (start..end).map(|i| self.file.instruction(i).unwrap_or(0));
        program::check(words).map_err(|(pc, fault)| LoadError::Program {
            rule,
            pc,
            offset: self
                .file
                .record_offset(Section::Program, start.saturating_add(pc)),
            fault,
        })?;
        let mut cost = 0u64;
        let mut read = 0u32;
        for pc in 0..len {
            let (work, automaton) = self.handshake(rule, start, pc, automata)?;
            cost = cost.saturating_add(work);
            read |= automaton.and_then(bit).unwrap_or(0);
        }
        Ok((cost, read))
    }

    /// The schema handshake for one instruction: a predicate it pushes must exist, and must
    /// read only a field the sensor supplies. Returns the instruction's worst-case work and the
    /// automaton that tests its predicate, if one does.
    fn handshake(
        &self,
        rule: usize,
        start: usize,
        pc: usize,
        automata: &[Option<Automaton<'a>>],
    ) -> Result<(u64, Option<usize>), LoadError> {
        let at = start.saturating_add(pc);
        let word = self.file.instruction(at).unwrap_or(0);
        let Ok(Instruction::Pred(predicate)) = Instruction::decode(word) else {
            return Ok((1, None));
        };
        let available = self.file.count(Section::Predicates);
        let index = usize::try_from(predicate).unwrap_or(usize::MAX);
        let record = self
            .file
            .predicate(index)
            .ok_or(LoadError::PredicateOutOfBounds {
                rule,
                pc,
                offset: self.file.record_offset(Section::Program, at),
                predicate,
                available,
            })?;
        let reads = Operator::from_u8(record.op).is_some_and(Operator::reads_input);
        if reads && usize::from(record.field) >= self.supplied {
            return Err(LoadError::FieldNotSupplied {
                channel: self.header.channel,
                rule,
                predicate: index,
                offset: self.file.record_offset(Section::Predicates, index),
                field: record.field,
                declared: self.template.field_count(),
                supplied: self.supplied,
                build: self.sensor.build,
            });
        }
        let n = u64::from(self.sensor.max_string_units);
        let automaton = usize::from(record.automaton).checked_sub(1);
        Ok((
            record_cost(record, n, automata).saturating_add(1),
            automaton,
        ))
    }

    fn declared_fields_supplied(&self) -> Result<(), LoadError> {
        for index in 0..self.file.count(Section::Fields) {
            let Some(decl) = self.file.field(index) else {
                break;
            };
            if usize::from(decl.field) >= self.supplied {
                return Err(LoadError::DeclaredFieldNotSupplied {
                    channel: self.header.channel,
                    offset: self.file.record_offset(Section::Fields, index),
                    field: decl.field,
                    declared: self.template.field_count(),
                    supplied: self.supplied,
                    build: self.sensor.build,
                });
            }
        }
        Ok(())
    }
}
