#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sensor_fuzz::differential::differential(data);
});
