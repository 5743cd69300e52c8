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
        (
            "manifest",
            job.manifest
                .location()
                .map_or(Dynamic::UNIT, |l| location_map(l).into()),
        ),
        (
            "manifest_generator",
            job.manifest
                .generator()
                .map_or(Dynamic::UNIT, |g| generator_map(g).into()),
        ),
        (
            "generated_manifest",
            job.generated_manifest
                .as_ref()
                .map_or(Dynamic::UNIT, |g| generated_map(g).into()),
        ),
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
    match op {
        JobOperation::InitiateRestore { days, tier } => object([
            ("operation", op.name().into()),
            ("days", days.map_or(Dynamic::UNIT, |d| (d as i64).into())),
            ("tier", tier.as_str().into()),
        ]),
        JobOperation::PutObjectCopy(c) => copy_map(Some(&c.target_bucket), c),
    }
}

/// An `S3PutObjectCopy` operation map; `target_bucket` may be left for `restore::copy` to fill.
fn copy_map(target_bucket: Option<&str>, c: &CopyOperation) -> Map {
    object([
        ("operation", "S3PutObjectCopy".into()),
        ("target_bucket", opt_str(target_bucket.map(str::to_string))),
        ("target_prefix", opt_str(c.target_prefix.clone())),
        (
            "storage_class",
            opt_str(c.storage_class.map(|s| s.as_str().to_string())),
        ),
        (
            "metadata_directive",
            opt_str(c.metadata_directive.map(|m| m.as_str().to_string())),
        ),
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

/// A generator as scripts write it: `#{ source_bucket, prefix, suffix, substring,
/// storage_classes, created_after, created_before, min_size, max_size, output }` (unset
/// criteria are `()`; a single prefix is a string).
pub fn generator_map(g: &ManifestGenerator) -> Map {
    let f = &g.filter;
    let strings = |list: &[String]| -> Dynamic {
        match list {
            [] => Dynamic::UNIT,
            [one] => one.clone().into(),
            many => many
                .iter()
                .map(|s| Dynamic::from(s.clone()))
                .collect::<Array>()
                .into(),
        }
    };
    let classes: Array = f
        .storage_classes
        .iter()
        .map(|c| c.as_str().into())
        .collect();
    let size = |n: Option<u64>| n.map_or(Dynamic::UNIT, |n| (n.min(i64::MAX as u64) as i64).into());
    object([
        ("source_bucket", g.source_bucket.clone().into()),
        ("prefix", strings(&f.prefixes)),
        ("suffix", strings(&f.suffixes)),
        ("substring", strings(&f.substrings)),
        (
            "storage_classes",
            if classes.is_empty() {
                Dynamic::UNIT
            } else {
                classes.into()
            },
        ),
        ("created_after", opt_time(f.created_after)),
        ("created_before", opt_time(f.created_before)),
        (
            "min_size",
            size(f.size_greater_than.map(|n| n.saturating_add(1))),
        ),
        (
            "max_size",
            size(f.size_less_than.map(|n| n.saturating_sub(1))),
        ),
        (
            "output",
            g.output.as_ref().map_or(Dynamic::UNIT, |o| {
                object([
                    ("bucket", o.bucket.clone().into()),
                    ("prefix", opt_str(o.prefix.clone())),
                ])
                .into()
            }),
        ),
    ])
}

/// The manifest a generator job wrote: `#{ bucket, key, etag, version_id, arn, format }`.
fn generated_map(g: &GeneratedManifest) -> Map {
    object([
        ("bucket", g.bucket.clone().into()),
        ("key", g.key.clone().into()),
        ("etag", g.etag.clone().into()),
        ("version_id", opt_str(g.version_id.clone())),
        ("arn", g.arn().into()),
        ("format", GENERATED_MANIFEST_FORMAT.into()),
    ])
}

/// Reads one string or an array of strings (`MatchAnyPrefix` and its kin).
fn strings_of(function: &str, key: &str, value: Option<Dynamic>) -> Result<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if value.is_unit() {
        return Ok(Vec::new());
    }
    let items = if value.is_array() {
        value.into_array().unwrap_or_default()
    } else {
        vec![value]
    };
    items
        .into_iter()
        .map(|v| {
            v.into_immutable_string()
                .map(|s| s.to_string())
                .map_err(|t| {
                    Error::invalid_argument(format!(
                        "{function}: `{key}` is a string or an array of strings, not {t}"
                    ))
                })
        })
        .collect()
}

/// Reads a `manifest_generator` map (AWS's `S3JobManifestGenerator`). Sizes are inclusive
/// bounds (`min_size` is `ObjectSizeGreaterThanBytes` + 1); times are RFC 3339.
pub fn parse_generator(map: Map) -> Result<ManifestGenerator> {
    const WHAT: &str = "batch::create_job: manifest_generator";
    let mut o = Opts::new(WHAT, map);
    let source_bucket = o.string("source_bucket")?.ok_or_else(|| {
        Error::invalid_argument(format!("{WHAT} needs `source_bucket` (the bucket to list)"))
    })?;
    let prefixes = strings_of(WHAT, "prefix", o.take("prefix"))?;
    let suffixes = strings_of(WHAT, "suffix", o.take("suffix"))?;
    let substrings = strings_of(WHAT, "substring", o.take("substring"))?;
    let storage_classes = o
        .parse_list::<StorageClass>("storage_classes")?
        .unwrap_or_default();
    let time = |o: &mut Opts, key: &'static str| -> Result<Option<time::OffsetDateTime>> {
        o.string(key)?
            .map(|t| {
                crate::timefmt::parse_rfc3339(&t)
                    .map_err(|e| Error::invalid_argument(format!("{WHAT}: `{key}`: {}", e.message)))
            })
            .transpose()
    };
    let created_after = time(&mut o, "created_after")?;
    let created_before = time(&mut o, "created_before")?;
    let bound = |o: &mut Opts, key: &'static str| -> Result<Option<u64>> {
        o.int(key)?
            .map(|n| {
                u64::try_from(n).map_err(|_| {
                    Error::invalid_argument(format!("{WHAT}: `{key}` must be 0 or more, not {n}"))
                })
            })
            .transpose()
    };
    let min_size = bound(&mut o, "min_size")?;
    let max_size = bound(&mut o, "max_size")?;
    let output = match o.take("output") {
        None => None,
        Some(v) if v.is_unit() || v.as_bool() == Ok(false) => None,
        Some(v) => {
            let map = v.try_cast::<Map>().ok_or_else(|| {
                Error::invalid_argument(format!("{WHAT}: `output` is a map #{{ bucket, prefix? }}"))
            })?;
            let mut out = Opts::new("batch::create_job: manifest_generator.output", map);
            let bucket = out.string("bucket")?.ok_or_else(|| {
                Error::invalid_argument(format!("{WHAT}: `output` needs a `bucket`"))
            })?;
            let prefix = out.string("prefix")?.filter(|p| !p.is_empty());
            out.finish()?;
            Some(ManifestOutput { bucket, prefix })
        }
    };
    o.finish()?;
    ManifestGenerator {
        source_bucket,
        filter: GeneratorFilter {
            prefixes,
            suffixes,
            substrings,
            storage_classes,
            created_after,
            created_before,
            size_greater_than: min_size.filter(|n| *n > 0).map(|n| n - 1),
            size_less_than: max_size.map(|n| n.saturating_add(1)),
        },
        output,
    }
    .check()
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
    if name == "S3PutObjectCopy" {
        let copy = parse_copy(&mut o)?;
        o.finish()?;
        let target_bucket = copy.0.ok_or_else(|| {
            Error::invalid_request(
                "TargetResource (the target bucket) is required for S3PutObjectCopy",
            )
            .hint("give target_bucket in batch::copy_operation (the source bucket copies in place)")
        })?;
        return JobOperation::copy(CopyOperation {
            target_bucket,
            ..copy.1
        });
    }
    if name != "S3InitiateRestoreObject" {
        return Err(Error::not_supported(format!(
            "operation `{name}`: s3thaw runs S3InitiateRestoreObject and S3PutObjectCopy jobs"
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

/// Reads the copy options of an operation map (or of `batch::copy_operation`): the target
/// bucket, when given, and the rest of the operation.
fn parse_copy(o: &mut Opts) -> Result<(Option<String>, CopyOperation)> {
    let target_bucket = o.string("target_bucket")?;
    let copy = CopyOperation {
        target_bucket: String::new(),
        target_prefix: o.string("target_prefix")?.filter(|p| !p.is_empty()),
        storage_class: o.parse::<StorageClass>("storage_class")?,
        metadata_directive: o.parse::<MetadataDirective>("metadata_directive")?,
    };
    Ok((target_bucket, copy))
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
    let manifest = o.map("manifest")?;
    let generator = o.map("manifest_generator")?;
    let manifest = match (manifest, generator) {
        (Some(m), None) => JobManifest::Location(parse_location(m)?),
        (None, Some(g)) => JobManifest::Generator(parse_generator(g)?),
        (None, None) => {
            return Err(Error::invalid_argument(
                "batch::create_job: `manifest` (a location from manifest::upload) or `manifest_generator` is required",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(Error::invalid_request(
                "a job takes either a manifest or a manifest generator, not both",
            ));
        }
    };
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
        manifest,
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
    use crate::backend::{CopyOperation, JobOperation, JobStatus, RequestedJobStatus, Tier};
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

    /// The copy operation of a job: `S3PutObjectCopy`, each manifest object copied with
    /// CopyObject's rules (objects up to 5 GB, as AWS; larger ones fail their task with
    /// `InvalidRequest`; archived objects not restored fail with `InvalidObjectState`).
    /// Options: `target_bucket` (required by CreateJob; the source bucket copies in place),
    /// `target_prefix` (prepended to each key), `storage_class` (default `"STANDARD"`),
    /// `metadata_directive` (`"COPY"` default or `"REPLACE"`). The role needs `s3:GetObject`
    /// on the sources and `s3:PutObject` on the target (`iam::copy_policy`).
    ///
    /// ```rhai
    /// let op = batch::copy_operation(#{ target_bucket: "kept", storage_class: "STANDARD_IA" });
    /// ```
    #[rhai_fn(return_raw)]
    pub fn copy_operation(ctx: NativeCallContext, options: Map) -> RhaiResult<Map> {
        support::pure(&ctx, || {
            let mut o = Opts::new("batch::copy_operation", options);
            let (target_bucket, copy) = super::parse_copy(&mut o)?;
            o.finish()?;
            if let Some(bucket) = &target_bucket {
                JobOperation::copy(CopyOperation {
                    target_bucket: bucket.clone(),
                    ..copy.clone()
                })?;
            }
            Ok(super::copy_map(target_bucket.as_deref(), &copy))
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
    /// `manifest::upload`) or `manifest_generator` (AWS's S3JobManifestGenerator: the job
    /// lists the bucket itself when it is prepared: `#{ source_bucket, prefix?, suffix?,
    /// substring?, storage_classes?, created_after?, created_before?, min_size?, max_size?,
    /// output?: #{ bucket, prefix? } }`, sizes inclusive, times RFC 3339; `output` writes the
    /// generated manifest, shown as the job map's `generated_manifest`), `operation` (from
    /// `batch::restore_operation` or `batch::copy_operation`), `role_arn`,
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
    /// let listed = batch::create_job(#{
    ///     manifest_generator: #{ source_bucket: "my-archive", prefix: "2019/", storage_classes: ["GLACIER"] },
    ///     operation: batch::restore_operation(#{ days: 7, tier: "BULK" }), role_arn: role.arn,
    /// });
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
    /// failure_reasons, operation, manifest, manifest_generator, generated_manifest, report,
    /// status_update_reason, tags }` (`manifest` is `()` for a generator job, whose
    /// `generated_manifest` names the manifest it wrote, if asked to). A unique
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
