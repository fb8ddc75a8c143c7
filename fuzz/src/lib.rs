//! Fuzz harnesses for the sensor, as plain functions.
//!
//! Each cargo-fuzz target in `fuzz_targets/` is one line that calls a function here, and
//! `tests/replay.rs` calls the same functions on every file of `corpus/<target>/` and
//! `artifacts/<target>/`, so every input a fuzzer ever kept or crashed on is re-checked by
//! `cargo test` on stable, forever. A harness returns normally when its invariants hold and
//! panics, naming the invariant, when one does not.
//!
//! See `docs/fuzzing.md` for what each target proves and what it does not.

pub mod bytes;
pub mod check;
pub mod decompile;
pub mod differential;
pub mod events;
pub mod seeds;
pub mod sensors;
pub mod structured;
pub mod sysmon_json;

use sensor_core::error::LoadError;
use sensor_core::schema::{SensorDecl, SENSOR_7_11, SENSOR_FIXED};
use sensor_core::{ContentSlot, RuleSet, SlotVerdict};
use sensor_host::content::ContentBuf;

use crate::bytes::{reseal, Reader, Writer};
use crate::events::{read_event, values, write_event, Input};
use crate::sensors::SensorChoice;

/// How far one input got, so that replay tests can tell a corpus that reaches the interpreter
/// from one that only exercises refusals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    /// Content loaded for at least one sensor.
    pub loaded: bool,
    /// Rules matched, summed over every evaluation.
    pub matched: usize,
}

impl Reached {
    fn add(&mut self, other: Reached) {
        self.loaded |= other.loaded;
        self.matched += other.matched;
    }
}

/// A harness: checks one input, panicking if an invariant fails.
pub type Harness = fn(&[u8]) -> Reached;

/// Every fuzz target that must never crash, by name, with its harness. The two
/// `flawed_finds_291` targets crash by design and are replayed on their own
/// ([`differential::flawed_run`], [`differential::flawed_instances_run`]).
pub const TARGETS: &[(&str, Harness)] = &[
    ("channel_file", channel_file),
    ("interpreter", interpreter),
    ("structured", structured::structured),
    ("differential", differential::differential),
];

/// Loads `bytes` for `decl` from an 8-byte-aligned copy.
fn load<'a>(buf: &'a ContentBuf, decl: &SensorDecl) -> Result<RuleSet<'a>, LoadError> {
    RuleSet::load(buf.as_bytes(), decl)
}

/// The `channel_file` target: raw bytes into the loader.
///
/// The bytes are loaded as they are and, when they hold a header, once more with the header's
/// length and checksum made to agree with the body, so that mutations reach the checks behind
/// the checksum. Each form is loaded for build 7.11 and for the fixed build, aligned and
/// misaligned, directly and through a [`ContentSlot`]. Checked: nothing panics; loading is
/// deterministic; a loaded set keeps [`check::loaded`] and every probe event keeps
/// [`check::evaluation`] and [`check::conforming_evaluation`]; the two builds differ only by the
/// schema handshake on field 20 (content 7.11 accepts the fixed build accepts, and content the
/// fixed build accepts but 7.11 refuses is refused for reading or declaring field 20); a
/// misaligned copy loads only if the aligned one does; a refused update leaves a slot empty;
/// and for the fixed build the rule index agrees with running every rule
/// ([`check::index_agrees`]).
pub fn channel_file(data: &[u8]) -> Reached {
    let mut reached = check_file(data);
    if data.len() >= sensor_core::channel::HEADER_LEN {
        let sealed = reseal(data);
        if sealed != data {
            reached.add(check_file(&sealed));
        }
    }
    reached
}

fn check_file(bytes: &[u8]) -> Reached {
    let mut reached = Reached::default();
    let buf = ContentBuf::new(bytes);
    let old = load(&buf, &SENSOR_7_11);
    let fixed = load(&buf, &SENSOR_FIXED);
    for (result, decl) in [(&old, &SENSOR_7_11), (&fixed, &SENSOR_FIXED)] {
        let again = load(&buf, decl);
        assert_eq!(
            result.as_ref().err(),
            again.as_ref().err(),
            "loading twice gave two answers"
        );
        if let Ok(rules) = result {
            reached.loaded = true;
            check::loaded(rules, decl);
            for event in check::probe_events() {
                let outcome = check::evaluation(rules, &values(&event));
                reached.matched += outcome.matches.len();
                check::conforming_evaluation(rules, decl, &event);
            }
        }
    }
    if let Ok(rules) = &fixed {
        check::index_agrees(rules, bytes, &SENSOR_FIXED, &check::probe_events());
    }
    match (&old, &fixed) {
        (Ok(_), Err(e)) => panic!("7.11 accepted what the fixed build refused: {e:?}"),
        (Err(e), Ok(_)) => assert!(
            matches!(
                e,
                LoadError::FieldNotSupplied {
                    field: 20,
                    declared: 21,
                    supplied: 20,
                    ..
                } | LoadError::DeclaredFieldNotSupplied {
                    field: 20,
                    declared: 21,
                    supplied: 20,
                    ..
                }
            ),
            "7.11 refused content the fixed build took, for another reason: {e:?}"
        ),
        _ => {}
    }

    let mut shifted = vec![0u8];
    shifted.extend_from_slice(bytes);
    let shifted = ContentBuf::new(&shifted);
    let misaligned = RuleSet::load(&shifted.as_bytes()[1..], &SENSOR_FIXED);
    if let Ok(rules) = &misaligned {
        assert!(fixed.is_ok(), "only the misaligned copy loaded");
        assert_eq!(rules.automaton_count(), 0, "a misaligned automaton loaded");
    }

    let slot = ContentSlot::new(SENSOR_FIXED);
    let update = slot.update(buf.as_bytes());
    assert_eq!(update.as_ref().err(), fixed.as_ref().err());
    let probe = check::probe_events().swap_remove(0);
    let through_slot = slot.evaluate(&values(&probe), &mut |_| true);
    match &fixed {
        Ok(rules) => {
            let direct = SlotVerdict {
                content_version: rules.header().content_version,
                verdict: rules.evaluate(&values(&probe), &mut |_| true),
            };
            assert_eq!(through_slot, Some(direct), "the slot evaluated differently");
        }
        Err(_) => assert_eq!(through_slot, None, "a refused update left content active"),
    }
    reached
}

