//! Leaving nothing behind on a shared proxy: delete what each scenario created, newest first, and check
//! after the run that it is all gone.

use std::time::{Duration, Instant};

use super::http::{self, Client, Endpoint};
use super::outcome::{Cleanup, Created, ScenarioOutcome};
use super::resources::{Resource, already_gone, route_missing, still_exists};

/// How long after its delete an object that LiteLLM's batched spend writer may write again is checked:
/// one flush interval (`PROXY_BATCH_WRITE_AT`, 10 s by default, plus up to 5 s of jitter on 1.109) and
/// a margin. Measured: a customer deleted right after its completion was back 9 s later on 1.83.14, and
/// 12 to 14 s later on 1.109.1.
pub(crate) const SPEND_WRITER_SETTLE: Duration = Duration::from_secs(20);
/// Why a model is left although its database row is gone: a second delete answers that the database
/// has no such model while the proxy still lists it. LiteLLM 1.83's database poll can put a model it
/// read just before the delete back into its router, and the poll prunes deleted models only while the
/// database holds at least one model, so once a run has deleted every model of its own the ghost stays
/// until the proxy restarts or a model is added.
pub(crate) const LISTED_FROM_MEMORY: &str = "gone from the proxy's database but still listed from its memory; \
     LiteLLM 1.83 prunes deleted models from its router only while its database holds another model, \
     so it stays until the proxy restarts or a model is added";
/// How long after its delete an object whose delete shows eventually is read back until it is gone,
/// and how often.
/// LiteLLM 1.83 rebuilds its router from the database every 30 s (its `add_deployment` job), so a
/// deleted model can be listed for 30 s and the job's own run time: 30 s alone proved too short on a
/// loaded machine.
pub(crate) const EVENTUAL_DELETE_WAIT: Duration = Duration::from_secs(50);
const EVENTUAL_DELETE_INTERVAL: Duration = Duration::from_secs(1);

/// Deletes every resource not yet handled, in reverse order of creation, and records how it went.
/// Each request gets the one retry on a new connection that every request of the runner gets.
pub(crate) async fn delete_all(created: &mut [Created], client: &Client, endpoint: &Endpoint) {
    for item in created.iter_mut().rev() {
        if item.cleanup != Cleanup::Pending {
            continue;
        }
        item.cleanup = delete(&item.resource, client, endpoint).await;
        item.deleted_at = Some(Instant::now());
    }
}

async fn delete(resource: &Resource, client: &Client, endpoint: &Endpoint) -> Cleanup {
    let (method, path, body) = resource.delete_request();
    match http::admin(client, endpoint, method, &path, body.as_ref()).await {
        Ok(response) if (200..300).contains(&response.status) => Cleanup::Deleted,
        Ok(response) if already_gone(&response) => Cleanup::AlreadyGone,
        Ok(response) if route_missing(&response) => {
            Cleanup::Unsupported(format!("{method} {path}: the route does not exist on the target"))
        }
        Ok(response) => Cleanup::Failed(format!(
            "{method} {path} answered {}: {}",
            response.status,
            super::query::truncate(&response.body, 200)
        )),
        Err(message) => Cleanup::Failed(message),
    }
}

/// Something a run created that is still on the target, or could not be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    pub scenario: String,
    /// The resource as reports show it, e.g. `team t-1` or `key sk-…abcd`.
    pub label: String,
    pub reason: String,
    /// True when the target did not answer the check: infrastructure trouble, not a verdict.
    pub unreachable: bool,
}

/// What one read-back found.
enum Found {
    Gone,
    There,
    Unclear(String),
    Unreachable(String),
}

async fn read_back(resource: &Resource, client: &Client, endpoint: &Endpoint) -> Found {
    let (method, path, body) = resource.info_request();
    match http::admin(client, endpoint, method, &path, body.as_ref()).await {
        Ok(response) => match still_exists(&response) {
            Some(false) => Found::Gone,
            Some(true) => Found::There,
            None => Found::Unclear(format!(
                "could not tell whether it exists: {method} {path} answered {}",
                response.status
            )),
        },
        Err(message) => Found::Unreachable(format!("could not check: {message}")),
    }
}

/// Reads back every resource the run created (except those kept on purpose) and lists what still exists.
///
/// An object the spend writer may write again is read back only once a flush has passed since its
/// delete; when it is back, it is deleted again (the flush that brought it back has emptied the
/// writer's queue) and read back once more. A model still listed a while after its delete is deleted
/// once more too, and when that answers it is not in the database, its leftover says so
/// ([`LISTED_FROM_MEMORY`]). Only an object still there after that is a leftover.
pub async fn leftovers(outcomes: &[ScenarioOutcome], client: &Client, endpoint: &Endpoint) -> Vec<Leftover> {
    let mut found = Vec::new();
    for outcome in outcomes {
        for item in &outcome.created {
            if item.cleanup == Cleanup::Kept {
                continue;
            }
            let rewritable = item.resource.kind.recreated_by_spend_writer();
            if rewritable && let Some(deleted_at) = item.deleted_at {
                tokio::time::sleep_until((deleted_at + SPEND_WRITER_SETTLE).into()).await;
            }
            let mut state = read_back(&item.resource, client, endpoint).await;
            let mut reason = still_there(&item.cleanup);
            if item.resource.kind.disappears_eventually() && item.cleanup == Cleanup::Deleted {
                let deadline = item.deleted_at.map_or_else(Instant::now, |at| at + EVENTUAL_DELETE_WAIT);
                while matches!(state, Found::There) && Instant::now() < deadline {
                    tokio::time::sleep(EVENTUAL_DELETE_INTERVAL).await;
                    state = read_back(&item.resource, client, endpoint).await;
                }
                if matches!(state, Found::There) {
                    reason = match delete(&item.resource, client, endpoint).await {
                        Cleanup::AlreadyGone => LISTED_FROM_MEMORY.into(),
                        Cleanup::Failed(why) => {
                            format!("still listed after its delete; deleting it again failed: {why}")
                        }
                        _ => "still listed after its delete, and after a second delete".into(),
                    };
                    state = read_back(&item.resource, client, endpoint).await;
                }
            }
            if rewritable && matches!(state, Found::There) && item.cleanup != Cleanup::Pending {
                reason = match delete(&item.resource, client, endpoint).await {
                    Cleanup::Failed(why) => {
                        format!("written again by the spend writer; deleting it again failed: {why}")
                    }
                    _ => "written again by the spend writer, and still there after a second delete".into(),
                };
                state = read_back(&item.resource, client, endpoint).await;
            }
            let leftover = |reason: String, unreachable: bool| Leftover {
                scenario: outcome.id.clone(),
                label: item.resource.label(),
                reason,
                unreachable,
            };
            match state {
                Found::Gone => {}
                Found::There => found.push(leftover(reason, false)),
                Found::Unclear(why) => found.push(leftover(why, false)),
                Found::Unreachable(why) => found.push(leftover(why, true)),
            }
        }
    }
    found
}

fn still_there(cleanup: &Cleanup) -> String {
    match cleanup {
        Cleanup::Failed(why) | Cleanup::Unsupported(why) => format!("still exists; deleting it failed: {why}"),
        Cleanup::Deleted => "still exists although its delete succeeded".into(),
        Cleanup::AlreadyGone => "still exists although its delete answered that it was not found".into(),
        Cleanup::Pending | Cleanup::Kept => "still exists; it was never deleted".into(),
    }
}
