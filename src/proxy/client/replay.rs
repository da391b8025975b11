//! Sending a request once more, only when that cannot do its work twice
//! (RFC 9112 section 9.3.1). A pooled HTTP/1.1 connection can turn out
//! stale: the upstream closed it, on its keep-alive timer, just as the
//! proxy reused it. A request that met one is sent again on another
//! connection when its method is idempotent (`may_send_again`) or when
//! none of it was written; any other request may have been read and
//! processed before the close, and fails instead: an agent's POST is a
//! billed call. An HTTP/2 stream the upstream said it did not process
//! (refused, or left behind as the upstream shut down) is sent again,
//! once, whatever its method.
//!
//! The direct path (`super::direct`) keeps what it writes for that; this
//! module does the same around hyper's client, for HTTPS upstreams and
//! those behind an HTTP proxy. hyper's client itself sends again only a
//! request that it never began to write (`retry_canceled_requests`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::proxy::error::{chain, BoxError};
use crate::proxy::wire::body::RequestBody;

/// A request is kept as sent, up to this size, until its answer begins: a
/// pooled connection can turn out stale only once it is used.
pub const REPLAY_LIMIT: usize = 1024 * 1024;
/// How soon a pooled connection must close, unanswered, to count as
/// stale. An upstream that closed it on its keep-alive timeout says so
/// within a round trip; one that closes later was busy with the request,
/// and failed or gave up on it: sending it again would only repeat that.
const STALE_WITHIN: Duration = Duration::from_secs(1);
/// How long a failed try may take to hand its request body back. hyper
/// drops the body as the failed connection ends, moments after the error.
const GIVE_BACK_WITHIN: Duration = Duration::from_secs(1);
/// How many unprocessed HTTP/2 streams a request is sent again after. An
/// upstream that refuses every stream would otherwise be asked forever.
const UNPROCESSED_RETRIED: u32 = 1;

/// True when a request that was written, in part or whole, on a pooled
/// HTTP/1.1 connection that then closed unanswered `closed_after` it was
/// taken, may be sent again on another: its method does no harm done
/// twice (RFC 9110 section 9.2.2), and the close came as fast as a
/// keep-alive race. A POST may have been processed by an upstream that
/// read it all and then closed; only a request none of which was written
/// is known not to have been, and the caller knows whether it was.
pub fn may_send_again(method: &Method, closed_after: Duration) -> bool {
    method.is_idempotent() && closed_after < STALE_WITHIN
}

/// Sends `request` through hyper's client; while the pooled HTTP/1.1
/// connection it goes out on turns out stale and its method allows it
/// (`may_send_again`), or an HTTP/2 upstream says it left it unprocessed,
/// sends it again, its body from what was kept of it.
pub async fn send<C>(
    client: &Client<C, ReplayBody>,
    request: Request<RequestBody>,
) -> Result<Response<Incoming>, BoxError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let mut sent = Sent::new(body);
    let mut unprocessed_tries = 0;
    loop {
        let (body, given_back) = ReplayBody::new(sent);
        let sent_at = Instant::now();
        let error = match client
            .request(Request::from_parts(parts.clone(), body))
            .await
        {
            Ok(response) => return Ok(response),
            Err(error) => error,
        };
        let unprocessed = unprocessed_by_upstream(&error);
        unprocessed_tries += u32::from(unprocessed);
        let retry_unprocessed = unprocessed && unprocessed_tries <= UNPROCESSED_RETRIED;
        let retry_stale =
            went_stale(&error, sent_at) && may_send_again(&parts.method, sent_at.elapsed());
        if !(retry_stale || retry_unprocessed) {
            return Err(error.into());
        }
        match tokio::time::timeout(GIVE_BACK_WITHIN, given_back).await {
            Ok(Ok(back)) => {
                tracing::debug!(%error, "upstream did not take the request; sending again");
                sent = back;
            }
            // The body was larger than kept, or was never handed back.
            _ => return Err(error.into()),
        }
    }
}

/// True when the request failed because the pooled HTTP/1.1 connection it
/// was sent on closed before a whole answer head. Unlike the direct path,
/// this cannot tell a close with no answer from one in the middle of a
/// head: hyper reports both alike, and under TLS the close itself brings
/// bytes (close_notify). hyper hands back, and its client sends again
/// itself, a request it never began to write; one that reaches here was
/// written, at least in part.
fn went_stale(error: &hyper_util::client::legacy::Error, sent_at: Instant) -> bool {
    let Some(connected) = error.connect_info() else {
        return false;
    };
    // An HTTP/2 connection ends differently (GOAWAY), and a failed stream
    // on it may have been processed; only one the upstream says it left
    // unprocessed is known not to have been (`unprocessed_by_upstream`).
    if connected.is_negotiated_h2() {
        return false;
    }
    let mut extras = http::Extensions::new();
    connected.get_extras(&mut extras);
    let pooled = extras
        .get::<OpenedAt>()
        .is_some_and(|opened| opened.0 < sent_at);
    pooled && closed_by_upstream(error)
}

