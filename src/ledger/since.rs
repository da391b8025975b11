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
    /// `today`, `Nd`, `Nh` or `YYYY-MM-DD`.
    pub fn parse(raw: &str) -> Result<Since, String> {
        let raw = raw.trim();
        let bad =
            || format!("'{raw}' is not a span or a day (use e.g. 7d, 24h, today or 2025-06-01)");
        if raw.eq_ignore_ascii_case("today") {
            return Ok(Since::Today);
        }
        if let Some(days) = raw.strip_suffix('d') {
            let days: u32 = days.parse().map_err(|_| bad())?;
            return hours(days.checked_mul(24).ok_or_else(bad)?).ok_or_else(bad);
        }
        if let Some(count) = raw.strip_suffix('h') {
            return hours(count.parse().map_err(|_| bad())?).ok_or_else(bad);
        }
        date(raw).ok_or_else(bad)
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

fn hours(count: u32) -> Option<Since> {
    (count > 0).then_some(Since::HoursAgo(count))
}

/// `YYYY-MM-DD`, a day that exists.
fn date(raw: &str) -> Option<Since> {
    let mut parts = raw.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let year: u16 = year.parse().ok()?;
    let month: u8 = month.parse().ok()?;
    let day: u8 = day.parse().ok()?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month)
        .contains(&day)
        .then_some(Since::Date { year, month, day })
}
