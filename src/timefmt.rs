//! Time formats at s3thaw's edges: RFC 3339 for scripts, HTTP dates for `x-amz-restore`,
//! and durations (`"90s"`, `"15m"`, `"5h"`, `"2d"`) for waits.

use std::time::Duration;

use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::{OffsetDateTime, UtcOffset};

use crate::errors::{Error, Result};

/// `2026-11-25T00:00:00Z`: whole seconds, UTC, as scripts see timestamps.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// `2023-10-20T09:14:52.125Z`: milliseconds, as in completion reports.
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses an RFC 3339 timestamp given by a script.
pub fn parse_rfc3339(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        Error::invalid_argument(format!(
            "`{text}` is not an RFC 3339 timestamp like 2026-11-25T00:00:00Z: {e}"
        ))
    })
}

/// `Fri, 19 Oct 2012 00:00:00 GMT`, the HTTP date of `x-amz-restore`'s expiry.
pub fn http_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let text = t.format(&Rfc2822).unwrap_or_default();
    // RFC 2822 writes "+0000"; HTTP dates say "GMT".
    text.replace(" +0000", " GMT")
}

/// Parses an HTTP date (`Fri, 19 Oct 2012 00:00:00 GMT`), as conditional request headers carry.
pub fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    let normalized = match text
        .strip_suffix(" GMT")
        .or_else(|| text.strip_suffix(" UTC"))
    {
        Some(rest) => format!("{rest} +0000"),
        None => text.to_string(),
    };
    OffsetDateTime::parse(&normalized, &Rfc2822)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .ok()
}

/// The longest duration s3thaw takes (a sleep, a wait's timeout, a clock advance): 100 years.
/// Longer ones are refused with `InvalidArgument` rather than overflow a clock.
pub const MAX_DURATION_SECS: u64 = 100 * 365 * 86_400;

/// A number of seconds as a duration, refused when negative, not finite or over
/// [`MAX_DURATION_SECS`].
pub fn duration_from_secs(seconds: f64) -> Result<Duration> {
    if !seconds.is_finite() || seconds < 0.0 || seconds > MAX_DURATION_SECS as f64 {
        return Err(Error::invalid_argument(format!(
            "a duration must be 0 to {MAX_DURATION_SECS} seconds (100 years), not {seconds}"
        )));
    }
    Duration::try_from_secs_f64(seconds)
        .map_err(|e| Error::invalid_argument(format!("bad duration {seconds}: {e}")))
}

/// Parses `"90s"`, `"15m"`, `"5h"`, `"2d"`, `"500ms"` or a plain number of seconds, up to
/// [`MAX_DURATION_SECS`].
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        Error::invalid_argument(format!(
            "`{text}` is not a duration: write a number with a unit, like \"90s\", \"15m\", \"5h\" or \"2d\""
        ))
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1_000.0,
        "m" | "min" | "mins" => value * 60.0,
        "h" | "hr" | "hrs" => value * 3_600.0,
        "d" | "day" | "days" => value * 86_400.0,
        _ => return Err(bad()),
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(bad());
    }
    duration_from_secs(seconds)
}

/// A duration in seconds as `45s`, `12m`, `3h20m`, `2d4h`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d{}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats() {
        let t = datetime!(2012-10-19 00:00:00.125 UTC);
        assert_eq!(rfc3339(t), "2012-10-19T00:00:00Z");
        assert_eq!(rfc3339_millis(t), "2012-10-19T00:00:00.125Z");
        assert_eq!(http_date(t), "Fri, 19 Oct 2012 00:00:00 GMT");
        assert_eq!(
            parse_rfc3339("2012-10-19T00:00:00Z").unwrap(),
            datetime!(2012-10-19 0:00 UTC)
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("5h").unwrap(), Duration::from_secs(18_000));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5_400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("12").unwrap(), Duration::from_secs(12));
        for bad in [
            "",
            "h",
            "5 weeks",
            "-3s",
            "abc",
            "999999999999999999999s",
            "99999999999999d",
            "36501d",
        ] {
            assert_eq!(
                parse_duration(bad).unwrap_err().code,
                "InvalidArgument",
                "{bad}"
            );
        }
    }
}