/// True when an HTTP/2 upstream said it did not process the request's
/// stream, so sending the request again cannot do its work twice (RFC
/// 9113): it refused the stream (RST_STREAM with REFUSED_STREAM, section
/// 8.7), or it is shutting down and the stream lies above the last one its
/// GOAWAY took (section 6.8). h2 ends only those streams with the GOAWAY's
/// own NO_ERROR; a GOAWAY with an error reason ends every stream with that
/// reason, processed or not, and is not taken as a refusal.
fn unprocessed_by_upstream(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| {
        e.downcast_ref::<h2::Error>().is_some_and(|e| {
            let said = |reason| e.is_remote() && e.reason() == Some(reason);
            (e.is_reset() && said(h2::Reason::REFUSED_STREAM))
                || (e.is_go_away() && said(h2::Reason::NO_ERROR))
        })
    })
}

/// True when the connection ended under the request: closed (with or
/// without TLS's close_notify) or reset.
fn closed_by_upstream(error: &(dyn std::error::Error + 'static)) -> bool {
    chain(error).any(|e| {
        e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
            || e.downcast_ref::<io::Error>().is_some_and(|e| {
                matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                        | io::ErrorKind::UnexpectedEof
                )
            })
    })
}

/// When an upstream connection was opened: a connection opened before a
/// request was sent came from the pool. Handed to hyper's client as the
/// connection's extras, which it gives back with a failed request.
#[derive(Clone, Copy)]
pub struct OpenedAt(pub Instant);

/// A request body as far as it was sent: the frames handed out (while
/// they are `REPLAY_LIMIT` at most) and the rest, still to read from the
/// client.
pub struct Sent<B = RequestBody> {
    frames: Vec<Frame<Bytes>>,
    kept_bytes: usize,
    rest: B,
}

impl<B> Sent<B> {
    fn new(rest: B) -> Sent<B> {
        Sent {
            frames: Vec::new(),
            kept_bytes: 0,
            rest,
        }
    }
}

/// The request body hyper's client sends: the frames an earlier try sent,
/// then the rest of the client's body, keeping a copy of each frame.
/// Dropped by hyper, it hands everything back to `send` for another try,
/// unless the answer has begun or the body outgrew `REPLAY_LIMIT`.
pub struct ReplayBody<B = RequestBody> {
    /// Taken only when dropped.
    sent: Option<Sent<B>>,
    /// Frames of `sent` already handed out again in this try.
    resent: usize,
    /// `None` once the body is no longer kept.
    give_back: Option<oneshot::Sender<Sent<B>>>,
}

impl<B> ReplayBody<B> {
    fn new(sent: Sent<B>) -> (ReplayBody<B>, oneshot::Receiver<Sent<B>>) {
        let (give_back, given_back) = oneshot::channel();
        let body = ReplayBody {
            sent: Some(sent),
            resent: 0,
            give_back: Some(give_back),
        };
        (body, given_back)
    }

    /// Keeps a copy of `frame`, or stops keeping when `send` has its
    /// answer (it dropped the receiver) or the body grew too large.
    fn keep(&mut self, frame: &Frame<Bytes>) {
        let (Some(sent), Some(give_back)) = (self.sent.as_mut(), self.give_back.as_ref()) else {
            return;
        };
        let size = frame.data_ref().map_or(0, Bytes::len);
        if give_back.is_closed() || sent.kept_bytes + size > REPLAY_LIMIT {
            self.give_back = None;
            sent.frames = Vec::new();
            sent.kept_bytes = 0;
            return;
        }
        sent.kept_bytes += size;
        sent.frames.push(copy(frame));
        // Every frame so far has been handed out.
        self.resent = sent.frames.len();
    }
}

/// A frame's copy: data is shared, not copied.
fn copy(frame: &Frame<Bytes>) -> Frame<Bytes> {
    match frame.data_ref() {
        Some(data) => Frame::data(data.clone()),
        None => Frame::trailers(frame.trailers_ref().cloned().unwrap_or_default()),
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for ReplayBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let Some(sent) = this.sent.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(frame) = sent.frames.get(this.resent) {
            this.resent += 1;
            return Poll::Ready(Some(Ok(copy(frame))));
        }
        let polled = ready!(Pin::new(&mut sent.rest).poll_frame(cx));
        if let Some(Ok(frame)) = &polled {
            this.keep(frame);
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.sent
            .as_ref()
            .is_none_or(|sent| self.resent >= sent.frames.len() && sent.rest.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let Some(sent) = self.sent.as_ref() else {
            return SizeHint::with_exact(0);
        };
        let again: u64 = sent.frames[self.resent.min(sent.frames.len())..]
            .iter()
            .filter_map(|frame| frame.data_ref().map(|data| data.len() as u64))
            .sum();
        let rest = sent.rest.size_hint();
        let mut hint = SizeHint::new();
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + again);
        }
        hint.set_lower(rest.lower() + again);
        hint
    }
}

