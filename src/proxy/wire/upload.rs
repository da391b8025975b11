//! The read side of a client connection, and the request body that
//! borrows it while a request is read.
//!
//! The connection hands its read side to the body for as long as the body
//! is being read, so that the body is read by whichever task sends it
//! upstream, with no channel between. The read side comes back when the
//! body ends or is dropped; the connection then reads the rest of an
//! unfinished body itself before the next request.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::oneshot;

use super::framing::{Decoded, Framing};
use super::io::poll_read_more;
use crate::proxy::error::BoxError;

/// The client connection's read side: its socket, the bytes read from it
/// and not yet used, and where the request body being read ends.
pub struct Inbound {
    io: OwnedReadHalf,
    pub buf: BytesMut,
    pub framing: Framing,
}

impl Inbound {
    pub fn new(io: OwnedReadHalf, buf: BytesMut) -> Inbound {
        Inbound {
            io,
            buf,
            framing: Framing::Length(0),
        }
    }

    pub fn into_parts(self) -> (OwnedReadHalf, BytesMut) {
        (self.io, self.buf)
    }

    /// Reads what the socket has into the buffer: `Ready(0)` at its end.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        poll_read_more(&mut self.io, cx, &mut self.buf)
    }

    /// Like `poll_read`, but `Pending` at once, without a read, while the
    /// socket has shown nothing since it last ran dry: a streamed answer
    /// looks here after every event.
    pub fn poll_read_if_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        ready!(self.io.as_ref().poll_read_ready(cx))?;
        self.poll_read(cx)
    }

    /// A body of known length that came whole with its head, split off
    /// the buffer.
    pub fn take_whole_body(&mut self, framing: &Framing) -> Option<Bytes> {
        let Framing::Length(length) = *framing else {
            return None;
        };
        let length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= self.buf.len())?;
        Some(self.buf.split_to(length).freeze())
    }

    /// Reads and drops what the client sends until it closes, or, with
    /// `only_what_arrived`, until nothing more is there.
    pub fn discard(&mut self, only_what_arrived: bool) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| loop {
            self.buf.clear();
            match self.poll_read(cx) {
                Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending if only_what_arrived => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        })
    }

    /// The next piece of the request body, `None` at its end.
    pub fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BoxError>>> {
        loop {
            match self.framing.decode(&mut self.buf)? {
                Decoded::Data(data) => return Poll::Ready(Some(Ok(data))),
                Decoded::End => return Poll::Ready(None),
                Decoded::NeedMore => {}
            }
            if ready!(self.poll_read(cx))? == 0 {
                // A request body is never close-delimited, so this fails.
                self.framing.at_eof()?;
                return Poll::Ready(None);
            }
        }
    }
}

/// A client's request body, read straight off its connection.
pub struct Upload {
    /// A whole body that arrived with its head, not yet taken.
    read: Option<Bytes>,
    /// There while the body is read; sent home at its end or drop.
    inbound: Option<Inbound>,
    home: Option<oneshot::Sender<Inbound>>,
    /// The body has a `content-length`; a chunked body's size stays
    /// unknown even once read, so that it is sent on chunked.
    sized: bool,
    /// Told when the body is first read, for a client that waits for
    /// `100 Continue` before it sends the body.
    on_first_read: Option<oneshot::Sender<()>>,
}

impl Upload {
    /// The body `inbound.framing` describes; the read side goes back
    /// through `home` when the body is done with it.
    pub fn new(inbound: Inbound, home: oneshot::Sender<Inbound>) -> Upload {
        let sized = matches!(inbound.framing, Framing::Length(_));
        let mut upload = Upload {
            read: None,
            inbound: Some(inbound),
            home: Some(home),
            sized,
            on_first_read: None,
        };
        if upload.is_end_stream() {
            upload.send_home();
        }
        upload
    }

    /// A body of known length already read whole, which needs no socket.
    pub fn whole(data: Bytes) -> Upload {
        Upload {
            read: (!data.is_empty()).then_some(data),
            inbound: None,
            home: None,
            sized: true,
            on_first_read: None,
        }
    }

    /// Has the body tell `first_read` when it is first read: a request is
    /// read only once it has passed every check of its head, so that is
    /// when a client waiting for `100 Continue` is asked for the body.
    pub fn tell_first_read(&mut self, first_read: oneshot::Sender<()>) {
        self.on_first_read = Some(first_read);
    }

    /// The rest of the body is still to come from the client.
    pub fn needs_client(&self) -> bool {
        self.inbound.is_some()
    }

    fn send_home(&mut self) {
        if let (Some(inbound), Some(home)) = (self.inbound.take(), self.home.take()) {
            // The connection may be gone already; then so is the socket.
            let _ = home.send(inbound);
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.send_home();
    }
}

impl Body for Upload {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(data) = self.read.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(first_read) = self.on_first_read.take() {
            // The connection may be gone already; then nobody waits.
            let _ = first_read.send(());
        }
        let Some(inbound) = self.inbound.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = ready!(inbound.poll_body(cx));
        if polled.is_none() || inbound.framing.is_done() {
            self.send_home();
        }
        Poll::Ready(polled.map(|piece| piece.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_none()
            && self
                .inbound
                .as_ref()
                .is_none_or(|inbound| inbound.framing.is_done())
    }

    fn size_hint(&self) -> SizeHint {
        if let Some(data) = &self.read {
            return SizeHint::with_exact(data.len() as u64);
        }
        match self.inbound.as_ref().map(|inbound| &inbound.framing) {
            _ if !self.sized => SizeHint::default(),
            Some(Framing::Length(remaining)) => SizeHint::with_exact(*remaining),
            _ => SizeHint::with_exact(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn a_whole_body_is_one_frame_of_its_exact_size() {
        let mut upload = Upload::whole(Bytes::from_static(b"{\"model\":\"m\"}"));
        assert!(!upload.is_end_stream());
        assert_eq!(upload.size_hint().exact(), Some(13));
        let frame = upload.frame().await.and_then(Result::ok);
        let data = frame.and_then(|frame| frame.into_data().ok());
        assert_eq!(data.as_deref(), Some(&b"{\"model\":\"m\"}"[..]));
        assert!(upload.is_end_stream());
        assert_eq!(upload.size_hint().exact(), Some(0));
        assert!(upload.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_empty_whole_body_has_no_frame() {
        let mut upload = Upload::whole(Bytes::new());
        assert!(upload.is_end_stream());
        assert_eq!(upload.size_hint().exact(), Some(0));
        assert!(upload.frame().await.is_none());
    }
}
