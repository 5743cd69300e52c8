//! The real AWS backend: aws-sdk-s3, aws-sdk-s3control, aws-sdk-iam and aws-sdk-sts, configured
//! by aws-config's default chain (environment, profiles, SSO, IMDS) plus `--region`,
//! `--profile` and `--endpoint-url`.
//!
//! The engine is synchronous, so the backend owns one tokio runtime next to its clients and
//! blocks on it inside each method; it must never be called from a runtime thread. Each trait
//! method is one SDK call (plus paging). SDK errors become the same `Error` values the simulator
//! gives (`errors.rs`); the SDK retries with its adaptive mode, which backs off under throttling.
//! Credentials are never printed.
//!
//! `--endpoint-url` points every client at one server (e.g. `s3thaw serve`): S3 then uses
//! path-style addressing, and S3 Control, whose SDK puts the account id in front of the host
//! (`111122223333.127.0.0.1`), is sent to the endpoint's host as given. When that server is
//! an `s3thaw serve`, its virtual clock is used for time and waits (`clock.rs`).
//!
//! One file per AWS service, named like the simulator's rules (`backend/sim/`) and serve's wire
//! faces (`serve/`): `s3.rs`, `control.rs` (S3 Control: Batch Operations), `iam.rs` (IAM and
//! STS). This file holds the clients, the runtime and a `Backend` impl that only delegates.

mod clock;
mod control;
pub mod errors;
mod iam;
mod s3;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3control::config::endpoint::{EndpointFuture, Params as ControlParams};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::backend::*;
use crate::errors::{Error, Result};
use clock::{Signing, SimClock};
use errors::{Ctx, from_sdk};

pub use s3::parse_restore_header;

/// Options for reaching AWS, from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub account_id: Option<String>,
}

/// The SDK's adaptive retry mode: exponential backoff with jitter plus a client-side rate
/// limiter that slows down when AWS throttles (SlowDown, TooManyRequests), as restores at
/// 1,000 requests per second need.
fn retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(RETRIES.max_attempts)
        .with_initial_backoff(RETRIES.initial_backoff)
        .with_max_backoff(RETRIES.max_backoff)
}

pub struct AwsBackend {
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    control: aws_sdk_s3control::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    config: aws_config::SdkConfig,
    region: String,
    account_id: OnceLock<String>,
    endpoint_url: Option<String>,
    clock: OnceLock<Option<SimClock>>,
}

/// S3 Control's SDK prefixes the host with `{AccountId}.`: right for AWS, but a custom
/// endpoint like `http://127.0.0.1:9000` becomes `111122223333.127.0.0.1`, which no resolver
/// knows. This resolver keeps the SDK's endpoint rules (signing name, region) and drops the
/// prefix again, so the request goes to the endpoint as given (the account travels in the
/// `x-amz-account-id` header either way). Only used with `--endpoint-url`.
#[derive(Debug, Default)]
struct EndpointWithoutAccountHost {
    rules: aws_sdk_s3control::config::endpoint::DefaultResolver,
}

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for EndpointWithoutAccountHost {
    fn resolve_endpoint<'a>(&'a self, params: &'a ControlParams) -> EndpointFuture<'a> {
        EndpointFuture::new(async move {
            let endpoint = self.rules.resolve_endpoint(params).await?;
            let url = match params.account_id() {
                Some(account) => endpoint.url().replacen(&format!("://{account}."), "://", 1),
                None => endpoint.url().to_string(),
            };
            Ok(endpoint.into_builder().url(url).build())
        })
    }
}

fn datetime(t: &aws_smithy_types::DateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn smithy_time(t: Option<&aws_smithy_types::DateTime>) -> Option<OffsetDateTime> {
    t.map(datetime)
}

/// The profile names of an AWS config file (`[default]`, `[profile NAME]`) and of a shared
/// credentials file (`[NAME]`), as the AWS CLI reads them.
fn profiles_in(config: &str, credentials: &str) -> Vec<String> {
    let headers = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix('[')?
                    .strip_suffix(']')
                    .map(|h| h.trim().to_string())
            })
            .collect()
    };
    let mut names: Vec<String> = headers(config)
        .into_iter()
        .filter_map(|h| match h.strip_prefix("profile ") {
            Some(name) => Some(name.trim().to_string()),
            None => (h == "default").then_some(h),
        })
        .collect();
    for name in headers(credentials) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The AWS CLI's diagnosis of a profile that no config or credentials file defines:
