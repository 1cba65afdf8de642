//! Cache invalidation across replicas: Postgres LISTEN/NOTIFY on one scenario database.
//!
//! Every eviction a write causes is published on the channel [`CHANNEL`] as one numbered
//! invalidation; every proxy on the database (the writer included) LISTENs, evicts the named cache keys
//! and records the number it has applied in `cache_listeners` (migration `0003_cache.sql`).
//!
//! Why the writer waits for acknowledgements: NOTIFY is delivered asynchronously, so "write on replica 0,
//! then use on replica 1 at once" could otherwise still find the old object on replica 1 for a moment.
//! Before the write's HTTP response returns, the writer waits until every live listener on the database
//! has applied its invalidation (live = its listening connection is in `pg_stat_activity`, so a crashed
//! replica does not stall writers). Invalidations are numbered under an advisory lock, so their numbers
//! follow commit order, which is the order Postgres delivers notifications in: a listener that applied
//! number n has applied every invalidation before it. The wait is bounded ([`ACK_TIMEOUT`]); if a
//! replica is too slow, the write still succeeds and that replica is stale for at most the cache TTL,
//! which is also the bound on a replica whose listening connection dropped (it clears its whole cache
//! when it reconnects, since notifications sent meanwhile are lost).
//!
//! The quirk `no_cross_replica_invalidation` turns all of this off: writes evict only in the replica
//! that served them, and other replicas keep the old object until its TTL passes.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

/// The notification channel.
pub(crate) const CHANNEL: &str = "gateproof_cache";

/// How long a writer waits for every replica to apply its invalidation.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// Serializes numbering so invalidation numbers follow commit order (any constant unique to us).
const ADVISORY_LOCK: i64 = 0x6761_7465_7072_6f6f;

/// Notification payloads stay well below Postgres's 8000-byte limit.
const MAX_KEYS_PER_NOTIFICATION: usize = 64;

/// One notification: some of the cache keys of invalidation `seq`; `last` marks its final part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub seq: i64,
    pub keys: Vec<String>,
    pub last: bool,
}

/// The notifications that carry `keys` as invalidation `seq`.
pub(crate) fn payloads(seq: i64, keys: &[String]) -> Vec<Payload> {
    let chunks: Vec<&[String]> = keys.chunks(MAX_KEYS_PER_NOTIFICATION).collect();
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| Payload { seq, keys: chunk.to_vec(), last: i + 1 == count })
        .collect()
}

/// Publishes `keys` as one invalidation and waits until every live listener applied it.
pub(crate) async fn publish(db: &PgPool, keys: &[String]) -> sqlx::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ADVISORY_LOCK).execute(&mut *tx).await?;
    let seq: i64 = sqlx::query_scalar("SELECT nextval('cache_invalidation_seq')").fetch_one(&mut *tx).await?;
    for payload in payloads(seq, keys) {
        let text = serde_json::to_string(&payload).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(text).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    wait_for_acknowledgements(db, seq).await
}

async fn wait_for_acknowledgements(db: &PgPool, seq: i64) -> sqlx::Result<()> {
    let deadline = tokio::time::Instant::now() + ACK_TIMEOUT;
    loop {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM cache_listeners l JOIN pg_stat_activity a ON a.pid = l.listener_pid
             WHERE l.applied_seq < $1",
        )
        .bind(seq)
        .fetch_one(db)
        .await?;
        if behind == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                seq,
                behind,
                "replicas did not apply a cache invalidation in time; they stay stale until the TTL"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Evicts the named cache keys in this proxy.
pub(crate) type Evict = Arc<dyn Fn(&[String]) + Send + Sync>;

/// Drops this proxy's whole cache.
pub(crate) type Clear = Arc<dyn Fn() + Send + Sync>;

/// Starts listening and returns the task that applies invalidations with `evict` until aborted. The
/// listener is registered before this returns, so writes made after it count this proxy in.
pub(crate) async fn listen(db: PgPool, evict: Evict, clear: Clear) -> sqlx::Result<tokio::task::JoinHandle<()>> {
    let mut listener = PgListener::connect_with(&db).await?;
    register(&mut listener).await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match serde_json::from_str::<Payload>(notification.payload()) {
                    Ok(payload) => {
                        evict(&payload.keys);
                        if payload.last
                            && let Err(e) = acknowledge(&mut listener, payload.seq).await
                        {
                            tracing::warn!(error = %e, "failed to acknowledge a cache invalidation");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "ignoring a malformed cache invalidation"),
                },
                // The connection dropped: whatever was published meanwhile is lost, so nothing cached
                // can be trusted. `try_recv` reconnects on the next call; register the new connection.
                Ok(None) => {
                    clear();
                    if let Err(e) = register(&mut listener).await {
                        tracing::warn!(error = %e, "failed to re-register the cache listener");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                // The pool closed: the proxy is shutting down.
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cache listener failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }))
}

/// LISTENs and records this connection as applied up to the current number: its cache holds nothing
/// older than that.
async fn register(listener: &mut PgListener) -> sqlx::Result<()> {
    listener.listen(CHANNEL).await?;
    sqlx::query(
        "DELETE FROM cache_listeners WHERE listener_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)",
    )
    .execute(&mut *listener)
    .await?;
    sqlx::query(
        "INSERT INTO cache_listeners (listener_pid, applied_seq)
         SELECT pg_backend_pid(), CASE WHEN is_called THEN last_value ELSE 0 END FROM cache_invalidation_seq
         ON CONFLICT (listener_pid) DO UPDATE SET applied_seq = excluded.applied_seq",
    )
    .execute(&mut *listener)
    .await
    .map(drop)
}

async fn acknowledge(listener: &mut PgListener, seq: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE cache_listeners SET applied_seq = GREATEST(applied_seq, $1) WHERE listener_pid = pg_backend_pid()",
    )
    .bind(seq)
    .execute(&mut *listener)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_keys_are_split_and_only_the_final_part_is_last() {
        let keys: Vec<String> = (0..130).map(|i| format!("{i:064x}")).collect();
        let parts = payloads(7, &keys);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.iter().map(|p| p.last).collect::<Vec<_>>(), [false, false, true]);
        assert!(parts.iter().all(|p| p.seq == 7));
        let back: Vec<String> = parts.iter().flat_map(|p| p.keys.clone()).collect();
        assert_eq!(back, keys);
        for p in &parts {
            assert!(serde_json::to_string(p).unwrap_or_default().len() < 8000);
        }
    }

    #[test]
    fn one_key_is_one_final_notification() {
        assert_eq!(
            payloads(1, &["team_id:t1".to_string()]),
            [Payload { seq: 1, keys: vec!["team_id:t1".into()], last: true }]
        );
    }
}
