//! The aws backend when s3thaw is built without the `aws` cargo feature (no AWS SDK): the same
//! names, but opening it fails with an error that says how to get it. No value of
//! [`AwsBackend`] can exist, so none of its methods can run.

use std::collections::BTreeMap;
use std::convert::Infallible;
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

/// The aws backend of a build without the AWS SDK: it cannot be opened.
pub struct AwsBackend {
    never: Infallible,
}

impl AwsBackend {
    pub fn new(options: AwsOptions) -> Result<AwsBackend> {
        let _ = options;
        Err(Error::not_supported(
            "this s3thaw was built without the `aws` cargo feature, so it has no aws backend",
        )
        .hint("rebuild with the default features (`cargo build`, or `--features aws`), or use --backend sim"))
    }
}

#[allow(unused_variables)]
impl Backend for AwsBackend {
    fn kind(&self) -> &'static str {
        match self.never {}
    }

    fn account_id(&self) -> Result<String> {
        match self.never {}
    }

    fn region(&self) -> String {
        match self.never {}
    }

    fn now(&self) -> Result<OffsetDateTime> {
        match self.never {}
    }

    fn sleep(&self, duration: Duration) -> Result<()> {
        match self.never {}
    }

    fn wait_step(&self, poll: Duration, deadline: OffsetDateTime) -> Result<()> {
        match self.never {}
    }

    fn create_bucket(&self, name: &str, region: Option<&str>) -> Result<BucketInfo> {
        match self.never {}
    }

    fn put_bucket_versioning(&self, bucket: &str, enabled: bool) -> Result<()> {
        match self.never {}
    }

    fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<VersioningStatus>> {
        match self.never {}
    }

    fn delete_bucket(&self, name: &str) -> Result<()> {
        match self.never {}
    }

    fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        match self.never {}
    }

    fn put_object(&self, request: PutObject) -> Result<ObjectWritten> {
        match self.never {}
    }

    fn get_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Vec<u8>> {
        match self.never {}
    }

    fn head_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<ObjectHead> {
        match self.never {}
    }

    fn list_objects(&self, request: &ListObjects) -> Result<Page<ObjectSummary>> {
        match self.never {}
    }

    fn list_object_versions(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<&str>,
    ) -> Result<Page<ObjectVersion>> {
        match self.never {}
    }

    fn get_object_with(&self, request: &GetObject) -> Result<(ObjectHead, Vec<u8>)> {
        match self.never {}
    }

    fn head_object_with(&self, request: &GetObject) -> Result<ObjectHead> {
        match self.never {}
    }

    fn copy_object_with(&self, request: &CopyObject) -> Result<ObjectWritten> {
        match self.never {}
    }

    fn copy_object_multipart(&self, request: &CopyObject, part_size: u64) -> Result<ObjectWritten> {
        match self.never {}
    }

    fn copy_object(
        &self,
        source: (&str, &str, Option<&str>),
        destination: (&str, &str),
        storage_class: Option<StorageClass>,
    ) -> Result<ObjectWritten> {
        match self.never {}
    }

    fn delete_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Deleted> {
        match self.never {}
    }

    fn delete_objects(&self, bucket: &str, objects: &[ObjectId]) -> Result<Vec<Result<Deleted>>> {
        match self.never {}
    }

    fn restore_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        request: RestoreRequest,
    ) -> Result<RestoreOutcome> {
        match self.never {}
    }

    fn create_job(&self, spec: &JobSpec) -> Result<String> {
        match self.never {}
    }

    fn describe_job(&self, job_id: &str) -> Result<Job> {
        match self.never {}
    }

    fn list_jobs(&self, statuses: &[JobStatus], next: Option<&str>) -> Result<Page<JobSummary>> {
        match self.never {}
    }

    fn update_job_status(
        &self,
        job_id: &str,
        requested: RequestedJobStatus,
        reason: Option<&str>,
    ) -> Result<JobStatus> {
        match self.never {}
    }

    fn update_job_priority(&self, job_id: &str, priority: i32) -> Result<i32> {
        match self.never {}
    }

    fn get_job_tagging(&self, job_id: &str) -> Result<BTreeMap<String, String>> {
        match self.never {}
    }

    fn put_job_tagging(&self, job_id: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        match self.never {}
    }

    fn create_role(
        &self,
        name: &str,
        trust_policy: &Json,
        description: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Role> {
        match self.never {}
    }

    fn get_role(&self, name: &str) -> Result<Role> {
        match self.never {}
    }

    fn delete_role(&self, name: &str) -> Result<()> {
        match self.never {}
    }

    fn create_policy(&self, name: &str, document: &Json) -> Result<Policy> {
        match self.never {}
    }

    fn get_policy(&self, arn: &str) -> Result<Policy> {
        match self.never {}
    }

    fn delete_policy(&self, arn: &str) -> Result<()> {
        match self.never {}
    }

    fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        match self.never {}
    }

    fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        match self.never {}
    }

    fn list_attached_role_policies(&self, role: &str) -> Result<Vec<String>> {
        match self.never {}
    }

    fn put_role_policy(&self, role: &str, name: &str, document: &Json) -> Result<()> {
        match self.never {}
    }

    fn delete_role_policy(&self, role: &str, name: &str) -> Result<()> {
        match self.never {}
    }

    fn list_role_policies(&self, role: &str) -> Result<Vec<String>> {
        match self.never {}
    }

    fn simulate_principal_policy(
        &self,
        role_arn: &str,
        action: &str,
        resource: &str,
    ) -> Result<crate::policy::Decision> {
        match self.never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_says_which_feature_is_missing() {
        // No AwsBackend value can exist, so the only answer is an error.
        let Err(e) = AwsBackend::new(AwsOptions::default());
        assert_eq!(e.code, "NotSupported");
        assert!(e.message.contains("`aws` cargo feature"), "{}", e.message);
    }
}
