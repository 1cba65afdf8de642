//! The answers hyper writes itself, before any handler runs, given LiteLLM's error body.
//!
//! When hyper cannot parse a request head (a byte not allowed in a header, a head over its buffer, a
//! target over its length limit) it writes a bodyless 400, 431 or 414 and closes the connection; no
//! hook reaches the service. This adapter sits between hyper and the socket and rewrites exactly that
//! kind of write: a whole response head with an error status and `content-length: 0`. Every answer the
//! router gives has a body, so nothing else matches.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ProxyError;

/// A connection whose bodyless error heads are rewritten; writes are never vectored, so hyper hands
/// over each head as one buffer.
pub(crate) struct ErrorBodies<T> {
    inner: T,
    /// A rewritten answer not yet fully written to `inner`.
    pending: Vec<u8>,
    written: usize,
}

impl<T> ErrorBodies<T> {
    pub fn new(inner: T) -> ErrorBodies<T> {
        ErrorBodies { inner, pending: Vec::new(), written: 0 }
    }
}

impl<T: AsyncWrite + Unpin> ErrorBodies<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ErrorBodies<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        match rewrite(buf) {
            Some(answer) => {
                self.pending = answer;
                // The caller's bytes are consumed; the answer is written now or on the next flush.
                if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// The answer in LiteLLM's shape for one of hyper's own bodyless error heads, or `None` for any other
/// write.
pub(crate) fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let head = buf.strip_suffix(b"\r\n\r\n")?;
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let status: u16 = lines.next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    if status < 400 {
        return None;
    }
    let headers: Vec<&str> = lines.collect();
    let is_length = |h: &str| h.to_ascii_lowercase().starts_with("content-length:");
    let length: Vec<&str> = headers.iter().copied().filter(|h| is_length(h)).collect();
    if length.len() != 1 || length[0].split_once(':').map(|(_, v)| v.trim()) != Some("0") {
        return None;
    }
    let body = ProxyError::handler(status, reason(status)).body().to_string();
    let mut out = format!("HTTP/1.1 {status} {}\r\n", canonical(status));
    for h in headers.iter().filter(|h| !is_length(h) && !h.to_ascii_lowercase().starts_with("content-type:")) {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()));
    Some(out.into_bytes())
}

/// Why hyper refused the request head, by the status it chose for it.
fn reason(status: u16) -> String {
    let why = match status {
        400 => "the request line or a header is malformed (a byte not allowed there, or no valid header name)",
        414 => "the request target is longer than the proxy accepts",
        431 => "the request head (request line and headers) is larger than the proxy accepts",
        _ => "the request could not be parsed",
    };
    format!("Invalid HTTP request received: {why}")
}

fn canonical(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn split(answer: &[u8]) -> (String, Value) {
        let text = String::from_utf8(answer.to_vec()).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        (head.to_string(), serde_json::from_str(body).expect("a JSON body"))
    }

    #[test]
    fn hypers_bodyless_errors_get_litellms_shape() {
        for (status, phrase) in [(400, "Bad Request"), (414, "URI Too Long"), (431, "Request Header Fields Too Large")]
        {
            let head = format!(
                "HTTP/1.1 {status} {phrase}\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 01:00:00 GMT\r\n\r\n"
            );
            let answer = rewrite(head.as_bytes()).expect("rewritten");
            let (head, body) = split(&answer);
            assert!(head.starts_with(&format!("HTTP/1.1 {status} {phrase}\r\n")), "{head}");
            assert!(head.contains("\r\ndate: Wed, 02 Dec 2026 01:00:00 GMT"), "{head}");
            assert!(head.contains("\r\ncontent-type: application/json"), "{head}");
            let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).expect("a length");
            assert_eq!(length.parse::<usize>().ok(), Some(body.to_string().len()));
            assert_eq!(body["error"]["code"], status.to_string());
            assert_eq!(body["error"]["type"], "invalid_request_error");
            assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("Invalid HTTP request")));
        }
    }

    #[test]
    fn other_writes_pass_unchanged() {
        let cases: [&[u8]; 6] = [
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 22\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 22\r\n\r\n{\"detail\":\"Not Found\"}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"{\"detail\": \"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n\"}",
            b"",
        ];
        for case in cases {
            assert_eq!(rewrite(case), None, "{}", String::from_utf8_lossy(case));
        }
    }
}
