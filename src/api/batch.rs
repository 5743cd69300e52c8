//! `batch::` — S3 Batch Operations restore jobs: create, confirm, watch, cancel, tag.

use std::collections::BTreeMap;

use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::api::{Host, Opts, map_of_strings, object, opt_str, opt_time, string_map, time_of};
use crate::backend::*;
use crate::errors::{Error, Result};

/// The job map scripts see.
pub fn job_map(job: &Job, tags: &BTreeMap<String, String>) -> Map {
    let reasons: Array = job
        .failure_reasons
        .iter()
        .map(|r| {
            Dynamic::from_map(object([
                ("code", r.code.clone().into()),
                ("reason", r.reason.clone().into()),
            ]))
        })
        .collect();
    object([
        ("id", job.id.clone().into()),
        ("status", job.status.as_str().into()),
        ("priority", (job.priority as i64).into()),
        ("description", opt_str(job.description.clone())),
        ("role_arn", job.role_arn.clone().into()),
        ("creation_time", time_of(job.creation_time)),
        ("termination_date", opt_time(job.termination_date)),
        ("progress", progress_map(job.progress).into()),
        ("failure_reasons", reasons.into()),
        ("operation", operation_map(&job.operation).into()),
        ("manifest", location_map(&job.manifest).into()),
        (
            "report",
            job.report
                .as_ref()
                .map_or(false.into(), |r| report_map(r).into()),
        ),
        ("confirmation_required", job.confirmation_required.into()),
        (
            "status_update_reason",
            opt_str(job.status_update_reason.clone()),
        ),
        ("tags", map_of_strings(tags).into()),
    ])
}

fn progress_map(p: JobProgress) -> Map {
    object([
        ("total", (p.total as i64).into()),
        ("succeeded", (p.succeeded as i64).into()),
        ("failed", (p.failed as i64).into()),
    ])
}

pub fn summary_map(job: &JobSummary) -> Map {
    object([
        ("id", job.id.clone().into()),
        ("status", job.status.as_str().into()),
        ("priority", (job.priority as i64).into()),
        ("description", opt_str(job.description.clone())),
        ("operation", job.operation.into()),
        ("creation_time", time_of(job.creation_time)),
        ("termination_date", opt_time(job.termination_date)),
        ("progress", progress_map(job.progress).into()),
    ])
}

pub fn operation_map(op: &JobOperation) -> Map {
    let JobOperation::InitiateRestore { days, tier } = *op;
    object([
        ("operation", op.name().into()),
        ("days", days.map_or(Dynamic::UNIT, |d| (d as i64).into())),
        ("tier", tier.as_str().into()),
    ])
}

pub fn location_map(m: &ManifestLocation) -> Map {
    let fields: Array = m.fields.iter().map(|f| f.as_str().into()).collect();
    object([
        ("bucket", m.bucket.clone().into()),
        ("key", m.key.clone().into()),
        ("etag", m.etag.clone().into()),
        ("version_id", opt_str(m.version_id.clone())),
        ("arn", m.arn().into()),
        ("format", m.format.as_str().into()),
        ("fields", fields.into()),
    ])
}

fn report_map(r: &ReportSpec) -> Map {
    object([
        ("bucket", r.bucket.clone().into()),
        ("prefix", opt_str(r.prefix.clone())),
        ("scope", r.scope.as_str().into()),
    ])
}

/// Which of CreateJob's rules a spec map is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// As CreateJob takes it: an EXPEDITED tier or days under 1 are refused.
    CreateJob,
    /// As written, for `batch::preflight` to report what CreateJob would refuse.
    AsWritten,
}

/// Reads an operation map made by `batch::restore_operation`.
fn parse_operation(map: Map, rules: Rules) -> Result<JobOperation> {
    let mut o = Opts::new("batch::create_job: operation", map);
    let name = o
        .string("operation")?
        .unwrap_or_else(|| "S3InitiateRestoreObject".into());
    if name != "S3InitiateRestoreObject" {
        return Err(Error::not_supported(format!(
            "operation `{name}`: s3thaw runs S3InitiateRestoreObject jobs"
        )));
    }
    let days = o.int("days")?;
    let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::DEFAULT);
    o.finish()?;
    match rules {
        Rules::CreateJob => JobOperation::restore(days, tier),
        Rules::AsWritten => {
            let days = days
                .map(|d| {
                    u32::try_from(d).map_err(|_| {
                        Error::invalid_request(format!(
                            "ExpirationInDays must be 1 or more, not {d}"
                        ))
                    })
                })
                .transpose()?;
            Ok(JobOperation::InitiateRestore { days, tier })
        }
    }
}

