//! What a run pays for Postgres: one scenario database copy, and starting the local server
//! (initdb + start + first connection). Small samples, so `cargo bench --bench postgres` takes about a
//! minute on a busy machine.

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use gateproof::reference::MIGRATOR;

fn local() -> PostgresOptions {
    PostgresOptions {
        choice: PostgresChoice::Local,
        image: None,
    }
}

fn postgres(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let server = runtime
        .block_on(PgServer::start(&local()))
        .expect("the local server starts");
    // The first copy migrates the template; the bench measures the copies after it.
    let first = runtime
        .block_on(server.scenario_database(&MIGRATOR))
        .expect("the template is migrated");

    let mut group = c.benchmark_group("postgres");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1));

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
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut starting = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let server = PgServer::start(&local())
                    .await
                    .expect("the local server starts");
                starting += started.elapsed();
                server.shutdown().await;
            }
            starting
        });
    });
    group.finish();

    runtime.block_on(async {
        server.drop_database(&first).await.expect("drop");
        server.shutdown().await;
    });
}

criterion_group!(benches, postgres);
criterion_main!(benches);
