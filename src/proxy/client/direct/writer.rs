//! The request on its way to a direct upstream: its head and body pieces
//! queued and written with as few writes as they allow, kept while the
//! request may have to be sent again on another connection.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::Body;

use crate::proxy::client::replay::REPLAY_LIMIT;
use crate::proxy::error::BoxError;
use crate::proxy::spares::keep_spare;
use crate::proxy::wire::body::RequestBody;
use crate::proxy::wire::head::RequestFraming;

thread_local! {
    /// Piece queues of requests done with, emptied, for requests to come:
    /// a queue is allocated once, not for every request.
    static SPARE_QUEUES: RefCell<Vec<VecDeque<Bytes>>> = const { RefCell::new(Vec::new()) };
}

/// Request pieces gathered into one write at most (a few more may wait).
const MAX_QUEUED_PIECES: usize = 16;

/// The request on its way out: the head, then the client's body frames,
/// chunk-framed when the client gave no length. What is ready is written
/// with one vectored write, so a head and a small body leave together.
pub(super) struct Writer {
    /// The request's pieces in order: the first `sent` written whole, the
    /// next one `partly` written, the rest waiting. Written pieces stay
    /// while the request can be sent again (`kept`).
    out: VecDeque<Bytes>,
    sent: usize,
    partly: usize,
    /// Bytes written and kept, while they are `REPLAY_LIMIT` at most and
    /// no answer has begun; `None` once written pieces are dropped.
    kept: Option<usize>,
    body: Option<RequestBody>,
    framing: RequestFraming,
    /// The head has been held back once for the body to join it.
    head_held: bool,
    /// Writing failed; the rest of the request is dropped.
    abandoned: bool,
}

/// Hands the piece queue, emptied, to the next request.
impl Drop for Writer {
    fn drop(&mut self) {
        let mut pieces = std::mem::take(&mut self.out);
        // An idle writer's queue never had room; a grown one is let go.
        if pieces.capacity() == 0 || pieces.capacity() > MAX_QUEUED_PIECES {
            return;
        }
        pieces.clear();
        keep_spare(&SPARE_QUEUES, pieces);
    }
}

impl Writer {
    /// A writer with nothing to write, for a connection between requests.
    pub(super) fn idle() -> Writer {
        Writer {
            out: VecDeque::new(),
            sent: 0,
            partly: 0,
            kept: None,
            body: None,
            framing: RequestFraming::AsIs,
            head_held: true,
            abandoned: false,
        }
    }

    pub(super) fn new(head: Bytes, body: RequestBody, framing: RequestFraming) -> Writer {
        Writer {
            out: Writer::pieces_with(head),
            sent: 0,
            partly: 0,
            kept: Some(0),
            body: Some(body),
            framing,
            head_held: false,
            abandoned: false,
        }
    }

    /// The queue with `head` first, and room for a body of one frame, or
    /// of one chunk with its size line and end, without growing: a spare
    /// queue when there is one.
    pub(super) fn pieces_with(head: Bytes) -> VecDeque<Bytes> {
        let spare = SPARE_QUEUES.with_borrow_mut(Vec::pop);
        let mut pieces = spare.unwrap_or_else(|| VecDeque::with_capacity(5));
        pieces.push_back(head);
        pieces
    }

    /// The whole request has been written.
    pub(super) fn finished(&self) -> bool {
        !self.abandoned && !self.unsent()
    }

    /// Something of the request is still to be written.
    pub(super) fn has_more(&self) -> bool {
        !self.abandoned && self.unsent()
    }

    /// Pieces are queued, or the client's body has more to give.
    pub(super) fn unsent(&self) -> bool {
        self.body.is_some() || self.queued() > 0
    }

    /// Pieces waiting to be written.
    pub(super) fn queued(&self) -> usize {
        self.out.len() - self.sent
    }

    pub(super) fn abandon(&mut self) {
        self.abandoned = true;
        // Kept while the request can be sent again.
        if !self.can_rewind() {
            self.drop_unsent();
        }
    }