/// Reads a manifest location map made by `manifest::upload`.
fn parse_location(map: Map) -> Result<ManifestLocation> {
    let mut o = Opts::new("batch::create_job: manifest", map);
    let arn = o.string("arn")?;
    let mut bucket = o.string("bucket")?;
    let mut key = o.string("key")?;
    if let Some(arn) = &arn {
        let Some((b, Some(k))) = parse_s3_arn(arn) else {
            return Err(Error::invalid_argument(format!(
                "manifest arn `{arn}` is not an S3 object ARN"
            )));
        };
        bucket.get_or_insert_with(|| b.to_string());
        key.get_or_insert_with(|| k.to_string());
    }
    let etag = o.string("etag")?;
    let version_id = o.string("version_id")?;
    let format = o
        .parse::<ManifestFormat>("format")?
        .unwrap_or(ManifestFormat::BatchOperationsCsv);
    let fields = o.parse_list::<ManifestField>("fields")?;
    o.finish()?;
    let missing = |what: &str| {
        Error::invalid_argument(format!(
            "batch::create_job: the manifest location needs `{what}` (use the map manifest::upload returns)"
        ))
    };
    let fields = fields.unwrap_or_else(|| vec![ManifestField::Bucket, ManifestField::Key]);
    Ok(ManifestLocation {
        bucket: bucket.ok_or_else(|| missing("bucket"))?,
        key: key.ok_or_else(|| missing("key"))?,
        etag: etag.ok_or_else(|| missing("etag"))?,
        version_id,
        format,
        fields,
    })
}

fn parse_report(value: Dynamic) -> Result<Option<ReportSpec>> {
    if value.as_bool() == Ok(false) {
        return Ok(None);
    }
    let Some(map) = value.try_cast::<Map>() else {
        return Err(Error::invalid_argument(
            "batch::create_job: `report` is a map #{ bucket, prefix?, scope? } or false",
        ));
    };
    let mut o = Opts::new("batch::create_job: report", map);
    let bucket = o
        .string("bucket")?
        .ok_or_else(|| Error::invalid_argument("batch::create_job: the report needs a `bucket`"))?;
    let bucket = bucket_of(&bucket).to_string();
    let prefix = o.string("prefix")?;
    let scope = o
        .parse::<ReportScope>("scope")?
        .unwrap_or(ReportScope::AllTasks);
    o.finish()?;
    Ok(Some(ReportSpec {
        bucket,
        prefix,
        scope,
    }))
}

/// Reads a job spec map as CreateJob takes it.
pub fn parse_spec(spec: Map) -> Result<JobSpec> {
    read_spec(spec, Rules::CreateJob)
}

/// Reads a job spec map as written, an operation CreateJob would refuse included: what
/// `batch::preflight` checks.
pub fn parse_spec_as_written(spec: Map) -> Result<JobSpec> {
    read_spec(spec, Rules::AsWritten)
}

fn read_spec(spec: Map, rules: Rules) -> Result<JobSpec> {
    let mut o = Opts::new("batch::create_job", spec);
    let manifest = o.map("manifest")?.ok_or_else(|| {
        Error::invalid_argument(
            "batch::create_job: `manifest` is required (a location from manifest::upload)",
        )
    })?;
    let operation = o.map("operation")?.ok_or_else(|| {
        Error::invalid_argument(
            "batch::create_job: `operation` is required (batch::restore_operation(..))",
        )
    })?;
    let role_arn = o
        .string("role_arn")?
        .ok_or_else(|| Error::invalid_argument("batch::create_job: `role_arn` is required"))?;
    let priority = o.int("priority")?.unwrap_or(10);
    let report = o.take("report").map(parse_report).transpose()?.flatten();
    let description = o.string("description")?;
    let confirmation_required = o.bool("confirmation_required")?.unwrap_or(true);
    let tags = o
        .map("tags")?
        .map(|t| string_map("tags", t))
        .transpose()?
        .unwrap_or_default();
    let token = o.string("client_request_token")?;
    o.finish()?;
    Ok(JobSpec {
        manifest: parse_location(manifest)?,
        operation: parse_operation(operation, rules)?,
        role_arn,
        priority: i32::try_from(priority)
            .map_err(|_| Error::invalid_request(format!("Priority {priority} is out of range")))?,
        report,
        description,
        confirmation_required,
        tags,
        client_request_token: token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    })
}

