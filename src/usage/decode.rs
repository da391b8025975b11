//! Undoes a response's `Content-Encoding` on the reader's side copy, writing
//! what it decodes straight on to the reader, so nothing decoded is kept
//! here beyond the decoders' own fixed buffers.

use std::io::{self, Write};

/// The decoders' internal buffer: enough for a chunk, small for an exchange.
const BUFFER_BYTES: usize = 8 << 10;

pub(super) enum Decoder<W: Write> {
    Identity(W),
    Gzip(flate2::write::GzDecoder<W>),
    /// HTTP's `deflate` is zlib-wrapped, though some servers send raw
    /// deflate: the first two bytes tell which, so they wait here. The sink
    /// is only ever absent for the moment it moves into the chosen decoder.
    DeflateUndecided(Option<W>, Vec<u8>),
    Zlib(flate2::write::ZlibDecoder<W>),
    RawDeflate(flate2::write::DeflateDecoder<W>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<W>>),
    Zstd(zstd::stream::write::Decoder<'static, W>),
}

/// Why a side copy could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unreadable {
    /// An encoding this reader does not decode (or a chain of them).
    UnknownEncoding,
    /// The body did not decode; what came before it was read.
    Corrupt,
}

impl<W: Write> Decoder<W> {
    /// A decoder for `content_encoding` writing into `sink`; the sink comes
    /// back with the reason when the encoding cannot be decoded.
    pub fn new(content_encoding: Option<&str>, sink: W) -> Result<Decoder<W>, (Unreadable, W)> {
        // Compared in place: this runs on every answer.
        let encoding = content_encoding.unwrap_or("").trim();
        let is = |name: &str| encoding.eq_ignore_ascii_case(name);
        Ok(if encoding.is_empty() || is("identity") {
            Decoder::Identity(sink)
        } else if is("gzip") || is("x-gzip") {
            Decoder::Gzip(flate2::write::GzDecoder::new(sink))
        } else if is("deflate") {
            Decoder::DeflateUndecided(Some(sink), Vec::with_capacity(2))
        } else if is("br") {
            Decoder::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                sink,
                BUFFER_BYTES,
            )))
        } else if is("zstd") {
            match zstd::stream::raw::Decoder::new() {
                Ok(raw) => Decoder::Zstd(zstd::stream::write::Decoder::with_decoder(sink, raw)),
                Err(_) => return Err((Unreadable::Corrupt, sink)),
            }
        } else {
            return Err((Unreadable::UnknownEncoding, sink));
        })
    }

    /// Decodes `chunk` into the sink. Bytes after the end of an encoded
    /// stream are ignored, as a client's decoder would.
    pub fn write(&mut self, mut chunk: &[u8]) -> Result<(), Unreadable> {
        if let Decoder::DeflateUndecided(sink, head) = self {
            let (taken, rest) = chunk.split_at((2 - head.len().min(2)).min(chunk.len()));
            head.extend_from_slice(taken);
            chunk = rest;
            if head.len() < 2 {
                return Ok(());
            }
            let head = std::mem::take(head);
            let sink = sink.take().ok_or(Unreadable::Corrupt)?;
            *self = if is_zlib_header(&head) {
                Decoder::Zlib(flate2::write::ZlibDecoder::new(sink))
            } else {
                Decoder::RawDeflate(flate2::write::DeflateDecoder::new(sink))
            };
            self.write_all(&head)?;
        }
        self.write_all(chunk)
    }

    fn write_all(&mut self, mut chunk: &[u8]) -> Result<(), Unreadable> {
        let writer: &mut dyn Write = match self {
            Decoder::Identity(sink) => sink,
            Decoder::Gzip(decoder) => decoder,
            Decoder::DeflateUndecided(..) => return Err(Unreadable::Corrupt),
            Decoder::Zlib(decoder) => decoder,
            Decoder::RawDeflate(decoder) => decoder,
            Decoder::Brotli(decoder) => decoder.as_mut(),
            Decoder::Zstd(decoder) => decoder,
        };
        while !chunk.is_empty() {
            match writer.write(chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => chunk = &chunk[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Unreadable::Corrupt),
            }
        }
        Ok(())
    }

    /// Pushes everything decoded so far into the sink, a cut stream's too.
    pub fn flush(&mut self) -> Result<(), Unreadable> {
        let flushed = match self {
            Decoder::Identity(_) | Decoder::DeflateUndecided(..) => Ok(()),
            Decoder::Gzip(decoder) => decoder.flush(),
            Decoder::Zlib(decoder) => decoder.flush(),
            Decoder::RawDeflate(decoder) => decoder.flush(),
            Decoder::Brotli(decoder) => decoder.flush(),
            Decoder::Zstd(decoder) => decoder.flush(),
        };
        flushed.map_err(|_| Unreadable::Corrupt)
    }

    pub fn sink(&mut self) -> Option<&mut W> {
        Some(match self {
            Decoder::Identity(sink) => sink,
            Decoder::DeflateUndecided(sink, _) => return sink.as_mut(),
            Decoder::Gzip(decoder) => decoder.get_mut(),
            Decoder::Zlib(decoder) => decoder.get_mut(),
            Decoder::RawDeflate(decoder) => decoder.get_mut(),
            Decoder::Brotli(decoder) => decoder.get_mut(),
            Decoder::Zstd(decoder) => decoder.get_mut(),
        })
    }
}

/// RFC 1950: deflate method, and the header's check bits make it a
/// multiple of 31.
fn is_zlib_header(head: &[u8]) -> bool {
    match head {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}
