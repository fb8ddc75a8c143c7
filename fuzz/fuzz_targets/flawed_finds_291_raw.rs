#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sensor_fuzz::differential::flawed_finds_291_raw(data);
});
