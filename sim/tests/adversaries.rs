//! commonware's own Byzantine simplex actors (conflicter, equivocator, nuller, nullify-only,
//! impersonator, outdated, reconfigurer) and twins, as f of n = 4, 7, 10 validators, against
//! full Cortado engines under load: safety, every block reconstructed, every transaction
//! finalized once, finality goes on (`cortado_sim::scenarios`). `cargo test` runs a few seeds;
//! the seed sweep (`--bin sweep`) runs many.

use cortado_sim::{Behaviour, scenarios};

/// Runs `<behaviour>-<n>` for `seeds`.
fn check(behaviour: Behaviour, n: u32, seeds: std::ops::Range<u64>) {
    let name = format!("{}-{n}", behaviour.name());
    let scenario = scenarios::find(&name).expect("scenario exists");
    for seed in seeds {
        if let Err(failure) = scenario.run(seed) {
            panic!(
                "{name} seed {seed}: {failure}\nreplay: cargo run --release -p cortado-sim --bin sweep -- --scenario {name} --from {seed} --seeds 1"
            );
        }
    }
}

macro_rules! adversary {
    ($test:ident, $behaviour:expr) => {
        #[test]
        fn $test() {
            check($behaviour, 4, 0..1);
            check($behaviour, 7, 0..1);
            check($behaviour, 10, 0..1);
        }
    };
}

adversary!(conflicter, Behaviour::Conflicter);
adversary!(equivocator, Behaviour::Equivocator);
adversary!(nuller, Behaviour::Nuller);
adversary!(nullify_only, Behaviour::NullifyOnly);
adversary!(impersonator, Behaviour::Impersonator);
adversary!(outdated, Behaviour::Outdated);
adversary!(reconfigurer, Behaviour::Reconfigurer);
adversary!(twins, Behaviour::Twins);
