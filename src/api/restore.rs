//! `restore::` — what Batch Operations does not tell: whether the data is back, and until when.
//! Thin bindings over [`crate::ops::restore`]: options in, maps out.

use std::time::Duration;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::api::{Host, Opts, object, opt_str, opt_time, time_of};
use crate::backend::{RestoreRequest, Tier};
use crate::errors::{Error, Result};
use crate::ops::restore::{
    self as ops, Counts, DirectOptions, Failure, Observer, ReadOptions, Status, Via, WaitOptions,
};

/// Progress on a terminal for the `restore::` functions, and Ctrl-C.
struct Terminal<'a> {
    host: &'a Host,
    read: Option<crate::progress::Counter>,
    what: &'static str,
    waiting: Option<crate::progress::Tally>,
}

impl<'a> Terminal<'a> {
    fn new(host: &'a Host, what: &'static str) -> Terminal<'a> {
        Terminal {
            host,
            read: None,
            what,
            waiting: None,
        }
    }
}

impl crate::ops::Progress for Terminal<'_> {
    fn set(&mut self, done: u64) {
        let (quiet, what) = (self.host.quiet, self.what);
        self.read
            .get_or_insert_with(|| crate::progress::Counter::new(quiet, what))
            .set(done);
    }

    fn interrupted(&self) -> bool {
        self.host
            .interrupted
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Observer for Terminal<'_> {
    fn waiting(&mut self, status: &Status, next_read: time::OffsetDateTime) {
        self.read = None;
        let quiet = self.host.quiet;
        let total = status.counts.total;
        let bar = self
            .waiting
            .get_or_insert_with(|| crate::progress::Tally::new(quiet, "readable", total));
        // Objects by storage class: readable of all, per class.
        let by_class: Vec<String> = status
            .by_class()
            .iter()
            .map(|(class, c)| {
                format!(
                    "{class} {}/{}",
                    crate::readiness::thousands(c.restored + c.not_archived),
                    crate::readiness::thousands(c.total)
                )
            })
            .collect();
        bar.set(
            status.counts.restored + status.counts.not_archived,
            by_class.join(" · "),
        );
        bar.clock(format!(
            "clock {} · next read {} · {}",
            crate::timefmt::rfc3339(status.at),
            crate::timefmt::rfc3339(next_read),
            status.counts.describe()
        ));
    }
}

fn counts_map(c: &Counts) -> Map {
    object([
        ("total", (c.total as i64).into()),
        ("restored", (c.restored as i64).into()),
        ("in_progress", (c.in_progress as i64).into()),
        ("not_requested", (c.not_requested as i64).into()),
        ("not_archived", (c.not_archived as i64).into()),
        ("missing", (c.missing as i64).into()),
        ("unknown", (c.unknown as i64).into()),
    ])
}

/// The status map of API.md: the counts, `earliest_expiry`, `requests`, `complete`, `at`,
/// `by_class` and, with `detail`, `objects`.
fn status_map(m: &crate::api::manifest::Manifest, status: &Status, detail: bool) -> Map {
    let mut map = counts_map(&status.counts);
    map.insert("earliest_expiry".into(), opt_time(status.earliest_expiry));
    map.insert(
        "requests".into(),
        Dynamic::from_map(object([
            ("list", (status.requests.list as i64).into()),
            ("head", (status.requests.head as i64).into()),
        ])),
    );
    map.insert("complete".into(), status.complete().into());
    map.insert("at".into(), time_of(status.at));
    let by_class: Map = status
        .by_class()
        .iter()
        .map(|(class, counts)| (class.as_str().into(), Dynamic::from_map(counts_map(counts))))
        .collect();
    map.insert("by_class".into(), by_class.into());
    let chart = format!(
        "{}{}",
        crate::readiness::readiness_chart(status, None),
        crate::readiness::expiry_calendar(status)
    );
    map.insert("chart".into(), chart.trim_end().into());
    if detail {
        let objects: Array = (0..m.len())
            .map(|i| {
                let row = m.row(i);
                Dynamic::from_map(object([
                    ("bucket", row.bucket.into()),
                    ("key", row.key.into()),
                    ("version_id", opt_str(row.version_id)),
                    ("state", status.states[i].name().into()),
                    (
                        "storage_class",
                        opt_str(status.classes[i].map(|c| c.as_str())),
                    ),
                    ("expiry", opt_time(status.expiries[i])),
                ]))
            })
            .collect();
        map.insert("objects".into(), objects.into());
    }
    map
}

