//! Every checked-in corpus input and every regression (an input that once crashed a target)
//! through its target's checks, on stable, in every `cargo test`.

use std::path::Path;

#[test]
fn every_corpus_input_and_regression_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut inputs = 0;
    for (target, check) in cortado_fuzz_checks::TARGETS {
        let (mut own, mut taken) = (0, 0);
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                // A panic names the file: replay it with `cargo fuzz run <target> <file>`.
                let decoders = check(&data);
                eprintln!("{}: taken by {decoders}", path.display());
                own += 1;
                taken += usize::from(decoders > 0);
            }
        }
        assert!(own > 0, "no corpus for target {target}");
        // The seeds are real values: most decode, so the fuzzer starts past the first checks.
        assert!(
            taken * 2 >= own,
            "{target}: only {taken} of {own} seeds decode"
        );
        inputs += own;
    }
    eprintln!("{inputs} inputs");
}
