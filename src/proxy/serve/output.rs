//! The write side of a client connection: answers framed for the client
//! (`Framer`) and gathered into as few writes as they allow (`Output`).

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;

use super::response::{encode_chunk_size, Outgoing};

/// Data frames larger than this are written from where they lie rather
/// than copied beside their chunk line.
const COPY_LIMIT: usize = 8 * 1024;

/// Frames the body's data for the client as `Outgoing` says.
pub(super) struct Framer {
    pub(super) outgoing: Outgoing,
    /// For a length: what is still to come.
    pub(super) remaining: u64,
    pub(super) ended: bool,
    /// The body broke off, or broke its framing: what came before is
    /// still written, then the connection closes, which is how the client
    /// learns that the answer is short.
    pub(super) cut: bool,
}

impl Framer {
    pub(super) fn new(outgoing: Outgoing) -> Framer {
        let remaining = match outgoing {
            Outgoing::Length(length) => length,
            _ => 0,
        };
        Framer {
            outgoing,
            remaining,
            ended: false,
            cut: false,
        }
    }

    pub(super) fn frame(&mut self, data: Bytes, out: &mut Output) {
        if data.is_empty() {
            return;
        }
        match self.outgoing {
            Outgoing::Chunked => {
                encode_chunk_size(data.len(), &mut out.staged);
                out.push(data);
                out.stage(b"\r\n");
            }
            Outgoing::Length(_) => {
                let len = data.len() as u64;
                // Longer than its content-length: the rest would be read
                // as the next response.
                if len > self.remaining {
                    self.cut();
                    return;
                }
                self.remaining -= len;
                out.push(data);
            }
            Outgoing::UntilClose | Outgoing::NoBody => out.push(data),
        }
    }

    pub(super) fn end(&mut self, out: &mut Output) {
        match self.outgoing {
            Outgoing::Chunked => out.stage(b"0\r\n\r\n"),
            Outgoing::Length(_) if self.remaining > 0 => {
                self.cut();
                return;
            }
            _ => {}
        }
        self.ended = true;
    }

    /// Ends the body short: no closing chunk, nothing that looks complete.
    pub(super) fn cut(&mut self) {
        self.ended = true;
        self.cut = true;
    }
}

/// What is to be written to the client, in order: `pieces` first, then
/// `staged`. Small writes are copied into `staged`, so that a chunk line,
/// its data and its CRLF leave in one plain write.
pub(super) struct Output {
    pub(super) io: OwnedWriteHalf,
    pub(super) pieces: VecDeque<Bytes>,
    pub(super) staged: BytesMut,
}

impl Output {
    pub(super) fn new(io: OwnedWriteHalf) -> Output {
        Output {
            io,
            pieces: VecDeque::new(),
            staged: BytesMut::new(),
        }
    }

    pub(super) fn buffered(&self) -> usize {
        self.staged.len() + self.pieces.iter().map(Bytes::len).sum::<usize>()
    }

    pub(super) fn stage(&mut self, bytes: &[u8]) {
        self.staged.extend_from_slice(bytes);
    }

    pub(super) fn push(&mut self, data: Bytes) {
        if data.len() <= COPY_LIMIT {
            self.staged.extend_from_slice(&data);
            return;
        }
        if !self.staged.is_empty() {
            self.pieces.push_back(self.staged.split().freeze());
        }
        self.pieces.push_back(data);
    }

    pub(super) async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    pub(super) async fn shutdown(&mut self) -> io::Result<()> {
        poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await
    }

    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let written = if self.pieces.is_empty() {
                if self.staged.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let written = ready!(Pin::new(&mut self.io).poll_write(cx, &self.staged))?;
                self.staged.advance(written);
                written
            } else {
                if !self.staged.is_empty() {
                    self.pieces.push_back(self.staged.split().freeze());
                }
                let written = ready!(self.poll_write_pieces(cx))?;
                self.advance_pieces(written);
                written
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
        }
    }

    fn poll_write_pieces(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut slices = [IoSlice::new(&[]); 8];
        let count = self.pieces.len().min(slices.len());
        for (slice, piece) in slices.iter_mut().zip(&self.pieces) {
            *slice = IoSlice::new(piece);
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count])
    }

    fn advance_pieces(&mut self, mut written: usize) {
        while let Some(piece) = self.pieces.front_mut() {
            if written < piece.len() {
                piece.advance(written);
                return;
            }
            written -= piece.len();
            self.pieces.pop_front();
        }
    }
}
