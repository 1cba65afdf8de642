//! Response bodies handed to hyper in slices of at most `MAX_FRAME` bytes.
//!
//! The connection writes unvectored (the error-head rewrite needs each head as one buffer), so hyper
//! copies every body frame whole into the connection's write buffer, and that buffer keeps its
//! capacity for as long as the connection stays open. One 36 MB frame (an admin `/user/info` over
//! large teams, or one large team's `/team/info`) thus pinned 36 MB per keep-alive connection. Slices
//! keep the buffer near hyper's own limit, so a connection holds well under a megabyte, whatever it
//! answered.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use axum::response::Response;
use http_body::{Body as HttpBody, Frame, SizeHint};

/// The largest frame given to hyper; well under its write buffer limit (about 400 KiB).
pub(crate) const MAX_FRAME: usize = 64 * 1024;

/// `response` with its body sliced.
pub(crate) async fn slice_body(response: Response) -> Response {
    response.map(|body| Body::new(Sliced { inner: body, rest: Bytes::new() }))
}

struct Sliced {
    inner: Body,
    /// What is left of the frame being sliced.
    rest: Bytes,
}

impl Sliced {
    fn next_slice(&mut self) -> Frame<Bytes> {
        let n = self.rest.len().min(MAX_FRAME);
        Frame::data(self.rest.split_to(n))
    }
}

impl HttpBody for Sliced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if !this.rest.is_empty() {
            return Poll::Ready(Some(Ok(this.next_slice())));
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    this.rest = data;
                    Poll::Ready(Some(Ok(this.next_slice())))
                }
                Err(trailers) => Poll::Ready(Some(Ok(trailers))),
            },
            other => Poll::Ready(other),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + rest);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn frames_of(body: Body) -> (Vec<usize>, Vec<u8>, SizeHint) {
        let response = slice_body(Response::new(body)).await;
        let mut body = response.into_body();
        let hint = body.size_hint();
        let (mut sizes, mut bytes) = (Vec::new(), Vec::new());
        while let Some(frame) = body.frame().await {
            let data = frame.expect("a frame").into_data().expect("data");
            sizes.push(data.len());
            bytes.extend_from_slice(&data);
        }
        (sizes, bytes, hint)
    }

    #[tokio::test]
    async fn a_large_body_comes_out_in_slices_with_its_length_known() {
        let sent: Vec<u8> = (0..MAX_FRAME * 3 + 10).map(|i| (i % 251) as u8).collect();
        let (sizes, bytes, hint) = frames_of(Body::from(sent.clone())).await;
        assert_eq!(sizes, [MAX_FRAME, MAX_FRAME, MAX_FRAME, 10]);
        assert_eq!(bytes, sent);
        // An exact hint keeps `content-length` on the response instead of chunked encoding.
        assert_eq!(hint.exact(), Some(sent.len() as u64));
    }

    #[tokio::test]
    async fn a_streamed_body_is_sliced_frame_by_frame_and_small_frames_pass_whole() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from(vec![1u8; 5])),
            Ok(Bytes::from(vec![2u8; MAX_FRAME + 1])),
            Ok(Bytes::from(vec![3u8; 7])),
        ];
        let (sizes, bytes, _) = frames_of(Body::from_stream(futures_util::stream::iter(chunks))).await;
        assert_eq!(sizes, [5, MAX_FRAME, 1, 7]);
        assert_eq!(bytes.len(), 5 + MAX_FRAME + 1 + 7);
        assert!(bytes[5..5 + MAX_FRAME + 1].iter().all(|&b| b == 2));
    }

    #[tokio::test]
    async fn an_empty_body_stays_empty() {
        let (sizes, bytes, hint) = frames_of(Body::empty()).await;
        assert!(sizes.is_empty() && bytes.is_empty());
        assert_eq!(hint.exact(), Some(0));
    }
}
