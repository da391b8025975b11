//! `--since`: a span back from now (`7d`, `24h`) or a local calendar day.

use rusqlite::Connection;

/// The start of the window `headroom usage` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// Local midnight today.
    Today,
    /// This many hours before now (`7d` is 168 hours: a rolling week).
    HoursAgo(u32),
    /// Local midnight of this day.
    Date { year: u16, month: u8, day: u8 },
}

impl Since {
    /// `today`, `Nd`, `Nh` or `YYYY-MM-DD`, a day not after today.
    pub fn parse(raw: &str) -> Result<Since, String> {
        Since::parse_on(raw, local_today())
    }

    /// [`Since::parse`] with `today` as the local day, when it is known.
    pub(super) fn parse_on(raw: &str, today: Option<Day>) -> Result<Since, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("today") {
            return Ok(Since::Today);
        }
        for (unit, hours_each) in [('d', 24), ('h', 1)] {
            if let Some(count) = raw.strip_suffix(unit) {
                return span(raw, count, unit, hours_each);
            }
        }
        let (year, month, day) = date(raw).ok_or_else(|| not_a_span_or_day(raw))?;
        match today {
            Some((y, m, d)) if (year, month, day) > (y, m, d) => Err(format!(
                "'{raw}' is in the future (today is {y:04}-{m:02}-{d:02})"
            )),
            _ => Ok(Since::Date { year, month, day }),
        }
    }

    /// The window's start in Unix milliseconds, `now_ms` being now. Local
    /// time is SQLite's (the C library's, so `TZ` applies).
    pub(super) fn start_ms(self, connection: &Connection, now_ms: i64) -> rusqlite::Result<i64> {
        let local_midnight = |day: String| {
            connection.query_row(
                "SELECT CAST(strftime('%s', ?1, 'start of day', 'utc') AS INTEGER) * 1000",
                [day],
                |row| row.get(0),
            )
        };
        match self {
            Since::HoursAgo(hours) => Ok(now_ms - i64::from(hours) * 3_600_000),
            Since::Date { year, month, day } => {
                local_midnight(format!("{year:04}-{month:02}-{day:02}"))
            }
            Since::Today => {
                let today: String = connection.query_row(
                    "SELECT date(?1 / 1000, 'unixepoch', 'localtime')",
                    [now_ms],
                    |row| row.get(0),
                )?;
                local_midnight(today)
            }
        }
    }
}

/// `count` `unit`s of `hours_each` hours back from now, `raw` being the
/// whole value for the messages.
fn span(raw: &str, count: &str, unit: char, hours_each: u32) -> Result<Since, String> {
    if !all_digits(count) {
        return Err(not_a_span_or_day(raw));
    }
    let too_large = || {
        let most = u32::MAX / hours_each;
        format!("'{raw}' is too large a span: at most {most}{unit}")
    };
    let count: u32 = count.parse().map_err(|_| too_large())?;
    match count.checked_mul(hours_each) {
        Some(0) => Err(format!(
            "'{raw}' is an empty span: a span must be at least 1"
        )),
        Some(hours) => Ok(Since::HoursAgo(hours)),
        None => Err(too_large()),
    }
}

fn not_a_span_or_day(raw: &str) -> String {
    format!("'{raw}' is not a span or a day (use e.g. 7d, 24h, today or 2025-06-01)")
}

/// Some ASCII digits and nothing else: `str::parse` would also take a `+`.
fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A calendar day: year, month, day.
pub(super) type Day = (u16, u8, u8);

/// `YYYY-MM-DD`, a day that exists.
fn date(raw: &str) -> Option<Day> {
    let mut parts = raw.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |part: &str, len: usize| part.len() == len && all_digits(part);
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return None;
    }
    let year: u16 = year.parse().ok()?;
    let month: u8 = month.parse().ok()?;
    let day: u8 = day.parse().ok()?;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then_some((year, month, day))
}

/// Today's local date, as [`Since::start_ms`] reads local time (SQLite's,
/// so `TZ` applies); `None` if SQLite cannot say.
fn local_today() -> Option<Day> {
    let connection = Connection::open_in_memory().ok()?;
    let today: String = connection
        .query_row("SELECT date('now', 'localtime')", [], |row| row.get(0))
        .ok()?;
    date(&today)
}
