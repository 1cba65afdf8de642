//! Liveness, public.

use axum::Json;

pub(crate) async fn liveliness() -> Json<&'static str> {
    Json("I'm alive!")
}
