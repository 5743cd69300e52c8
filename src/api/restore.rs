//! `restore::` — what Batch Operations does not tell: whether the data is back. Checks every
//! object of a manifest, waits until the restores complete, and restores directly (the only way
//! to use Expedited) with bounded concurrency and a rate that adapts to throttling.

use std::time::Duration;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::api::manifest::Manifest;
use crate::api::{Host, object};
use crate::backend::{ObjectHead, ObjectRef, RestoreOutcome, RestoreRequest, StorageClass, Tier};
use crate::errors::{Error, Result};

/// Objects asked about per round trip of the backend.
const CHUNK: usize = 1_000;
/// RestoreObject's account limit, and where the adaptive rate starts.
const MAX_RATE: f64 = 1_000.0;
const START_RATE: f64 = 500.0;
const MIN_RATE: f64 = 10.0;
/// How often the direct restorer paces itself.
const TICK: Duration = Duration::from_millis(100);
/// Attempts per object for transient failures before it is reported failed.
const MAX_ATTEMPTS: u32 = 8;

/// Where one object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Restored,
    InProgress,
    NotRequested,
    NotArchived,
    Missing,
    Unknown,
}

pub fn state_of(head: &Result<ObjectHead>) -> State {
    let h = match head {
        Ok(h) => h,
        Err(e)
            if matches!(
                e.code.as_str(),
                "NoSuchKey" | "NoSuchVersion" | "NoSuchBucket" | "NotFound"
            ) =>
        {
            return State::Missing;
        }
        Err(_) => return State::Unknown,
    };
    let archived = h.storage_class.is_archive() || h.archive_status.is_some();
    match (&h.restore, archived) {
        (Some(r), _) if r.ongoing => State::InProgress,
        (Some(_), _) => State::Restored,
        (None, true) => State::NotRequested,
        (None, false) => State::NotArchived,
    }
}

fn object_ref(m: &Manifest, i: usize) -> ObjectRef {
    let row = m.row(i);
    ObjectRef {
        bucket: row.bucket.to_string(),
        key: row.key.to_string(),
        version_id: row.version_id.map(str::to_string),
    }
}

/// Counts of states, as the status map.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    total: i64,
    restored: i64,
    in_progress: i64,
    not_requested: i64,
    not_archived: i64,
    missing: i64,
    unknown: i64,
}

impl Counts {
    fn add(&mut self, state: State) {
        self.total += 1;
        match state {
            State::Restored => self.restored += 1,
            State::InProgress => self.in_progress += 1,
            State::NotRequested => self.not_requested += 1,
            State::NotArchived => self.not_archived += 1,
            State::Missing => self.missing += 1,
            State::Unknown => self.unknown += 1,
        }
    }

    fn to_map(self) -> Map {
        object([
            ("total", self.total.into()),
            ("restored", self.restored.into()),
            ("in_progress", self.in_progress.into()),
            ("not_requested", self.not_requested.into()),
            ("not_archived", self.not_archived.into()),
            ("missing", self.missing.into()),
            ("unknown", self.unknown.into()),
        ])
    }
}

/// The state of the objects at `indices` of `m`, asked in chunks.
fn states(host: &Host, m: &Manifest, indices: &[usize], concurrency: usize) -> Vec<State> {
    let mut out = Vec::with_capacity(indices.len());
    let mut progress = crate::progress::Counter::new(host.quiet, "objects checked");
    for chunk in indices.chunks(CHUNK) {
        let refs: Vec<ObjectRef> = chunk.iter().map(|&i| object_ref(m, i)).collect();
        out.extend(
            host.backend
                .head_objects(&refs, concurrency)
                .iter()
                .map(state_of),
        );
        progress.set(out.len() as u64);
    }
    out
}

fn is_transient(e: &Error) -> bool {
    matches!(
        e.code.as_str(),
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "TooManyRequests"
            | "RequestLimitExceeded"
            | "InternalError"
            | "ServiceUnavailable"
            | "GlacierExpeditedRetrievalNotAvailable"
    ) || e.status.is_some_and(|s| s == 500 || s == 503)
}

fn is_throttle(e: &Error) -> bool {
    matches!(
        e.code.as_str(),
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "TooManyRequests"
            | "RequestLimitExceeded"
    )
}