    /// Drops the rest of the request; the written pieces are gone already
    /// (`drop_written`), so what is queued is all unsent.
    fn drop_unsent(&mut self) {
        self.out.clear();
        self.body = None;
    }

    pub(super) fn can_rewind(&self) -> bool {
        self.kept.is_some()
    }

    /// No byte of the request has been written on this connection (since
    /// the last rewind): what is written stays counted in `kept` until the
    /// means to rewind are dropped.
    pub(super) fn wrote_nothing(&self) -> bool {
        self.kept == Some(0)
    }

    /// Starts the request over, for another connection: every piece is
    /// queued again, and the rest of the body follows.
    pub(super) fn rewind(&mut self) {
        (self.sent, self.partly) = (0, 0);
        self.kept = Some(0);
        self.abandoned = false;
    }

    /// The upstream began its answer: the request is not sent again.
    pub(super) fn answer_began(&mut self) {
        self.drop_written();
        if self.abandoned {
            self.drop_unsent();
        }
    }

    /// Drops the written pieces, and with them the means to rewind.
    fn drop_written(&mut self) {
        self.kept = None;
        self.out.drain(..self.sent);
        self.sent = 0;
        if let Some(piece) = self.out.front_mut() {
            piece.advance(self.partly);
        }
        self.partly = 0;
    }

    /// True when the head should wait a turn: the request has a body and
    /// none of it is ready yet. hyper's HTTP/2 server hands over a body's
    /// first data only after the handler has run, and an HTTP/1.1 client
    /// may write its body just after its head; writing at once would then
    /// send the head and the body as two segments. (Body bytes that came
    /// with an HTTP/1.1 head are ready at once, see `serve::upload`.)
    pub(super) fn hold_head(&mut self, cx: &mut Context<'_>) -> Result<bool, BoxError> {
        if std::mem::replace(&mut self.head_held, true) || self.body.is_none() {
            return Ok(false);
        }
        self.refill(cx)?;
        Ok(self.queued() == 1 && self.body.is_some())
    }

    /// The first pieces to write, on the stack: this runs on every write.
    pub(super) fn slices(&self) -> ([IoSlice<'_>; MAX_QUEUED_PIECES], usize) {
        let mut slices = [IoSlice::new(&[]); MAX_QUEUED_PIECES];
        let count = self.queued().min(MAX_QUEUED_PIECES);
        let waiting = self.out.range(self.sent..);
        for (index, (slice, piece)) in slices.iter_mut().zip(waiting).enumerate() {
            let skip = if index == 0 { self.partly } else { 0 };
            *slice = IoSlice::new(&piece[skip..]);
        }
        (slices, count)
    }

    pub(super) fn advance(&mut self, mut written: usize) {
        if let Some(kept) = &mut self.kept {
            *kept += written;
        }
        while let Some(piece) = self.out.get(self.sent) {
            let rest = piece.len() - self.partly;
            if written < rest {
                self.partly += written;
                break;
            }
            written -= rest;
            (self.sent, self.partly) = (self.sent + 1, 0);
        }
        if self.kept.is_none_or(|kept| kept > REPLAY_LIMIT) {
            self.drop_written();
        }
    }

    /// Queues the client's body frames that are ready; `false` when none
    /// were (the client's body is pending) or the request is done.
    pub(super) fn refill(&mut self, cx: &mut Context<'_>) -> Result<bool, BoxError> {
        let chunked = self.framing == RequestFraming::Chunked;
        while self.queued() < MAX_QUEUED_PIECES {
            let Some(body) = self.body.as_mut() else {
                break;
            };
            let Poll::Ready(frame) = Pin::new(body).poll_frame(cx) else {
                break;
            };
            match frame {
                // Trailers are not sent on: nothing a provider reads
                // arrives in them.
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => self.queue(data, chunked),
                    _ => {}
                },
                Some(Err(error)) => return Err(error),
                None => {
                    self.body = None;
                    if chunked {
                        self.out.push_back(Bytes::from_static(b"0\r\n\r\n"));
                    }
                }
            }
        }
        Ok(self.queued() > 0)
    }

