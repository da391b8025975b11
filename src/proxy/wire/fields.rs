//! A head's fields: noted where they lie in a parsed head and taken as a
//! header map without copying their values, written out, and the few the
//! proxy reads itself (`content-length`, codings, list tokens).

use std::cell::{Cell, RefCell};
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::names::HeadKind;
use crate::proxy::headers::list_items;
use crate::proxy::spares::keep_spare;

/// Why a head was refused.
pub type HeadError = String;

/// Writes `headers` as a head's fields, and says which of them it wrote.
pub(crate) fn encode_fields(headers: &HeaderMap, out: &mut BytesMut) -> Present {
    let mut present = Present::default();
    for (name, value) in headers {
        present.note(name);
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    present
}

/// Which of the fields the proxy reads itself a head has, noted in a pass
/// over the fields made anyway: a lookup in a `HeaderMap` hashes the name,
/// and most heads have few of these.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Present {
    pub(crate) content_length: bool,
    pub(crate) transfer_encoding: bool,
    pub(crate) connection: bool,
    pub(crate) expect: bool,
    pub(crate) date: bool,
}

impl Present {
    fn note(&mut self, name: &HeaderName) {
        // Compares standard names by their index, not their text.
        if *name == header::CONTENT_LENGTH {
            self.content_length = true;
        } else if *name == header::TRANSFER_ENCODING {
            self.transfer_encoding = true;
        } else if *name == header::CONNECTION {
            self.connection = true;
        } else if *name == header::EXPECT {
            self.expect = true;
        } else if *name == header::DATE {
            self.date = true;
        }
    }
}

/// A head's fields, noted by where their values lie in the head. Values are
/// kept as slices of the head rather than copied out one allocation each:
/// their places are noted while httparse's parse borrows the buffer, and
/// taken once the head has been split off it.
pub(crate) struct PlacedFields {
    fields: Vec<(HeaderName, Range<usize>)>,
    len: usize,
    present: Present,
    content_length: ContentLength,
}

thread_local! {
    /// Header maps of messages done with, emptied, for the next heads to
    /// fill: a map's two allocations are made once, not for every message.
    static SPARE_MAPS: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
    /// The list `PlacedFields` notes into, lent out for each head and given
    /// back once its fields are taken: one allocation per thread, not two
    /// per request.
    static PLACES: Cell<Vec<(HeaderName, Range<usize>)>> = const { Cell::new(Vec::new()) };
}

/// A field that is not a valid header.
pub(crate) enum BadField {
    Name(String),
    Value(HeaderName),
}

impl BadField {
    /// Names the field, for errors about an upstream's head.
    pub(crate) fn describe(self) -> HeadError {
        match self {
            BadField::Name(name) => format!("invalid header name {name:?}"),
            BadField::Value(name) => format!("invalid value for header {name}"),
        }
    }
}

