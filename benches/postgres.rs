//! What a run pays for Postgres: one scenario database copy, starting the local server (initdb + start +
//! first connection), and, when a Docker-compatible engine answers, starting the container (create +
//! start + first connection; the image is already there) side by side with it. Small samples, so
//! `cargo bench --bench postgres` takes one to two minutes on a busy machine. The container's image is
//! `GATEPROOF_POSTGRES_IMAGE` when set.

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::MIGRATOR;

fn local() -> PostgresOptions {
    PostgresOptions { choice: PostgresChoice::Local, image: None }
}

fn docker() -> PostgresOptions {
    PostgresOptions {
        choice: PostgresChoice::Docker,
        image: std::env::var("GATEPROOF_POSTGRES_IMAGE").ok().filter(|i| !i.is_empty()),
    }
}

/// Starts and stops a server `iters` times, timing the starts only.
async fn time_starts(options: &PostgresOptions, iters: u64) -> Duration {
    let mut starting = Duration::ZERO;
    for _ in 0..iters {
        let started = Instant::now();
        let server = PgServer::start(options).await.expect("the server starts");
        starting += started.elapsed();
        server.shutdown().await;
    }
    starting
}

fn postgres(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let server = runtime.block_on(PgServer::start(&local())).expect("the local server starts");
    // The first copy migrates the template; the bench measures the copies after it.
    let first = runtime.block_on(server.scenario_database(&MIGRATOR)).expect("the template is migrated");

    let mut group = c.benchmark_group("postgres");
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_secs(1));

    group.measurement_time(Duration::from_secs(3));
    group.bench_function("scenario_database_copy", |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let server = &server;
            async move {
                let mut copying = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let db = server.scenario_database(&MIGRATOR).await.expect("a copy");
                    copying += started.elapsed();
                    // Dropping is the run's cost too, but not this figure's.
                    server.drop_database(&db).await.expect("drop");
                }
                copying
            }
        });
    });

    group.measurement_time(Duration::from_secs(12));
    group.bench_function("local_server_start", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move { time_starts(&local(), iters).await });
    });

    // One start first: it tells whether an engine answers, and pulls the image if needed.
    match runtime.block_on(PgServer::start(&docker())) {
        Ok(server) => {
            runtime.block_on(server.shutdown());
            group.measurement_time(Duration::from_secs(20));
            group.bench_function("container_server_start", |b| {
                b.to_async(&runtime).iter_custom(|iters| async move { time_starts(&docker(), iters).await });
            });
        }
        Err(e) => eprintln!("skipping container_server_start: {e}"),
    }
    group.finish();

    runtime.block_on(async {
        server.drop_database(&first).await.expect("drop");
        server.shutdown().await;
    });
}

criterion_group!(benches, postgres);
criterion_main!(benches);