fn failures(failed: &[Failure]) -> Array {
    failed
        .iter()
        .map(|f| {
            Dynamic::from_map(object([
                ("bucket", f.bucket.clone().into()),
                ("key", f.key.clone().into()),
                ("version_id", opt_str(f.version_id.clone())),
                ("code", f.error.code.clone().into()),
                ("message", f.error.message.clone().into()),
                (
                    "hint",
                    opt_str(
                        f.error
                            .hint
                            .clone()
                            .or_else(|| crate::hints::for_error(&f.error)),
                    ),
                ),
            ]))
        })
        .collect()
}

fn concurrency(o: &mut Opts) -> Result<usize> {
    match o.int("concurrency")? {
        None => Ok(64),
        Some(n) if (1..=1024).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::invalid_argument(format!(
            "`concurrency` must be 1 to 1024, not {n}"
        ))),
    }
}

fn read_options(o: &mut Opts) -> Result<ReadOptions> {
    Ok(ReadOptions {
        via: o.parse::<Via>("via")?.unwrap_or_default(),
        concurrency: concurrency(o)?,
    })
}

/// Restore days, checked by the one rule (`backend::restore_days`).
fn days_of(function: &str, days: i64) -> Result<u32> {
    crate::backend::restore_days(&format!("{function}: `days`"), days)
}

/// `#{ days, tier }` of `request_missing`.
fn restore_request(map: Map) -> Result<RestoreRequest> {
    let mut o = Opts::new("restore::wait: request_missing", map);
    let days = o
        .int("days")?
        .map(|d| days_of("restore::wait: request_missing", d))
        .transpose()?;
    let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::DEFAULT);
    o.finish()?;
    Ok(RestoreRequest { days, tier })
}

fn direct_map(r: &ops::DirectOutcome) -> Map {
    object([
        ("requested", (r.requested as i64).into()),
        ("already_restored", (r.already_restored as i64).into()),
        ("in_progress", (r.in_progress as i64).into()),
        ("failed", failures(&r.failed).into()),
        ("throttled", (r.throttled as i64).into()),
        ("requests_sent", (r.requests_sent as i64).into()),
        ("seconds", r.seconds.into()),
        ("rate", ((r.rate() * 10.0).round() / 10.0).into()),
    ])
}

#[export_module]
pub mod restore_api {
    use rhai::{Map, NativeCallContext};

    use super::*;
    use crate::api::manifest::Manifest;
    use crate::api::{RhaiResult, support};