/// Describes a job with its tags, as the job map.
pub fn describe_map(backend: &dyn Backend, job_id: &str) -> Result<Map> {
    let job = backend.describe_job(job_id)?;
    let tags = backend.get_job_tagging(job_id)?;
    Ok(job_map(&job, &tags))
}

/// Cancels a job (UpdateJobStatus to `Cancelled`, with a reason when given); returns its map.
fn cancel_job(host: &Host, job: &Dynamic, reason: Option<&str>) -> Result<Map> {
    let id = job_id_of(job)?;
    host.backend
        .update_job_status(&id, RequestedJobStatus::Cancelled, reason)?;
    describe_map(host.backend.as_ref(), &id)
}

/// Reads a job id given as a string or a job map.
pub fn job_id_of(value: &Dynamic) -> Result<String> {
    if value.is_string() {
        return Ok(value.to_string());
    }
    if let Some(map) = value.read_lock::<Map>()
        && let Some(id) = map.get("id").filter(|v| v.is_string())
    {
        return Ok(id.to_string());
    }
    Err(Error::invalid_argument(format!(
        "a job is named by its id (a string) or its job map, not {}",
        value.type_name()
    )))
}

/// S3 Batch Operations restore jobs: create, confirm, follow to the end, cancel, tag.
#[export_module]
pub mod batch_api {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use rhai::{Array, Dynamic, FnPtr, Map, NativeCallContext};

    use super::{cancel_job, describe_map, job_id_of, parse_spec, summary_map};
    use crate::api::{Opts, RhaiResult, string_map, support};
    use crate::backend::{JobOperation, JobStatus, RequestedJobStatus, Tier};
    use crate::errors::Error;

