//! Where an HTTP/1.1 body ends (RFC 9112 section 6): a length, chunked
//! coding, or the close of the connection. The decoder hands out the body's
//! bytes as they arrive, one frame per read, never waiting for more.
//!
//! Chunk lines and trailer fields are held to RFC 9112 section 7.1: no
//! control byte but HTAB anywhere in them. Another parser on the path (nginx
//! ends a chunk line at a bare LF) could otherwise end a line elsewhere and
//! read a different message from the same bytes.

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
            // Trailer fields are checked, then dropped: nothing the proxy
            // or an agent uses is sent in them.
            Chunked::Trailers { seen } => {
                let Some(line) = line_length(buf, MAX_TRAILERS.saturating_sub(*seen))? else {
                    return Ok(Decoded::NeedMore);
                };
                if line == 0 {
                    *state = Chunked::Done;
                } else {
                    check_trailer_field(&buf[..line])?;
                    *seen += line + 2;
                }
                buf.advance(line + 2);
            }
            Chunked::Done => return Ok(Decoded::End),
        }
    }
}

/// The length of the CRLF-terminated line at the start of `buf`, without
/// its CRLF, or `None` until one is buffered. The caller reads the line in
/// place and then advances past it: no piece of the buffer is split off.
///
/// A control byte other than HTAB before the CRLF (a bare CR or LF, a NUL)
/// is an error as soon as it is buffered: it may be where another parser
/// ends the line.
fn line_length(buf: &[u8], limit: usize) -> Result<Option<usize>, FramingError> {
    let Some(end) = buf.iter().position(|byte| is_control_byte(*byte)) else {
        return if buf.len() > limit {
            Err(LINE_TOO_LONG)
        } else {
            Ok(None)
        };
    };
    if end > limit {
        return Err(LINE_TOO_LONG);
    }
    match &buf[end..] {
        [b'\r', b'\n', ..] => Ok(Some(end)),
        // The LF may be in the next read.
        [b'\r'] => Ok(None),
        _ => Err("a control character inside a chunk line or trailer field"),
    }
}

const LINE_TOO_LONG: FramingError = "chunk line or trailers too long";

/// RFC 9110 section 5.5: CTL, that is 0x00 to 0x1F and DEL, except HTAB.
fn is_control_byte(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// A trailer line is a header field, `token ":" value` (its value holds no
/// control byte: `line_length` saw to that). No space before the colon and
/// no line folding, as for the fields of a head.
fn check_trailer_field(line: &[u8]) -> Result<(), FramingError> {
    let name = line
        .iter()
        .position(|byte| *byte == b':')
        .map_or(line, |colon| &line[..colon]);
    if name.is_empty() || name.len() == line.len() || !name.iter().all(|byte| is_tchar(*byte)) {
        return Err("a malformed trailer field");
    }
    Ok(())
}

/// RFC 9110 section 5.6.2: the characters of a token.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// `1*HEXDIG [ BWS ";" extensions ]`; the extensions, free of control
/// bytes (`line_length` saw to that), are ignored.
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
        let cases: [&[u8]; 13] = [
            b"zz\r\n",
            b"\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"10000000000000000\r\n",
            b"ffffffffffffffffff\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"+5\r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5 5\r\nhello\r\n0\r\n\r\n",
            b";a\r\nhello\r\n0\r\n\r\n",
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

    /// `wire` decoded whole and in every split, all alike.
    fn decode_at_every_split(wire: &[u8]) -> Result<Vec<u8>, String> {
        let whole = decode_in_steps(Framing::chunked(), wire, wire.len());
        for step in 1..wire.len() {
            let split = decode_in_steps(Framing::chunked(), wire, step);
            assert_eq!(split, whole, "{:?} in steps of {step}", wire.escape_ascii());
        }
        whole
    }

    fn assert_taken(wire: &[u8]) {
        let body = decode_at_every_split(wire);
        assert_eq!(
            body.as_deref(),
            Ok(&b"hello"[..]),
            "{:?}",
            wire.escape_ascii()
        );
    }

    fn assert_refused(wire: &[u8]) {
        let body = decode_at_every_split(wire);
        assert!(body.is_err(), "{:?} was taken", wire.escape_ascii());
    }

    #[test]
    fn extensions_of_any_allowed_characters_are_taken() {
        for line in [
            &b"5;name=value"[..],
            b"5 ; name=value",
            b"5;a;b=c;d",
            b"5;\tx = y",
            b"5;q=\"a quoted; \\\" value\"",
            b"5;latin=\"caf\xe9\"",
            b"5;odd!#$%&'*+-.^_`|~=\x7e",
        ] {
            assert_taken(&[line, b"\r\nhello\r\n0;last=1\r\n\r\n"].concat());
        }
    }

    /// Every control byte but HTAB: a CR not before LF, a bare LF, a NUL,
    /// the rest of C0, and DEL.
    fn control_bytes() -> impl Iterator<Item = u8> {
        (0u8..0x20).filter(|byte| *byte != b'\t').chain([0x7f])
    }

    #[test]
    fn a_control_byte_in_a_chunk_extension_is_an_error() {
        for control in control_bytes() {
            for line in [
                [&b"5;a"[..], &[control], b"b"].concat(),
                [&b"5;a=\""[..], &[control], b"\""].concat(),
                [&b"5"[..], &[control], b";a"].concat(),
                [&b"0;a"[..], &[control]].concat(),
            ] {
                assert_refused(&[&line[..], b"\r\nhello\r\n0\r\n\r\n"].concat());
            }
        }
    }

    #[test]
    fn a_bare_lf_or_cr_is_refused_before_any_crlf_arrives() {
        // nginx ends a chunk line at a bare LF: waiting for the CRLF would
        // read the next bytes as this line while nginx reads them as data.
        for begun in [&b"5;a\nhello"[..], b"5;a\rb", b"5;a\0"] {
            let mut buf = BytesMut::from(begun);
            let decoded = Framing::chunked().decode(&mut buf);
            assert!(decoded.is_err(), "{:?}: {decoded:?}", begun.escape_ascii());
        }
        let mut waiting = BytesMut::from(&b"5;a\r"[..]);
        assert_eq!(
            Framing::chunked().decode(&mut waiting),
            Ok(Decoded::NeedMore)
        );
    }

    fn with_trailer(field: &[u8]) -> Vec<u8> {
        [&b"5\r\nhello\r\n0\r\n"[..], field, b"\r\n\r\n"].concat()
    }

    #[test]
    fn valid_trailer_fields_are_taken_and_dropped() {
        for field in [
            &b"x-trailer: 1"[..],
            b"X-T:v",
            b"x-t: \ta b\t",
            b"x-empty:",
            b"x-latin: caf\xe9",
            b"!#$%&'*+-.^_`|~09az: ok",
        ] {
            assert_taken(&with_trailer(field));
        }
        assert_taken(&with_trailer(b"x-a: 1\r\nx-b: 2"));
    }

    #[test]
    fn malformed_trailer_fields_are_errors() {
        let mut fields: Vec<Vec<u8>> = [
            &b"no-colon"[..],
            b": no name",
            b"x t: 1",
            b"x-t : 1",
            b" folded: 1",
            b"\tfolded: 1",
            b"x-t\xe9: 1",
            b"x(t): 1",
        ]
        .map(<[u8]>::to_vec)
        .into();
        for control in control_bytes() {
            fields.push([&b"x-t: a"[..], &[control], b"b"].concat());
            fields.push([&b"x-t"[..], &[control], b": 1"].concat());
        }
        for field in fields {
            assert_refused(&with_trailer(&field));
        }
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
