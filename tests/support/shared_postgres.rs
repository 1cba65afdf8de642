//! One Postgres server per test binary, chosen as `run` chooses (`auto`), shared by the binary's tests.
//! It is never dropped: its watchdog removes it when the binary exits.

use gateproof::postgres::{PgServer, PostgresChoice, PostgresOptions};
use tokio::sync::OnceCell;

pub async fn server() -> &'static PgServer {
    static SERVER: OnceCell<PgServer> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            let options = PostgresOptions { choice: PostgresChoice::Auto, image: None };
            PgServer::start(&options).await.expect("a Postgres server starts")
        })
        .await
}
