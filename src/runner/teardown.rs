//! Leaving nothing behind on a shared proxy: delete what each scenario created, newest first, and check
//! after the run that it is all gone.

use super::http::{self, Client, Endpoint};
use super::outcome::{Cleanup, Created, ScenarioOutcome};
use super::resources::{already_gone, route_missing, still_exists};

/// Deletes every resource not yet handled, in reverse order of creation, and records how it went.
pub(crate) async fn delete_all(created: &mut [Created], client: &Client, endpoint: &Endpoint) {
    for item in created.iter_mut().rev() {
        if item.cleanup != Cleanup::Pending {
            continue;
        }
        let (method, path, body) = item.resource.delete_request();
        item.cleanup = match http::admin(client, endpoint, method, &path, body.as_ref()).await {
            Ok(response) if (200..300).contains(&response.status) => Cleanup::Deleted,
            Ok(response) if already_gone(&response) => Cleanup::AlreadyGone,
            Ok(response) if route_missing(&response) => {
                Cleanup::Failed(format!("{method} {path}: the route does not exist on the target"))
            }
            Ok(response) => Cleanup::Failed(format!(
                "{method} {path} answered {}: {}",
                response.status,
                super::query::truncate(&response.body, 200)
            )),
            Err(message) => Cleanup::Failed(message),
        };
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

/// Reads back every resource the run created (except those kept on purpose) and lists what still exists.
pub async fn leftovers(outcomes: &[ScenarioOutcome], client: &Client, endpoint: &Endpoint) -> Vec<Leftover> {
    let mut found = Vec::new();
    for outcome in outcomes {
        for item in &outcome.created {
            if item.cleanup == Cleanup::Kept {
                continue;
            }
            let path = item.resource.info_path();
            let leftover = |reason: String, unreachable: bool| Leftover {
                scenario: outcome.id.clone(),
                label: item.resource.label(),
                reason,
                unreachable,
            };
            match http::admin(client, endpoint, "GET", &path, None).await {
                Ok(response) => match still_exists(&response) {
                    Some(false) => {}
                    Some(true) => found.push(leftover(still_there(&item.cleanup), false)),
                    None => found.push(leftover(
                        format!("could not tell whether it exists: GET {path} answered {}", response.status),
                        false,
                    )),
                },
                Err(message) => found.push(leftover(format!("could not check: {message}"), true)),
            }
        }
    }
    found
}

fn still_there(cleanup: &Cleanup) -> String {
    match cleanup {
        Cleanup::Failed(why) => format!("still exists; deleting it failed: {why}"),
        Cleanup::Deleted => "still exists although its delete succeeded".into(),
        Cleanup::AlreadyGone => "still exists although its delete answered that it was not found".into(),
        Cleanup::Pending | Cleanup::Kept => "still exists; it was never deleted".into(),
    }
}
