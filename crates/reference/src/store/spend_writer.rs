//! Spend writes grouped into one statement per turn (group commit).
//!
//! Every successful LLM call adds its cost to the key's row, and most also to a team's, and every
//! concurrent call through one key updates the same rows: written one call per statement, those
//! rows' locks and Postgres' per-statement work were the queue under load. One writer task takes
//! whatever calls are waiting when it is free and writes them in one statement. Each call still
//! waits for its own write, so a response is sent only after its spend is stored, as before; under
//! light load a batch holds one call. The task, not the request, runs the statement, so a client
//! that goes away mid-write cannot cancel other calls' writes.

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::spend::SpendLog;

/// The most calls one statement writes.
const MAX_BATCH: usize = 256;
/// Attempts of a batch that lost a deadlock to another replica's writer (their batches may lock the
/// same rows in another order).
const DEADLOCK_ATTEMPTS: usize = 3;

type Reply = oneshot::Sender<Result<(), String>>;

pub(super) struct SpendWriter {
    queue: mpsc::UnboundedSender<(SpendLog, Reply)>,
}

impl SpendWriter {
    /// Starts the writer task on the current runtime; it ends when the writer is dropped.
    pub(super) fn start(db: PgPool) -> SpendWriter {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(run(db, waiting));
        SpendWriter { queue }
    }

    /// Stores one call's cost and spend-log row; returns once they are written.
    pub(super) async fn write(&self, log: SpendLog) -> sqlx::Result<()> {
        let (reply, written) = oneshot::channel();
        let gone = || sqlx::Error::Protocol("the spend writer has stopped".into());
        self.queue.send((log, reply)).map_err(|_| gone())?;
        written.await.map_err(|_| gone())?.map_err(sqlx::Error::Protocol)
    }
}

async fn run(db: PgPool, mut waiting: mpsc::UnboundedReceiver<(SpendLog, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (logs, replies): (Vec<SpendLog>, Vec<Reply>) = batch.drain(..).unzip();
        let mut outcome = write_batch(&db, &logs).await;
        for _ in 1..DEADLOCK_ATTEMPTS {
            match &outcome {
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("40P01") => {
                    outcome = write_batch(&db, &logs).await;
                }
                _ => break,
            }
        }
        let outcome = outcome.map_err(|e| e.to_string());
        for reply in replies {
            // A caller that went away no longer waits for its answer.
            let _ = reply.send(outcome.clone());
        }
    }
}

/// One statement for the whole batch: the spend-log rows, and each row's summed cost on the keys,
/// teams, users and team memberships. An absent team or user matches no row.
async fn write_batch(db: &PgPool, logs: &[SpendLog]) -> sqlx::Result<()> {
    let column = |f: fn(&SpendLog) -> Option<String>| logs.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "WITH logs AS (
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::float8[], $4::int8[], $5::int8[], $6::text[],
                                  $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[])
                 AS l(request_id, api_key, spend, prompt_tokens, completion_tokens, model, team_id,
                      organization_id, user_id, start_time, deployment_model)
         ),
         key_spend AS (
             UPDATE verification_tokens v SET spend = v.spend + d.total
             FROM (SELECT api_key, SUM(spend) AS total FROM logs GROUP BY api_key) d WHERE v.token = d.api_key
         ),
         team_spend AS (
             UPDATE teams t SET spend = t.spend + d.total
             FROM (SELECT team_id, SUM(spend) AS total FROM logs GROUP BY team_id) d WHERE t.team_id = d.team_id
         ),
         user_spend AS (
             UPDATE users u SET spend = u.spend + d.total
             FROM (SELECT user_id, SUM(spend) AS total FROM logs GROUP BY user_id) d WHERE u.user_id = d.user_id
         ),
         member_spend AS (
             UPDATE team_memberships m SET spend = m.spend + d.total
             FROM (SELECT user_id, team_id, SUM(spend) AS total FROM logs GROUP BY user_id, team_id) d
             WHERE m.user_id = d.user_id AND m.team_id = d.team_id
         )
         INSERT INTO spend_logs (request_id, api_key, spend, prompt_tokens, completion_tokens, model, team_id,
                                 organization_id, \"user\", \"startTime\", \"endTime\", deployment_model)
         SELECT request_id, api_key, spend, prompt_tokens, completion_tokens, model, team_id, organization_id,
                user_id, start_time, now(), deployment_model
         FROM logs",
    )
    .bind(logs.iter().map(|l| l.request_id.clone()).collect::<Vec<_>>())
    .bind(logs.iter().map(|l| l.api_key.clone()).collect::<Vec<_>>())
    .bind(logs.iter().map(|l| l.spend).collect::<Vec<_>>())
    .bind(logs.iter().map(|l| l.prompt_tokens).collect::<Vec<_>>())
    .bind(logs.iter().map(|l| l.completion_tokens).collect::<Vec<_>>())
    .bind(logs.iter().map(|l| l.model.clone()).collect::<Vec<_>>())
    .bind(column(|l| l.team_id.clone()))
    .bind(column(|l| l.organization_id.clone()))
    .bind(column(|l| l.user.clone()))
    .bind(logs.iter().map(|l| l.start_time).collect::<Vec<_>>())
    .bind(column(|l| l.deployment_model.clone()))
    .execute(db)
    .await?;
    Ok(())
}
