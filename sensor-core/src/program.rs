//! Rule programs: postfix boolean code over predicate results, run on a stack of bits.
//!
//! A program is a run of 32-bit words, the opcode in the top byte and the argument in the low
//! 24 bits. [`check`] proves at load that a program never underflows or overflows its stack and
//! leaves exactly one value; [`Stack`] runs it without recursion in one `u64`. Sigma's `1 of x*`
//! and `all of x*` are `or n` and `and n` over `n` pushed results.

use crate::error::ProgramFault;
use crate::limits::MAX_STACK_DEPTH;

/// Opcode of [`Instruction::Pred`].
pub const OP_PRED: u8 = 1;
/// Opcode of [`Instruction::Not`].
pub const OP_NOT: u8 = 2;
/// Opcode of [`Instruction::And`].
pub const OP_AND: u8 = 3;
/// Opcode of [`Instruction::Or`].
pub const OP_OR: u8 = 4;
/// Opcode of [`Instruction::Const`].
pub const OP_CONST: u8 = 5;

const ARG_MASK: u32 = 0x00FF_FFFF;

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// Push the result of predicate `n`.
    Pred(u32),
    /// Invert the top value.
    Not,
    /// Pop `n` values, push whether all hold.
    And(u32),
    /// Pop `n` values, push whether any holds.
    Or(u32),
    /// Push a constant.
    Const(bool),
}

impl Instruction {
    /// Decodes one program word.
    pub fn decode(word: u32) -> Result<Self, ProgramFault> {
        let arg = word & ARG_MASK;
        let opcode = word.to_be_bytes()[0];
        let bad = ProgramFault::BadArgument(arg);
        match opcode {
            OP_PRED => Ok(Self::Pred(arg)),
            OP_NOT if arg == 0 => Ok(Self::Not),
            OP_AND if (1..=MAX_STACK_DEPTH).contains(&arg) => Ok(Self::And(arg)),
            OP_OR if (1..=MAX_STACK_DEPTH).contains(&arg) => Ok(Self::Or(arg)),
            OP_CONST if arg <= 1 => Ok(Self::Const(arg == 1)),
            OP_NOT | OP_AND | OP_OR | OP_CONST => Err(bad),
            other => Err(ProgramFault::UnknownOpcode(other)),
        }
    }

    /// Encodes the instruction as a program word.
    pub fn encode(self) -> u32 {
        let (opcode, arg) = match self {
            Self::Pred(n) => (OP_PRED, n),
            Self::Not => (OP_NOT, 0),
            Self::And(n) => (OP_AND, n),
            Self::Or(n) => (OP_OR, n),
            Self::Const(b) => (OP_CONST, u32::from(b)),
        };
        u32::from(opcode) << 24 | (arg & ARG_MASK)
    }

    /// The stack depth after this instruction runs at `depth`, or why it cannot.
    pub fn depth_after(self, depth: u32) -> Result<u32, ProgramFault> {
        let (pops, pushes) = match self {
            Self::Pred(_) | Self::Const(_) => (0, 1),
            Self::Not => (1, 1),
            Self::And(n) | Self::Or(n) => (n, 1),
        };
        let after = depth
            .checked_sub(pops)
            .ok_or(ProgramFault::StackUnderflow)?
            .saturating_add(pushes);
        if after > MAX_STACK_DEPTH {
            return Err(ProgramFault::StackOverflow);
        }
        Ok(after)
    }
}

/// Checks that a whole program is well formed; on failure returns the index of the faulty
/// instruction with the fault.
pub fn check(words: impl Iterator<Item = u32>) -> Result<(), (usize, ProgramFault)> {
    let mut depth = 0u32;
    let mut len = 0usize;
    for (pc, word) in words.enumerate() {
        depth = Instruction::decode(word)
            .and_then(|i| i.depth_after(depth))
            .map_err(|fault| (pc, fault))?;
        len = pc.saturating_add(1);
    }
    if depth != 1 {
        return Err((len, ProgramFault::Unbalanced(depth)));
    }
    Ok(())
}

/// A stack of up to 64 booleans in one word; the top is bit 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stack {
    bits: u64,
    depth: u32,
}

fn low_mask(n: u32) -> u64 {
    u64::MAX
        .checked_shr(MAX_STACK_DEPTH.saturating_sub(n))
        .unwrap_or(0)
}

impl Stack {
    /// Pushes a value. A checked program never pushes past the cap; if one did, the value is
    /// dropped and the rule cannot match.
    pub fn push(&mut self, value: bool) {
        if self.depth < MAX_STACK_DEPTH {
            self.bits = self.bits.wrapping_shl(1) | u64::from(value);
            self.depth = self.depth.saturating_add(1);
        }
    }