/// Client-side restores of a whole manifest, paced by AIMD: the rate grows by a step every
/// clean tick and halves when S3 throttles, so it settles just under the account's limit.
pub fn direct(
    host: &Host,
    m: &Manifest,
    days: Option<u32>,
    tier: Tier,
    concurrency: usize,
) -> Result<Map> {
    use std::collections::VecDeque;
    // Intelligent-Tiering archive objects take no days; others need them. Use the listing's
    // classes when the manifest has them, else ask.
    let all: Vec<usize> = (0..m.len()).collect();
    let classes: Vec<Option<StorageClass>> = match (0..m.len())
        .map(|i| m.listed(i))
        .collect::<Option<Vec<_>>>()
    {
        Some(listed) => listed.iter().map(|l| Some(l.storage_class)).collect(),
        None => {
            let mut classes = Vec::with_capacity(m.len());
            for chunk in all.chunks(CHUNK) {
                let refs: Vec<ObjectRef> = chunk.iter().map(|&i| object_ref(m, i)).collect();
                classes.extend(
                    host.backend
                        .head_objects(&refs, concurrency)
                        .into_iter()
                        .map(|h| h.ok().map(|h| h.storage_class)),
                );
            }
            classes
        }
    };
    let request_for = |i: usize| RestoreRequest {
        days: if classes[i] == Some(StorageClass::IntelligentTiering) {
            None
        } else {
            Some(days.unwrap_or(1))
        },
        tier,
    };
    let mut queue: VecDeque<usize> = all.into_iter().collect();
    let mut attempts = vec![0u32; m.len()];
    let (mut requested, mut already, mut in_progress, mut throttled, mut sent) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    let mut failed = Array::new();
    let mut rate = START_RATE;
    let started = host.backend.now()?;
    let mut progress = crate::progress::Counter::new(host.quiet, "restore requests");
    while !queue.is_empty() {
        if host.interrupted.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::new(
                "Interrupted",
                "restore::direct stopped by Ctrl-C; objects requested so far stay requested",
            ));
        }
        // Pacing runs on the backend's clock: real time on AWS, virtual time on the simulator.
        let tick_started = host.backend.now()?;
        let batch = ((rate * TICK.as_secs_f64()).floor() as usize)
            .max(1)
            .min(queue.len());
        let indices: Vec<usize> = queue.drain(..batch).collect();
        let requests: Vec<(ObjectRef, RestoreRequest)> = indices
            .iter()
            .map(|&i| (object_ref(m, i), request_for(i)))
            .collect();
        let answers = host.backend.restore_objects(&requests, concurrency);
        sent += indices.len() as i64;
        let mut throttled_in_tick = 0usize;
        for (&i, answer) in indices.iter().zip(answers) {
            match answer {
                Ok(RestoreOutcome::Accepted) => requested += 1,
                Ok(RestoreOutcome::AlreadyRestored) => already += 1,
                Err(e) if e.code == "RestoreAlreadyInProgress" => in_progress += 1,
                Err(e) if is_transient(&e) && attempts[i] + 1 < MAX_ATTEMPTS => {
                    attempts[i] += 1;
                    if is_throttle(&e) {
                        throttled += 1;
                        throttled_in_tick += 1;
                    }
                    queue.push_back(i);
                }
                Err(e) => {
                    let row = m.row(i);
                    failed.push(Dynamic::from_map(object([
                        ("bucket", row.bucket.into()),
                        ("key", row.key.into()),
                        ("version_id", crate::api::opt_str(row.version_id)),
                        ("code", e.code.clone().into()),
                        ("message", e.message.clone().into()),
                        (
                            "hint",
                            crate::api::opt_str(
                                e.hint.clone().or_else(|| crate::hints::for_error(&e)),
                            ),
                        ),
                    ])));
                }
            }
        }
        // Additive increase every tick, multiplicative decrease by half the share of requests
        // throttled: a wall of throttling halves the rate, a sprinkle trims it, and the rate
        // settles where the throttled share balances the increase (just under a hard limit).
        let share = throttled_in_tick as f64 / indices.len() as f64;
        rate = (rate * (1.0 - share.min(1.0) / 2.0) + 50.0).clamp(MIN_RATE, MAX_RATE);
        progress.set((requested + already + in_progress + failed.len() as i64) as u64);
        if !queue.is_empty() {
            // Pace to the rate: wait out the rest of the tick (virtual time on the simulator).
            let spent = (host.backend.now()? - tick_started).unsigned_abs();
            host.backend
                .sleep(TICK.saturating_sub(spent).max(Duration::from_millis(1)))?;
        }
    }
    let elapsed = (host.backend.now()? - started).as_seconds_f64().max(0.001);
    Ok(object([
        ("requested", requested.into()),
        ("already_restored", already.into()),
        ("in_progress", in_progress.into()),
        ("failed", failed.into()),
        ("throttled", throttled.into()),
        ("requests_sent", sent.into()),
        ("seconds", elapsed.into()),
        ("rate", (sent as f64 / elapsed).into()),
    ]))
}

#[export_module]
pub mod restore_api {
    use std::time::Duration;

    use rhai::{Map, NativeCallContext};

    use super::{Counts, State, states};
    use crate::api::located;
    use crate::api::manifest::Manifest;
    use crate::api::{Opts, RhaiResult, host};
    use crate::backend::Tier;
    use crate::errors::Error;

    fn concurrency(o: &mut Opts) -> Result<usize, Error> {
        match o.int("concurrency")? {
            None => Ok(64),
            Some(n) if (1..=1024).contains(&n) => Ok(n as usize),
            Some(n) => Err(Error::invalid_argument(format!(
                "`concurrency` must be 1 to 1024, not {n}"
            ))),
        }
    }

