//! The event streams every engine is measured on: the OTRF Sysmon corpus resampled, and the
//! synthetic generator. Events are encoded to the core's UTF-16 input arrays once, before any
//! clock starts, so every engine reads the same bytes and none pays for encoding.

use std::io::{self, BufReader};
use std::path::Path;

use sensor_core::{Value, FIELD_COUNT_IPC};

use crate::event::{EncodedEvent, PipeEvent};
use crate::synth::{Generator, SynthConfig};
use crate::sysmon::JsonlReader;

use super::rng::Rng;

/// Where the OTRF corpus sits relative to this crate in the repository layout (`../shared`
/// beside the checkout), as the tests find it.
pub const OTRF_DEFAULT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/corpus/otrf/sysmon-pipe-events.jsonl"
);

/// A named stream of events, encoded once.
#[derive(Clone, Debug)]
pub struct EventSet {
    /// `synthetic` or `otrf`.
    pub name: &'static str,
    /// Where the events came from, for the report.
    pub origin: String,
    /// The events.
    pub events: Vec<PipeEvent>,
    encoded: Vec<EncodedEvent>,
}

impl EventSet {
    /// Encodes `events` as a set called `name`, from `origin`.
    pub fn new(name: &'static str, origin: String, events: Vec<PipeEvent>) -> Self {
        let encoded = events
            .iter()
            .map(|ev| {
                let mut enc = EncodedEvent::new();
                enc.encode(ev);
                enc
            })
            .collect();
        Self {
            name,
            origin,
            events,
            encoded,
        }
    }

    /// `n` events of the synthetic generator with its default mix (5 in 1,000 malicious).
    pub fn synthetic(n: usize, seed: u64) -> Self {
        let config = SynthConfig {
            seed,
            ..SynthConfig::default()
        };
        let events = Generator::new(config).take(n).collect();
        Self::new(
            "synthetic",
            format!(
                "synth::Generator seed {seed}, {} malicious per 1,000",
                config.malicious_per_mille
            ),
            events,
        )
    }

    /// `n` events drawn with replacement from the Sysmon JSON lines at `path`.
    pub fn resampled(path: &Path, n: usize, seed: u64) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let mut pool = Vec::new();
        let mut lines = 0;
        for (_, parsed) in JsonlReader::new(BufReader::new(file)) {
            lines += 1;
            if let Ok(event) = parsed {
                pool.push(event);
            }
        }
        if pool.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: no pipe events", path.display()),
            ));
        }
        let mut rng = Rng::new(seed);
        let events = (0..n).map(|_| rng.pick(&pool).clone()).collect::<Vec<_>>();
        Ok(Self::new(
            "otrf",
            format!(
                "{} ({} events of {lines} lines), resampled with replacement, seed {seed}",
                path.display(),
                pool.len()
            ),
            events,
        ))
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The input arrays, borrowing the encoded strings.
    pub fn inputs(&self) -> Vec<[Value<'_>; FIELD_COUNT_IPC]> {
        self.encoded.iter().map(EncodedEvent::values).collect()
    }

    /// Total UTF-16 bytes of the given string fields over all events: what a floor pass reads.
    pub fn string_bytes(&self, fields: &[usize]) -> usize {
        self.inputs()
            .iter()
            .flat_map(|values| fields.iter().map(move |&f| values[f]))
            .map(|v| match v {
                Value::Str(s) => 2 * s.len(),
                _ => 0,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_events_are_encoded_in_order() {
        let set = EventSet::synthetic(50, 9);
        let inputs = set.inputs();
        assert_eq!(inputs.len(), 50);
        for (ev, values) in set.events.iter().zip(&inputs) {
            let Value::Str(name) = values[sensor_core::schema::ipc::PIPE_NAME] else {
                panic!("pipe name not a string");
            };
            assert_eq!(Some(String::from_utf16_lossy(name)), ev.pipe_name);
        }
    }

    #[test]
    fn otrf_resampling_draws_from_the_file() {
        let set = EventSet::resampled(Path::new(OTRF_DEFAULT), 300, 1).expect("OTRF corpus");
        assert_eq!(set.len(), 300);
        let again = EventSet::resampled(Path::new(OTRF_DEFAULT), 300, 1).expect("OTRF corpus");
        assert_eq!(set.events, again.events);
        let distinct: std::collections::BTreeSet<_> =
            set.events.iter().map(|e| e.pipe_name.clone()).collect();
        assert!(
            distinct.len() > 10,
            "{} distinct pipe names",
            distinct.len()
        );
    }
}
