//! S3 Control on AWS: Batch Operations jobs (the face of `crate::backend::sim::control` and
//! `crate::serve::control`).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::errors::{Ctx, build_error, from_sdk};
use super::{AwsBackend, smithy_time};
use aws_sdk_s3control::types as t;

use crate::backend::*;
use crate::errors::{Error, Result};

async fn describe(aws: &AwsBackend, job_id: &str) -> Result<Job> {
    let account = aws.account()?;
    let out = aws
        .control
        .describe_job()
        .account_id(account)
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| from_sdk(e, &Ctx::job(job_id)))?;
    let job = out
        .job()
        .ok_or_else(|| Error::internal("DescribeJob returned no job"))?;
    job_of(job)
}

fn job_of(job: &aws_sdk_s3control::types::JobDescriptor) -> Result<Job> {
    let id = job.job_id().unwrap_or_default().to_string();
    let bad = |what: &str| Error::internal(format!("DescribeJob {id}: {what}"));
    let manifest = match (job.manifest(), job.manifest_generator()) {
        (_, Some(t::JobManifestGenerator::S3JobManifestGenerator(g))) => {
            JobManifest::Generator(generator_of(g)?)
        }
        (Some(manifest), _) => JobManifest::Location(location_of(manifest).map_err(|e| bad(&e))?),
        (None, _) => return Err(bad("no manifest and no manifest generator")),
    };
    let generated_manifest = job
        .generated_manifest_descriptor()
        .and_then(|d| d.location())
        .and_then(|l| {
            let (bucket, key) = match parse_s3_arn(l.object_arn()) {
                Some((bucket, Some(key))) => (bucket, key),
                _ => return None,
            };
            Some(GeneratedManifest {
                bucket: bucket.to_string(),
                key: key.to_string(),
                version_id: l.object_version_id().map(str::to_string),
                etag: l.e_tag().to_string(),
            })
        });
    let operation = match (
        job.operation().and_then(|o| o.s3_initiate_restore_object()),
        job.operation().and_then(|o| o.s3_put_object_copy()),
    ) {
        (Some(restore), _) => JobOperation::InitiateRestore {
            days: restore.expiration_in_days().map(|d| d as u32),
            tier: restore
                .glacier_job_tier()
                .map(|t| t.as_str().parse())
                .transpose()?
                .unwrap_or(Tier::DEFAULT),
        },
        (None, Some(copy)) => JobOperation::PutObjectCopy(CopyOperation {
            target_bucket: bucket_of(copy.target_resource().unwrap_or_default()).to_string(),
            target_prefix: copy.target_key_prefix().map(str::to_string),
            storage_class: copy
                .storage_class()
                .map(|c| c.as_str().parse())
                .transpose()?,
            metadata_directive: copy
                .metadata_directive()
                .map(|m| m.as_str().parse())
                .transpose()?,
        }),
        (None, None) => {
            return Err(Error::not_supported(format!(
                "job {id} is neither an S3InitiateRestoreObject nor an S3PutObjectCopy job"
            ))
            .job_id(&id));
        }
    };
    let progress = job.progress_summary();
    let report = job
        .report()
        .filter(|r| r.enabled())
        .map(|r| -> Result<ReportSpec> {
            let bucket = r.bucket().unwrap_or_default();
            Ok(ReportSpec {
                bucket: bucket_of(bucket).to_string(),
                prefix: r.prefix().map(str::to_string),
                scope: r
                    .report_scope()
                    .map(|s| s.as_str().parse())
                    .transpose()?
                    .unwrap_or(ReportScope::AllTasks),
            })
        });
    Ok(Job {
        status: job
            .status()
            .ok_or_else(|| bad("no status"))?
            .as_str()
            .parse()?,
        priority: job.priority(),
        description: job.description().map(str::to_string),
        role_arn: job.role_arn().unwrap_or_default().to_string(),
        creation_time: smithy_time(job.creation_time()).ok_or_else(|| bad("no creation time"))?,
        termination_date: smithy_time(job.termination_date()),
        progress: JobProgress {
            total: progress
                .and_then(|p| p.total_number_of_tasks())
                .unwrap_or(0) as u64,
            succeeded: progress
                .and_then(|p| p.number_of_tasks_succeeded())
                .unwrap_or(0) as u64,
            failed: progress
                .and_then(|p| p.number_of_tasks_failed())
                .unwrap_or(0) as u64,
        },
        failure_reasons: job
            .failure_reasons()
            .iter()
            .map(|f| FailureReason {
                code: f.failure_code().unwrap_or_default().to_string(),
                reason: f.failure_reason().unwrap_or_default().to_string(),
            })
            .collect(),
        operation,
        manifest,
        generated_manifest,
        report: report.transpose()?,
        confirmation_required: job.confirmation_required().unwrap_or(false),
        status_update_reason: job.status_update_reason().map(str::to_string),
        id,
    })
}

