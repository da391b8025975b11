//! One exchange's reader: decode the side copy, split it into documents,
//! read the usage of those that carry some.

use super::decode::{Decoder, Unreadable};
use super::json_units::JsonUnits;
use super::model_name;
use super::sse::SseSplitter;
use super::tally::Tally;
use super::{Family, Usage};
use std::io::{self, Write};

/// Reads the usage of one response as its body passes; see [`Usage`].
pub struct UsageReader {
    /// `None` when the body's encoding cannot be decoded.
    decoder: Option<Decoder<Framer>>,
    unreadable: Option<Unreadable>,
    request_model: Option<String>,
}

impl UsageReader {
    /// A reader for a response of `family` with these `Content-Type` and
    /// `Content-Encoding` values; `request_model` is the request's `model`,
    /// used when the response names none.
    pub fn new(
        family: Family,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        request_model: Option<String>,
    ) -> UsageReader {
        let framer = Framer::new(family, content_type);
        let (decoder, unreadable) = match Decoder::new(content_encoding, framer) {
            Ok(decoder) => (Some(decoder), None),
            Err((why, _)) => (None, Some(why)),
        };
        UsageReader {
            decoder,
            unreadable,
            request_model,
        }
    }

    /// Reads the next chunk of the response body. Never fails: a body that
    /// stops decoding is read no further.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.unreadable.is_some() {
            return;
        }
        if let Some(decoder) = &mut self.decoder {
            if let Err(why) = decoder.write(chunk) {
                self.unreadable = Some(why);
            }
        }
    }

    /// The usage read; `complete` is false when the body was cut short,
    /// or a document in it was too large to read.
    pub fn finish(mut self, complete: bool) -> Usage {
        let mut usage = Usage::default();
        let mut skipped = false;
        if let Some(decoder) = &mut self.decoder {
            if self.unreadable.is_none() {
                if let Err(why) = decoder.flush() {
                    self.unreadable = Some(why);
                }
            }
            if let Some(framer) = decoder.sink() {
                framer.finish();
                skipped = framer.skipped;
                let counts = framer.tally.counts();
                usage = Usage {
                    model: framer.tally.take_model().map(model_name::cleaned),
                    input_tokens: counts.input,
                    cache_read_tokens: counts.cache_read,
                    cache_write_tokens: counts.cache_write,
                    output_tokens: counts.output,
                    reasoning_tokens: counts.reasoning,
                    complete: false,
                };
            }
        }
        usage.model = usage.model.or(self.request_model);
        usage.complete = complete && self.unreadable.is_none() && !skipped;
        usage
    }
}

/// The decoded body's reader: picks SSE or JSON framing and hands each
/// document to the tally.
struct Framer {
    framing: Framing,
    tally: Tally,
    /// A document was too large to read: what it reported is unknown.
    skipped: bool,
}

enum Framing {
    /// No content type said; the first byte that is not white space will.
    Undecided,
    Sse(SseSplitter),
    Json(JsonUnits),
    /// Not a body usage can be read from (an HTML error page, plain text).
    Ignored,
}

impl Framer {
    fn new(family: Family, content_type: Option<&str>) -> Framer {
        let content_type = content_type.unwrap_or("").as_bytes();
        let framing = if contains_ignoring_case(content_type, b"text/event-stream") {
            Framing::Sse(SseSplitter::default())
        } else if contains_ignoring_case(content_type, b"json") {
            Framing::Json(JsonUnits::default())
        } else {
            Framing::Undecided
        };
        Framer {
            framing,
            tally: Tally::new(family),
            skipped: false,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        if let Framing::Undecided = self.framing {
            bytes = bytes.trim_ascii_start();
            self.framing = match bytes.first() {
                None => return,
                Some(b'{' | b'[') => Framing::Json(JsonUnits::default()),
                // The fields and comments an event stream starts with.
                Some(b'd' | b'e' | b'i' | b'r' | b':') => Framing::Sse(SseSplitter::default()),
                Some(_) => Framing::Ignored,
            };
        }
        let tally = &mut self.tally;
        match &mut self.framing {
            Framing::Sse(splitter) => splitter.feed(bytes, &mut |data| tally.read(data)),
            Framing::Json(units) => {
                if !(units.at_rest() && tally.read_if_whole(bytes)) {
                    units.feed(bytes, &mut |unit| tally.read(unit));
                }
            }
            Framing::Undecided | Framing::Ignored => {}
        }
    }

    /// The body ended (or was cut): reads what is pending, then nothing more.
    fn finish(&mut self) {
        let tally = &mut self.tally;
        match &mut self.framing {
            Framing::Sse(splitter) => {
                splitter.finish(&mut |data| tally.read(data));
                self.skipped = splitter.skipped();
            }
            Framing::Json(units) => self.skipped = units.skipped(),
            Framing::Undecided | Framing::Ignored => {}
        }
        tally.finish();
        self.framing = Framing::Ignored;
    }
}

/// Does `haystack` hold `needle`, ASCII case aside? (No lowercase copy:
/// this runs on every answer.)
fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// The decoders write what they decode here.
impl Write for Framer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.feed(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