/// `The config profile (NAME) could not be found`, with the names that exist.
fn check_profile(name: &str) -> Result<()> {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let file = |var: &str, default: &str| {
        let path = std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.join(".aws").join(default));
        std::fs::read_to_string(path).unwrap_or_default()
    };
    let names = profiles_in(
        &file("AWS_CONFIG_FILE", "config"),
        &file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    );
    if names.iter().any(|n| n == name) {
        return Ok(());
    }
    let mut hint = String::new();
    if let Some(close) = crate::hints::did_you_mean(name, names.iter().map(String::as_str)) {
        hint.push_str(&format!("did you mean --profile {close}? "));
    }
    if names.is_empty() {
        hint.push_str("no profiles are configured: ");
    } else {
        hint.push_str(&format!("the profiles are {}; ", names.join(", ")));
    }
    hint.push_str(&format!(
        "create this one with `aws configure --profile {name}` (access keys) or `aws configure sso --profile {name}`"
    ));
    Err(Error::new(
        "ProfileNotFound",
        format!("The config profile ({name}) could not be found"),
    )
    .hint(hint))
}

impl AwsBackend {
    pub fn new(options: AwsOptions) -> Result<AwsBackend> {
        let profile = options
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
        if let Some(profile) = &profile {
            check_profile(profile)?;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("s3thaw-aws")
            .build()
            .map_err(|e| Error::internal(format!("cannot start the AWS runtime: {e}")))?;
        let config = rt.block_on(async {
            let mut loader =
                aws_config::defaults(BehaviorVersion::latest()).retry_config(retry_config());
            if let Some(profile) = &options.profile {
                loader = loader.profile_name(profile);
            }
            if let Some(region) = &options.region {
                loader = loader.region(aws_config::Region::new(region.clone()));
            }
            if let Some(url) = &options.endpoint_url {
                loader = loader.endpoint_url(url);
            }
            loader.load().await
        });
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::invalid_argument(
                "no AWS region configured: pass --region, set AWS_REGION, or give your profile a region",
            )
        })?;
        let endpoint_url = options
            .endpoint_url
            .clone()
            .or_else(|| config.endpoint_url().map(str::to_string));
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(endpoint_url.is_some())
                .build(),
        );
        let mut control = aws_sdk_s3control::config::Builder::from(&config);
        if endpoint_url.is_some() {
            control = control.endpoint_resolver(EndpointWithoutAccountHost::default());
        }
        let control = aws_sdk_s3control::Client::from_conf(control.build());
        let account_id = OnceLock::new();
        if let Some(account) = options.account_id {
            let _ = account_id.set(account);
        }
        Ok(AwsBackend {
            s3,
            control,
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            config,
            region,
            account_id,
            endpoint_url,
            clock: OnceLock::new(),
            rt,
        })
    }

    /// The backend with clients built elsewhere (unit tests with mocked responses).
    #[cfg(test)]
    fn with_clients(
        s3: aws_sdk_s3::Client,
        control: aws_sdk_s3control::Client,
        iam: aws_sdk_iam::Client,
        sts: aws_sdk_sts::Client,
        account_id: &str,
    ) -> Result<AwsBackend> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("cannot start the AWS runtime: {e}")))?;
        let account = OnceLock::new();
        let _ = account.set(account_id.to_string());
        let clock = OnceLock::new();
        let _ = clock.set(None);
        Ok(AwsBackend {
            s3,
            control,
            iam,
            sts,
            config: aws_config::SdkConfig::builder().build(),
            region: "us-east-1".into(),
            account_id: account,
            endpoint_url: None,
            clock,
            rt,
        })
    }

    fn block<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }
    fn account(&self) -> Result<String> {
        if let Some(account) = self.account_id.get() {
            return Ok(account.clone());
        }
        let out = self
            .block(self.sts.get_caller_identity().send())
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        let account = out
            .account()
            .ok_or_else(|| Error::internal("STS GetCallerIdentity returned no account"))?
            .to_string();
        Ok(self.account_id.get_or_init(|| account).clone())
    }

    fn signing(&self) -> Result<Signing> {
        let provider = self.config.credentials_provider().ok_or_else(|| {
            Error::new("NoCredentials", "Unable to locate credentials")
                .hint(errors::NO_CREDENTIALS_HINT)
        })?;
        let creds = self
            .block(provider.provide_credentials())
            .map_err(|e| errors::no_credentials(&e.to_string()))?;
        Ok(Signing {
            credentials: crate::sigv4::Credentials {
                access_key_id: creds.access_key_id().to_string(),
                secret_access_key: creds.secret_access_key().to_string(),
            },
            session_token: creds.session_token().map(str::to_string),
            region: self.region.clone(),
        })
    }

    /// The virtual clock of the `s3thaw serve` at `--endpoint-url`, if that is what it is.
    fn sim_clock(&self) -> Option<&SimClock> {
        self.clock
            .get_or_init(|| {
                let authority = clock::loopback_authority(self.endpoint_url.as_deref()?)?;
                let signing = self.signing().ok()?;
                SimClock::probe(&authority, &signing)
            })
            .as_ref()
    }

    /// The serve clock, or `NotSupported` when the endpoint is not an `s3thaw serve`.
    fn serve_clock(&self) -> Result<&SimClock> {
        self.sim_clock().ok_or_else(|| {
            Error::not_supported("simulator controls need an s3thaw serve at --endpoint-url")
        })
    }

    fn serve_control(&self, name: &str, params: &[(&str, Option<String>)]) -> Result<Json> {
        self.serve_clock()?.control(name, params, &self.signing()?)
    }
}

