//! An admin's `/user/info` without `user_id`: every key and every team, as LiteLLM answers it, but
//! written a page of rows at a time. LiteLLM (1.83 and 1.109 alike) reads both tables whole into one
//! response; over large teams one answer is tens of megabytes, and parallel calls multiply it. Here
//! one response holds at most about `BYTES_PER_QUERY` of rows at once, however large the tables.

use axum::BoxError;
use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::AppState;
use crate::store::Cursor;

/// Roughly how much serialized JSON one query fetches; the next query's row count follows the size of
/// the rows just read.
const BYTES_PER_QUERY: usize = 512 * 1024;
const FIRST_QUERY_ROWS: usize = 8;
const MAX_QUERY_ROWS: usize = 256;

/// Dumps written at once; the others wait their turn. With rows of up to the 4 MB a request body may
/// carry, each dump holds a few copies of a row (the driver's buffer, the decoded row, its JSON, the
/// connection's write buffer), so this bounds the memory of parallel calls however many there are.
static DUMPS_AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Keys,
    Teams,
    Done,
}

struct Dump {
    /// Held until the dump ends or the client goes away.
    _turn: tokio::sync::SemaphorePermit<'static>,
    state: AppState,
    /// The response's opening, written before the first row.
    opening: Option<Vec<u8>>,
    part: Part,
    after: Option<Cursor>,
    rows: usize,
    wrote_row: bool,
}

/// The streamed response: `user_id`, `user_info`, `keys`, `teams` and `admin_mcp_permissions`.
pub(crate) async fn response(state: AppState, user_id: &str, user_info: &Value) -> Response {
    // The semaphore is never closed, so acquiring only waits.
    let Ok(turn) = DUMPS_AT_ONCE.acquire().await else {
        return crate::error::ProxyError::internal("the admin dump is unavailable").into_response();
    };
    let mut opening = br#"{"user_id":"#.to_vec();
    opening.extend(Value::String(user_id.to_string()).to_string().into_bytes());
    opening.extend(br#","user_info":"#);
    opening.extend(user_info.to_string().into_bytes());
    opening.extend(br#","keys":["#);
    let dump = Dump {
        _turn: turn,
        state,
        opening: Some(opening),
        part: Part::Keys,
        after: None,
        rows: FIRST_QUERY_ROWS,
        wrote_row: false,
    };
    let body = Body::from_stream(futures_util::stream::try_unfold(dump, |dump| async move {
        let next = dump.next().await;
        if let Err(e) = &next {
            // The status is sent; all that is left is to end the body early, and say why here.
            tracing::error!(error = %e, "the admin /user/info dump failed mid-way");
        }
        next
    }));
    (StatusCode::OK, [(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

impl Dump {
    async fn next(mut self) -> Result<Option<(Bytes, Dump)>, BoxError> {
        let mut out = self.opening.take().unwrap_or_default();
        let asked = self.rows;
        let limit = i64::try_from(asked).unwrap_or(1);
        let (fetched, last) = match self.part {
            Part::Keys => {
                let keys = self.state.store.keys_page(self.after.as_ref(), limit).await?;
                let last = keys.last().map(|k| (k.created_at, k.token.clone()));
                (self.write(&mut out, &keys)?, last)
            }
            Part::Teams => {
                let teams = self.state.store.teams_page(self.after.as_ref(), limit).await?;
                let last = teams.last().map(|t| (t.created_at, t.team_id.clone()));
                (self.write(&mut out, &teams)?, last)
            }
            Part::Done => return Ok(None),
        };
        if fetched < asked {
            out.extend(if self.part == Part::Keys {
                &br#"],"teams":["#[..]
            } else {
                br#"],"admin_mcp_permissions":null}"#
            });
            self.part = if self.part == Part::Keys { Part::Teams } else { Part::Done };
            self.after = None;
            self.wrote_row = false;
        } else {
            self.after = last;
        }
        Ok(Some((Bytes::from(out), self)))
    }

    /// Appends `rows` to `out`, and sizes the next query by their bytes; returns how many there were.
    fn write<T: Serialize>(&mut self, out: &mut Vec<u8>, rows: &[T]) -> Result<usize, BoxError> {
        let start = out.len();
        for row in rows {
            if self.wrote_row {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, row)?;
            self.wrote_row = true;
        }
        if let Some(per_row) = (out.len() - start).checked_div(rows.len()) {
            self.rows = (BYTES_PER_QUERY / per_row.max(1)).clamp(1, MAX_QUERY_ROWS);
        }
        Ok(rows.len())
    }
}