    /// Where the restores of a manifest's objects stand: `#{ total, restored, in_progress,
    /// not_requested, not_archived, missing, unknown, earliest_expiry, requests: #{ list,
    /// head }, complete, at, by_class, chart }`. `unknown` counts objects whose state could not
    /// be read after retries; `complete` is true when every archived object is readable now;
    /// `chart` is a picture to print: readiness over time per storage class (as `restore::wait`
    /// saw the objects become readable) and the calendar of the restored copies' expiries.
    /// Options: `via` (`"auto"` default: listings where the manifest covers a key range
    /// densely, HEAD for the rest; `"list"`; `"head"`), `detail` (default `false`; `true` adds
    /// `objects`: `#{ bucket, key, version_id, state, storage_class, expiry }` per row),
    /// `concurrency` (default 64: HEAD requests in flight at once on AWS).
    ///
    /// ```rhai
    /// let s = restore::status(m);
    /// print(`${s.restored} of ${s.total} restored, ${s.in_progress} in progress`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn status(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("restore::status", options);
            let read = read_options(&mut o)?;
            let detail = o.bool("detail")?.unwrap_or(false);
            o.finish()?;
            let mut terminal = Terminal::new(host, "objects checked");
            let status = ops::status(&*host.backend, &m, read, &mut terminal)?;
            Ok(status_map(&m, &status, detail))
        })
    }

    /// Where the restores of a manifest's objects stand.
    ///
    /// ```rhai
    /// print(restore::status(m));
    /// ```
    #[rhai_fn(name = "status", return_raw)]
    pub fn status_default(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        status(ctx, m, Map::new())
    }

    /// Waits until every archived object of the manifest is readable at one moment and
    /// returns the status map (with `complete: true`). Never drops an object: objects whose
    /// state cannot be read are read again at the next poll; restored copies that expire
    /// during the wait count as not requested again. Options: `timeout` (default `"72h"`;
    /// then a `Timeout` error with the counts), `poll` (default `"15m"`: how often objects
    /// still in progress are read again; on the simulator the virtual clock jumps instead),
    /// `via`, `concurrency` (as `restore::status`), `request_missing` (`#{ days, tier }`:
    /// restore objects that are neither readable nor being restored and keep waiting; without
    /// it they fail the wait with `RestoreNotRequested`, their counts and sample keys).
    ///
    /// ```rhai
    /// let s = restore::wait(m, #{ timeout: "48h", request_missing: #{ days: 7, tier: "BULK" } });
    /// print(`${s.restored} objects readable until at least ${s.earliest_expiry}`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("restore::wait", options);
            let read = read_options(&mut o)?;
            let defaults = WaitOptions::default();
            let timeout = o.duration("timeout")?.unwrap_or(defaults.timeout);
            let poll = o.duration("poll")?.unwrap_or(defaults.poll);
            let request_missing = o.map("request_missing")?.map(restore_request).transpose()?;
            o.finish()?;
            if poll < Duration::from_secs(1) {
                return Err(
                    Error::invalid_argument("restore::wait: `poll` must be at least 1s").into(),
                );
            }
            let options = WaitOptions {
                read,
                timeout,
                poll,
                request_missing,
            };
            let mut terminal = Terminal::new(host, "objects checked");
            let status = ops::wait(&*host.backend, &m, options, &mut terminal)?;
            Ok(status_map(&m, &status, false))
        })
    }

    /// Waits until every archived object of the manifest is readable (72 hours at most).
    ///
    /// ```rhai
    /// restore::wait(m);
    /// ```
    #[rhai_fn(name = "wait", return_raw)]
    pub fn wait_default(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        wait(ctx, m, Map::new())
    }

    /// Extends restored copies: re-issues RestoreObject on every restored object of the
    /// manifest so its copy lives `days` from now (AWS recomputes the expiry: the 200 path).
    /// Objects without a restored copy are left alone and counted. Returns `#{ extended,
    /// not_restored, restarted, failed: [..], earliest_expiry }` (`restarted`: copies that
    /// expired before the request, whose restore started again). Options: `days` (required),
    /// `via`, `concurrency`.
    ///
    /// ```rhai
    /// let r = restore::extend(m, #{ days: 14 });
    /// print(`${r.extended} copies now last until at least ${r.earliest_expiry}`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn extend(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("restore::extend", options);
            let days = o.int("days")?;
            let read = read_options(&mut o)?;
            o.finish()?;
            let days = match days {
                Some(d) => days_of("restore::extend", d)?,
                None => {
                    return Err(Error::invalid_argument(
                        "restore::extend: give `days`, e.g. #{ days: 7 }",
                    )
                    .into());
                }
            };
            let mut terminal = Terminal::new(host, "objects checked");
            let r = ops::extend(&*host.backend, &m, days, read, &mut terminal)?;
            Ok(object([
                ("extended", (r.extended as i64).into()),
                ("not_restored", (r.not_restored as i64).into()),
                ("restarted", (r.restarted as i64).into()),
                ("failed", failures(&r.failed).into()),
                ("earliest_expiry", opt_time(r.earliest_expiry)),
            ]))
        })
    }

    /// Restores a manifest's objects with client-side RestoreObject calls, up to
    /// `concurrency` at once (default 64), at a rate that adapts to throttling (it falls on
    /// `SlowDown` and grows back, staying under the account's 1,000 requests per second).
    /// Options: `days` (default 1; omitted for Intelligent-Tiering archive objects), `tier`
    /// (`"STANDARD"` default, `"BULK"`, `"EXPEDITED"`: the only way to use Expedited),
    /// `concurrency`. Transient failures are retried; objects already restored or being
    /// restored are counted, not errors. Returns `#{ requested, already_restored, in_progress,
    /// failed: [#{ bucket, key, code, message, hint }], throttled, requests_sent, seconds, rate }`.
    ///
    /// ```rhai
    /// let r = restore::direct(m, #{ days: 2, tier: "EXPEDITED" });
    /// print(`${r.requested} restores started at ${r.rate} requests/s`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn direct(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("restore::direct", options);
            let days = o
                .int("days")?
                .map(|d| days_of("restore::direct", d))
                .transpose()?;
            let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::DEFAULT);
            let concurrency = concurrency(&mut o)?;
            o.finish()?;
            let mut terminal = Terminal::new(host, "restore requests");
            let options = DirectOptions {
                days,
                tier,
                concurrency,
            };
            let r = ops::direct(&*host.backend, &m, None, options, &mut terminal)?;
            Ok(direct_map(&r))
        })
    }

    /// A permanent copy of each readable object of a manifest, before restored copies expire.
    /// Options: `storage_class` (of the copies, default `"STANDARD"`), `bucket` and `prefix`
    /// (where copies go: default the object's own bucket and key, in place), `via`
    /// (`"direct"` default: CopyObject from here, up to `concurrency` at once (default 64),
    /// paced under `SlowDown` like `restore::direct`; `"job"`: a Batch Operations
    /// `S3PutObjectCopy` job per target bucket, with `role_arn`, its manifest and report under
    /// `s3thaw-copy/` in the target bucket), `as_ready: true` (copy each object as soon as it
    /// is readable, in waves, waiting while restores run; `poll`, `timeout`). Copies already
    /// made (the wanted class, same size and ETag, or for a multipart copy the source ETag it
    /// recorded in `x-amz-meta-s3thaw-source-etag`) are skipped, so a re-run copies only what
    /// is missing; archived objects not readable are counted, not errors. Objects over 5 GB
    /// are copied by multipart upload with `UploadPartCopy` (direct; parts of 8 MiB, doubled
    /// until at most 10,000, as the AWS CLI); a copy job fails them with `InvalidRequest`, as
    /// AWS's does. Returns `#{ copied, bytes, skipped, not_readable, failed: [..], job_id,
    /// waves, seconds }`.
    ///
    /// ```rhai
    /// let r = restore::copy(m, #{ storage_class: "STANDARD_IA", bucket: "kept" });
    /// print(`${r.copied} copied, ${r.skipped} already there, ${r.not_readable} not readable`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn copy(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            use crate::ops::copy as ops_copy;
            let mut o = Opts::new("restore::copy", options);
            let defaults = ops_copy::CopyOptions::default();
            let options = ops_copy::CopyOptions {
                storage_class: o
                    .parse::<crate::backend::StorageClass>("storage_class")?
                    .unwrap_or(defaults.storage_class),
                bucket: o.string("bucket")?,
                prefix: o.string("prefix")?,
                via: o
                    .parse::<ops_copy::Via>("via")?
                    .unwrap_or(ops_copy::Via::Direct),
                concurrency: concurrency(&mut o)?,
                role_arn: o.string("role_arn")?,
                timeout: o.duration("timeout")?.unwrap_or(defaults.timeout),
            };
            let as_ready = o.bool("as_ready")?.unwrap_or(false);
            let poll = o.duration("poll")?.unwrap_or(Duration::from_secs(60));
            o.finish()?;
            let mut terminal = Terminal::new(host, "objects copied");
            let (r, waves) = if as_ready {
                let w = ops_copy::copy_as_ready(&*host.backend, &m, &options, poll, &mut terminal)?;
                (w.outcome, w.waves)
            } else {
                let r = ops_copy::copy(&*host.backend, &m, None, &options, &mut terminal)?;
                (r, 1)
            };
            Ok(object([
                ("copied", (r.copied as i64).into()),
                ("bytes", (r.bytes as i64).into()),
                ("skipped", (r.skipped as i64).into()),
                ("not_readable", (r.not_readable as i64).into()),
                ("failed", failures(&r.failed).into()),
                ("job_id", opt_str(r.job_id.clone())),
                ("throttled", (r.throttled as i64).into()),
                ("waves", (waves as i64).into()),
                ("seconds", r.seconds.into()),
            ]))
        })
    }

    /// Copies a manifest's readable objects in place to STANDARD, directly.
    ///
    /// ```rhai
    /// restore::copy(m);
    /// ```
    #[rhai_fn(name = "copy", return_raw)]
    pub fn copy_default(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        copy(ctx, m, Map::new())
    }

    /// Restores a manifest's objects for one day in the Standard tier.
    ///
    /// ```rhai
    /// restore::direct(m);
    /// ```
    #[rhai_fn(name = "direct", return_raw)]
    pub fn direct_default(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        direct(ctx, m, Map::new())
    }

    /// Copies each restored object of a manifest over itself into another storage class
    /// (default `"STANDARD"`), so it stays readable after the restored copy expires. Objects
    /// not restored yet fail with `InvalidObjectState` and are reported, not copied. Returns
    /// `#{ copied, failed: [#{ bucket, key, code, message }] }`. Option: `storage_class`.
    ///
    /// ```rhai
    /// let r = restore::copy_in_place(m, #{ storage_class: "STANDARD_IA" });
    /// print(`${r.copied} objects are now permanent`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn copy_in_place(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("restore::copy_in_place", options);
            let class = o
                .parse::<crate::backend::StorageClass>("storage_class")?
                .unwrap_or(crate::backend::StorageClass::Standard);
            o.finish()?;
            let mut copied = 0i64;
            let mut failed = rhai::Array::new();
            let mut progress = crate::progress::Counter::new(host.quiet, "objects copied");
            for row in m.iter() {
                match host.backend.copy_object(
                    (row.bucket, row.key, row.version_id),
                    (row.bucket, row.key),
                    Some(class),
                ) {
                    Ok(_) => copied += 1,
                    Err(e) => failed.push(rhai::Dynamic::from_map(crate::api::object([
                        ("bucket", row.bucket.into()),
                        ("key", row.key.into()),
                        ("code", e.code.into()),
                        ("message", e.message.into()),
                    ]))),
                }
                progress.set((copied as usize + failed.len()) as u64);
            }
            Ok(crate::api::object([
                ("copied", copied.into()),
                ("failed", failed.into()),
            ]))
        })
    }
}
