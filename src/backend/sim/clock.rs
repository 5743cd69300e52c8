//! The virtual clock: wall-clock time plus an offset stored in the state, in milliseconds.

use rusqlite::Transaction;
use time::OffsetDateTime;

use super::store;
use crate::errors::{Error, Result};

/// Milliseconds since the Unix epoch, UTC: how the simulator stores every instant.
pub type Millis = i64;

pub(super) const SECOND: Millis = 1_000;
pub(super) const MINUTE: Millis = 60 * SECOND;
pub(super) const HOUR: Millis = 60 * MINUTE;
pub(super) const DAY: Millis = 24 * HOUR;

fn wall_now() -> Millis {
    from_datetime(OffsetDateTime::now_utc())
}

fn frozen_at(tx: &Transaction) -> Option<Millis> {
    store::meta(tx, "clock_frozen_ms").ok()?.parse().ok()
}

pub(super) fn now(tx: &Transaction) -> Result<Millis> {
    if let Some(frozen) = frozen_at(tx) {
        return Ok(frozen);
    }
    let offset: Millis = store::meta(tx, "clock_offset_ms")?.parse().unwrap_or(0);
    Ok(wall_now() + offset)
}

/// The last instant the clock may show: 9999-12-31T23:59:59.999Z, the last a timestamp of
/// AWS's formats (and of the `time` crate's default range) can write.
pub(super) const MAX: Millis = 253_402_300_799_999;

fn past_the_end(what: &str) -> Error {
    Error::invalid_argument(format!(
        "{what} would move the virtual clock past 9999-12-31T23:59:59Z"
    ))
}

pub(super) fn advance(tx: &Transaction, by: Millis) -> Result<()> {
    let target = now(tx)?
        .checked_add(by)
        .filter(|t| *t <= MAX)
        .ok_or_else(|| past_the_end("advancing the clock"))?;
    if let Some(frozen) = frozen_at(tx) {
        let frozen = frozen
            .checked_add(by)
            .ok_or_else(|| past_the_end("advancing the clock"))?;
        return store::set_meta(tx, "clock_frozen_ms", &frozen.to_string());
    }
    let offset: Millis = store::meta(tx, "clock_offset_ms")?.parse().unwrap_or(0);
    let offset = offset
        .checked_add(by)
        .ok_or_else(|| past_the_end("advancing the clock"))?;
    debug_assert!(target <= MAX);
    store::set_meta(tx, "clock_offset_ms", &offset.to_string())
}

/// Sets the virtual time (`at`) and whether it stands still between waits (`frozen`), for
/// rehearsals that must not depend on how fast the machine is. Time never goes backwards.
pub(super) fn set(tx: &Transaction, at: Option<Millis>, frozen: bool) -> Result<Millis> {
    let current = now(tx)?;
    let target = at.unwrap_or(current).max(current);
    if target > MAX {
        return Err(past_the_end("setting the clock"));
    }
    if frozen {
        store::set_meta(tx, "clock_frozen_ms", &target.to_string())?;
    } else {
        tx.execute("DELETE FROM meta WHERE name = 'clock_frozen_ms'", [])?;
        store::set_meta(tx, "clock_offset_ms", &(target - wall_now()).to_string())?;
    }
    Ok(target)
}

pub(super) fn to_datetime(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(super) fn from_datetime(t: OffsetDateTime) -> Millis {
    (t.unix_timestamp_nanos() / 1_000_000) as Millis
}

/// S3's restore expiry: `at` plus `days`, rounded up to the next midnight UTC (an instant that
/// is exactly midnight stays).
pub(super) fn expiry_after(at: Millis, days: u32) -> Millis {
    let end = at + days as Millis * DAY;
    end.div_euclid(DAY) * DAY + if end.rem_euclid(DAY) == 0 { 0 } else { DAY }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiry_rounds_up_to_midnight_utc() {
        // SEMANTICS.md's example: 15 Oct 10:30 UTC + 3 days -> 19 Oct 00:00 UTC.
        let at = from_datetime(datetime!(2012-10-15 10:30 UTC));
        assert_eq!(
            to_datetime(expiry_after(at, 3)),
            datetime!(2012-10-19 00:00 UTC)
        );
        let midnight = from_datetime(datetime!(2012-10-15 00:00 UTC));
        assert_eq!(
            to_datetime(expiry_after(midnight, 1)),
            datetime!(2012-10-16 00:00 UTC)
        );
        let late = from_datetime(datetime!(2012-12-31 23:59:59.999 UTC));
        assert_eq!(
            to_datetime(expiry_after(late, 1)),
            datetime!(2013-01-02 00:00 UTC)
        );
    }
}
