//! Explore's figures on this machine: for every quirk, the operations and wall time until
//! `reference` against `reference+QUIRK` first diverges (no shrinking), then the throughput of
//! `reference` against `reference`, which never diverges. `cargo bench --bench explore`; set
//! `EXPLORE_BENCH_SEEDS` (default 3) for more seeds per quirk and `EXPLORE_BENCH_OPS` (default 3000)
//! for the throughput run's length.

use std::sync::Arc;
use std::time::Duration;

use gateproof::explore::side::SideSpec;
use gateproof::explore::{Budget, ExploreConfig, explore};
use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::{Quirk, Quirks};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument, when given, selects quirks by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let pg = runtime
        .block_on(PgServer::start(&PostgresOptions { choice: PostgresChoice::Auto, image: None }))
        .map(Arc::new)
        .expect("Postgres starts");
    let seeds = env_number("EXPLORE_BENCH_SEEDS", 3);
    println!("{:<44} {:>5} {:>8} {:>9}", "quirk", "seed", "ops", "seconds");
    let mut times = Vec::new();
    for &quirk in Quirk::ALL {
        if filter.as_ref().is_some_and(|f| !quirk.name().contains(f.as_str())) {
            continue;
        }
        for seed in 1..=seeds {
            let against = SideSpec::Reference(Quirks::NONE.with(quirk));
            let mut config = ExploreConfig::new(
                SideSpec::Reference(Quirks::NONE),
                against,
                seed,
                Budget::Time(Duration::from_secs(60)),
            );
            config.out = None;
            config.stop_after = Some(1);
            config.shrink_attempts = 0;
            let report = runtime.block_on(explore(&config, Some(Arc::clone(&pg)), &|_| {})).expect("explore runs");
            match report.found.first() {
                Some(found) => {
                    times.push(found.found_after);
                    println!(
                        "{:<44} {seed:>5} {:>8} {:>9.1}",
                        quirk.name(),
                        found.found_after_ops,
                        found.found_after.as_secs_f64()
                    );
                }
                None => println!("{:<44} {seed:>5} {:>8} {:>9}", quirk.name(), report.ops, "not found in 60 s"),
            }
        }
    }
    if !times.is_empty() {
        times.sort();
        println!("median time to the first divergence: {:.1} s", times[times.len() / 2].as_secs_f64());
    }
    if filter.is_none() {
        let ops = env_number("EXPLORE_BENCH_OPS", 3000);
        let mut config = ExploreConfig::new(
            SideSpec::Reference(Quirks::NONE),
            SideSpec::Reference(Quirks::NONE),
            1,
            Budget::Ops(ops),
        );
        config.out = None;
        let report = runtime.block_on(explore(&config, Some(Arc::clone(&pg)), &|_| {})).expect("explore runs");
        println!(
            "reference against reference: {} operations in {:.1} s, {:.0} ops/s ({:.0} requests/s to the reference), {} divergences",
            report.ops,
            report.elapsed.as_secs_f64(),
            report.ops as f64 / report.elapsed.as_secs_f64(),
            2.0 * report.ops as f64 / report.elapsed.as_secs_f64(),
            report.found.len()
        );
    }
}