/// The controls of the `s3thaw serve` at `--endpoint-url`, forwarded to its admin endpoint
/// (`clock.rs`). Only offered (`sim_controls`) when the probe found one.
impl SimControls for AwsBackend {
    fn advance(&self, by: Duration) -> Result<OffsetDateTime> {
        self.serve_clock()?.advance(by, &self.signing()?)
    }

    fn set_clock(&self, at: Option<OffsetDateTime>, frozen: bool) -> Result<OffsetDateTime> {
        self.serve_clock()?.set_clock(at, frozen, &self.signing()?)
    }

    fn next_event(&self) -> Result<Option<OffsetDateTime>> {
        self.serve_clock()?.next_event(&self.signing()?)
    }

    fn reset(&self) -> Result<()> {
        self.serve_control("reset", &[]).map(drop)
    }

    fn set_seed(&self, seed: u64) -> Result<()> {
        self.serve_control("seed", &[("seed", Some(seed.to_string()))])
            .map(drop)
    }

    fn seed_objects(
        &self,
        bucket: &str,
        count: u64,
        prefix: &str,
        storage_class: StorageClass,
        size: u64,
    ) -> Result<u64> {
        let answer = self.serve_control(
            "seed-objects",
            &[
                ("bucket", Some(bucket.to_string())),
                ("count", Some(count.to_string())),
                ("prefix", Some(prefix.to_string())),
                ("storage_class", Some(storage_class.as_str().to_string())),
                ("size", Some(size.to_string())),
            ],
        )?;
        answer
            .get("count")
            .and_then(Json::as_u64)
            .ok_or_else(|| Error::internal("s3thaw serve did not say how many objects it seeded"))
    }

    fn set_faults(&self, faults: Faults) -> Result<()> {
        self.serve_control(
            "faults",
            &[
                ("throttle_rate", Some(faults.throttle_rate.to_string())),
                ("error_rate", Some(faults.error_rate.to_string())),
                ("seed", Some(faults.seed.to_string())),
            ],
        )
        .map(drop)
    }