/// A DescribeJob manifest as a location.
fn location_of(manifest: &t::JobManifest) -> std::result::Result<ManifestLocation, String> {
    let location = manifest.location().ok_or("no manifest location")?;
    let spec = manifest.spec().ok_or("no manifest spec")?;
    let (bucket, key) = match parse_s3_arn(location.object_arn()) {
        Some((bucket, Some(key))) => (bucket, key),
        _ => return Err("the manifest ARN is not an S3 object ARN".into()),
    };
    Ok(ManifestLocation {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id: location.object_version_id().map(str::to_string),
        etag: location.e_tag().to_string(),
        format: spec
            .format()
            .as_str()
            .parse()
            .map_err(|e: Error| e.message)?,
        fields: spec
            .fields()
            .iter()
            .map(|f| f.as_str().parse())
            .collect::<Result<_>>()
            .map_err(|e| e.message)?,
    })
}

/// A DescribeJob `S3JobManifestGenerator` as ours.
fn generator_of(g: &t::S3JobManifestGenerator) -> Result<ManifestGenerator> {
    let f = g.filter();
    let keys = f.and_then(|f| f.key_name_constraint());
    let list = |l: Option<&[String]>| l.map(<[String]>::to_vec).unwrap_or_default();
    let size = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
    Ok(ManifestGenerator {
        source_bucket: bucket_of(g.source_bucket()).to_string(),
        filter: GeneratorFilter {
            prefixes: list(keys.map(|k| k.match_any_prefix())),
            suffixes: list(keys.map(|k| k.match_any_suffix())),
            substrings: list(keys.map(|k| k.match_any_substring())),
            storage_classes: f
                .map(|f| f.match_any_storage_class())
                .unwrap_or_default()
                .iter()
                .map(|c| c.as_str().parse())
                .collect::<Result<_>>()?,
            created_after: smithy_time(f.and_then(|f| f.created_after())),
            created_before: smithy_time(f.and_then(|f| f.created_before())),
            size_greater_than: size(f.and_then(|f| f.object_size_greater_than_bytes())),
            size_less_than: size(f.and_then(|f| f.object_size_less_than_bytes())),
        },
        output: g
            .manifest_output_location()
            .filter(|_| g.enable_manifest_output())
            .map(|o| ManifestOutput {
                bucket: bucket_of(o.bucket()).to_string(),
                prefix: o.manifest_prefix().map(str::to_string),
            }),
    })
}

fn smithy_of(t: OffsetDateTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_nanos(t.unix_timestamp_nanos())
        .unwrap_or(aws_smithy_types::DateTime::from_secs(0))
}

