//! Interrupt request levels: the processor's current IRQL and the rules for changing it.
//!
//! This module owns the IRQL value and `KeRaiseIrql`/`KeLowerIrql` discipline, and answers
//! "may code at this level touch pageable memory, allocate this pool?". It never touches memory
//! and never decides what a violation costs beyond naming the Driver Verifier stop for a bad
//! raise or lower; the kernel applies the rules to memory and pool.

use std::fmt;

use super::bugcheck::{verifier, BugCheck};

/// An x64 interrupt request level (0..=15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Irql(u8);

impl Irql {
    /// `PASSIVE_LEVEL`: threads run here; everything is allowed.
    pub const PASSIVE: Irql = Irql(0);
    /// `APC_LEVEL`: the highest level at which a page fault can still be serviced.
    pub const APC: Irql = Irql(1);
    /// `DISPATCH_LEVEL`: spin locks and DPCs; no page faults, no paged pool.
    pub const DISPATCH: Irql = Irql(2);
    /// `HIGH_LEVEL` on x64.
    pub const HIGH: Irql = Irql(15);

    /// The level with numeric value `value`; `None` above `HIGH_LEVEL`.
    pub const fn new(value: u8) -> Option<Irql> {
        if value <= Self::HIGH.0 {
            Some(Irql(value))
        } else {
            None
        }
    }

    /// The numeric level.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether code running at this level may touch pageable memory (at most `APC_LEVEL`).
    pub fn may_touch_pageable(self) -> bool {
        self <= Self::APC
    }

    /// Whether code running at this level may allocate or free nonpaged pool (at most
    /// `DISPATCH_LEVEL`).
    pub fn may_use_nonpaged_pool(self) -> bool {
        self <= Self::DISPATCH
    }
}

impl fmt::Display for Irql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::PASSIVE => f.write_str("PASSIVE_LEVEL"),
            Self::APC => f.write_str("APC_LEVEL"),
            Self::DISPATCH => f.write_str("DISPATCH_LEVEL"),
            Self::HIGH => f.write_str("HIGH_LEVEL"),
            Irql(n) => write!(f, "IRQL {n}"),
        }
    }
}

/// The current IRQL of the (single) emulated processor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IrqlState {
    current: Irql,
}

impl Default for Irql {
    fn default() -> Self {
        Self::PASSIVE
    }
}

impl IrqlState {
    /// The current level.
    pub fn current(&self) -> Irql {
        self.current
    }

    /// `KeRaiseIrql`: `new` must be at least the current level and at most `HIGH_LEVEL`.
    /// Returns the previous level for the matching [`lower`](Self::lower).
    pub fn raise(&mut self, new: u8) -> Result<Irql, BugCheck> {
        let previous = self.current;
        match Irql::new(new) {
            Some(level) if level >= previous => {
                self.current = level;
                Ok(previous)
            }
            _ => Err(BugCheck::verifier(
                verifier::BAD_RAISE_IRQL,
                u64::from(previous.value()),
                u64::from(new),
                0,
            )),
        }
    }

    /// `KeLowerIrql`: `new` must be at most the current level.
    pub fn lower(&mut self, new: u8) -> Result<(), BugCheck> {
        match Irql::new(new) {
            Some(level) if level <= self.current => {
                self.current = level;
                Ok(())
            }
            _ => Err(BugCheck::verifier(
                verifier::BAD_LOWER_IRQL,
                u64::from(self.current.value()),
                u64::from(new),
                0,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::bugcheck::BugCheckCode;

    #[test]
    fn raise_and_lower_in_order() {
        let mut irql = IrqlState::default();
        assert_eq!(irql.current(), Irql::PASSIVE);
        let old = irql.raise(2).unwrap();
        assert_eq!((old, irql.current()), (Irql::PASSIVE, Irql::DISPATCH));
        irql.lower(old.value()).unwrap();
        assert_eq!(irql.current(), Irql::PASSIVE);
    }

    #[test]
    fn raising_to_a_lower_level_is_a_verifier_stop() {
        let mut irql = IrqlState::default();
        irql.raise(2).unwrap();
        let stop = irql.raise(1).unwrap_err();
        assert_eq!(stop.code, BugCheckCode::DriverVerifierDetectedViolation);
        assert_eq!(stop.args, [0x30, 2, 1, 0]);
        assert_eq!(
            irql.current(),
            Irql::DISPATCH,
            "a refused raise changes nothing"
        );
        assert_eq!(irql.raise(16).unwrap_err().args, [0x30, 2, 16, 0]);
    }

    #[test]
    fn lowering_to_a_higher_level_is_a_verifier_stop() {
        let mut irql = IrqlState::default();
        assert_eq!(irql.lower(1).unwrap_err().args, [0x31, 0, 1, 0]);
    }

    #[test]
    fn pageable_and_nonpaged_limits() {
        assert!(Irql::PASSIVE.may_touch_pageable());
        assert!(Irql::APC.may_touch_pageable());
        assert!(!Irql::DISPATCH.may_touch_pageable());
        assert!(Irql::DISPATCH.may_use_nonpaged_pool());
        assert!(!Irql::new(3).unwrap().may_use_nonpaged_pool());
        assert_eq!(Irql::DISPATCH.to_string(), "DISPATCH_LEVEL");
        assert_eq!(Irql::new(5).unwrap().to_string(), "IRQL 5");
    }
}
