//! The real AWS backend. This skeleton answers every call with `NotSupported`; the SDK-backed
//! implementation (aws-sdk-s3, aws-sdk-s3control, aws-sdk-iam with one owned tokio runtime) is
//! tracked by its own issue. The trait is shaped so each method maps onto one SDK call.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::backend::*;
use crate::errors::{Error, Result};

/// Options for reaching AWS, from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub account_id: Option<String>,
}

pub struct AwsBackend {
    options: AwsOptions,
}

impl AwsBackend {
    pub fn new(options: AwsOptions) -> Result<AwsBackend> {
        Ok(AwsBackend { options })
    }
}

fn unsupported<T>() -> Result<T> {
    Err(Error::not_supported(
        "the aws backend is not implemented yet: use the simulator (--backend sim)",
    ))
}

impl Backend for AwsBackend {
    fn kind(&self) -> &'static str {
        "aws"
    }
    fn account_id(&self) -> Result<String> {
        self.options.account_id.clone().map_or_else(unsupported, Ok)
    }
    fn region(&self) -> String {
        self.options
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".into())
    }
    fn now(&self) -> Result<OffsetDateTime> {
        Ok(OffsetDateTime::now_utc())
    }
    fn sleep(&self, duration: Duration) -> Result<()> {
        std::thread::sleep(duration);
        Ok(())
    }
    fn wait_step(&self, poll: Duration, deadline: OffsetDateTime) -> Result<()> {
        let left = (deadline - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
        std::thread::sleep(poll.min(left.unsigned_abs()));
        Ok(())
    }
    fn create_bucket(&self, _: &str, _: Option<&str>) -> Result<BucketInfo> {
        unsupported()
    }
    fn put_bucket_versioning(&self, _: &str, _: bool) -> Result<()> {
        unsupported()
    }
    fn get_bucket_versioning(&self, _: &str) -> Result<bool> {
        unsupported()
    }
    fn delete_bucket(&self, _: &str) -> Result<()> {
        unsupported()
    }
    fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        unsupported()
    }
    fn put_object(&self, _: PutObject) -> Result<ObjectWritten> {
        unsupported()
    }
    fn get_object(&self, _: &str, _: &str, _: Option<&str>) -> Result<Vec<u8>> {
        unsupported()
    }
    fn head_object(&self, _: &str, _: &str, _: Option<&str>) -> Result<ObjectHead> {
        unsupported()
    }
    fn list_objects(&self, _: &ListObjects) -> Result<Page<ObjectSummary>> {
        unsupported()
    }
    fn list_object_versions(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<Page<ObjectVersion>> {
        unsupported()
    }
    fn copy_object(
        &self,
        _: (&str, &str, Option<&str>),
        _: (&str, &str),
        _: Option<StorageClass>,
    ) -> Result<ObjectWritten> {
        unsupported()
    }
    fn delete_object(&self, _: &str, _: &str, _: Option<&str>) -> Result<Deleted> {
        unsupported()
    }
    fn delete_objects(&self, _: &str, _: &[ObjectId]) -> Result<Vec<Result<Deleted>>> {
        unsupported()
    }
    fn restore_object(
        &self,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: RestoreRequest,
    ) -> Result<RestoreOutcome> {
        unsupported()
    }
    fn create_job(&self, _: &JobSpec) -> Result<String> {
        unsupported()
    }
    fn describe_job(&self, _: &str) -> Result<Job> {
        unsupported()
    }
    fn list_jobs(&self, _: &[JobStatus], _: Option<&str>) -> Result<Page<JobSummary>> {
        unsupported()
    }
    fn update_job_status(
        &self,
        _: &str,
        _: RequestedJobStatus,
        _: Option<&str>,
    ) -> Result<JobStatus> {
        unsupported()
    }
    fn update_job_priority(&self, _: &str, _: i32) -> Result<i32> {
        unsupported()
    }
    fn get_job_tagging(&self, _: &str) -> Result<BTreeMap<String, String>> {
        unsupported()
    }
    fn put_job_tagging(&self, _: &str, _: &BTreeMap<String, String>) -> Result<()> {
        unsupported()
    }
    fn create_role(
        &self,
        _: &str,
        _: &Json,
        _: Option<&str>,
        _: &BTreeMap<String, String>,
    ) -> Result<Role> {
        unsupported()
    }
    fn get_role(&self, _: &str) -> Result<Role> {
        unsupported()
    }
    fn delete_role(&self, _: &str) -> Result<()> {
        unsupported()
    }
    fn create_policy(&self, _: &str, _: &Json) -> Result<Policy> {
        unsupported()
    }
    fn get_policy(&self, _: &str) -> Result<Policy> {
        unsupported()
    }
    fn delete_policy(&self, _: &str) -> Result<()> {
        unsupported()
    }
    fn attach_role_policy(&self, _: &str, _: &str) -> Result<()> {
        unsupported()
    }
    fn detach_role_policy(&self, _: &str, _: &str) -> Result<()> {
        unsupported()
    }
    fn list_attached_role_policies(&self, _: &str) -> Result<Vec<String>> {
        unsupported()
    }
    fn put_role_policy(&self, _: &str, _: &str, _: &Json) -> Result<()> {
        unsupported()
    }
    fn delete_role_policy(&self, _: &str, _: &str) -> Result<()> {
        unsupported()
    }
    fn list_role_policies(&self, _: &str) -> Result<Vec<String>> {
        unsupported()
    }
    fn simulate_principal_policy(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<crate::policy::Decision> {
        unsupported()
    }
}
