//! S3 Control on AWS: Batch Operations jobs (the face of `crate::backend::sim::control` and
//! `crate::serve::control`).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::errors::{Ctx, build_error, from_sdk};
use super::{AwsBackend, smithy_time};
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
    let manifest = job.manifest().ok_or_else(|| bad("no manifest"))?;
    let location = manifest
        .location()
        .ok_or_else(|| bad("no manifest location"))?;
    let spec = manifest.spec().ok_or_else(|| bad("no manifest spec"))?;
    let arn = location.object_arn();
    let (bucket, key) = match parse_s3_arn(arn) {
        Some((bucket, Some(key))) => (bucket, key),
        _ => return Err(bad("the manifest ARN is not an S3 object ARN")),
    };
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
        manifest: ManifestLocation {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: location.object_version_id().map(str::to_string),
            etag: location.e_tag().to_string(),
            format: spec.format().as_str().parse()?,
            fields: spec
                .fields()
                .iter()
                .map(|f| f.as_str().parse())
                .collect::<Result<_>>()?,
        },
        report: report.transpose()?,
        confirmation_required: job.confirmation_required().unwrap_or(false),
        status_update_reason: job.status_update_reason().map(str::to_string),
        id,
    })
}

pub(super) fn create_job(aws: &AwsBackend, spec: &JobSpec) -> Result<String> {
    use aws_sdk_s3control::types as t;
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
    let manifest = t::JobManifest::builder()
        .spec(
            t::JobManifestSpec::builder()
                .format(t::JobManifestFormat::from(spec.manifest.format.as_str()))
                .set_fields(Some(
                    spec.manifest
                        .fields
                        .iter()
                        .map(|f| t::JobManifestFieldName::from(f.as_str()))
                        .collect(),
                ))
                .build()
                .map_err(build_error)?,
        )
        .location(
            t::JobManifestLocation::builder()
                .object_arn(spec.manifest.arn())
                .set_object_version_id(spec.manifest.version_id.clone())
                .e_tag(&spec.manifest.etag)
                .build()
                .map_err(build_error)?,
        )
        .build();
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
                .manifest(manifest)
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