/// Most events one `interpreter` input carries.
pub const MAX_EVENTS: usize = 16;

/// An `interpreter` input: content, the sensor it is loaded for, and events.
///
/// Layout: a flags byte (bit 0: reseal the header), a 12-byte [`SensorChoice`], a `u32` length
/// and that many bytes of channel file, then events ([`events`]) until the data ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpreterInput {
    /// Make the header's length and checksum agree with the body before loading.
    pub reseal: bool,
    /// The sensor the content is loaded for.
    pub sensor: SensorChoice,
    /// Channel-file bytes.
    pub file: Vec<u8>,
    /// Events, each a run of input values.
    pub events: Vec<Vec<Input>>,
}

impl InterpreterInput {
    /// Decodes any byte string.
    pub fn decode(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let reseal = r.u8() & 1 == 1;
        let sensor = SensorChoice::read(&mut r);
        let len = r.u32() as usize;
        let file = r.bytes(len).to_vec();
        let mut events = Vec::new();
        while !r.is_empty() && events.len() < MAX_EVENTS {
            events.push(read_event(&mut r));
        }
        Self {
            reseal,
            sensor,
            file,
            events,
        }
    }

    /// Encodes the input as [`InterpreterInput::decode`] reads it.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(u8::from(self.reseal));
        self.sensor.write(&mut w);
        w.u32(self.file.len() as u32).bytes(&self.file);
        for event in self.events.iter().take(MAX_EVENTS) {
            write_event(&mut w, event);
        }
        w.out
    }
}

/// The `interpreter` target: content, a sensor declaration and a batch of events; load, then
/// evaluate every event.
///
/// Checked for every event: [`check::evaluation`] on the event as given (any number of inputs,
/// any types, strings of any length and any UTF-16) and [`check::conforming_evaluation`] on
/// the event a sensor keeping its declaration would pass. Then [`check::index_agrees`]: the
/// same events match the same rules with the index as without it.
pub fn interpreter(data: &[u8]) -> Reached {
    let input = InterpreterInput::decode(data);
    let decl = input.sensor.decl();
    let file = if input.reseal {
        reseal(&input.file)
    } else {
        input.file.clone()
    };
    let buf = ContentBuf::new(&file);
    let Ok(rules) = load(&buf, &decl) else {
        return Reached::default();
    };
    check::loaded(&rules, &decl);
    let mut reached = Reached {
        loaded: true,
        matched: 0,
    };
    for event in &input.events {
        reached.matched += check::evaluation(&rules, &values(event)).matches.len();
        check::conforming_evaluation(&rules, &decl, event);
    }
    check::index_agrees(&rules, &file, &decl, &input.events);
    reached
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{write_long, write_scrambled};

    #[test]
    fn interpreter_inputs_round_trip() {
        let input = InterpreterInput {
            reseal: true,
            sensor: SensorChoice::Custom {
                supply: 20,
                max_string_units: 100,
                work_budget: 1 << 20,
            },
            file: b"SNCF....".to_vec(),
            events: vec![
                vec![Input::Int(1), Input::text("x")],
                vec![],
                vec![Input::Absent],
            ],
        };
        assert_eq!(InterpreterInput::decode(&input.encode()), input);
    }

    #[test]
    fn special_strings_decode_inside_an_event() {
        let mut w = Writer::default();
        w.u8(0);
        SensorChoice::Fixed.write(&mut w);
        w.u32(0).u8(2);
        write_long(&mut w, 0x41, 0x42, 3);
        write_scrambled(&mut w, &[0]);
        let input = InterpreterInput::decode(&w.out);
        assert_eq!(
            input.events,
            vec![vec![
                Input::Str(vec![0x41, 0x41, 0x41, 0x42]),
                Input::Str(vec![0xD800])
            ]]
        );
    }
}
