//! Liveness and readiness, public.

use axum::Json;
use serde_json::{Value, json};

pub(crate) async fn liveliness() -> Json<&'static str> {
    Json("I'm alive!")
}

/// Readiness in LiteLLM's shape; `litellm_version` names the reference, so reports say what they ran
/// against.
pub(crate) async fn readiness() -> Json<Value> {
    Json(json!({
        "status": "healthy",
        "db": "connected",
        "litellm_version": format!("gateproof reference {}", env!("CARGO_PKG_VERSION")),
    }))
}