/// Our generator as CreateJob's `ManifestGenerator`.
fn sdk_generator(g: &ManifestGenerator) -> Result<t::JobManifestGenerator> {
    let f = &g.filter;
    let some = |l: &[String]| (!l.is_empty()).then(|| l.to_vec());
    let keys =
        (!(f.prefixes.is_empty() && f.suffixes.is_empty() && f.substrings.is_empty())).then(|| {
            t::KeyNameConstraint::builder()
                .set_match_any_prefix(some(&f.prefixes))
                .set_match_any_suffix(some(&f.suffixes))
                .set_match_any_substring(some(&f.substrings))
                .build()
        });
    let size = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let filter = t::JobManifestGeneratorFilter::builder()
        .set_key_name_constraint(keys)
        .set_match_any_storage_class((!f.storage_classes.is_empty()).then(|| {
            f.storage_classes
                .iter()
                .map(|c| t::S3StorageClass::from(c.as_str()))
                .collect()
        }))
        .set_created_after(f.created_after.map(smithy_of))
        .set_created_before(f.created_before.map(smithy_of))
        .set_object_size_greater_than_bytes(size(f.size_greater_than))
        .set_object_size_less_than_bytes(size(f.size_less_than))
        .build();
    let output = g
        .output
        .as_ref()
        .map(|o| {
            t::S3ManifestOutputLocation::builder()
                .bucket(bucket_arn(&o.bucket))
                .set_manifest_prefix(o.prefix.clone())
                .manifest_format(t::GeneratedManifestFormat::S3InventoryReportCsv20211130)
                .build()
                .map_err(build_error)
        })
        .transpose()?;
    Ok(t::JobManifestGenerator::S3JobManifestGenerator(
        t::S3JobManifestGenerator::builder()
            .source_bucket(bucket_arn(&g.source_bucket))
            .enable_manifest_output(output.is_some())
            .set_manifest_output_location(output)
            .filter(filter)
            .build()
            .map_err(build_error)?,
    ))
}

/// Our location as CreateJob's `Manifest`.
fn sdk_manifest(m: &ManifestLocation) -> Result<t::JobManifest> {
    Ok(t::JobManifest::builder()
        .spec(
            t::JobManifestSpec::builder()
                .format(t::JobManifestFormat::from(m.format.as_str()))
                .set_fields(Some(
                    m.fields
                        .iter()
                        .map(|f| t::JobManifestFieldName::from(f.as_str()))
                        .collect(),
                ))
                .build()
                .map_err(build_error)?,
        )
        .location(
            t::JobManifestLocation::builder()
                .object_arn(m.arn())
                .set_object_version_id(m.version_id.clone())
                .e_tag(&m.etag)
                .build()
                .map_err(build_error)?,
        )
        .build())
}