    /// The restore operation of a job: `S3InitiateRestoreObject`. Options: `tier`
    /// (`"STANDARD"` default or `"BULK"`; `"EXPEDITED"` is refused with `InvalidRequest`, as
    /// AWS does), `days` (how long restored copies live: required for GLACIER and DEEP_ARCHIVE
    /// objects, omitted for Intelligent-Tiering archive tiers).
    ///
    /// ```rhai
    /// let op = batch::restore_operation(#{ tier: "BULK", days: 3 });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn restore_operation(ctx: NativeCallContext, options: Map) -> RhaiResult<Map> {
        support::pure(&ctx, || {
            let mut o = Opts::new("batch::restore_operation", options);
            let days = o.int("days")?;
            let tier = o.parse::<Tier>("tier")?.unwrap_or(Tier::DEFAULT);
            o.finish()?;
            Ok(super::operation_map(&JobOperation::restore(days, tier)?))
        })
    }

    /// The default restore operation: STANDARD tier, no days (add `days` for GLACIER objects).
    ///
    /// ```rhai
    /// let op = batch::restore_operation();
    /// ```
    #[rhai_fn(name = "restore_operation", return_raw)]
    pub fn restore_operation_default(ctx: NativeCallContext) -> RhaiResult<Map> {
        restore_operation(ctx, Map::new())
    }

    /// Creates a job (CreateJob) and returns its job map. `spec`: `manifest` (from
    /// `manifest::upload`), `operation` (from `batch::restore_operation`), `role_arn`,
    /// `priority` (default 10), `report` (`#{ bucket, prefix?, scope: "AllTasks" or
    /// "FailedTasksOnly" }` or `false`, the default), `description`, `confirmation_required`
    /// (default `true`), `tags` (map), `client_request_token` (the same spec and token return
    /// the same job, so re-runs are idempotent).
    ///
    /// ```rhai
    /// let job = batch::create_job(#{
    ///     manifest: location, operation: batch::restore_operation(#{ days: 1 }),
    ///     role_arn: role.arn, priority: 10,
    ///     report: #{ bucket: "my-archive", prefix: "reports", scope: "AllTasks" },
    /// });
    /// print(job.id);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_job(ctx: NativeCallContext, spec: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let spec = parse_spec(spec)?;
            // The tags travel in CreateJob itself: no PutJobTagging afterwards.
            let id = host.backend.create_job(&spec)?;
            Ok(describe_map(host.backend.as_ref(), &id)?)
        })
    }

    /// The job map of a job (DescribeJob): `#{ id, status, priority, description, role_arn,
    /// creation_time, termination_date, progress: #{ total, succeeded, failed },
    /// failure_reasons, operation, manifest, report, status_update_reason, tags }`. A unique
    /// prefix of the id (the 8 characters `s3thaw jobs` shows) is enough.
    ///
    /// ```rhai
    /// let job = batch::describe(id);
    /// print(`${job.status}: ${job.progress.succeeded}/${job.progress.total}`);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn describe(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut id = job_id_of(&job)?;
            // Short of a whole id (36 characters): a prefix, resolved among the listed jobs.
            if id.len() < 36 && !id.is_empty() {
                id = crate::ops::jobs::resolve_id(host.backend.as_ref(), &id)?;
            }
            Ok(describe_map(host.backend.as_ref(), &id)?)
        })
    }

    /// Lists jobs, newest first, as summary maps. Option: `statuses` (array of status names).
    ///
    /// ```rhai
    /// for j in batch::list(#{ statuses: ["Active", "Suspended"] }) { print(`${j.id} ${j.status}`); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn list(ctx: NativeCallContext, options: Map) -> RhaiResult<Array> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("batch::list", options);
            let statuses = o.parse_list::<JobStatus>("statuses")?.unwrap_or_default();
            o.finish()?;
            let jobs = crate::ops::jobs::list(host.backend.as_ref(), &statuses)?;
            Ok(jobs
                .iter()
                .map(|j| Dynamic::from_map(summary_map(j)))
                .collect())
        })
    }

    /// Lists every job, newest first.
    ///
    /// ```rhai
    /// print(batch::list().len());
    /// ```
    #[rhai_fn(name = "list", return_raw)]
    pub fn list_default(ctx: NativeCallContext) -> RhaiResult<Array> {
        list(ctx, Map::new())
    }

    /// Confirms a job waiting in `Suspended` so it runs (UpdateJobStatus to `Ready`).
    ///
    /// ```rhai
    /// batch::confirm(job.id);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn confirm(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let id = job_id_of(&job)?;
            host.backend
                .update_job_status(&id, RequestedJobStatus::Ready, None)?;
            Ok(describe_map(host.backend.as_ref(), &id)?)
        })
    }

    /// Cancels a job with a reason (UpdateJobStatus to `Cancelled`).
    ///
    /// ```rhai
    /// batch::cancel(job.id, "wrong prefix");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn cancel(ctx: NativeCallContext, job: Dynamic, reason: &str) -> RhaiResult<Map> {
        support::call(&ctx, |host| Ok(cancel_job(host, &job, Some(reason))?))
    }

    /// Cancels a job.
    ///
    /// ```rhai
    /// batch::cancel(job.id);
    /// ```
    #[rhai_fn(name = "cancel", return_raw)]
    pub fn cancel_default(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Map> {
        support::call(&ctx, |host| Ok(cancel_job(host, &job, None)?))
    }

    /// Changes a job's priority (higher runs first).
    ///
    /// ```rhai
    /// batch::update_priority(job.id, 50);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn update_priority(ctx: NativeCallContext, job: Dynamic, priority: i64) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let id = job_id_of(&job)?;
            let priority = i32::try_from(priority).map_err(|_| {
                Error::invalid_request(format!("Priority {priority} is out of range"))
            })?;
            host.backend.update_job_priority(&id, priority)?;
            Ok(describe_map(host.backend.as_ref(), &id)?)
        })
    }

    /// Waits until a job reaches one of `statuses` (default: a terminal status: Complete,
    /// Failed, Cancelled) and returns its job map. Options: `statuses`, `timeout` (default
    /// `"7d"`; past it a `Timeout` error), `poll` (default `"30s"`; how often AWS is asked),
    /// `on_change` (a function called with the job map at each status change). On the
    /// simulator the virtual clock jumps from event to event, so waiting costs nothing.
    ///
    /// ```rhai
    /// let job = batch::wait(id, #{ on_change: |j| print(`${j.status}`) });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait(ctx: NativeCallContext, job: Dynamic, options: Map) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let mut o = Opts::new("batch::wait", options);
            let statuses = o.parse_list::<JobStatus>("statuses")?;
            let timeout = o
                .duration("timeout")?
                .unwrap_or(Duration::from_secs(7 * 86_400));
            let poll = o.duration("poll")?.unwrap_or(Duration::from_secs(30));
            let on_change = match o.take("on_change") {
                None => None,
                Some(f) => Some(f.try_cast::<FnPtr>().ok_or_else(|| {
                    Error::invalid_argument(
                        "batch::wait: `on_change` must be a function, like |job| print(job.status)",
                    )
                })?),
            };
            o.finish()?;
            let id = job_id_of(&job)?;
            let wanted = |s: JobStatus| match &statuses {
                Some(list) => list.contains(&s),
                None => s.is_terminal(),
            };
            let deadline = host.backend.now()? + timeout;
            let mut last: Option<String> = None;
            let mut bar = crate::progress::JobBar::new(host.quiet, &id);
            loop {
                let job = describe_map(host.backend.as_ref(), &id)?;
                let status = job.get("status").map(|s| s.to_string()).unwrap_or_default();
                let count = |k: &str| {
                    job.get("progress")
                        .and_then(|p| p.read_lock::<Map>()?.get(k)?.as_int().ok())
                        .map_or(0, |n| n.max(0) as u64)
                };
                let (total, succeeded, failed) =
                    (count("total"), count("succeeded"), count("failed"));
                tracing::debug!(job = %id, %status, total, succeeded, failed, "batch::wait");
                if let Some(bar) = &mut bar {
                    bar.update(&status, total, succeeded, failed, host.backend.now().ok());
                }
                if last.as_deref() != Some(status.as_str()) {
                    if let Some(f) = &on_change {
                        let _: Dynamic =
                            f.call_within_context(&ctx, (Dynamic::from_map(job.clone()),))?;
                    }
                    last = Some(status.clone());
                }
                let current: JobStatus = status.parse()?;
                if wanted(current) {
                    return Ok(job);
                }
                if current.is_terminal() {
                    return Err(Error::new(
                        "Timeout",
                        format!("job {id} ended {current} without reaching the awaited status"),
                    )
                    .job_id(&id)
                    .into());
                }
                if host.interrupted.load(Ordering::Relaxed) {
                    return Err(Error::new("Interrupted", "interrupted while waiting")
                        .job_id(&id)
                        .into());
                }
                let now = host.backend.now()?;
                if now >= deadline {
                    return Err(Error::new(
                        "Timeout",
                        format!(
                            "job {id} is still {current} after waiting {}s",
                            timeout.as_secs()
                        ),
                    )
                    .job_id(&id)
                    .into());
                }
                if let Some(sim) = host.backend.sim_controls()
                    && sim.next_event()?.is_none()
                {
                    let hint = if current == JobStatus::Suspended {
                        "confirm it with batch::confirm(id)"
                    } else {
                        "nothing will change it"
                    };
                    return Err(Error::new(
                    "Timeout",
                    format!("job {id} is {current} and nothing scheduled in the simulator will change that"),
                )
                .job_id(&id)
                .hint(hint)
                .into());
                }
                if host.backend.clock_is_virtual() {
                    host.backend.wait_step(poll, deadline)?;
                } else {
                    // Real time: wait in short steps so Ctrl-C is noticed within a moment.
                    let until = std::time::Instant::now() + poll;
                    while !host.interrupted.load(Ordering::Relaxed) {
                        let left = until.saturating_duration_since(std::time::Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        host.backend
                            .wait_step(left.min(Duration::from_millis(250)), deadline)?;
                    }
                }
            }
        })
    }

    /// Waits until a job ends (Complete, Failed or Cancelled).
    ///
    /// ```rhai
    /// let job = batch::wait(id);
    /// print(job.status);
    /// ```
    #[rhai_fn(name = "wait", return_raw)]
    pub fn wait_default(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Map> {
        wait(ctx, job, Map::new())
    }

    /// A job's tags.
    ///
    /// ```rhai
    /// print(batch::get_tags(job.id));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get_tags(ctx: NativeCallContext, job: Dynamic) -> RhaiResult<Map> {
        support::call(&ctx, |host| {
            let tags = host.backend.get_job_tagging(&job_id_of(&job)?)?;
            Ok(crate::api::map_of_strings(&tags))
        })
    }

    /// Replaces a job's tags.
    ///
    /// ```rhai
    /// batch::put_tags(job.id, #{ project: "thaw-2019", owner: "data-team" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn put_tags(ctx: NativeCallContext, job: Dynamic, tags: Map) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let tags = string_map("batch::put_tags", tags)?;
            Ok(host.backend.put_job_tagging(&job_id_of(&job)?, &tags)?)
        })
    }
}
