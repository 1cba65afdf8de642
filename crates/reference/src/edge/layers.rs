//! The layers every request passes through: a panic becomes a 500, and an error answered before a
//! handler ran (axum's rejections: a path that does not decode, a body over the limit) gets LiteLLM's
//! error body instead of plain text.

use std::any::Any;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ProxyError;

/// The most of a plain-text error body read back to become the message.
const MAX_PLAIN_ERROR_BYTES: usize = 64 * 1024;

/// `router` with the proxy's layers; the panic layer is outermost, so it also covers the others.
pub(crate) fn with_layers(router: Router) -> Router {
    router.layer(axum::middleware::map_response(shape_plain_errors)).layer(CatchPanicLayer::custom(panic_response))
}

/// A handler's panic: logged with its message, answered as LiteLLM answers an unhandled exception.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = message, "a request handler panicked; answered 500");
    ProxyError::internal(format!("Internal Server Error: {message}")).into_response()
}

/// An error whose body is not JSON (axum's rejections are plain text) in LiteLLM's error shape, with
/// the rejection's text as the message. JSON errors, LiteLLM's own shapes, pass unchanged.
async fn shape_plain_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match to_bytes(body, MAX_PLAIN_ERROR_BYTES).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).trim().to_string(),
        _ => status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let body = ProxyError::handler(status.as_u16(), text).body().to_string();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body))
}
