//! Seed sweep: runs the shared scenarios of `cortado_sim::scenarios` over many seeds and prints
//! one line per failing seed, with the command that replays it, then a summary.
//!
//! ```text
//! cargo run --release -p cortado-sim --bin sweep -- --seeds 200 --scenario all
//! cargo run --release -p cortado-sim --bin sweep -- --scenario twins-7 --from 1234 --seeds 1
//! cargo run --release -p cortado-sim --bin sweep -- --list
//! ```
//!
//! Each seed is a fresh deterministic runtime, so a failing seed fails the same way again. The
//! exit status is 1 when a seed failed, 2 for bad arguments.

use clap::Parser;
use cortado_sim::scenarios::{self, Scenario};
use std::{
    cell::RefCell,
    process::ExitCode,
    time::{Duration, Instant},
};

thread_local! {
    /// Where the last panic happened (the hook records it; a failure line shows it).
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs Cortado's simulation scenarios over a range of seeds.
#[derive(Parser, Debug)]
#[command(name = "sweep")]
struct Args {
    /// Scenario name (see --list), or `all`.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Seeds per scenario.
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Print every seed's result, not only failures.
    #[arg(long)]
    verbose: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
}

/// Totals over one scenario's seeds.
#[derive(Default)]
struct Totals {
    seeds: u64,
    failures: u64,
    simulated: Duration,
    wall: Duration,
}

fn sweep(scenario: &Scenario, from: u64, seeds: u64, verbose: bool) -> Totals {
    let mut totals = Totals::default();
    for seed in from..from.saturating_add(seeds) {
        let started = Instant::now();
        PANICKED_AT.with(|p| p.borrow_mut().take());
        let outcome = scenario.run(seed);
        let wall = started.elapsed();
        totals.seeds += 1;
        totals.wall += wall;
        match outcome {
            Ok(summary) => {
                totals.simulated += summary.simulated;
                if verbose {
                    println!(
                        "ok {} seed {seed}: height {}, {} txs, {:.1} s simulated, {:.2} s wall, {}",
                        scenario.name,
                        summary.height,
                        summary.transactions,
                        summary.simulated.as_secs_f64(),
                        wall.as_secs_f64(),
                        summary.detail
                    );
                }
            }
            Err(message) => {
                totals.failures += 1;
                let mut message = message.replace('\n', " | ");
                if let Some(at) = PANICKED_AT.with(|p| p.borrow_mut().take()) {
                    message = format!("{message} (at {at})");
                }
                println!(
                    "FAIL {} seed {seed}: {message}\n  replay: cargo run --release -p cortado-sim --bin sweep -- --scenario {} --from {seed} --seeds 1",
                    scenario.name, scenario.name
                );
            }
        }
    }
    totals
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for s in scenarios::all() {
            println!("{}", s.name);
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<Scenario> = if args.scenario == "all" {
        scenarios::all()
    } else {
        match scenarios::find(&args.scenario) {
            Some(s) => vec![s],
            None => {
                eprintln!(
                    "no scenario named {:?}; run with --list to see them, or pass --scenario all",
                    args.scenario
                );
                return ExitCode::from(2);
            }
        }
    };
    // Failures are reported from each seed's outcome; the default hook would print every
    // panic's backtrace in the middle of the sweep's lines.
    std::panic::set_hook(Box::new(|info| {
        if let Some(at) = info.location() {
            PANICKED_AT.with(|p| {
                p.borrow_mut().get_or_insert_with(|| at.to_string());
            });
        }
    }));
    let started = Instant::now();
    let mut all = Totals::default();
    for scenario in &selected {
        let t = sweep(scenario, args.from, args.seeds, args.verbose);
        println!(
            "{}: {} seeds, {} failed, {:.0} s simulated, {:.1} s wall, {:.2} seeds/s",
            scenario.name,
            t.seeds,
            t.failures,
            t.simulated.as_secs_f64(),
            t.wall.as_secs_f64(),
            t.seeds as f64 / t.wall.as_secs_f64().max(1e-9)
        );
        all.seeds += t.seeds;
        all.failures += t.failures;
        all.simulated += t.simulated;
    }
    let wall = started.elapsed();
    println!(
        "total: {} scenarios, {} seeds (from {}), {} failed, {:.0} s simulated, {:.1} s wall, {:.2} seeds/s",
        selected.len(),
        all.seeds,
        args.from,
        all.failures,
        all.simulated.as_secs_f64(),
        wall.as_secs_f64(),
        all.seeds as f64 / wall.as_secs_f64().max(1e-9)
    );
    if all.failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
