//! Where an HTTP/1.1 response body ends (RFC 9112 section 6): a length,
//! chunked coding, or the close of the connection. The decoder hands out the
//! body's bytes as they arrive, one frame per read, never waiting for more.

use bytes::{Buf, Bytes, BytesMut};

/// Longest chunk-size line (size plus extensions) or trailer section taken.
const MAX_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug)]
pub enum Framing {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Data(Bytes),
    /// Nothing decodable is buffered; read more.
    NeedMore,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunked {
    Size,
    Data(u64),
    DataEnd,
    Trailers { seen: usize },
    Done,
}

pub type FramingError = &'static str;

impl Framing {
    pub fn chunked() -> Framing {
        Framing::Chunked(Chunked::Size)
    }

    /// True when the connection can carry another request once this body
    /// has been read to its end.
    pub fn keeps_connection(&self) -> bool {
        !matches!(self, Framing::UntilClose)
    }

    pub fn is_done(&self) -> bool {
        matches!(self, Framing::Length(0) | Framing::Chunked(Chunked::Done))
    }

    /// Takes the next piece of body out of `buf`.
    ///
    /// Streaming polls this with an empty buffer after every event, so
    /// that case is answered before anything else.
    #[inline]
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, FramingError> {
        if buf.is_empty() && !self.is_done() {
            return Ok(Decoded::NeedMore);
        }
        self.decode_buffered(buf)
    }

    fn decode_buffered(&mut self, buf: &mut BytesMut) -> Result<Decoded, FramingError> {
        match self {
            Framing::Length(0) => Ok(Decoded::End),
            Framing::Length(remaining) => Ok(take(buf, remaining)),
            Framing::UntilClose if buf.is_empty() => Ok(Decoded::NeedMore),
            Framing::UntilClose => Ok(Decoded::Data(buf.split().freeze())),
            Framing::Chunked(state) => decode_chunked(state, buf),
        }
    }