pub(super) fn create_job(aws: &AwsBackend, spec: &JobSpec) -> Result<String> {
    let account = aws.account()?;
    let operation = match &spec.operation {
        JobOperation::InitiateRestore { days, tier } => t::JobOperation::builder()
            .s3_initiate_restore_object(
                t::S3InitiateRestoreObjectOperation::builder()
                    .set_expiration_in_days(days.map(|d| d as i32))
                    .glacier_job_tier(t::S3GlacierJobTier::from(tier.as_str()))
                    .build(),
            )
            .build(),
        JobOperation::PutObjectCopy(c) => t::JobOperation::builder()
            .s3_put_object_copy(
                t::S3CopyObjectOperation::builder()
                    .target_resource(bucket_arn(&c.target_bucket))
                    .set_target_key_prefix(c.target_prefix.clone())
                    .set_storage_class(c.storage_class.map(|s| t::S3StorageClass::from(s.as_str())))
                    .set_metadata_directive(
                        c.metadata_directive
                            .map(|m| t::S3MetadataDirective::from(m.as_str())),
                    )
                    .build(),
            )
            .build(),
    };
    let (manifest, generator) = match &spec.manifest {
        JobManifest::Location(m) => (Some(sdk_manifest(m)?), None),
        JobManifest::Generator(g) => (None, Some(sdk_generator(g)?)),
    };
    let report = match &spec.report {
        None => t::JobReport::builder().enabled(false).build(),
        Some(r) => t::JobReport::builder()
            .enabled(true)
            .bucket(bucket_arn(&r.bucket))
            .format(t::JobReportFormat::ReportCsv20180820)
            .set_prefix(r.prefix.clone())
            .report_scope(t::JobReportScope::from(r.scope.as_str()))
            .build(),
    };
    let tags = spec
        .tags
        .iter()
        .map(|(k, v)| {
            t::S3Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(build_error)
        })
        .collect::<Result<Vec<_>>>()?;
    let out = aws
        .block(
            aws.control
                .create_job()
                .account_id(account)
                .confirmation_required(spec.confirmation_required)
                .operation(operation)
                .set_manifest(manifest)
                .set_manifest_generator(generator)
                .report(report)
                .client_request_token(&spec.client_request_token)
                .set_description(spec.description.clone())
                .priority(spec.priority)
                .role_arn(&spec.role_arn)
                .set_tags((!tags.is_empty()).then_some(tags))
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    out.job_id()
        .map(str::to_string)
        .ok_or_else(|| Error::internal("CreateJob returned no job id"))
}

pub(super) fn describe_job(aws: &AwsBackend, job_id: &str) -> Result<Job> {
    aws.block(describe(aws, job_id))
}

pub(super) fn list_jobs(
    aws: &AwsBackend,
    statuses: &[JobStatus],
    next: Option<&str>,
) -> Result<Page<JobSummary>> {
    let account = aws.account()?;
    let out = aws
        .block(
            aws.control
                .list_jobs()
                .account_id(account)
                .set_job_statuses((!statuses.is_empty()).then(|| {
                    statuses
                        .iter()
                        .map(|s| aws_sdk_s3control::types::JobStatus::from(s.as_str()))
                        .collect()
                }))
                .set_next_token(next.map(str::to_string))
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    let items = out
        .jobs()
        .iter()
        .map(|j| {
            let progress = j.progress_summary();
            Ok(JobSummary {
                id: j.job_id().unwrap_or_default().to_string(),
                status: j
                    .status()
                    .map(|s| s.as_str().parse())
                    .transpose()?
                    .unwrap_or(JobStatus::New),
                priority: j.priority(),
                description: j.description().map(str::to_string),
                operation: match j.operation().map(|o| o.as_str()) {
                    Some("S3InitiateRestoreObject") => "S3InitiateRestoreObject",
                    Some("S3PutObjectCopy") => "S3PutObjectCopy",
                    _ => "Other",
                },
                creation_time: smithy_time(j.creation_time()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                termination_date: smithy_time(j.termination_date()),
                progress: JobProgress {
                    total: progress
                        .and_then(|p| p.total_number_of_tasks())
                        .unwrap_or(0) as u64,
                    succeeded: progress
                        .and_then(|p| p.number_of_tasks_succeeded())
                        .unwrap_or(0) as u64,
                    failed: progress
                        .and_then(|p| p.number_of_tasks_failed())
                        .unwrap_or(0) as u64,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next: out.next_token().map(str::to_string),
    })
}

pub(super) fn update_job_status(
    aws: &AwsBackend,
    job_id: &str,
    requested: RequestedJobStatus,
    reason: Option<&str>,
) -> Result<JobStatus> {
    let account = aws.account()?;
    let out = aws
        .block(
            aws.control
                .update_job_status()
                .account_id(account)
                .job_id(job_id)
                .requested_job_status(aws_sdk_s3control::types::RequestedJobStatus::from(
                    requested.as_str(),
                ))
                .set_status_update_reason(reason.map(str::to_string))
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::job(job_id)))?;
    out.status()
        .ok_or_else(|| Error::internal("UpdateJobStatus returned no status"))?
        .as_str()
        .parse()
}

pub(super) fn update_job_priority(aws: &AwsBackend, job_id: &str, priority: i32) -> Result<i32> {
    let account = aws.account()?;
    let out = aws
        .block(
            aws.control
                .update_job_priority()
                .account_id(account)
                .job_id(job_id)
                .priority(priority)
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::job(job_id)))?;
    Ok(out.priority())
}

pub(super) fn get_job_tagging(aws: &AwsBackend, job_id: &str) -> Result<BTreeMap<String, String>> {
    let account = aws.account()?;
    let out = aws
        .block(
            aws.control
                .get_job_tagging()
                .account_id(account)
                .job_id(job_id)
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::job(job_id)))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

pub(super) fn put_job_tagging(
    aws: &AwsBackend,
    job_id: &str,
    tags: &BTreeMap<String, String>,
) -> Result<()> {
    let account = aws.account()?;
    let ctx = Ctx::job(job_id);
    if tags.is_empty() {
        aws.block(
            aws.control
                .delete_job_tagging()
                .account_id(account)
                .job_id(job_id)
                .send(),
        )
        .map_err(|e| from_sdk(e, &ctx))?;
        return Ok(());
    }
    let tags = tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_s3control::types::S3Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(build_error)
        })
        .collect::<Result<Vec<_>>>()?;
    aws.block(
        aws.control
            .put_job_tagging()
            .account_id(account)
            .job_id(job_id)
            .set_tags(Some(tags))
            .send(),
    )
    .map_err(|e| from_sdk(e, &ctx))?;
    Ok(())
}
