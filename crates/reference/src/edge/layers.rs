//! The layers every request passes through: a panic becomes a 500, an error answered before a
//! handler ran (axum's rejections: a path that does not decode, a body over the limit) gets LiteLLM's
//! error body instead of plain text, and every body reaches hyper in slices.

use std::any::Any;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ProxyError;

/// The most of a plain-text error body read back to become the message.
const MAX_PLAIN_ERROR_BYTES: usize = 64 * 1024;

/// `router` with the proxy's layers; the panic layer is outermost, so it also covers the others. The
/// path is made valid UTF-8 before routing (a layer of `router` itself would run after it, when the
/// path's ids are already taken).
pub(crate) fn with_layers(router: Router) -> Router {
    let inner = router
        .layer(axum::middleware::map_response(shape_plain_errors))
        .layer(axum::middleware::map_response(super::frames::slice_body));
    Router::new()
        .fallback_service(tower::ServiceBuilder::new().map_request(lossy_path).service(inner))
        .layer(CatchPanicLayer::custom(panic_response))
}

/// Starlette decodes a path's percent-escapes as UTF-8 with U+FFFD for what does not decode, so
/// LiteLLM answers `/v1/mcp/server/%ff%fe` with a 404 for the id "\u{fffd}\u{fffd}". Each segment that
/// does not decode is re-encoded that way; the others, and the query, stay as sent.
fn lossy_path(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.split('/').all(|segment| std::str::from_utf8(&percent_decode(segment)).is_ok()) {
        return request;
    }
    let fixed: Vec<String> = path
        .split('/')
        .map(|segment| {
            let decoded = percent_decode(segment);
            match std::str::from_utf8(&decoded) {
                Ok(_) => segment.to_string(),
                Err(_) => percent_encode(&String::from_utf8_lossy(&decoded)),
            }
        })
        .collect();
    let mut target = fixed.join("/");
    if let Some(query) = request.uri().query() {
        target.push('?');
        target.push_str(query);
    }
    let mut parts = request.uri().clone().into_parts();
    match target.parse() {
        Ok(path_and_query) => parts.path_and_query = Some(path_and_query),
        Err(_) => return request,
    }
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(target: &str) -> String {
        let request = Request::builder().uri(target).body(Body::empty()).expect("a request");
        lossy_path(request).uri().to_string()
    }

    #[test]
    fn a_segment_that_is_not_utf8_is_decoded_as_starlette_does() {
        assert_eq!(path_of("/key/%ff%fe/regenerate?x=%ff"), "/key/%EF%BF%BD%EF%BF%BD/regenerate?x=%ff");
        assert_eq!(path_of("/v1/mcp/server/a%2Fb%ff"), "/v1/mcp/server/a%2Fb%EF%BF%BD");
        for unchanged in ["/key/abc/regenerate", "/v1/access_group/%C3%A9", "/x/%zz", "/team/info?team_id=%ff"] {
            assert_eq!(path_of(unchanged), unchanged);
        }
    }
}