    /// The connection ended: the end of a close-delimited body (or of one
    /// already complete), an error for any other.
    pub fn at_eof(&mut self) -> Result<(), FramingError> {
        match self {
            Framing::UntilClose => {
                *self = Framing::Length(0);
                Ok(())
            }
            _ if self.is_done() => Ok(()),
            _ => Err("the connection closed before the body ended"),
        }
    }
}

fn take(buf: &mut BytesMut, remaining: &mut u64) -> Decoded {
    if buf.is_empty() {
        return Decoded::NeedMore;
    }
    let n = usize::try_from(*remaining).map_or(buf.len(), |r| r.min(buf.len()));
    *remaining -= n as u64;
    Decoded::Data(buf.split_to(n).freeze())
}

fn decode_chunked(state: &mut Chunked, buf: &mut BytesMut) -> Result<Decoded, FramingError> {
    loop {
        match state {
            Chunked::Size => {
                let Some(line) = line_length(buf, MAX_LINE)? else {
                    return Ok(Decoded::NeedMore);
                };
                let size = chunk_size(&buf[..line])?;
                buf.advance(line + 2);
                *state = if size == 0 {
                    Chunked::Trailers { seen: 0 }
                } else {
                    Chunked::Data(size)
                };
            }
            Chunked::Data(remaining) => {
                let decoded = take(buf, remaining);
                if *remaining == 0 {
                    *state = Chunked::DataEnd;
                    // Taken now when it is here, so that the poll after a
                    // chunk finds the buffer empty, the cheap case; anything
                    // else is left for the next decode to refuse.
                    if buf.starts_with(b"\r\n") {
                        buf.advance(2);
                        *state = Chunked::Size;
                    }
                }
                return Ok(decoded);
            }
            Chunked::DataEnd => {
                if buf.len() < 2 {
                    return Ok(Decoded::NeedMore);
                }
                if &buf[..2] != b"\r\n" {
                    return Err("chunk data not followed by CRLF");
                }
                buf.advance(2);
                *state = Chunked::Size;
            }
            // Trailer fields are read and dropped: nothing the proxy or
            // an agent uses is sent in them.
            Chunked::Trailers { seen } => {
                let Some(line) = line_length(buf, MAX_TRAILERS.saturating_sub(*seen))? else {
                    return Ok(Decoded::NeedMore);
                };
                buf.advance(line + 2);
                if line == 0 {
                    *state = Chunked::Done;
                } else {
                    *seen += line + 2;
                }
            }
            Chunked::Done => return Ok(Decoded::End),
        }
    }
}

/// The length of the CRLF-terminated line at the start of `buf`, without
/// its CRLF, or `None` until one is buffered. The caller reads the line in
/// place and then advances past it: no piece of the buffer is split off.
fn line_length(buf: &BytesMut, limit: usize) -> Result<Option<usize>, FramingError> {
    let Some(end) = buf.windows(2).position(|pair| pair == b"\r\n") else {
        return if buf.len() > limit {
            Err("chunk line or trailers too long")
        } else {
            Ok(None)
        };
    };
    if end > limit {
        return Err("chunk line or trailers too long");
    }
    Ok(Some(end))
}

/// `1*HEXDIG [ BWS ";" extensions ]`; extensions are ignored.
fn chunk_size(line: &[u8]) -> Result<u64, FramingError> {
    let digits_end = line
        .iter()
        .position(|byte| !byte.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(digits_end);
    let rest_ok = rest
        .iter()
        .find(|byte| !matches!(byte, b' ' | b'\t'))
        .is_none_or(|byte| *byte == b';');
    // Every digit is hex (checked above) and fifteen of them fill 60 bits:
    // the fold below neither meets a non-digit nor overflows.
    if digits.is_empty() || digits.len() > 15 || !rest_ok {
        return Err("invalid chunk size");
    }
    Ok(digits.iter().fold(0, |size, digit| {
        let value = char::from(*digit).to_digit(16).unwrap_or_default();
        size << 4 | u64::from(value)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` to a decoder `step` bytes at a time; returns the body,
    /// or the first error.
    fn decode_in_steps(mut framing: Framing, wire: &[u8], step: usize) -> Result<Vec<u8>, String> {
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut pieces = wire.chunks(step);
        loop {
            match framing.decode(&mut buf).map_err(str::to_owned)? {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::End => return Ok(body),
                Decoded::NeedMore => match pieces.next() {
                    Some(piece) => buf.extend_from_slice(piece),
                    None => {
                        framing.at_eof().map_err(str::to_owned)?;
                        return Ok(body);
                    }
                },
            }
        }
    }

    const SSE: &[u8] = b"19\r\ndata: {\"delta\":\"hello\"}\n\n\r\n\
        c;name=\"x\"\r\ndata: [DONE]\r\n0\r\nx-trailer: 1\r\n\r\n";

    #[test]
    fn chunked_bodies_decode_at_every_split() {
        for step in 1..=SSE.len() {
            let body = decode_in_steps(Framing::chunked(), SSE, step);
            assert_eq!(
                body.as_deref(),
                Ok(&b"data: {\"delta\":\"hello\"}\n\ndata: [DONE]"[..]),
                "step {step}"
            );
        }
    }

    #[test]
    fn each_chunk_is_handed_out_as_soon_as_it_is_buffered() {
        let mut framing = Framing::chunked();
        let mut buf = BytesMut::from(&b"5\r\nhel"[..]);
        assert_eq!(
            framing.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from("hel")))
        );
        assert_eq!(framing.decode(&mut buf), Ok(Decoded::NeedMore));
        buf.extend_from_slice(b"lo\r\n");
        assert_eq!(
            framing.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from("lo")))
        );
        assert!(buf.is_empty(), "the CRLF after the data is taken with it");
        assert_eq!(framing.decode(&mut buf), Ok(Decoded::NeedMore));
        assert!(!framing.is_done());
    }

    #[test]
    fn chunk_sizes_are_read_in_either_case_with_extensions_ignored() {
        let cases: [(&[u8], u64); 6] = [
            (b"1A", 26),
            (b"ff", 255),
            (b"000F", 15),
            (b"5 ; name=value", 5),
            (b"5\t;x", 5),
            (b"fffffffffffffff", (1 << 60) - 1),
        ];
        for (line, size) in cases {
            assert_eq!(
                chunk_size(line),
                Ok(size),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn malformed_chunked_bodies_are_errors() {
        let cases: [&[u8]; 7] = [
            b"zz\r\n",
            b"\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"10000000000000000\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhel",
        ];
        for wire in cases {
            for step in 1..=wire.len() {
                let decoded = decode_in_steps(Framing::chunked(), wire, step);
                assert!(
                    decoded.is_err(),
                    "{:?} in steps of {step} gave {decoded:?}",
                    String::from_utf8_lossy(wire)
                );
            }
        }
        let endless_size_line = vec![b'1'; MAX_LINE + 10];
        assert!(decode_in_steps(Framing::chunked(), &endless_size_line, 64).is_err());
        let mut endless_trailers = b"0\r\n".to_vec();
        endless_trailers.extend(b"x-t: 1\r\n".repeat(MAX_TRAILERS));
        assert!(decode_in_steps(Framing::chunked(), &endless_trailers, 512).is_err());
    }

    #[test]
    fn a_finished_body_ends_on_an_empty_buffer_and_an_unfinished_one_waits() {
        let mut empty = BytesMut::new();
        assert_eq!(Framing::Length(0).decode(&mut empty), Ok(Decoded::End));
        let mut done = Framing::Chunked(Chunked::Done);
        assert_eq!(done.decode(&mut empty), Ok(Decoded::End));
        for mut waiting in [
            Framing::Length(3),
            Framing::chunked(),
            Framing::Chunked(Chunked::DataEnd),
            Framing::Chunked(Chunked::Trailers { seen: 0 }),
            Framing::UntilClose,
        ] {
            assert_eq!(waiting.decode(&mut empty), Ok(Decoded::NeedMore));
        }
    }

    #[test]
    fn length_bodies_stop_at_their_length_and_fail_short() {
        assert_eq!(
            decode_in_steps(Framing::Length(5), b"hello", 2).as_deref(),
            Ok(&b"hello"[..])
        );
        let mut framing = Framing::Length(5);
        let mut buf = BytesMut::from(&b"helloEXTRA"[..]);
        assert_eq!(
            framing.decode(&mut buf),
            Ok(Decoded::Data(Bytes::from("hello")))
        );
        assert_eq!(framing.decode(&mut buf), Ok(Decoded::End));
        assert_eq!(&buf[..], b"EXTRA");
        assert!(decode_in_steps(Framing::Length(5), b"hel", 2).is_err());
    }

    #[test]
    fn close_delimited_bodies_end_at_eof_and_spend_the_connection() {
        let framing = Framing::UntilClose;
        assert!(!framing.keeps_connection());
        assert_eq!(
            decode_in_steps(framing, b"all of it", 4).as_deref(),
            Ok(&b"all of it"[..])
        );
    }
}
