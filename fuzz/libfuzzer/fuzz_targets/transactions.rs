#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cortado_fuzz_checks::transactions(data);
});
