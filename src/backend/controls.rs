//! The simulator's controls as a capability: what the `sim::` script functions, `sleep`, the
//! waits and the REPL may ask of a simulated world (move its clock, empty it, inject faults,
//! limit its job capacity, seed objects). AWS has nothing like it.
//!
//! A backend offers them through [`Backend::sim_controls`](super::Backend::sim_controls): the
//! embedded simulator always, the aws backend when its endpoint is an `s3thaw serve` (it then
//! forwards each control to serve's admin endpoint). Callers ask for the capability instead of
//! naming a backend.

use std::time::Duration;

use time::OffsetDateTime;

use super::{ArchiveAccessTier, StorageClass};
use crate::errors::Result;

/// The fault settings of a simulated world: the fractions of S3 requests refused with 503
/// `SlowDown` (`throttle_rate`) and 500 `InternalError` (`error_rate`), drawn from `seed`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    pub throttle_rate: f64,
    pub error_rate: f64,
    pub seed: u64,
}

/// The controls of a simulated world. Each method is one control; all of them block.
pub trait SimControls {
    /// Moves the virtual clock forward (restores finish, copies expire, jobs advance) and
    /// returns the new time.
    fn advance(&self, by: Duration) -> Result<OffsetDateTime>;
    /// Sets the virtual time (never backwards) and whether it stands still between waits;
    /// returns the time.
    fn set_clock(&self, at: Option<OffsetDateTime>, frozen: bool) -> Result<OffsetDateTime>;
    /// The next time something changes on its own (a job step, a restore finishing or
    /// expiring), if anything is scheduled.
    fn next_event(&self) -> Result<Option<OffsetDateTime>>;
    /// Empties the world, keeping its account, region and seed.
    fn reset(&self) -> Result<()>;
    /// Sets the seed restore durations are drawn with.
    fn set_seed(&self, seed: u64) -> Result<()>;
    /// Bulk-creates `count` synthetic objects named `prefix` + zero-padded index; returns the
    /// count.
    fn seed_objects(
        &self,
        bucket: &str,
        count: u64,
        prefix: &str,
        storage_class: StorageClass,
        size: u64,
    ) -> Result<u64>;
    /// Makes some S3 requests fail (all rates 0 turns faults off).
    fn set_faults(&self, faults: Faults) -> Result<()>;
    /// How many jobs may be Active at once (0: no limit).
    fn set_capacity(&self, jobs: u32) -> Result<()>;
    /// Moves an Intelligent-Tiering object into an archive access tier (`None`: back to the
    /// frequent tier), as months without access would.
    fn set_access_tier(
        &self,
        bucket: &str,
        key: &str,
        tier: Option<ArchiveAccessTier>,
    ) -> Result<()>;
}
