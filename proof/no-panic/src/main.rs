//! Link-time proof that no panic is reachable from `sensor-core`'s entry points.
//!
//! The binary calls [`RuleSet::load`] and [`RuleSet::evaluate`] (and, with the `slot` feature,
//! every [`ContentSlot`] operation) on content, a sensor declaration and inputs that the
//! optimizer cannot see through ([`black_box`]). Its panic handler calls a function that is
//! declared but defined nowhere. After fat LTO, the handler survives only if some panic site
//! survives, that is, only if the optimizer could not prove every panic unreachable; then the
//! link fails with `undefined symbol: sensor_core_reachable_panic`. A binary that links is the
//! proof. `proof/no-panic/find-panics.sh` names the surviving panic sites when it does not.
//!
//! Build: `cargo build --release --target x86_64-unknown-none` in this directory.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use sensor_core::schema::{SensorDecl, SENSOR_7_11};
use sensor_core::{MatchBuffer, MatchedRule, RuleSet, Value};

#[cfg(not(feature = "locate"))]
extern "C" {
    /// Deliberately undefined. Referenced only by the panic handler.
    fn sensor_core_reachable_panic() -> !;
}

#[cfg(not(feature = "locate"))]
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    // SAFETY: never runs; if a reference to it survives optimization, the link fails.
    unsafe { sensor_core_reachable_panic() }
}

/// With `locate`, a defined handler, so that the binary links and `find-panics.sh` can list
/// the call sites that keep it alive.
#[cfg(feature = "locate")]
#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Content bytes, 8-byte aligned as a driver would hold them.
#[repr(C, align(8))]
struct Content([u8; 4096]);

static CONTENT: Content = Content([0; 4096]);
static UNITS: [u16; 64] = [0; 64];
static INPUTS: [Value<'static>; 3] = [Value::Absent, Value::Int(0), Value::Str(&UNITS)];

/// Loads and evaluates with everything opaque to the optimizer.
fn load_and_evaluate(bytes: &'static [u8], sensor: &SensorDecl, inputs: &[Value<'_>]) {
    if let Ok(rules) = RuleSet::load(bytes, sensor) {
        let mut buffer = MatchBuffer::<8>::default();
        black_box(rules.evaluate(inputs, &mut buffer));
        black_box(buffer.as_slice());
        let mut sink = |m: MatchedRule| black_box(m.rule) != 0;
        black_box(rules.evaluate(inputs, &mut sink));
        black_box(rules.worst_case_work());
        black_box(rules.rule(black_box(0)));
    }
}

#[cfg(feature = "slot")]
fn slot(bytes: &'static [u8], sensor: SensorDecl, inputs: &[Value<'_>]) {
    let slot = sensor_core::ContentSlot::new(sensor);
    black_box(slot.update(bytes).is_ok());
    black_box(slot.update(black_box(bytes)).is_ok());
    let mut buffer = MatchBuffer::<8>::default();
    black_box(slot.evaluate(inputs, &mut buffer));
    black_box(slot.roll_back());
    black_box(slot.evaluate(inputs, &mut buffer));
    black_box(slot.clear());
    black_box(slot.evaluate(inputs, &mut buffer));
}

/// The entry point.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let bytes: &'static [u8] = black_box(&CONTENT.0[..]);
    let sensor: SensorDecl = black_box(SENSOR_7_11);
    let inputs: &[Value<'_>] = black_box(&INPUTS[..]);
    load_and_evaluate(bytes, &sensor, inputs);
    #[cfg(feature = "slot")]
    slot(bytes, sensor, inputs);
    loop {
        core::hint::spin_loop();
    }
}