    /// Where the restores of a manifest's objects stand, one HEAD per object: `#{ total,
    /// restored, in_progress, not_requested, not_archived, missing, unknown }`. Options:
    /// `concurrency` (default 64: HEAD requests in flight at once on AWS).
    ///
    /// ```rhai
    /// let s = restore::status(m);
    /// print(`${s.restored} of ${s.total} restored, ${s.in_progress} in progress`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn status(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let mut o = Opts::new("restore::status", options);
                let concurrency = concurrency(&mut o)?;
                o.finish()?;
                let host = host(&ctx)?;
                let all: Vec<usize> = (0..m.len()).collect();
                let mut counts = Counts::default();
                for state in states(&host, &m, &all, concurrency) {
                    counts.add(state);
                }
                Ok(counts.to_map())
            })(),
        )
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

    /// Waits until every archived object of the manifest is restored and returns the status
    /// map. Options: `timeout` (default `"72h"`; then a `Timeout` error), `poll` (default
    /// `"15m"`: objects still in progress are asked again this often; on the simulator the
    /// virtual clock jumps instead), `concurrency` (default 64). Archived objects with no
    /// restore requested fail it at once (`RestoreNotRequested`): they would never come back.
    ///
    /// ```rhai
    /// let s = restore::wait(m, #{ timeout: "12h" });
    /// print(`${s.restored} objects readable`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait(ctx: NativeCallContext, m: Manifest, options: Map) -> RhaiResult<Map> {
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let mut o = Opts::new("restore::wait", options);
                let timeout = o
                    .duration("timeout")?
                    .unwrap_or(Duration::from_secs(72 * 3600));
                let poll = o.duration("poll")?.unwrap_or(Duration::from_secs(15 * 60));
                let concurrency = concurrency(&mut o)?;
                o.finish()?;
                let host = host(&ctx)?;
                let deadline = host.backend.now()? + timeout;
                let all: Vec<usize> = (0..m.len()).collect();
                let mut counts = Counts::default();
                let mut pending = Vec::new();
                for (i, state) in all.iter().zip(states(&host, &m, &all, concurrency)) {
                    if state == State::InProgress {
                        pending.push(*i);
                    } else {
                        counts.add(state);
                    }
                }
                if counts.not_requested > 0 {
                    return Err(Error::new(
                    "RestoreNotRequested",
                    format!("{} archived objects of the manifest have no restore requested; waiting would never end", counts.not_requested),
                )
                .hint("start their restores first: restore::direct(m, #{ days: 1 }) or a batch job")
                .into());
                }
                let bar =
                    crate::progress::Tally::new(host.quiet, "objects restored", m.len() as u64);
                while !pending.is_empty() {
                    bar.set(
                        (m.len() - pending.len()) as u64,
                        format!("{} in progress", pending.len()),
                    );
                    if host.interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(
                            Error::new("Interrupted", "restore::wait stopped by Ctrl-C").into()
                        );
                    }
                    let now = host.backend.now()?;
                    if now >= deadline {
                        return Err(Error::new(
                            "Timeout",
                            format!(
                                "{} objects are still being restored after {}s",
                                pending.len(),
                                timeout.as_secs()
                            ),
                        )
                        .into());
                    }
                    let left = (deadline - now).unsigned_abs();
                    host.backend.sleep(poll.min(left))?;
                    let still: Vec<State> = states(&host, &m, &pending, concurrency);
                    let mut next = Vec::new();
                    for (i, state) in pending.iter().zip(still) {
                        if state == State::InProgress {
                            next.push(*i);
                        } else {
                            counts.add(state);
                        }
                    }
                    pending = next;
                }
                Ok(counts.to_map())
            })(),
        )
    }

    /// Waits until every archived object of the manifest is restored (72 hours at most).
    ///
    /// ```rhai
    /// restore::wait(m);
    /// ```
    #[rhai_fn(name = "wait", return_raw)]
    pub fn wait_default(ctx: NativeCallContext, m: Manifest) -> RhaiResult<Map> {
        wait(ctx, m, Map::new())
    }

    /// Restores a manifest's objects with client-side RestoreObject calls, up to
    /// `concurrency` at once (default 64), at a rate that adapts to throttling (it halves on
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
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let mut o = Opts::new("restore::direct", options);
                let days = match o.int("days")? {
                    None => None,
                    Some(d) if d >= 1 => Some(d as u32),
                    Some(d) => {
                        return Err(Error::invalid_argument(format!(
                            "restore::direct: `days` must be 1 or more, not {d}"
                        ))
                        .into());
                    }
                };
                let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::Standard);
                let concurrency = concurrency(&mut o)?;
                o.finish()?;
                let host = host(&ctx)?;
                Ok(super::direct(&host, &m, days, tier, concurrency)?)
            })(),
        )
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
        let pos = ctx.call_position();
        located(
            pos,
            (move || -> RhaiResult<Map> {
                let mut o = Opts::new("restore::copy_in_place", options);
                let class = o
                    .parse::<crate::backend::StorageClass>("storage_class")?
                    .unwrap_or(crate::backend::StorageClass::Standard);
                o.finish()?;
                let host = host(&ctx)?;
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
            })(),
        )
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
}