    fn pop_n(&mut self, n: u32) -> Option<u64> {
        let depth = self.depth.checked_sub(n)?;
        let taken = self.bits & low_mask(n);
        self.bits = self.bits.checked_shr(n).unwrap_or(0);
        self.depth = depth;
        Some(taken)
    }

    /// Runs one instruction; `pred` yields the value of a predicate. Returns `false` when the
    /// instruction does not fit the stack, which a checked program never does.
    pub fn step(&mut self, instruction: Instruction, pred: impl FnOnce(u32) -> bool) -> bool {
        let value = match instruction {
            Instruction::Pred(n) => pred(n),
            Instruction::Const(b) => b,
            Instruction::Not => match self.pop_n(1) {
                Some(top) => top == 0,
                None => return false,
            },
            Instruction::And(n) => match self.pop_n(n) {
                Some(taken) => taken == low_mask(n),
                None => return false,
            },
            Instruction::Or(n) => match self.pop_n(n) {
                Some(taken) => taken != 0,
                None => return false,
            },
        };
        self.push(value);
        true
    }

    /// The program's result: the single value left, or `false` if the stack is not balanced.
    pub fn result(&self) -> bool {
        self.depth == 1 && self.bits & 1 == 1
    }
}

/// A stack of three-valued results (true, false, unknown), kept as two stacks of bits: "may be
/// true" and "must be true". An unknown value may be true and need not be.
#[derive(Clone, Copy, Debug, Default)]
pub struct Partial {
    may: Stack,
    must: Stack,
}

impl Partial {
    /// Runs one instruction; `pred` yields the value of a predicate, `None` when it is not known.
    /// Returns `false` when the instruction does not fit the stack, which a checked program never
    /// does.
    pub fn step(
        &mut self,
        instruction: Instruction,
        pred: impl FnOnce(u32) -> Option<bool>,
    ) -> bool {
        match instruction {
            Instruction::Pred(n) => {
                let value = pred(n);
                self.may.push(value != Some(false));
                self.must.push(value == Some(true));
                true
            }
            Instruction::Not => {
                let (Some(may), Some(must)) = (self.may.pop_n(1), self.must.pop_n(1)) else {
                    return false;
                };
                self.may.push(must == 0);
                self.must.push(may == 0);
                true
            }
            Instruction::Const(_) | Instruction::And(_) | Instruction::Or(_) => {
                self.may.step(instruction, |_| true) && self.must.step(instruction, |_| false)
            }
        }
    }

    /// The program's result: `Some` when the single value left is known, `None` when it is
    /// unknown or the stack is not balanced.
    pub fn result(&self) -> Option<bool> {
        if self.may.depth != 1 || self.must.depth != 1 {
            None
        } else if self.must.result() {
            Some(true)
        } else if self.may.result() {
            None
        } else {
            Some(false)
        }
    }
}