    pub(super) fn queue(&mut self, data: Bytes, chunked: bool) {
        if chunked {
            self.out
                .push_back(Bytes::from(format!("{:x}\r\n", data.len())));
            self.out.push_back(data);
            self.out.push_back(Bytes::from_static(b"\r\n"));
        } else {
            self.out.push_back(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer with `pieces` queued and no client body behind them.
    fn writer_of(pieces: &[&'static str]) -> Writer {
        Writer {
            out: pieces
                .iter()
                .map(|piece| Bytes::from_static(piece.as_bytes()))
                .collect(),
            sent: 0,
            partly: 0,
            kept: Some(0),
            body: None,
            framing: RequestFraming::AsIs,
            head_held: true,
            abandoned: false,
        }
    }

    #[test]
    fn a_finished_writers_queue_serves_the_next_request_empty() {
        SPARE_QUEUES.with_borrow_mut(Vec::clear);
        drop(writer_of(&["POST / HTTP/1.1\r\n\r\n", "secret body"]));
        assert_eq!(SPARE_QUEUES.with_borrow(Vec::len), 1);
        let pieces = Writer::pieces_with(Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n"));
        assert_eq!(pieces, [Bytes::from_static(b"GET / HTTP/1.1\r\n\r\n")]);
        assert_eq!(SPARE_QUEUES.with_borrow(Vec::len), 0);
    }

    /// What a socket taking at most `step` bytes per write receives.
    fn write_out(writer: &mut Writer, step: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        while writer.has_more() {
            let (slices, count) = writer.slices();
            let gathered: Vec<u8> = slices[..count].iter().flat_map(|s| s.to_vec()).collect();
            let taken = gathered.len().min(step);
            wire.extend_from_slice(&gathered[..taken]);
            writer.advance(taken);
        }
        wire
    }

    const REQUEST: [&str; 4] = ["POST / HTTP/1.1\r\n\r\n", "{\"a\":", "1", "}"];

    #[test]
    fn a_rewound_request_is_written_again_byte_for_byte() {
        let whole = REQUEST.concat().into_bytes();
        for first_step in 1..=whole.len() {
            let mut writer = writer_of(&REQUEST);
            assert_eq!(write_out(&mut writer, first_step), whole);
            assert!(writer.can_rewind());
            writer.rewind();
            assert_eq!(
                write_out(&mut writer, 3),
                whole,
                "after steps of {first_step}"
            );
        }
    }

    #[test]
    fn a_writer_knows_whether_any_byte_went_out_on_its_connection() {
        let mut writer = writer_of(&REQUEST);
        assert!(writer.wrote_nothing());
        writer.advance(1);
        assert!(!writer.wrote_nothing());
        writer.abandon();
        writer.rewind();
        assert!(
            writer.wrote_nothing(),
            "a new connection, nothing on it yet"
        );
        writer.advance(REQUEST.concat().len());
        writer.answer_began();
        assert!(!writer.wrote_nothing());
    }

    #[test]
    fn a_request_rewound_in_the_middle_starts_over() {
        let mut writer = writer_of(&REQUEST);
        writer.advance(21);
        writer.abandon();
        assert!(!writer.has_more());
        writer.rewind();
        assert_eq!(write_out(&mut writer, 5), REQUEST.concat().into_bytes());
    }

    #[test]
    fn past_the_limit_or_once_answered_written_pieces_are_dropped() {
        let large: &'static str = "x".repeat(REPLAY_LIMIT).leak();
        let mut writer = writer_of(&["head", large, "tail"]);
        writer.advance(REPLAY_LIMIT);
        assert!(writer.can_rewind());
        writer.advance(1);
        assert!(!writer.can_rewind());
        assert_eq!(writer.out.len(), 2, "the head is dropped");
        assert_eq!(write_out(&mut writer, 64), b"xxxtail");

        let whole = REQUEST.concat().into_bytes();
        let mut writer = writer_of(&REQUEST);
        writer.advance(22);
        writer.answer_began();
        assert!(!writer.can_rewind());
        assert_eq!(write_out(&mut writer, 64), whole[22..]);
    }
}
