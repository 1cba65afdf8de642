//! Fresh reference databases for sequences, at the rate explore needs them.
//!
//! A `CREATE DATABASE … TEMPLATE` copy costs 150–350 ms on a quiet machine and over a second on a busy
//! one, which alone would hold explore far below its throughput goal. A sequence needs an empty
//! database, not a new one: each slot here is one ordinary scenario copy, emptied with one `TRUNCATE`
//! of every table (identities restarted) after the sequence's proxies have shut down, and handed to
//! the next sequence. Written scenarios are still verified the ordinary way, on a copy of their own.

use std::sync::{Arc, Mutex, PoisonError};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::postgres::{PgServer, ScenarioDatabase};
use crate::reference::MIGRATOR;

/// An empty database, lent to one sequence.
pub struct Slot {
    pub db: ScenarioDatabase,
    admin: PgPool,
    truncate: Arc<String>,
}

/// Databases that are empty and free.
pub struct Slots {
    pg: Arc<PgServer>,
    free: Mutex<Vec<Slot>>,
}

impl Slots {
    pub fn new(pg: Arc<PgServer>) -> Slots {
        Slots { pg, free: Mutex::new(Vec::new()) }
    }

    /// A free slot, or a new copy when none is free.
    pub async fn take(&self) -> Result<Slot, String> {
        if let Some(slot) = self.free.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(slot);
        }
        let db = self.pg.scenario_database(&MIGRATOR).await.map_err(|e| format!("failed to create a database: {e}"))?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&db.url)
            .await
            .map_err(|e| format!("failed to connect to {}: {e}", db.name))?;
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' ORDER BY tablename",
        )
        .fetch_all(&admin)
        .await
        .map_err(|e| format!("failed to list the tables of {}: {e}", db.name))?;
        let names: Vec<String> = tables.into_iter().map(|(t,)| t).collect();
        let truncate = Arc::new(format!("TRUNCATE {} RESTART IDENTITY CASCADE", names.join(", ")));
        Ok(Slot { db, admin, truncate })
    }

    /// Empties the slot's database (every connection of the sequence's proxies is closed by now) and
    /// frees it; a slot that cannot be emptied is dropped with its database.
    pub async fn give_back(&self, slot: Slot) {
        // The statement names only tables read from the catalogue, each quoted by `format('%I')`.
        match sqlx::query(sqlx::AssertSqlSafe(slot.truncate.as_str())).execute(&slot.admin).await {
            Ok(_) => self.free.lock().unwrap_or_else(PoisonError::into_inner).push(slot),
            Err(e) => {
                tracing::warn!(database = %slot.db.name, "failed to empty an explore database: {e}");
                slot.admin.close().await;
                let _ = self.pg.drop_database(&slot.db).await;
            }
        }
    }

    /// Drops every free slot's database.
    pub async fn close(&self) {
        let slots: Vec<Slot> = std::mem::take(&mut *self.free.lock().unwrap_or_else(PoisonError::into_inner));
        for slot in slots {
            slot.admin.close().await;
            let _ = self.pg.drop_database(&slot.db).await;
        }
    }
}
