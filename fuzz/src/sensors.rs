//! Sensor declarations a fuzzer can choose: the two real builds, and custom ones that supply any
//! number of IPC fields (including none, all, more than the template has, or the wrong template
//! version) with any string limit and work budget.
//!
//! A [`SensorDecl`] borrows its supply table for `'static`; the tables a custom declaration can
//! point at are built once, at compile time, so a fuzz run allocates nothing for them.

use sensor_core::schema::{
    SensorDecl, Supply, DEFAULT_WORK_BUDGET, FIELD_COUNT_IPC, IPC, SENSOR_7_11, SENSOR_FIXED,
};

use crate::bytes::{Reader, Writer};

const fn ipc(supplied: u8) -> [Supply; 1] {
    [Supply {
        template_id: IPC.id,
        template_version: IPC.version,
        supplied,
    }]
}

/// Supply tables: `0..=21` fields, then 255 fields, then the IPC template at a version the core
/// does not know, then nothing at all.
const SUPPLY_CHOICES: usize = FIELD_COUNT_IPC + 4;

static SUPPLIES: [[Supply; 1]; SUPPLY_CHOICES - 1] = {
    let mut table = [ipc(0); SUPPLY_CHOICES - 1];
    let mut i = 0;
    while i <= FIELD_COUNT_IPC {
        table[i] = ipc(i as u8);
        i += 1;
    }
    table[FIELD_COUNT_IPC + 1] = ipc(u8::MAX);
    table[FIELD_COUNT_IPC + 2] = [Supply {
        template_id: IPC.id,
        template_version: IPC.version.wrapping_add(1),
        supplied: FIELD_COUNT_IPC as u8,
    }];
    table
};

/// The supply table selected by `choice` (taken modulo the number of tables).
fn supplies(choice: u8) -> &'static [Supply] {
    SUPPLIES
        .get(usize::from(choice) % SUPPLY_CHOICES)
        .map_or(&[], |t| t.as_slice())
}

/// Which sensor build a fuzz input runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensorChoice {
    /// Build 7.11: 20 of the 21 IPC fields, as shipped in 2024.
    V7_11,
    /// The fixed build: all 21 IPC fields.
    Fixed,
    /// Anything else.
    Custom {
        /// Selects a supply table: 0 to 21 fields, 255 fields, an unknown template version, or
        /// none (taken modulo 25).
        supply: u8,
        /// Longest string the sensor passes, in code units.
        max_string_units: u16,
        /// Work budget per event; 0 stands for the default budget.
        work_budget: u64,
    },
}

impl SensorChoice {
    /// The declaration the loader is given.
    pub fn decl(self) -> SensorDecl {
        match self {
            Self::V7_11 => SENSOR_7_11,
            Self::Fixed => SENSOR_FIXED,
            Self::Custom {
                supply,
                max_string_units,
                work_budget,
            } => SensorDecl {
                build: "fuzz",
                supplies: supplies(supply),
                max_string_units,
                work_budget: if work_budget == 0 {
                    DEFAULT_WORK_BUDGET
                } else {
                    work_budget
                },
            },
        }
    }

    /// Reads a choice: a kind byte, then a supply byte, a `u16` limit and a `u64` budget that
    /// only custom choices use. Always 12 bytes.
    pub fn read(r: &mut Reader<'_>) -> Self {
        let kind = r.u8();
        let supply = r.u8();
        let max_string_units = r.u16();
        let work_budget = r.u64();
        match kind % 4 {
            0 => Self::V7_11,
            1 => Self::Fixed,
            _ => Self::Custom {
                supply,
                max_string_units,
                work_budget,
            },
        }
    }

    /// Writes the choice as [`SensorChoice::read`] reads it.
    pub fn write(self, w: &mut Writer) {
        match self {
            Self::V7_11 => w.u8(0).u8(0).u16(0).u64(0),
            Self::Fixed => w.u8(1).u8(0).u16(0).u64(0),
            Self::Custom {
                supply,
                max_string_units,
                work_budget,
            } => w.u8(2).u8(supply).u16(max_string_units).u64(work_budget),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_supplies_cover_every_count_and_the_odd_cases() {
        let custom = |supply| SensorChoice::Custom {
            supply,
            max_string_units: 8,
            work_budget: 0,
        };
        for n in 0..=FIELD_COUNT_IPC as u8 {
            assert_eq!(
                custom(n).decl().supplied(IPC.id, IPC.version),
                Some(n.into())
            );
        }
        let all = custom(FIELD_COUNT_IPC as u8 + 1).decl();
        assert_eq!(all.supplied(IPC.id, IPC.version), Some(255));
        let other_version = custom(FIELD_COUNT_IPC as u8 + 2).decl();
        assert_eq!(other_version.supplied(IPC.id, IPC.version), None);
        assert_eq!(other_version.supplies.len(), 1);
        assert!(custom(FIELD_COUNT_IPC as u8 + 3).decl().supplies.is_empty());
        assert_eq!(custom(0).decl().work_budget, DEFAULT_WORK_BUDGET);
    }

    #[test]
    fn choices_round_trip() {
        for choice in [
            SensorChoice::V7_11,
            SensorChoice::Fixed,
            SensorChoice::Custom {
                supply: 3,
                max_string_units: 9,
                work_budget: 77,
            },
        ] {
            let mut w = Writer::default();
            choice.write(&mut w);
            assert_eq!(w.out.len(), 12);
            assert_eq!(SensorChoice::read(&mut Reader::new(&w.out)), choice);
        }
    }
}
