//! Pacing of client-side request loops (`restore::direct`, `restore::copy`): a slow start (the
//! rate doubles every tick until the first throttle, reaching the ceiling within about half a
//! second), then AIMD: the rate grows by a step every clean tick and falls with the share of
//! throttled answers, so it settles just under the account's limit. Ticks run on the backend's
//! pacing clock (`Backend::pace_now`/`pace`): real time on AWS and through `serve`, whose shared
//! clock pacing must not move; virtual time on the in-process simulator.

use std::time::Duration;

use time::OffsetDateTime;

use crate::backend::Backend;
use crate::errors::Result;

/// How often a paced loop sends a batch.
const TICK: Duration = Duration::from_millis(100);
/// The additive increase per tick, in requests per second.
const STEP: f64 = 50.0;

/// An adaptive request rate between `min` and `max` per second.
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    rate: f64,
    min: f64,
    max: f64,
    /// Doubling until the first throttle.
    slow_start: bool,
}

impl Pacer {
    pub fn new(start: f64, min: f64, max: f64) -> Pacer {
        Pacer {
            rate: start.clamp(min, max),
            min,
            max,
            slow_start: true,
        }
    }

    /// Requests per second now.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// How many of `queued` requests to send this tick (at least one).
    pub fn batch(&self, queued: usize) -> usize {
        ((self.rate * TICK.as_secs_f64()).floor() as usize)
            .max(1)
            .min(queued)
    }

    /// Learns from a tick's answers: additive increase every tick, multiplicative decrease by
    /// half the share of requests throttled (a wall of throttling halves the rate, a sprinkle
    /// trims it, and the rate settles where the throttled share balances the increase).
    /// Before the first throttle the rate doubles every tick (slow start).
    pub fn learn(&mut self, sent: usize, throttled: usize) {
        if throttled > 0 {
            self.slow_start = false;
        }
        let share = throttled as f64 / sent.max(1) as f64;
        self.rate = if self.slow_start {
            self.rate * 2.0
        } else {
            self.rate * (1.0 - share.min(1.0) / 2.0) + STEP
        }
        .clamp(self.min, self.max);
    }

    /// Waits out the rest of the tick that began at `tick_started` (on the pacing clock).
    pub fn wait(&self, backend: &dyn Backend, tick_started: OffsetDateTime) -> Result<()> {
        let spent = (backend.pace_now()? - tick_started).unsigned_abs();
        backend.pace(TICK.saturating_sub(spent).max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_halves_the_rate_and_clean_ticks_grow_it() {
        let mut p = Pacer::new(500.0, 10.0, 1_000.0);
        assert_eq!(p.batch(10_000), 50);
        p.learn(50, 50);
        assert_eq!(p.rate(), 300.0);
        p.learn(30, 0);
        assert_eq!(p.rate(), 350.0);
        for _ in 0..100 {
            p.learn(10, 0);
        }
        assert_eq!(p.rate(), 1_000.0);
        assert_eq!(p.batch(3), 3);
        let mut low = Pacer::new(10.0, 10.0, 1_000.0);
        low.learn(1, 1);
        assert_eq!(low.rate(), 55.0_f64.min(10.0 * 0.5 + 50.0));
    }
}
