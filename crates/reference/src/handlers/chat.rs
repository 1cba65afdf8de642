//! /chat/completions (and /v1/…, /engines/{model}/…, /openai/deployments/{model}/…): model access
//! and budget checks in LiteLLM's order, the call to the deployment's upstream, spend recording.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use super::model_scope::{self, CallerModels};
use super::new_id;
use crate::auth::authenticate_with_key;
use crate::authz::{KeyFacts, LlmDenial, LlmRequest, TeamFacts, UserFacts, check_llm_request};
use crate::deployment::Deployment;
use crate::domain::{Key, Team, User};
use crate::error::{ProxyError, py_float};
use crate::request::parse_json;
use crate::spend::{Entity, SpendLog};
use crate::{AppState, storage, upstream};

pub(crate) async fn completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ProxyError> {
    complete(&state, &headers, &body, None).await
}

pub(crate) async fn completions_for(
    State(state): State<AppState>,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ProxyError> {
    complete(&state, &headers, &body, Some(model)).await
}

fn invalid_model(model: &str) -> ProxyError {
    // LiteLLM says `/chat/completions` here whichever chat path was called.
    ProxyError::typed(
        400,
        "invalid_request_error",
        None,
        format!(
            "/chat/completions: Invalid model name passed in model={model}. Call `/v1/models` to view available models for your key."
        ),
    )
}

fn denial_error(d: &LlmDenial) -> ProxyError {
    ProxyError::typed(d.status(), d.error_type(), d.param(), d.message())
}

/// The objects a virtual key's request is checked against, as read through the cache.
struct Subject {
    key: Key,
    team: Option<Team>,
    /// The key's user, for a personal key only.
    user: Option<User>,
    models: CallerModels,
}

async fn load_subject(state: &AppState, key: Key) -> Result<Subject, ProxyError> {
    let (team, user) = model_scope::key_owners(state, &key).await?;
    let models = model_scope::load(state, &key, team.as_ref(), user.as_ref()).await?;
    Ok(Subject { key, team, user, models })
}

async fn check(state: &AppState, subject: &Subject, model: &str, deployments: &[Deployment]) -> Result<(), ProxyError> {
    let groups: Vec<String> = deployments.iter().flat_map(Deployment::access_groups).collect();
    let free = !deployments.is_empty() && deployments.iter().all(|d| d.pricing().explicitly_free);
    let key_spend = state.store.current_spend(&Entity::Key(subject.key.token.clone())).await?;
    let team_spend = match &subject.team {
        Some(t) => state.store.current_spend(&Entity::Team(t.team_id.clone())).await?,
        None => 0.0,
    };
    let user_spend = match &subject.user {
        Some(u) => state.store.current_spend(&Entity::User(u.user_id.clone())).await?,
        None => 0.0,
    };
    let request = LlmRequest {
        model,
        model_groups: &groups,
        grants: subject.models.grants(),
        free_model: free,
        key: KeyFacts {
            max_budget: subject.key.max_budget,
            spend: key_spend,
            key_alias: subject.key.key_alias.as_deref(),
            key_name: subject.key.key_name.as_deref(),
        },
        team: subject.team.as_ref().map(|t| TeamFacts {
            team_id: &t.team_id,
            max_budget: t.max_budget,
            spend: team_spend,
        }),
        user: subject.user.as_ref().map(|u| UserFacts {
            user_id: &u.user_id,
            max_budget: u.max_budget,
            spend: user_spend,
        }),
    };
    check_llm_request(&request).map_err(|d| denial_error(&d))
}

async fn complete(
    state: &AppState,
    headers: &HeaderMap,
    bytes: &[u8],
    path_model: Option<String>,
) -> Result<Response, ProxyError> {
    let started = Utc::now();
    let body = parse_json(bytes)?;
    let (_caller, key) = authenticate_with_key(&state.store, &state.master_key, headers).await?;
    let model = body.get("model").and_then(Value::as_str).map(str::to_string).or(path_model);
    let Some(model) = model else {
        return Err(invalid_model("None"));
    };
    let deployments = storage::deployments_named(state.store.uncached_tables(), &model).await?;
    let subject = match key {
        Some(k) => Some(load_subject(state, k).await?),
        None => None,
    };
    if let Some(subject) = &subject {
        check(state, subject, &model, &deployments).await?;
    }
    let deployment = deployments.first().ok_or_else(|| invalid_model(&model))?;
    let target = deployment.upstream().ok_or_else(|| {
        ProxyError::internal(format!(
            "litellm.APIConnectionError: model={model} has no api_base; the reference proxy calls no provider directly"
        ))
    })?;
    let completion = upstream::chat(&target, &body).await?;
    let cost = deployment.pricing().cost(completion.prompt_tokens, completion.completion_tokens);
    if let Some(subject) = &subject {
        record(state, subject, &model, &completion, cost, started).await?;
        state.store.after_request(&subject.key, subject.team.as_ref());
    }
    let mut response = Json(upstream::client_response(&completion, &model)).into_response();
    let headers = response.headers_mut();
    put_header(headers, "x-litellm-response-cost", &py_float(cost));
    if let Some(subject) = &subject {
        if let Some(max) = subject.key.max_budget {
            put_header(headers, "x-litellm-key-max-budget", &py_float(max));
        }
        put_header(headers, "x-litellm-key-spend", &py_float(subject.key.spend + cost));
    }
    Ok(response)
}

fn put_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Applies the cost before responding (LiteLLM does it in a callback that may finish later): the
/// database rows and spend log, then the counters budgets read.
async fn record(
    state: &AppState,
    subject: &Subject,
    model: &str,
    completion: &upstream::Completion,
    cost: f64,
    started: chrono::DateTime<Utc>,
) -> Result<(), ProxyError> {
    let key = &subject.key;
    let log = SpendLog {
        request_id: completion
            .body
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(new_id, |id| format!("{id}-{}", new_id())),
        api_key: key.token.clone(),
        spend: cost,
        prompt_tokens: completion.prompt_tokens,
        completion_tokens: completion.completion_tokens,
        model: model.to_string(),
        team_id: key.team_id.clone(),
        organization_id: key.organization_id.clone(),
        user: key.user_id.clone(),
        start_time: started,
    };
    state.store.record_spend(&log).await?;
    let mut entities = vec![Entity::Key(key.token.clone())];
    entities.extend(key.team_id.clone().map(Entity::Team));
    entities.extend(key.user_id.clone().map(Entity::User));
    state.store.spend.add(&entities, cost);
    Ok(())
}
