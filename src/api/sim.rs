//! `sim::` — controls of the simulator: its clock, its state, synthetic objects.
//! They work wherever the backend offers simulator controls (the simulator, or the aws backend
//! pointed at an `s3thaw serve`); against AWS every function fails with `NotSupported`.

use rhai::plugin::*;

use crate::api::Host;
use crate::backend::SimControls;
use crate::errors::{Error, Result};

fn simulator(host: &Host) -> Result<&dyn SimControls> {
    host.backend.sim_controls().ok_or_else(|| {
        Error::not_supported(
            "sim:: functions need a simulator: --backend sim, or --backend aws with --endpoint-url pointing at an s3thaw serve",
        )
    })
}

/// The simulator's controls (`NotSupported` against AWS): its virtual clock, its state,
/// synthetic objects for rehearsals at scale.
#[export_module]
pub mod sim_api {
    use rhai::{Dynamic, Map, NativeCallContext};

    use super::simulator;
    use crate::api::{Opts, RhaiResult, duration_of, support, time_of};
    use crate::backend::{ArchiveAccessTier, Faults, StorageClass};
    use crate::errors::Error;

    /// Moves the virtual clock forward (restores finish, restored copies expire, jobs advance)
    /// and returns the new time.
    ///
    /// ```rhai
    /// print(sim::advance("5h"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn advance(ctx: NativeCallContext, duration: Dynamic) -> RhaiResult<String> {
        support::call(&ctx, |host| {
            let duration = duration_of(&duration)?;
            Ok(time_of(simulator(host)?.advance(duration)?).to_string())
        })
    }

    /// Sets the virtual clock. Options: `time` (an RFC 3339 timestamp to jump to; never
    /// backwards), `frozen` (default `false`: time passes with the wall clock; `true`: it only
    /// moves on `sleep`, waits and `sim::advance`, so runs repeat exactly). Returns the time.
    ///
    /// ```rhai
    /// sim::set_clock(#{ time: "2026-12-31T23:00:00Z", frozen: true });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn set_clock(ctx: NativeCallContext, options: Map) -> RhaiResult<String> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("sim::set_clock", options);
            let at = o
                .string("time")?
                .map(|t| crate::timefmt::parse_rfc3339(&t))
                .transpose()?;
            let frozen = o.bool("frozen")?.unwrap_or(false);
            o.finish()?;
            Ok(time_of(simulator(host)?.set_clock(at, frozen)?).to_string())
        })
    }

    /// Empties the simulated world: buckets, objects, jobs, roles and policies.
    ///
    /// ```rhai
    /// sim::reset();
    /// ```
    #[rhai_fn(return_raw)]
    pub fn reset(ctx: NativeCallContext) -> RhaiResult<()> {
        support::call(&ctx, |host| Ok(simulator(host)?.reset()?))
    }

    /// Sets the seed restore durations are drawn with (the same seed, the same durations).
    ///
    /// ```rhai
    /// sim::set_seed(7);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn set_seed(ctx: NativeCallContext, seed: i64) -> RhaiResult<()> {
        support::call(&ctx, |host| Ok(simulator(host)?.set_seed(seed as u64)?))
    }

    /// Creates `count` synthetic objects named `prefix` + zero-padded index, for rehearsals at
    /// scale. Options: `prefix` (default `"obj-"`), `storage_class` (default `"GLACIER"`),
    /// `size` in bytes (default 1024). Returns the count.
    ///
    /// ```rhai
    /// sim::seed_objects("big-archive", 100000, #{ prefix: "scans/", storage_class: "DEEP_ARCHIVE" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn seed_objects(
        ctx: NativeCallContext,
        bucket: &str,
        count: i64,
        options: Map,
    ) -> RhaiResult<i64> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("sim::seed_objects", options);
            let prefix = o.string("prefix")?.unwrap_or_else(|| "obj-".into());
            let class = o
                .parse::<StorageClass>("storage_class")?
                .unwrap_or(StorageClass::Glacier);
            let size = o.int("size")?.unwrap_or(1024);
            o.finish()?;
            let count = u64::try_from(count).map_err(|_| {
                Error::invalid_argument("sim::seed_objects: `count` cannot be negative")
            })?;
            let size = u64::try_from(size).map_err(|_| {
                Error::invalid_argument("sim::seed_objects: `size` cannot be negative")
            })?;
            Ok(simulator(host)?.seed_objects(bucket, count, &prefix, class, size)? as i64)
        })
    }

    /// Makes the simulated S3 refuse some requests, to test retries and rate adaptation:
    /// `throttle_rate` of them with 503 `SlowDown`, `error_rate` with 500 `InternalError`
    /// (fractions from 0 to 1; default 0), drawn from `seed` (default 0) so runs repeat.
    /// RestoreObject is always limited to 1,000 requests per second of virtual time.
    ///
    /// ```rhai
    /// sim::set_faults(#{ throttle_rate: 0.2, error_rate: 0.01, seed: 7 });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn set_faults(ctx: NativeCallContext, options: Map) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("sim::set_faults", options);
            let rate = |o: &mut Opts, key: &'static str| -> Result<f64, Error> {
                match o.take(key) {
                    None => Ok(0.0),
                    Some(v) => v
                        .as_float()
                        .or_else(|_| v.as_int().map(|i| i as f64))
                        .map_err(|_| {
                            Error::invalid_argument(format!(
                                "sim::set_faults: `{key}` must be a number from 0 to 1"
                            ))
                        }),
                }
            };
            let throttle_rate = rate(&mut o, "throttle_rate")?;
            let error_rate = rate(&mut o, "error_rate")?;
            let seed = o.int("seed")?.unwrap_or(0) as u64;
            o.finish()?;
            Ok(simulator(host)?.set_faults(Faults {
                throttle_rate,
                error_rate,
                seed,
            })?)
        })
    }

    /// Limits how many jobs run at once (0: no limit, the default), so priorities can be
    /// rehearsed: a higher-priority job makes a running lower one `Pausing` then `Paused`, and
    /// the paused one resumes when capacity frees up.
    ///
    /// ```rhai
    /// sim::set_capacity(1);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn set_capacity(ctx: NativeCallContext, jobs: i64) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let jobs = u32::try_from(jobs).map_err(|_| {
                Error::invalid_argument("sim::set_capacity: the job count cannot be negative")
            })?;
            Ok(simulator(host)?.set_capacity(jobs)?)
        })
    }

    /// Moves an INTELLIGENT_TIERING object into an archive access tier (`"ARCHIVE_ACCESS"`,
    /// `"DEEP_ARCHIVE_ACCESS"`) or back to the frequent tier (`()`), as months without access
    /// would.
    ///
    /// ```rhai
    /// sim::set_access_tier("my-archive", "cold.bin", "DEEP_ARCHIVE_ACCESS");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn set_access_tier(
        ctx: NativeCallContext,
        bucket: &str,
        key: &str,
        tier: Dynamic,
    ) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let tier = if tier.is_unit() {
                None
            } else {
                Some(tier.to_string().parse::<ArchiveAccessTier>()?)
            };
            Ok(simulator(host)?.set_access_tier(bucket, key, tier)?)
        })
    }

    /// Creates `count` synthetic GLACIER objects of 1 KiB named `obj-` + index.
    ///
    /// ```rhai
    /// sim::seed_objects("big-archive", 1000);
    /// ```
    #[rhai_fn(name = "seed_objects", return_raw)]
    pub fn seed_objects_default(
        ctx: NativeCallContext,
        bucket: &str,
        count: i64,
    ) -> RhaiResult<i64> {
        seed_objects(ctx, bucket, count, Map::new())
    }
}