impl<B> Drop for ReplayBody<B> {
    fn drop(&mut self) {
        if let (Some(sent), Some(give_back)) = (self.sent.take(), self.give_back.take()) {
            // Refused once `send` has its answer; the body then drops here
            // and reads the rest of the client's upload (see RequestBody).
            let _ = give_back.send(sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::future::poll_fn;

    use super::*;

    /// A body of the given pieces, with an exact size.
    struct Pieces(VecDeque<Bytes>);

    impl Body for Pieces {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|piece| Ok(Frame::data(piece))))
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_empty()
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::with_exact(self.0.iter().map(|piece| piece.len() as u64).sum())
        }
    }

    fn pieces(sizes: &[usize]) -> Pieces {
        let piece = |(n, size): (usize, &usize)| Bytes::from(vec![b'a' + n as u8; *size]);
        Pieces(sizes.iter().enumerate().map(piece).collect())
    }

    /// Reads `count` frames, or to the end when `None`; returns their data.
    async fn read(body: &mut ReplayBody<Pieces>, count: Option<usize>) -> Vec<u8> {
        let mut data = Vec::new();
        for _ in 0..count.unwrap_or(usize::MAX) {
            let Some(frame) = poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await else {
                break;
            };
            let frame = frame.unwrap_or_else(|never| match never {});
            data.extend_from_slice(frame.data_ref().map_or(&[][..], |d| &d[..]));
        }
        data
    }

    #[test]
    fn only_an_idempotent_request_met_by_a_prompt_close_may_be_sent_again() {
        let soon = STALE_WITHIN / 2;
        for method in ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or_default();
            assert!(may_send_again(&method, soon), "{method}");
            assert!(!may_send_again(&method, STALE_WITHIN), "{method} late");
        }
        for method in ["POST", "PATCH", "CONNECT", "LOCK"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or_default();
            assert!(!may_send_again(&method, soon), "{method}");
        }
    }

    #[tokio::test]
    async fn a_dropped_body_comes_back_whole_and_is_sent_again_in_order() {
        let original = read(&mut ReplayBody::new(Sent::new(pieces(&[3, 5, 2]))).0, None).await;
        let (mut first, given_back) = ReplayBody::new(Sent::new(pieces(&[3, 5, 2])));
        // The connection fails after two frames.
        assert_eq!(read(&mut first, Some(2)).await, original[..8]);
        drop(first);
        let Ok(sent) = given_back.await else {
            panic!("not given back");
        };
        let (mut second, given_back) = ReplayBody::new(sent);
        assert_eq!(second.size_hint().exact(), Some(10));
        assert!(!second.is_end_stream());
        assert_eq!(read(&mut second, Some(1)).await, original[..3]);
        assert_eq!(second.size_hint().exact(), Some(7));
        assert_eq!(read(&mut second, None).await, original[3..]);
        assert!(second.is_end_stream());
        drop(second);

        // And again, once more, from what the second try kept.
        let Ok(sent) = given_back.await else {
            panic!("not given back a second time");
        };
        let (mut third, _given_back) = ReplayBody::new(sent);
        assert_eq!(read(&mut third, None).await, original);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_not_kept() {
        let half = REPLAY_LIMIT / 2;
        let (mut at_limit, given_back) = ReplayBody::new(Sent::new(pieces(&[half, half])));
        read(&mut at_limit, None).await;
        drop(at_limit);
        assert!(given_back.await.is_ok(), "a body of the limit is kept");

        let (mut over, given_back) = ReplayBody::new(Sent::new(pieces(&[half, half, 1])));
        let data = read(&mut over, None).await;
        assert_eq!(data.len(), REPLAY_LIMIT + 1, "still sent whole");
        assert!(over
            .sent
            .as_ref()
            .is_some_and(|sent| sent.frames.is_empty()));
        drop(over);
        assert!(given_back.await.is_err());
    }

    #[tokio::test]
    async fn once_the_answer_begins_nothing_more_is_kept() {
        let (mut body, given_back) = ReplayBody::new(Sent::new(pieces(&[4, 4])));
        read(&mut body, Some(1)).await;
        drop(given_back);
        read(&mut body, Some(1)).await;
        assert!(body.give_back.is_none());
        assert!(body
            .sent
            .as_ref()
            .is_some_and(|sent| sent.frames.is_empty()));
    }
}