impl PlacedFields {
    /// Notes `fields`, parsed from the `len`-byte head at the front of
    /// `buf`.
    pub(crate) fn note(
        fields: &[httparse::Header<'_>],
        buf: &BytesMut,
        len: usize,
        kind: HeadKind,
    ) -> Result<PlacedFields, BadField> {
        let start = buf.as_ptr() as usize;
        let mut placed = PLACES.take();
        placed.reserve(fields.len());
        let mut present = Present::default();
        // Read here, in the pass made anyway: a lookup in the map hashes.
        let mut content_length = Ok(None);
        kind.recent_names().with_borrow_mut(|recent| {
            for (position, field) in fields.iter().enumerate() {
                let name = recent
                    .name_at(position, field.name)
                    .map_err(|_| BadField::Name(field.name.to_owned()))?;
                let Some(place) = place_in(field.value, start, len) else {
                    return Err(BadField::Value(name));
                };
                if name == header::CONTENT_LENGTH {
                    content_length =
                        content_length.and_then(|so_far| add_length(so_far, field.value));
                }
                present.note(&name);
                placed.push((name, place));
            }
            Ok(())
        })?;
        Ok(PlacedFields {
            fields: placed,
            len,
            present,
            content_length,
        })
    }

    /// Which of the fields the proxy reads the head has.
    pub(crate) fn present(&self) -> Present {
        self.present
    }

    /// What the head's `content-length` fields say.
    pub(crate) fn content_length(&self) -> ContentLength {
        self.content_length
    }

    /// Leaves out every field `out` says so of, given its name and where
    /// its value lies: cheaper here than taken out of the header map later.
    pub(crate) fn leave_out(&mut self, mut out: impl FnMut(&HeaderName, &Range<usize>) -> bool) {
        self.fields.retain(|(name, place)| !out(name, place));
    }

    /// Splits the head off the front of `buf`, for the fields' values and
    /// other parts to be taken from it.
    pub(crate) fn split_head(&self, buf: &mut BytesMut) -> Bytes {
        buf.split_to(self.len).freeze()
    }

    /// Takes the fields' values from `head`, which [`split_head`] gave.
    ///
    /// [`split_head`]: PlacedFields::split_head
    pub(crate) fn take(mut self, head: &Bytes) -> Result<HeaderMap, BadField> {
        let mut headers = spare_map(self.fields.len());
        for (name, place) in self.fields.drain(..) {
            match HeaderValue::from_maybe_shared(head.slice(place)) {
                Ok(value) => headers.append(name, value),
                Err(_) => return Err(BadField::Value(name)),
            };
        }
        PLACES.set(self.fields);
        Ok(headers)
    }
}

/// A map grown past this many fields (a rare, huge head) is not kept.
const SPARE_MAP_FIELDS: usize = 64;

/// An empty map with room for `fields`, a spare one when there is one.
fn spare_map(fields: usize) -> HeaderMap {
    let mut headers = SPARE_MAPS.with_borrow_mut(Vec::pop).unwrap_or_default();
    headers.reserve(fields);
    headers
}

/// Keeps `headers`, emptied, for a head to come; call it where a message's
/// headers are done with.
pub(crate) fn recycle(mut headers: HeaderMap) {
    if headers.capacity() > SPARE_MAP_FIELDS {
        return;
    }
    headers.clear();
    keep_spare(&SPARE_MAPS, headers);
}

/// Where `value`, a slice of the `len` bytes at address `start`, lies in
/// them.
pub(crate) fn place_in(value: &[u8], start: usize, len: usize) -> Option<Range<usize>> {
    if value.is_empty() {
        return Some(0..0);
    }
    let offset = (value.as_ptr() as usize).checked_sub(start)?;
    let end = offset.checked_add(value.len())?;
    (end <= len).then_some(offset..end)
}

/// The `content-length` of a message, if it has one: every value plain
/// digits and all of them equal, as RFC 9112 section 6.3 asks.
pub(crate) type ContentLength = Result<Option<u64>, &'static str>;

/// The `content-length` of `headers` (see `ContentLength`).
pub(crate) fn content_length(headers: &HeaderMap) -> ContentLength {
    headers
        .get_all(header::CONTENT_LENGTH)
        .iter()
        .try_fold(None, |so_far, value| add_length(so_far, value.as_bytes()))
}

/// The length after one more `content-length` value, given the length
/// the values before it said.
fn add_length(so_far: Option<u64>, value: &[u8]) -> ContentLength {
    match (so_far, plain_digits(value)) {
        (None, Some(length)) => Ok(Some(length)),
        (None, None) => Err("invalid content-length"),
        (Some(length), Some(again)) if again == length => Ok(Some(length)),
        (Some(_), _) => Err("conflicting content-length values"),
    }
}

/// Digits only: no sign, no space, no list; and no overflow.
fn plain_digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |length, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        length.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

pub(crate) fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    list_items(headers, name).any(|item| item.eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_recycled_map_comes_back_empty_and_an_oversized_one_is_dropped() {
        SPARE_MAPS.with_borrow_mut(Vec::clear);
        let mut used = HeaderMap::new();
        used.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sk-1"),
        );
        recycle(used);
        assert_eq!(SPARE_MAPS.with_borrow(Vec::len), 1);
        let reused = spare_map(4);
        assert!(reused.is_empty(), "a field of an earlier message came back");
        assert!(reused.capacity() >= 4);
        assert_eq!(SPARE_MAPS.with_borrow(Vec::len), 0);

        recycle(HeaderMap::with_capacity(SPARE_MAP_FIELDS * 2));
        assert_eq!(SPARE_MAPS.with_borrow(Vec::len), 0);
    }

