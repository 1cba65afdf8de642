//! `gateproof serve`: the reference proxy on its own Postgres until Ctrl-C or SIGTERM.

use std::io::{self, Write};
use std::net::SocketAddr;

use super::args::ServeArgs;
use super::stop::{Signals, StopSignal};
use super::{CliError, Verdict};
use crate::postgres::PgServer;
use crate::reference::{self, ProxyConfig, Quirks};
use crate::runner::{CancelToken, generate_master_key};

pub(super) async fn serve(args: ServeArgs) -> Result<Verdict, CliError> {
    let quirks: Quirks = args.quirks.iter().copied().collect();
    let master_key = args.master_key.clone().unwrap_or_else(generate_master_key);
    let stop = CancelToken::new();
    let signals = Signals::watch(stop.clone());
    let pg_options = args.postgres.options();
    let pg = tokio::select! {
        pg = PgServer::start(&pg_options) => pg?,
        () = stop.cancelled() => {
            return Err(CliError::Interrupted(signals.stopped_by().unwrap_or(StopSignal::Interrupt)));
        }
    };
    let served = serve_on(&pg, &args, master_key, quirks, &stop).await;
    pg.shutdown().await;
    // Ctrl-C is how `serve` is meant to end (exit 0); SIGTERM says someone else ended it (143).
    served.map(|verdict| Verdict {
        interrupted: signals.stopped_by().filter(|signal| *signal == StopSignal::Terminate),
        ..verdict
    })
}

async fn serve_on(
    pg: &PgServer,
    args: &ServeArgs,
    master_key: String,
    quirks: Quirks,
    stop: &CancelToken,
) -> Result<Verdict, CliError> {
    let db = pg.scenario_database(&reference::MIGRATOR).await?;
    let config = ProxyConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.port)),
        cache_ttl: reference::cache_ttl_from_env(),
        quirks,
        ..ProxyConfig::new(master_key.clone(), db.url.clone())
    };
    let proxy = match reference::start(config).await {
        Ok(proxy) => proxy,
        Err(e) => {
            let _ = pg.drop_database(&db).await;
            return Err(e.into());
        }
    };
    println!("base_url: {}", proxy.base_url);
    println!("master_key: {master_key}");
    println!("quirks: {quirks}");
    println!("Serving until Ctrl-C.");
    let _ = io::stdout().flush();
    stop.cancelled().await;
    proxy.shutdown().await;
    if let Err(e) = pg.drop_database(&db).await {
        tracing::warn!("failed to drop the database: {e}");
    }
    Ok(Verdict::default())
}
