#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sensor_fuzz::sysmon_json::sysmon_json(data);
});
