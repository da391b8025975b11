//! Reading an event stream so that each event reaches the client before the
//! upstream hears it was read.
//!
//! Linux acknowledges a small pushed segment (an event, as a server writes
//! it) in the read that empties the receive queue, and over loopback it
//! delivers that ACK to the upstream's socket within the same system call:
//! every read of an event carried the ACK's round through the TCP stack
//! before the event could be written on. Here the bytes are peeked,
//! relayed, and only then taken off the socket, which sends the ACK after
//! the event has left. The cost is one more system call per read, so only
//! event streams read this way; the ACK's timing for the upstream moves by
//! one write, well inside any delayed-ACK timer.

use std::cell::RefCell;
use std::io;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use http::header::CONTENT_TYPE;
use http::HeaderMap;
use rustix::net::RecvFlags;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The most one peek takes, as much as one ordinary read usually does.
const LANDING_SIZE: usize = 8 * 1024;

thread_local! {
    /// Where peeked bytes land before they join a read buffer: a system
    /// call can write only initialized memory without `unsafe`, and a read
    /// buffer's spare room is not. Allocated by the first peek.
    static LANDING: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// True when a response with `headers` is a stream of server-sent events.
pub fn is_event_stream(headers: &HeaderMap) -> bool {
    const EVENT_STREAM: &[u8] = b"text/event-stream";
    headers.get(CONTENT_TYPE).is_some_and(|value| {
        value
            .as_bytes()
            .get(..EVENT_STREAM.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(EVENT_STREAM))
    })
}

/// Copies what `io` has queued onto `buf` and leaves it queued: `Ready(0)`
/// at the stream's end. `take` must follow before the next peek.
pub fn poll_peek(
    io: &TcpStream,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    LANDING.with_borrow_mut(|landing| {
        if landing.is_empty() {
            landing.resize(LANDING_SIZE, 0);
        }
        loop {
            ready!(io.poll_read_ready(cx))?;
            let mut peeked = None;
            let attempt = io.try_io(Interest::READABLE, || {
                let (_, len) = rustix::net::recv(io, &mut landing[..], RecvFlags::PEEK)?;
                buf.extend_from_slice(&landing[..len]);
                peeked = Some(len);
                // A peek short of the room it had took all there was. As
                // tokio does after a short read, the socket counts as
                // drained (`WouldBlock` clears its readiness) and the next
                // wake-up says when more arrives: no peek to find out.
                if len > 0 && len < landing.len() {
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(())
                }
            });
            if let Some(len) = peeked {
                return Poll::Ready(Ok(len));
            }
            match attempt {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
                Ok(()) => {}
            }
        }
    })
}

/// Takes `count` bytes, peeked before, off `io`'s receive queue.
pub fn take(io: &TcpStream, mut count: usize) -> io::Result<()> {
    LANDING.with_borrow_mut(|landing| {
        while count > 0 {
            let room = count.min(landing.len());
            // Peeked bytes are queued, so this never waits.
            let (_, len) = rustix::net::recv(io, &mut landing[..room], RecvFlags::empty())?;
            if len == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            count -= len;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use tokio::io::AsyncWriteExt;

    fn with_content_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn event_streams_are_told_by_their_content_type() {
        assert!(is_event_stream(&with_content_type("text/event-stream")));
        assert!(is_event_stream(&with_content_type(
            "Text/Event-Stream; charset=utf-8"
        )));
        assert!(!is_event_stream(&with_content_type("application/json")));
        assert!(!is_event_stream(&with_content_type("text/event")));
        assert!(!is_event_stream(&HeaderMap::new()));
    }

    async fn peek(io: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
        std::future::poll_fn(|cx| poll_peek(io, cx, buf)).await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn peeked_bytes_stay_queued_until_taken() -> io::Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut sender = TcpStream::connect(listener.local_addr()?).await?;
        let (receiver, _) = listener.accept().await?;
        sender.write_all(b"data: one\n\n").await?;

        let mut buf = BytesMut::new();
        assert_eq!(peek(&receiver, &mut buf).await?, 11);
        assert_eq!(&buf[..], b"data: one\n\n");
        // The peeked bytes are still queued: taking them reads them.
        take(&receiver, 11)?;
        let nothing_left = take(&receiver, 1).map_err(|error| error.kind());
        assert_eq!(nothing_left, Err(io::ErrorKind::WouldBlock));

        // Drained, the socket waits for more, and wakes when it comes.
        sender.write_all(b"data: two\n\n").await?;
        assert_eq!(peek(&receiver, &mut buf).await?, 11);
        take(&receiver, 11)?;
        drop(sender);
        assert_eq!(peek(&receiver, &mut buf).await?, 0, "the end of the stream");
        assert_eq!(&buf[..], b"data: one\n\ndata: two\n\n");
        Ok(())
    }
}
