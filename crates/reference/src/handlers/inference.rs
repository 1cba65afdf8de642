//! The inference routes: /chat/completions, /completions and /embeddings (each also under /v1/…,
//! /engines/{model}/… and /openai/deployments/{model}/…). All three make the same model access and
//! budget checks in LiteLLM's order, call the deployment's upstream and record the spend; they
//! differ only in the upstream path, the answer's shape and the words of an unknown model's error.

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
use crate::authz::{
    AliasRules, KeyFacts, LlmRequest, ModelBudgetFacts, budget_for, check_llm_request, parse_model_max_budget,
    window_start,
};
use crate::budget_scope;
use crate::deployment::Deployment;
use crate::domain::{Key, Team, User};
use crate::error::{ProxyError, py_float};
use crate::request::parse_json;
use crate::spend::{Entity, SpendLog};
use crate::storage::Membership;
use crate::upstream::Endpoint;
use crate::{AppState, storage, upstream};

/// The handlers of one endpoint: without and with the model in the path.
macro_rules! inference_routes {
    ($plain:ident, $for_model:ident, $endpoint:expr) => {
        pub(crate) async fn $plain(
            State(state): State<AppState>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, ProxyError> {
            complete(&state, &headers, &body, None, $endpoint).await
        }

        pub(crate) async fn $for_model(
            State(state): State<AppState>,
            Path(model): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, ProxyError> {
            complete(&state, &headers, &body, Some(model), $endpoint).await
        }
    };
}

inference_routes!(chat, chat_for, Endpoint::Chat);
inference_routes!(text, text_for, Endpoint::TextCompletion);
inference_routes!(embeddings, embeddings_for, Endpoint::Embedding);

fn invalid_model(endpoint: Endpoint, model: &str) -> ProxyError {
    let message = format!(
        "{}: Invalid model name passed in model={model}. Call `/v1/models` to view available models for your key.",
        endpoint.route()
    );
    match endpoint {
        // LiteLLM raises this one from a wrapping handler, so the client sees it with its status in
        // front and as a Python dict.
        Endpoint::TextCompletion => ProxyError::typed(
            400,
            "invalid_request_error",
            None,
            format!("400: {{'error': {}}}", crate::error::py_str(&message)),
        ),
        Endpoint::Chat | Endpoint::Embedding => ProxyError::typed(400, "invalid_request_error", None, message),
    }
}

/// The objects a virtual key's request is checked against, as read through the cache.
struct Subject {
    key: Key,
    team: Option<Team>,
    /// The key's user, for a personal key only.
    user: Option<User>,
    models: CallerModels,
    /// The key's user in the key's team.
    membership: Membership,
}

async fn load_subject(state: &AppState, key: Key) -> Result<Subject, ProxyError> {
    let (team, user) = model_scope::key_owners(state, &key).await?;
    let membership = model_scope::membership(state, &key, team.as_ref()).await?;
    let models = model_scope::load(state, &key, team.as_ref(), user.as_ref(), &membership).await?;
    Ok(Subject { key, team, user, models, membership })
}

async fn check(
    state: &AppState,
    subject: &Subject,
    model: &str,
    served: &str,
    deployments: &[Deployment],
) -> Result<(), ProxyError> {
    let groups: Vec<String> = deployments.iter().flat_map(Deployment::access_groups).collect();
    let free = !deployments.is_empty() && deployments.iter().all(|d| d.pricing().explicitly_free);
    let budgets = budget_scope::load(
        &state.store,
        &subject.key,
        subject.team.as_ref(),
        subject.user.as_ref(),
        &subject.membership,
    )
    .await?;
    // A stored map was validated on write; one that no longer reads limits nothing.
    let model_budget = budget_for(&parse_model_max_budget(&subject.key.model_max_budget).unwrap_or_default(), served);
    let model_spend = match &model_budget {
        Some(b) => state.store.key_model_spend(&subject.key.token, served, window_start(b, Utc::now())).await?,
        None => 0.0,
    };
    let request = LlmRequest {
        model,
        model_groups: &groups,
        alias_rules: AliasRules::for_quirks(state.store.quirks()),
        grants: subject.models.grants(),
        free_model: free,
        key: KeyFacts {
            model_budget: model_budget.as_ref().map(|b| ModelBudgetFacts {
                model: served,
                limit: b.limit,
                spend: model_spend,
            }),
            ..budgets.key
        },
        team: budgets.team,
        user: budgets.user,
        member: budgets.member,
    };
    check_llm_request(&request).map_err(ProxyError::from)
}

async fn complete(
    state: &AppState,
    headers: &HeaderMap,
    bytes: &[u8],
    path_model: Option<String>,
    endpoint: Endpoint,
) -> Result<Response, ProxyError> {
    let started = Utc::now();
    let body = parse_json(bytes)?;
    let (_caller, key) = authenticate_with_key(&state.store, &state.master_key, headers).await?;
    let model = body.get("model").and_then(Value::as_str).map(str::to_string).or(path_model);
    let Some(model) = model else {
        return Err(invalid_model(endpoint, "None"));
    };
    let subject = match key {
        Some(k) => Some(load_subject(state, k).await?),
        None => None,
    };
    // The team's and the key's aliases pick the model group that serves the call; the checks decide
    // on that group, and the client still sees the name it sent.
    let served = match &subject {
        Some(s) => {
            s.models.grants().aliases.resolve(&model, AliasRules::for_quirks(state.store.quirks())).served.to_string()
        }
        None => model.clone(),
    };
    let deployments = storage::deployments_named(state.store.uncached_tables(), &served).await?;
    if let Some(subject) = &subject {
        check(state, subject, &model, &served, &deployments).await?;
    }
    let deployment = deployments.first().ok_or_else(|| invalid_model(endpoint, &served))?;
    let target = deployment.upstream().ok_or_else(|| {
        ProxyError::internal(format!(
            "litellm.APIConnectionError: model={model} has no api_base; the reference proxy calls no provider directly"
        ))
    })?;
    let completion = upstream::call(&target, endpoint, &body).await?;
    let cost = deployment.pricing().cost(completion.prompt_tokens, completion.completion_tokens);
    if let Some(subject) = &subject {
        record(state, subject, &served, deployment, &completion, cost, started).await?;
        state.store.after_request(&subject.key, subject.team.as_ref());
    }
    let mut response = Json(upstream::client_response(&completion, endpoint, &model)).into_response();
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
    deployment: &Deployment,
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
        deployment_model: deployment.litellm_model(),
    };
    state.store.record_spend(&log).await?;
    let mut entities = vec![Entity::Key(key.token.clone())];
    entities.extend(key.team_id.clone().map(Entity::Team));
    entities.extend(key.user_id.clone().map(Entity::User));
    if let (Some(user), Some(team)) = (&key.user_id, &key.team_id) {
        entities.push(Entity::TeamMember(user.clone(), team.clone()));
    }
    state.store.spend.add(&entities, cost);
    Ok(())
}
