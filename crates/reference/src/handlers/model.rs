//! /model/new and /model/delete: deployments stored in the database, as an operator with
//! `STORE_MODEL_IN_DB` registers them (`discovery` lists them).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::new_id;
use crate::deployment::Deployment;
use crate::error::ProxyError;
use crate::request::Authed;
use crate::{AppState, storage};

#[derive(Debug, Deserialize)]
pub(crate) struct NewModelRequest {
    model_name: String,
    litellm_params: LitellmParams,
    #[serde(default)]
    model_info: Option<serde_json::Map<String, Value>>,
}

/// Only `model` is required; every other parameter is stored as sent.
#[derive(Debug, Deserialize)]
pub(crate) struct LitellmParams {
    model: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

fn admins_only(authed: &Authed) -> Result<(), ProxyError> {
    if authed.caller.is_proxy_admin() {
        Ok(())
    } else {
        Err(ProxyError::handler_dict(403, "Only proxy admins can manage models on this proxy."))
    }
}

pub(crate) async fn new(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: NewModelRequest = authed.parse()?;
    crate::authz::check_model_new(&authed.caller).map_err(super::wrapped_dict)?;
    let mut info = req.model_info.unwrap_or_default();
    let model_id = info.get("id").and_then(Value::as_str).map_or_else(new_id, str::to_string);
    info.insert("id".into(), json!(model_id));
    let mut params = req.litellm_params.rest;
    params.insert("model".into(), json!(req.litellm_params.model));
    let deployment = Deployment {
        model_id,
        model_name: req.model_name,
        litellm_params: Value::Object(params),
        model_info: Value::Object(info),
        created_by: authed.caller.user_id.clone(),
        updated_by: authed.caller.user_id.clone(),
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    let model_exists =
        || ProxyError::handler_dict(400, &format!("Model with id={} already exists", deployment.model_id));
    if storage::deployment(state.store.uncached_tables(), &deployment.model_id).await?.is_some() {
        return Err(model_exists());
    }
    storage::insert_deployment(state.store.uncached_tables(), &deployment)
        .await
        .map_err(|e| ProxyError::from_db_or(e, |c| (c == "proxy_models_pkey").then(model_exists)))?;
    Ok(Json(serde_json::to_value(&deployment).unwrap_or(Value::Null)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteModelRequest {
    id: String,
}

pub(crate) async fn delete(State(state): State<AppState>, authed: Authed) -> Result<Json<Value>, ProxyError> {
    let req: DeleteModelRequest = authed.parse()?;
    admins_only(&authed)?;
    if !storage::delete_deployment(state.store.uncached_tables(), &req.id).await? {
        return Err(ProxyError::handler_dict(400, &format!("Model with id={} not found in db", req.id)));
    }
    Ok(Json(json!({"message": format!("Model: {} deleted successfully", req.id)})))
}