    fn set_capacity(&self, jobs: u32) -> Result<()> {
        self.serve_control("capacity", &[("jobs", Some(jobs.to_string()))])
            .map(drop)
    }

    fn set_access_tier(
        &self,
        bucket: &str,
        key: &str,
        tier: Option<ArchiveAccessTier>,
    ) -> Result<()> {
        self.serve_control(
            "access-tier",
            &[
                ("bucket", Some(bucket.to_string())),
                ("key", Some(key.to_string())),
                ("tier", tier.map(|t| t.as_str().to_string())),
            ],
        )
        .map(drop)
    }
}

impl Backend for AwsBackend {
    fn kind(&self) -> &'static str {
        "aws"
    }

    fn account_id(&self) -> Result<String> {
        self.account()
    }

    fn region(&self) -> String {
        self.region.clone()
    }

    fn sim_controls(&self) -> Option<&dyn SimControls> {
        self.sim_clock().map(|_| self as &dyn SimControls)
    }

    fn confirms_destructive(&self) -> bool {
        true
    }

    fn now(&self) -> Result<OffsetDateTime> {
        match self.sim_clock() {
            Some(clock) => clock.now(&self.signing()?),
            None => Ok(OffsetDateTime::now_utc()),
        }
    }

    fn sleep(&self, duration: Duration) -> Result<()> {
        match self.sim_clock() {
            Some(clock) => clock.advance(duration, &self.signing()?).map(drop),
            None => {
                std::thread::sleep(duration);
                Ok(())
            }
        }
    }

    fn wait_step(&self, poll: Duration, deadline: OffsetDateTime) -> Result<()> {
        match self.sim_clock() {
            Some(clock) => clock.wait_step(deadline, &self.signing()?),
            None => {
                let left = (deadline - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
                std::thread::sleep(poll.min(left.unsigned_abs()));
                Ok(())
            }
        }
    }

    // S3: s3.rs
    fn create_bucket(&self, name: &str, region: Option<&str>) -> Result<BucketInfo> {
        s3::create_bucket(self, name, region)
    }

    fn put_bucket_versioning(&self, bucket: &str, enabled: bool) -> Result<()> {
        s3::put_bucket_versioning(self, bucket, enabled)
    }

    fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<VersioningStatus>> {
        s3::get_bucket_versioning(self, bucket)
    }

    fn delete_bucket(&self, name: &str) -> Result<()> {
        s3::delete_bucket(self, name)
    }

    fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        s3::list_buckets(self)
    }

    fn put_object(&self, request: PutObject) -> Result<ObjectWritten> {
        s3::put_object(self, request)
    }

    fn get_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Vec<u8>> {
        s3::get_object(self, bucket, key, version_id)
    }

    fn head_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<ObjectHead> {
        s3::head_object(self, bucket, key, version_id)
    }

    fn head_objects(&self, objects: &[ObjectRef], concurrency: usize) -> Vec<Result<ObjectHead>> {
        s3::head_objects(self, objects, concurrency)
    }

    fn list_objects(&self, request: &ListObjects) -> Result<Page<ObjectSummary>> {
        s3::list_objects(self, request)
    }

    fn list_object_versions(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<&str>,
    ) -> Result<Page<ObjectVersion>> {
        s3::list_object_versions(self, bucket, prefix, continuation)
    }

    fn get_object_with(&self, request: &GetObject) -> Result<(ObjectHead, Vec<u8>)> {
        s3::get_object_with(self, request)
    }

    fn head_object_with(&self, request: &GetObject) -> Result<ObjectHead> {
        s3::head_object_with(self, request)
    }

    fn copy_object_with(&self, request: &CopyObject) -> Result<ObjectWritten> {
        s3::copy_object_with(self, request)
    }

    fn copy_object_multipart(&self, request: &CopyObject, part_size: u64) -> Result<ObjectWritten> {
        s3::copy_object_multipart(self, request, part_size)
    }

    fn get_object_stream(
        &self,
        request: &GetObject,
        range: Option<RangeRequest>,
    ) -> Result<ObjectStream<'_>> {
        s3::get_object_stream(self, request, range)
    }

    fn copy_objects(
        &self,
        requests: &[(ObjectRef, CopyOperation)],
        concurrency: usize,
    ) -> Vec<Result<ObjectWritten>> {
        s3::copy_objects(self, requests, concurrency)
    }

    fn delete_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Deleted> {
        s3::delete_object(self, bucket, key, version_id)
    }

    fn delete_objects(&self, bucket: &str, objects: &[ObjectId]) -> Result<Vec<Result<Deleted>>> {
        s3::delete_objects(self, bucket, objects)
    }

    fn restore_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        request: RestoreRequest,
    ) -> Result<RestoreOutcome> {
        s3::restore_object(self, bucket, key, version_id, request)
    }

    fn restore_objects(
        &self,
        requests: &[(ObjectRef, RestoreRequest)],
        concurrency: usize,
    ) -> Vec<Result<RestoreOutcome>> {
        s3::restore_objects(self, requests, concurrency)
    }

    // S3 Control (Batch Operations): control.rs
    fn create_job(&self, spec: &JobSpec) -> Result<String> {
        control::create_job(self, spec)
    }

    fn describe_job(&self, job_id: &str) -> Result<Job> {
        control::describe_job(self, job_id)
    }

    fn list_jobs(&self, statuses: &[JobStatus], next: Option<&str>) -> Result<Page<JobSummary>> {
        control::list_jobs(self, statuses, next)
    }

    fn update_job_status(
        &self,
        job_id: &str,
        requested: RequestedJobStatus,
        reason: Option<&str>,
    ) -> Result<JobStatus> {
        control::update_job_status(self, job_id, requested, reason)
    }

    fn update_job_priority(&self, job_id: &str, priority: i32) -> Result<i32> {
        control::update_job_priority(self, job_id, priority)
    }

    fn get_job_tagging(&self, job_id: &str) -> Result<BTreeMap<String, String>> {
        control::get_job_tagging(self, job_id)
    }

    fn put_job_tagging(&self, job_id: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        control::put_job_tagging(self, job_id, tags)
    }

    // IAM and STS: iam.rs
    fn create_role(
        &self,
        name: &str,
        trust_policy: &Json,
        description: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Role> {
        iam::create_role(self, name, trust_policy, description, tags)
    }

    fn get_role(&self, name: &str) -> Result<Role> {
        iam::get_role(self, name)
    }

    fn delete_role(&self, name: &str) -> Result<()> {
        iam::delete_role(self, name)
    }

    fn create_policy(&self, name: &str, document: &Json) -> Result<Policy> {
        iam::create_policy(self, name, document)
    }

    fn get_policy(&self, arn: &str) -> Result<Policy> {
        iam::get_policy(self, arn)
    }

    fn delete_policy(&self, arn: &str) -> Result<()> {
        iam::delete_policy(self, arn)
    }

    fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        iam::attach_role_policy(self, role, policy_arn)
    }

    fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        iam::detach_role_policy(self, role, policy_arn)
    }

    fn list_attached_role_policies(&self, role: &str) -> Result<Vec<String>> {
        iam::list_attached_role_policies(self, role)
    }

    fn put_role_policy(&self, role: &str, name: &str, document: &Json) -> Result<()> {
        iam::put_role_policy(self, role, name, document)
    }

    fn delete_role_policy(&self, role: &str, name: &str) -> Result<()> {
        iam::delete_role_policy(self, role, name)
    }

    fn list_role_policies(&self, role: &str) -> Result<Vec<String>> {
        iam::list_role_policies(self, role)
    }

    fn simulate_principal_policy(
        &self,
        role_arn: &str,
        action: &str,
        resource: &str,
    ) -> Result<crate::policy::Decision> {
        iam::simulate_principal_policy(self, role_arn, action, resource)
    }
}
