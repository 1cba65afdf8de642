//! `gateproof serve`: the reference proxy on its own Postgres until Ctrl-C.

use std::io::{self, Write};
use std::net::SocketAddr;

use super::args::ServeArgs;
use super::{CliError, Verdict};
use crate::postgres::PgServer;
use crate::reference::{self, ProxyConfig, Quirks};
use crate::runner::generate_master_key;

pub(super) async fn serve(args: ServeArgs) -> Result<Verdict, CliError> {
    let quirks: Quirks = args.quirks.iter().copied().collect();
    let master_key = args.master_key.clone().unwrap_or_else(generate_master_key);
    let pg = PgServer::start(&args.postgres.options()).await?;
    let served = serve_on(&pg, &args, master_key, quirks).await;
    pg.shutdown().await;
    served
}

async fn serve_on(pg: &PgServer, args: &ServeArgs, master_key: String, quirks: Quirks) -> Result<Verdict, CliError> {
    let db = pg.scenario_database(&reference::MIGRATOR).await?;
    let config = ProxyConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], args.port)),
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
    // An error here means signals cannot be watched; stopping at once is the only safe answer.
    let _ = tokio::signal::ctrl_c().await;
    proxy.shutdown().await;
    if let Err(e) = pg.drop_database(&db).await {
        tracing::warn!("failed to drop the database: {e}");
    }
    Ok(Verdict::default())
}