    #[test]
    fn a_content_length_is_plain_digits_and_agrees_with_itself() {
        // Read from a map and while a head's fields are noted, alike.
        let length_of = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            let mut wire = String::from("HTTP/1.1 200 OK\r\n");
            for value in values {
                headers.append(header::CONTENT_LENGTH, HeaderValue::from_static(value));
                wire.push_str(&format!("Content-Length: {value}\r\n"));
            }
            wire.push_str("\r\n");
            let mut fields = [httparse::EMPTY_HEADER; 4];
            let mut parsed = httparse::Response::new(&mut fields);
            let buf = BytesMut::from(wire.as_str());
            let Ok(httparse::Status::Complete(len)) = parsed.parse(&buf) else {
                panic!("{wire:?} did not parse");
            };
            let Ok(placed) = PlacedFields::note(parsed.headers, &buf, len, HeadKind::Response)
            else {
                panic!("{wire:?}: fields refused");
            };
            let from_map = content_length(&headers);
            // httparse trims the spaces around a value on the wire.
            if values.iter().all(|value| value.trim() == *value) {
                assert_eq!(placed.content_length(), from_map, "{values:?}");
            }
            from_map
        };
        assert_eq!(length_of(&[]), Ok(None));
        assert_eq!(length_of(&["0"]), Ok(Some(0)));
        assert_eq!(length_of(&["007"]), Ok(Some(7)));
        assert_eq!(length_of(&["18446744073709551615"]), Ok(Some(u64::MAX)));
        assert_eq!(length_of(&["12", "12"]), Ok(Some(12)));
        for bad in [
            "",
            "+5",
            "-5",
            " 5",
            "5 ",
            "5,5",
            "0x10",
            "1e3",
            "18446744073709551616",
        ] {
            assert_eq!(length_of(&[bad]), Err("invalid content-length"), "{bad:?}");
        }
        assert_eq!(
            length_of(&["12", "13"]),
            Err("conflicting content-length values")
        );
        assert_eq!(
            length_of(&["12", "x"]),
            Err("conflicting content-length values")
        );
    }

    #[test]
    fn the_fields_the_proxy_reads_are_noted_whatever_their_case() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTRANSFER-encoding: chunked\r\n\
                    Connection: close\r\nEXPECT: x\r\nDate: d\r\nx-other: 1\r\n\r\n";
        let mut buf = BytesMut::from(wire);
        let mut fields = [httparse::EMPTY_HEADER; 8];
        let mut parsed = httparse::Response::new(&mut fields);
        let len = match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => len,
            other => panic!("{other:?}"),
        };
        let Ok(placed) = PlacedFields::note(parsed.headers, &buf, len, HeadKind::Response) else {
            panic!("fields refused");
        };
        let all = Present {
            content_length: true,
            transfer_encoding: true,
            connection: true,
            expect: true,
            date: true,
        };
        assert_eq!(placed.present(), all);
        let head = placed.split_head(&mut buf);
        let Ok(headers) = placed.take(&head) else {
            panic!("values refused");
        };
        assert_eq!(encode_fields(&headers, &mut BytesMut::new()), all);
        let mut only_other = HeaderMap::new();
        only_other.insert("x-other", HeaderValue::from_static("1"));
        let written = encode_fields(&only_other, &mut BytesMut::new());
        assert_eq!(written, Present::default());
    }
}