/// Whether a program may evaluate to true when every predicate `known_false` names is false and
/// every other predicate is unknown ([`Partial`]). A program that does not decode or balance
/// may hold, so that a caller relying on `false` never relies on a malformed program.
pub fn may_hold(
    words: impl Iterator<Item = u32>,
    mut known_false: impl FnMut(u32) -> bool,
) -> bool {
    let mut stack = Partial::default();
    for word in words {
        let Ok(instruction) = Instruction::decode(word) else {
            return true;
        };
        if !stack.step(instruction, |n| known_false(n).then_some(false)) {
            return true;
        }
    }
    stack.result() != Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(program: &[Instruction], preds: &[bool]) -> bool {
        let mut stack = Stack::default();
        for &i in program {
            assert!(stack.step(i, |n| preds[n as usize]));
        }
        stack.result()
    }

    #[test]
    fn round_trips_every_instruction() {
        for i in [
            Instruction::Pred(0),
            Instruction::Pred(ARG_MASK),
            Instruction::Not,
            Instruction::And(2),
            Instruction::Or(64),
            Instruction::Const(true),
            Instruction::Const(false),
        ] {
            assert_eq!(Instruction::decode(i.encode()), Ok(i));
        }
    }

    #[test]
    fn rejects_bad_words() {
        assert_eq!(Instruction::decode(0), Err(ProgramFault::UnknownOpcode(0)));
        assert_eq!(
            Instruction::decode(u32::from(OP_AND) << 24),
            Err(ProgramFault::BadArgument(0))
        );
        assert_eq!(
            Instruction::decode(u32::from(OP_OR) << 24 | 65),
            Err(ProgramFault::BadArgument(65))
        );
        assert_eq!(
            Instruction::decode(u32::from(OP_NOT) << 24 | 1),
            Err(ProgramFault::BadArgument(1))
        );
    }

    #[test]
    fn check_finds_stack_faults() {
        let words = |p: &[Instruction]| p.iter().map(|i| i.encode()).collect::<std::vec::Vec<_>>();
        use Instruction::*;
        assert_eq!(
            check(words(&[Pred(0), Pred(1), And(2)]).into_iter()),
            Ok(())
        );
        assert_eq!(
            check(words(&[Pred(0), And(2)]).into_iter()),
            Err((1, ProgramFault::StackUnderflow))
        );
        assert_eq!(
            check(words(&[Pred(0), Pred(1)]).into_iter()),
            Err((2, ProgramFault::Unbalanced(2)))
        );
        assert_eq!(
            check(core::iter::empty()),
            Err((0, ProgramFault::Unbalanced(0)))
        );
        let deep: std::vec::Vec<u32> = (0..65).map(|n| Pred(n).encode()).collect();
        assert_eq!(
            check(deep.into_iter()),
            Err((64, ProgramFault::StackOverflow))
        );
    }

    #[test]
    fn evaluates_and_or_not_over_many_values() {
        use Instruction::*;
        let p = [Pred(0), Pred(1), Pred(2), Or(3), Pred(3), Not, And(2)];
        assert!(run(&p, &[false, true, false, false]));
        assert!(!run(&p, &[false, true, false, true]));
        assert!(!run(&p, &[false, false, false, false]));
        let wide: std::vec::Vec<Instruction> = (0..64).map(Pred).chain([And(64)]).collect();
        assert!(run(&wide, &[true; 64]));
        let mut one_false = [true; 64];
        one_false[63] = false;
        assert!(!run(&wide, &one_false));
    }

    fn partial(program: &[Instruction], preds: &[Option<bool>]) -> Option<bool> {
        let mut stack = Partial::default();
        for &i in program {
            assert!(stack.step(i, |n| preds[n as usize]));
        }
        stack.result()
    }

    #[test]
    fn partial_values_decide_what_they_can() {
        use Instruction::*;
        let a_and_not_b = [Pred(0), Pred(1), Not, And(2)];
        assert_eq!(partial(&a_and_not_b, &[Some(false), None]), Some(false));
        assert_eq!(partial(&a_and_not_b, &[Some(true), None]), None);
        assert_eq!(partial(&a_and_not_b, &[None, Some(true)]), Some(false));
        assert_eq!(
            partial(&a_and_not_b, &[Some(true), Some(false)]),
            Some(true)
        );
        let a_or_b = [Pred(0), Pred(1), Or(2)];
        assert_eq!(partial(&a_or_b, &[None, Some(true)]), Some(true));
        assert_eq!(partial(&a_or_b, &[None, Some(false)]), None);
        assert_eq!(
            partial(&[Pred(0), Pred(1)], &[Some(true), Some(true)]),
            None,
            "unbalanced"
        );
        for (x, y) in [(false, false), (false, true), (true, false), (true, true)] {
            let known = [Some(x), Some(y)];
            assert_eq!(
                partial(&a_and_not_b, &known),
                Some(run(&a_and_not_b, &[x, y]))
            );
        }
    }

    fn may(program: &[Instruction], known_false: &[u32]) -> bool {
        may_hold(program.iter().map(|i| i.encode()), |n| {
            known_false.contains(&n)
        })
    }

    #[test]
    fn three_valued_logic_decides_what_cannot_match() {
        use Instruction::*;
        let a_and_b_or_c = [Pred(0), Pred(1), Pred(2), Or(2), And(2)];
        assert!(!may(&a_and_b_or_c, &[0]));
        assert!(!may(&a_and_b_or_c, &[1, 2]));
        assert!(may(&a_and_b_or_c, &[1]));
        assert!(may(&a_and_b_or_c, &[]));
        let not_a = [Pred(0), Not];
        assert!(may(&not_a, &[0]));
        let not_not_a = [Pred(0), Not, Not];
        assert!(!may(&not_not_a, &[0]));
        let not_a_or_b = [Pred(0), Pred(1), Or(2), Not];
        assert!(
            may(&not_a_or_b, &[0, 1]),
            "false or false, negated, is true"
        );
        assert!(!may(&[Const(false)], &[]));
        assert!(may(&[Const(true)], &[]));
        assert!(may(&[Pred(0), Pred(1)], &[0, 1]), "unbalanced may hold");
    }
}
