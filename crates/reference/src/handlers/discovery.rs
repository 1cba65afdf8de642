//! What a caller sees of the models: `/v1/models` and `/models`, `/model/info` (also
//! `/v1/model/info`), `/v2/model/info` and `/model_group/info`. Each lists, for a virtual key,
//! exactly the models `authz::check_model` lets it call (`authz::visible_models`); the master key
//! sees every deployment.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::model_scope::{self, CallerModels};
use crate::Quirk;
use crate::authz::{AliasRules, Listing, visible_models};
use crate::deployment::Deployment;
use crate::error::ProxyError;
use crate::request::Authed;
use crate::{AppState, storage};

/// LiteLLM's fixed `created` for listed models.
const LISTED_CREATED: i64 = 1677610602;

/// The caller's model lists; `None` for the master key, which is not limited.
async fn caller_models(state: &AppState, authed: &Authed) -> Result<Option<CallerModels>, ProxyError> {
    let Some(hash) = authed.caller.key_hash.as_deref() else {
        return Ok(None);
    };
    let Some(key) = state.store.key(hash).await? else {
        return Ok(Some(CallerModels::default()));
    };
    let (team, user) = model_scope::key_owners(state, &key).await?;
    let membership = model_scope::membership(state, &key, team.as_ref()).await?;
    Ok(Some(model_scope::load(state, &key, team.as_ref(), user.as_ref(), &membership).await?))
}

/// The deployments the caller sees, in registration order, with the public names they carry.
async fn visible_deployments(state: &AppState, authed: &Authed) -> Result<(Vec<Deployment>, Vec<String>), ProxyError> {
    let deployments = storage::all_deployments(state.store.uncached_tables()).await?;
    let catalog: Vec<(String, Vec<String>)> =
        deployments.iter().map(|d| (d.model_name.clone(), d.access_groups())).collect();
    let names: Vec<String> = match caller_models(state, authed).await? {
        None => {
            let mut all: Vec<String> = Vec::new();
            for (name, _) in &catalog {
                if !all.contains(name) {
                    all.push(name.clone());
                }
            }
            all
        }
        Some(models) => {
            let quirks = state.store.quirks();
            let grants = models.grants();
            let rules = AliasRules::for_quirks(quirks);
            let names = visible_models(&grants, &catalog, Listing::for_quirks(quirks), rules);
            // An alias is shown as the deployments that serve it, under the alias's name.
            let mut shown = Vec::new();
            for d in &deployments {
                for name in names.iter().filter(|n| grants.aliases.resolve(n, rules).served == d.model_name) {
                    shown.push(Deployment { model_name: name.to_string(), ..d.clone() });
                }
            }
            return Ok((shown, names.into_iter().map(str::to_string).collect()));
        }
    };
    let shown = deployments.into_iter().filter(|d| names.contains(&d.model_name)).collect();
    Ok((shown, names))
}

pub(crate) async fn list(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    super::key_budget::check(&state, &authed.caller, "/v1/models").await?;
    let (_, names) = visible_deployments(&state, &authed).await?;
    let data: Vec<Value> = names
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": LISTED_CREATED, "owned_by": "openai"}))
        .collect();
    Ok(Json(json!({"data": data, "object": "list"})))
}

/// `/model/info`: the deployments behind the visible names; `?litellm_model_id=` narrows to one.
pub(crate) async fn info(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let (deployments, _) = visible_deployments(&state, &authed).await?;
    Ok(Json(info_body(&deployments, &authed)))
}

/// `/v2/model/info`: the same; with `v2_model_info_lists_every_model`, every deployment, as LiteLLM
/// shows them to any key.
pub(crate) async fn info_v2(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let deployments = if state.store.quirks().contains(Quirk::V2ModelInfoListsEveryModel) {
        storage::all_deployments(state.store.uncached_tables()).await?
    } else {
        visible_deployments(&state, &authed).await?.0
    };
    Ok(Json(info_body(&deployments, &authed)))
}

fn info_body(deployments: &[Deployment], authed: &Authed) -> Value {
    let wanted = authed.query("litellm_model_id");
    let data: Vec<Value> =
        deployments.iter().filter(|d| wanted.is_none_or(|id| d.model_id == id)).map(Deployment::public_view).collect();
    json!({"data": data})
}

pub(crate) async fn group_info(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let (deployments, names) = visible_deployments(&state, &authed).await?;
    let wanted = authed.query("model_group");
    let data: Vec<Value> = names
        .iter()
        .filter(|name| wanted.is_none_or(|w| w == name.as_str()))
        .map(|name| {
            let group: Vec<&Deployment> = deployments.iter().filter(|d| &d.model_name == name).collect();
            let mut providers: Vec<String> = Vec::new();
            let mut access_groups: Vec<String> = Vec::new();
            for d in &group {
                let provider = d.provider();
                if !providers.contains(&provider) {
                    providers.push(provider);
                }
                for g in d.access_groups() {
                    if !access_groups.contains(&g) {
                        access_groups.push(g);
                    }
                }
            }
            json!({"model_group": name, "providers": providers, "access_groups": access_groups})
        })
        .collect();
    Ok(Json(json!({"data": data})))
}
