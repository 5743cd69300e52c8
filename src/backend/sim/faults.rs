//! Injected faults and S3's request-rate limits, so clients' retry and rate-adaptation code can
//! be tested: with `sim::set_faults` some S3 requests answer 503 `SlowDown` or 500
//! `InternalError`; restore requests above 1,000 per second of virtual time answer 503
//! `SlowDown`, as AWS throttles RestoreObject per account.

use super::World;
use super::clock::SECOND;
use super::store::{meta, set_meta};
use crate::backend::Faults;
use crate::errors::{Error, Result};

/// AWS's documented RestoreObject rate per account.
pub(super) const RESTORE_REQUESTS_PER_SECOND: i64 = 1_000;

/// What kind of request is being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    /// Any S3 object or bucket request.
    S3,
    /// RestoreObject: also counted against the account's rate.
    Restore,
}

pub(super) fn set(w: &World, faults: Faults) -> Result<()> {
    for (name, rate) in [
        ("throttle_rate", faults.throttle_rate),
        ("error_rate", faults.error_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(Error::invalid_argument(format!(
                "sim::set_faults: `{name}` must be between 0 and 1, not {rate}"
            )));
        }
    }
    set_meta(
        w.tx,
        "fault_throttle_rate",
        &faults.throttle_rate.to_string(),
    )?;
    set_meta(w.tx, "fault_error_rate", &faults.error_rate.to_string())?;
    set_meta(w.tx, "fault_seed", &faults.seed.to_string())?;
    set_meta(w.tx, "fault_draws", "0")
}

fn number<T: std::str::FromStr + Default>(w: &World, name: &str) -> Result<T> {
    Ok(meta(w.tx, name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_default())
}

/// The n-th draw in [0, 1) of the fault sequence of `seed`.
fn draw(seed: u64, n: u64) -> f64 {
    let mut h = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The jitter of the n-th client retry's backoff, in [0, 1): reproducible, spread like the
/// SDK's random full jitter.
pub(super) fn jitter(n: u64) -> f64 {
    draw(0x5eed_0fb4_c0ff, n)
}

/// Decides whether a request is refused; the counters it updates are committed either way.
pub(super) fn admit(w: &World, request: Request) -> Result<Option<Error>> {
    if request == Request::Restore {
        let window = w.now / SECOND;
        let (mut start, mut count): (i64, i64) =
            (number(w, "restore_window")?, number(w, "restore_count")?);
        if start != window {
            (start, count) = (window, 0);
        }
        count += 1;
        set_meta(w.tx, "restore_window", &start.to_string())?;
        set_meta(w.tx, "restore_count", &count.to_string())?;
        if count > RESTORE_REQUESTS_PER_SECOND {
            return Ok(Some(slow_down(true)));
        }
    }
    let throttle: f64 = number(w, "fault_throttle_rate")?;
    let error: f64 = number(w, "fault_error_rate")?;
    if throttle <= 0.0 && error <= 0.0 {
        return Ok(None);
    }
    let seed: u64 = number(w, "fault_seed")?;
    let n: u64 = number(w, "fault_draws")?;
    set_meta(w.tx, "fault_draws", &(n + 1).to_string())?;
    let x = draw(seed, n);
    if x < throttle {
        return Ok(Some(slow_down(request == Request::Restore)));
    }
    if x < throttle + error {
        return Ok(Some(
            Error::new(
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
            .status(500),
        ));
    }
    Ok(None)
}

/// Faults for many requests in one transaction (a job's tasks): the settings are read once and
/// the draw counter written back by [`Injector::save`].
pub(super) struct Injector {
    throttle: f64,
    error: f64,
    seed: u64,
    draws: u64,
}

impl Injector {
    /// `None` when faults are off.
    pub(super) fn load(w: &World) -> Result<Option<Injector>> {
        let throttle: f64 = number(w, "fault_throttle_rate")?;
        let error: f64 = number(w, "fault_error_rate")?;
        if throttle <= 0.0 && error <= 0.0 {
            return Ok(None);
        }
        Ok(Some(Injector {
            throttle,
            error,
            seed: number(w, "fault_seed")?,
            draws: number(w, "fault_draws")?,
        }))
    }

    pub(super) fn draw(&mut self) -> Option<Error> {
        let x = draw(self.seed, self.draws);
        self.draws += 1;
        if x < self.throttle {
            // A job's tasks are RestoreObject requests.
            Some(slow_down(true))
        } else if x < self.throttle + self.error {
            Some(
                Error::new(
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                )
                .status(500),
            )
        } else {
            None
        }
    }

    pub(super) fn save(&self, w: &World) -> Result<()> {
        set_meta(w.tx, "fault_draws", &self.draws.to_string())
    }
}

/// S3's 503 `SlowDown`; only a RestoreObject request is told about RestoreObject's own limit.
fn slow_down(restore: bool) -> Error {
    let hint = if restore {
        "back off and retry; RestoreObject is limited to about 1,000 requests per second per account"
    } else {
        "back off and retry: S3 asks for fewer requests per second on this prefix (poll less often or lower the concurrency)"
    };
    Error::new("SlowDown", "Please reduce your request rate.")
        .status(503)
        .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::{draw, slow_down};

    #[test]
    fn only_restore_requests_hear_of_the_restore_limit() {
        assert!(slow_down(true).hint.unwrap().contains("RestoreObject"));
        let other = slow_down(false).hint.unwrap();
        assert!(!other.contains("RestoreObject"), "{other}");
    }

    #[test]
    fn draws_are_uniform_enough_and_reproducible() {
        let hits = (0..10_000).filter(|&n| draw(7, n) < 0.25).count();
        assert!((2_300..2_700).contains(&hits), "{hits}");
        assert_eq!(draw(7, 123), draw(7, 123));
        assert_ne!(draw(7, 123), draw(8, 123));
    }
}
