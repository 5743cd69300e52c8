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

mod clock;
pub mod errors;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3control::config::endpoint::{EndpointFuture, Params as ControlParams};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::backend::*;
use crate::errors::{Error, Result};
use clock::{Signing, SimClock};
use errors::{Ctx, build_error, from_sdk};

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

fn smithy_date(t: OffsetDateTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.unix_timestamp())
}

fn smithy_time(t: Option<&aws_smithy_types::DateTime>) -> Option<OffsetDateTime> {
    t.map(datetime)
}

/// Parses `x-amz-restore`: `ongoing-request="true"` or
/// `ongoing-request="false", expiry-date="Fri, 19 Oct 2012 00:00:00 GMT"`.
pub fn parse_restore_header(value: &str) -> Option<RestoreState> {
    let field = |name: &str| {
        let start = value.find(&format!("{name}=\""))? + name.len() + 2;
        let end = value[start..].find('"')? + start;
        Some(value[start..end].to_string())
    };
    let ongoing = field("ongoing-request")? == "true";
    let expiry = field("expiry-date").and_then(|d| {
        let text = d.replace(" GMT", " +0000");
        OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc2822).ok()
    });
    Some(RestoreState { ongoing, expiry })
}

/// Reads the HTTP status of a response into a shared slot (RestoreObject's 200 and 202 differ
/// only there).
#[derive(Debug, Clone, Default)]
struct StatusProbe(Arc<AtomicU16>);

impl aws_sdk_s3::config::Intercept for StatusProbe {
    fn name(&self) -> &'static str {
        "StatusProbe"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> std::result::Result<(), aws_sdk_s3::error::BoxError> {
        self.0
            .store(context.response().status().as_u16(), Ordering::Relaxed);
        Ok(())
    }
}

fn s3_class(class: StorageClass) -> aws_sdk_s3::types::StorageClass {
    aws_sdk_s3::types::StorageClass::from(class.as_str())
}

fn our_class(class: Option<&aws_sdk_s3::types::StorageClass>) -> Result<StorageClass> {
    match class {
        None => Ok(StorageClass::Standard),
        Some(c) => c.as_str().parse(),
    }
}

fn s3_tier(tier: Tier) -> aws_sdk_s3::types::Tier {
    aws_sdk_s3::types::Tier::from(match tier {
        Tier::Expedited => "Expedited",
        Tier::Standard => "Standard",
        Tier::Bulk => "Bulk",
    })
}

impl AwsBackend {
    pub fn new(options: AwsOptions) -> Result<AwsBackend> {
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

    /// HeadObject, as a future so many can run at once (`head_objects`).
    async fn head_async(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        conditions: &Conditions,
    ) -> Result<ObjectHead> {
        let ctx = Ctx::object(bucket, key, version_id);

        let out = match self
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_string))
            .set_if_match(conditions.if_match.clone())
            .set_if_none_match(conditions.if_none_match.clone())
            .set_if_modified_since(conditions.if_modified_since.map(smithy_date))
            .set_if_unmodified_since(conditions.if_unmodified_since.map(smithy_date))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let error = from_sdk(e, &ctx);
                if error.status == Some(404) {
                    return Err(self.missing_object(bucket, key, version_id).await);
                }
                return Err(error);
            }
        };
        Ok(ObjectHead {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: out.version_id().map(str::to_string),
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: out.e_tag().unwrap_or_default().to_string(),
            storage_class: our_class(out.storage_class())?,
            last_modified: smithy_time(out.last_modified()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            content_type: out.content_type().map(str::to_string),
            metadata: out
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            headers: [
                ("cache-control", out.cache_control()),
                ("content-disposition", out.content_disposition()),
                ("content-encoding", out.content_encoding()),
                ("content-language", out.content_language()),
                ("expires", out.expires_string()),
            ]
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n.to_string(), v.to_string())))
            .collect(),
            archive_status: out
                .archive_status()
                .map(|a| a.as_str().parse())
                .transpose()?,
            restore: out.restore().and_then(parse_restore_header),
        })
    }

    /// RestoreObject, as a future so many can run at once (`restore_objects`).
    async fn restore_async(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        request: RestoreRequest,
    ) -> Result<RestoreOutcome> {
        let probe = StatusProbe::default();
        let restore = aws_sdk_s3::types::RestoreRequest::builder()
            .set_days(request.days.map(|d| d as i32))
            .glacier_job_parameters(
                aws_sdk_s3::types::GlacierJobParameters::builder()
                    .tier(s3_tier(request.tier))
                    .build()
                    .map_err(build_error)?,
            )
            .build();
        self.s3
            .restore_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_string))
            .restore_request(restore)
            .customize()
            .interceptor(probe.clone())
            .send()
            .await
            .map_err(|e| from_sdk(e, &Ctx::object(bucket, key, version_id)))?;
        Ok(match probe.0.load(Ordering::Relaxed) {
            200 => RestoreOutcome::AlreadyRestored,
            _ => RestoreOutcome::Accepted,
        })
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
            Error::new("NoCredentials", "no AWS credentials provider is configured")
        })?;
        let creds = self
            .block(provider.provide_credentials())
            .map_err(|e| Error::new("NoCredentials", format!("no AWS credentials: {e}")))?;
        Ok(Signing {
            credentials: crate::serve::sigv4::Credentials {
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

    async fn bucket_exists(&self, bucket: &str) -> Result<bool> {
        match self.s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let error = from_sdk(e, &Ctx::bucket(bucket));
                if error.status == Some(404) {
                    Ok(false)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// HEAD answers 404 with no body: name the missing thing as GET would.
    async fn missing_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Error {
        match self.bucket_exists(bucket).await {
            Ok(false) => Error::no_such_bucket(bucket),
            Err(e) => e,
            Ok(true) => match version_id {
                Some(v) => Error::new("NoSuchVersion", "The specified version does not exist.")
                    .status(404)
                    .bucket(bucket)
                    .key(key)
                    .version_id(Some(v)),
                None => Error::no_such_key(bucket, key),
            },
        }
    }

    async fn describe(&self, job_id: &str) -> Result<Job> {
        let account = self.account()?;
        let out = self
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
    let (bucket, key) = arn
        .strip_prefix("arn:aws:s3:::")
        .and_then(|rest| rest.split_once('/'))
        .ok_or_else(|| bad("the manifest ARN is not an S3 object ARN"))?;
    let restore = job
        .operation()
        .and_then(|o| o.s3_initiate_restore_object())
        .ok_or_else(|| {
            Error::not_supported(format!("job {id} is not an S3InitiateRestoreObject job"))
                .job_id(&id)
        })?;
    let tier = restore
        .glacier_job_tier()
        .map(|t| t.as_str().parse())
        .transpose()?
        .unwrap_or(Tier::Bulk);
    let progress = job.progress_summary();
    let report = job
        .report()
        .filter(|r| r.enabled())
        .map(|r| -> Result<ReportSpec> {
            let bucket = r.bucket().unwrap_or_default();
            Ok(ReportSpec {
                bucket: bucket
                    .strip_prefix("arn:aws:s3:::")
                    .unwrap_or(bucket)
                    .to_string(),
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
        operation: JobOperation::InitiateRestore {
            days: restore.expiration_in_days().map(|d| d as u32),
            tier,
        },
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

fn role_of(role: &aws_sdk_iam::types::Role) -> Role {
    let document = role
        .assume_role_policy_document()
        .map(|d| crate::serve::sigv4::percent_decode(d, false))
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or(Json::Null);
    Role {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        id: role.role_id().to_string(),
        trust_policy: document,
        description: role.description().map(str::to_string),
        created: datetime(role.create_date()),
    }
}

fn policy_of(policy: Option<&aws_sdk_iam::types::Policy>) -> Result<Policy> {
    let policy = policy.ok_or_else(|| Error::internal("IAM returned no policy"))?;
    Ok(Policy {
        name: policy.policy_name().unwrap_or_default().to_string(),
        arn: policy.arn().unwrap_or_default().to_string(),
        id: policy.policy_id().unwrap_or_default().to_string(),
    })
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

    fn clock_is_virtual(&self) -> bool {
        self.sim_clock().is_some()
    }

    fn now(&self) -> Result<OffsetDateTime> {
        match self.sim_clock() {
            Some(clock) => clock.now(&self.signing()?),
            None => Ok(OffsetDateTime::now_utc()),
        }
    }

    fn next_change(&self) -> Result<Option<OffsetDateTime>> {
        match self.sim_clock() {
            Some(clock) => clock.next_event(&self.signing()?),
            None => Ok(None),
        }
    }

    fn sleep(&self, duration: Duration) -> Result<()> {
        match self.sim_clock() {
            Some(clock) => clock.advance(duration, &self.signing()?),
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

    fn create_bucket(&self, name: &str, region: Option<&str>) -> Result<BucketInfo> {
        validate_bucket_name(name)?;
        let region = region.unwrap_or(&self.region).to_string();
        let mut request = self.s3.create_bucket().bucket(name);
        if region != "us-east-1" {
            request = request.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        region.as_str(),
                    ))
                    .build(),
            );
        }
        self.block(request.send())
            .map_err(|e| from_sdk(e, &Ctx::bucket(name)))?;
        Ok(BucketInfo {
            name: name.to_string(),
            region,
            created: self.now()?,
        })
    }

    fn put_bucket_versioning(&self, bucket: &str, enabled: bool) -> Result<()> {
        let status = if enabled {
            aws_sdk_s3::types::BucketVersioningStatus::Enabled
        } else {
            aws_sdk_s3::types::BucketVersioningStatus::Suspended
        };
        self.block(
            self.s3
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(status)
                        .build(),
                )
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::bucket(bucket)))?;
        Ok(())
    }

    fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<VersioningStatus>> {
        use aws_sdk_s3::types::BucketVersioningStatus as S;
        let out = self
            .block(self.s3.get_bucket_versioning().bucket(bucket).send())
            .map_err(|e| from_sdk(e, &Ctx::bucket(bucket)))?;
        Ok(match out.status() {
            Some(S::Enabled) => Some(VersioningStatus::Enabled),
            Some(S::Suspended) => Some(VersioningStatus::Suspended),
            _ => None,
        })
    }

    fn delete_bucket(&self, name: &str) -> Result<()> {
        self.block(self.s3.delete_bucket().bucket(name).send())
            .map_err(|e| from_sdk(e, &Ctx::bucket(name)))?;
        Ok(())
    }

    fn list_buckets(&self) -> Result<Vec<BucketInfo>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .block(
                    self.s3
                        .list_buckets()
                        .set_continuation_token(token.clone())
                        .send(),
                )
                .map_err(|e| from_sdk(e, &Ctx::none()))?;
            for b in page.buckets() {
                out.push(BucketInfo {
                    name: b.name().unwrap_or_default().to_string(),
                    region: b.bucket_region().unwrap_or(&self.region).to_string(),
                    created: smithy_time(b.creation_date()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                });
            }
            match page.continuation_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    fn put_object(&self, request: PutObject) -> Result<ObjectWritten> {
        let ctx = Ctx::object(&request.bucket, &request.key, None);
        let class = request.storage_class.unwrap_or(StorageClass::Standard);
        let mut call = self
            .s3
            .put_object()
            .bucket(&request.bucket)
            .key(&request.key)
            .body(ByteStream::from(request.body))
            .set_if_match(request.conditions.if_match.clone())
            .set_if_none_match(request.conditions.if_none_match.clone())
            .set_cache_control(request.headers.get("cache-control").cloned())
            .set_content_disposition(request.headers.get("content-disposition").cloned())
            .set_content_encoding(request.headers.get("content-encoding").cloned())
            .set_content_language(request.headers.get("content-language").cloned())
            .set_content_type(request.content_type.clone())
            .set_metadata((!request.metadata.is_empty()).then(|| {
                request
                    .metadata
                    .clone()
                    .into_iter()
                    .collect::<HashMap<_, _>>()
            }));
        if request.storage_class.is_some() {
            call = call.storage_class(s3_class(class));
        }
        let out = self.block(call.send()).map_err(|e| from_sdk(e, &ctx))?;
        Ok(ObjectWritten {
            etag: out.e_tag().unwrap_or_default().to_string(),
            version_id: out.version_id().map(str::to_string),
            bucket: request.bucket,
            key: request.key,
            storage_class: class,
        })
    }

    fn get_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Vec<u8>> {
        let ctx = Ctx::object(bucket, key, version_id);
        self.block(async {
            let out = self
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version_id.map(str::to_string))
                .send()
                .await
                .map_err(|e| {
                    let error = from_sdk(e, &ctx);
                    if error.code == "InvalidObjectState" {
                        error.hint("the object is archived; restore it first (s3::restore_object or a batch job) and wait until the restore completes")
                    } else {
                        error
                    }
                })?;
            let body = out.body.collect().await.map_err(|e| {
                ctx.attach(Error::new(
                    "ServiceUnavailable",
                    format!("reading the object's body failed: {e}"),
                ))
            })?;
            Ok(body.into_bytes().to_vec())
        })
    }

    fn head_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<ObjectHead> {
        self.block(self.head_async(bucket, key, version_id, &Conditions::default()))
    }

    fn head_objects(&self, objects: &[ObjectRef], concurrency: usize) -> Vec<Result<ObjectHead>> {
        use futures_util::StreamExt;
        let none = Conditions::default();
        self.block(
            futures_util::stream::iter(objects)
                .map(|o| self.head_async(&o.bucket, &o.key, o.version_id.as_deref(), &none))
                .buffered(concurrency.max(1))
                .collect(),
        )
    }

    fn list_objects(&self, request: &ListObjects) -> Result<Page<ObjectSummary>> {
        let out = self
            .block(
                self.s3
                    .list_objects_v2()
                    .bucket(&request.bucket)
                    .set_prefix(request.prefix.clone())
                    .set_continuation_token(request.continuation.clone())
                    .set_start_after(request.start_after.clone())
                    .set_max_keys(request.max_keys.map(|m| m.min(1000) as i32))
                    .set_optional_object_attributes(
                        request.restore_status.then(|| {
                            vec![aws_sdk_s3::types::OptionalObjectAttributes::RestoreStatus]
                        }),
                    )
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::bucket(&request.bucket)))?;
        let items = out
            .contents()
            .iter()
            .map(|o| {
                Ok(ObjectSummary {
                    key: o.key().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().unwrap_or_default().to_string(),
                    storage_class: match o.storage_class() {
                        None => StorageClass::Standard,
                        Some(c) => c.as_str().parse()?,
                    },
                    last_modified: smithy_time(o.last_modified())
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    // AWS sends RestoreStatus only for objects with a restore running or a
                    // restored copy, as HEAD's x-amz-restore.
                    restore: o.restore_status().map(|r| RestoreState {
                        ongoing: r.is_restore_in_progress() == Some(true),
                        expiry: smithy_time(r.restore_expiry_date()),
                    }),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let next = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    fn list_object_versions(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<&str>,
    ) -> Result<Page<ObjectVersion>> {
        // Our token is "KEY\0VERSION": S3's key and version-id markers.
        let (key_marker, version_marker) = match continuation.and_then(|c| c.split_once('\0')) {
            Some((k, v)) => (Some(k.to_string()), Some(v.to_string())),
            None => (None, None),
        };
        let out = self
            .block(
                self.s3
                    .list_object_versions()
                    .bucket(bucket)
                    .set_prefix(prefix.map(str::to_string))
                    .set_key_marker(key_marker)
                    .set_version_id_marker(version_marker)
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::bucket(bucket)))?;
        let mut items = Vec::new();
        for v in out.versions() {
            items.push(ObjectVersion {
                key: v.key().unwrap_or_default().to_string(),
                version_id: v.version_id().filter(|v| *v != "null").map(str::to_string),
                is_latest: v.is_latest().unwrap_or(false),
                is_delete_marker: false,
                size: v.size().unwrap_or(0).max(0) as u64,
                etag: v.e_tag().map(str::to_string),
                storage_class: Some(match v.storage_class() {
                    None => StorageClass::Standard,
                    Some(c) => c.as_str().parse()?,
                }),
                last_modified: smithy_time(v.last_modified()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            });
        }
        for m in out.delete_markers() {
            items.push(ObjectVersion {
                key: m.key().unwrap_or_default().to_string(),
                version_id: m.version_id().filter(|v| *v != "null").map(str::to_string),
                is_latest: m.is_latest().unwrap_or(false),
                is_delete_marker: true,
                size: 0,
                etag: None,
                storage_class: None,
                last_modified: smithy_time(m.last_modified()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            });
        }
        // The SDK splits versions from delete markers; put them back in S3's order: by key,
        // the current one first, then newest first.
        items.sort_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then(b.is_latest.cmp(&a.is_latest))
                .then(b.last_modified.cmp(&a.last_modified))
        });
        let next = if out.is_truncated() == Some(true) {
            out.next_key_marker()
                .map(|k| format!("{k}\0{}", out.next_version_id_marker().unwrap_or_default()))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    fn get_object_with(&self, request: &GetObject) -> Result<(ObjectHead, Vec<u8>)> {
        let version = request.version_id.as_deref();
        let head = self.head_object_with(request)?;
        // The bytes of exactly the version the head describes.
        let body = self.get_object(
            &request.bucket,
            &request.key,
            head.version_id.as_deref().or(version),
        )?;
        Ok((head, body))
    }

    fn head_object_with(&self, request: &GetObject) -> Result<ObjectHead> {
        self.block(self.head_async(
            &request.bucket,
            &request.key,
            request.version_id.as_deref(),
            &request.conditions,
        ))
    }

    fn copy_object_with(&self, request: &CopyObject) -> Result<ObjectWritten> {
        let src = &request.source;
        let mut source = format!(
            "{}/{}",
            src.bucket,
            crate::serve::sigv4::uri_encode(&src.key, true)
        );
        if let Some(v) = &src.version_id {
            source.push_str(&format!(
                "?versionId={}",
                crate::serve::sigv4::uri_encode(v, false)
            ));
        }
        let class = request.storage_class.unwrap_or(StorageClass::Standard);
        let c = &request.conditions;
        let mut call = self
            .s3
            .copy_object()
            .copy_source(source)
            .bucket(&request.bucket)
            .key(&request.key)
            .storage_class(s3_class(class))
            .set_copy_source_if_match(c.if_match.clone())
            .set_copy_source_if_none_match(c.if_none_match.clone())
            .set_copy_source_if_modified_since(c.if_modified_since.map(smithy_date))
            .set_copy_source_if_unmodified_since(c.if_unmodified_since.map(smithy_date));
        if let Some(Replaced {
            content_type,
            metadata,
            headers,
        }) = &request.replace
        {
            call = call
                .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
                .set_cache_control(headers.get("cache-control").cloned())
                .set_content_disposition(headers.get("content-disposition").cloned())
                .set_content_encoding(headers.get("content-encoding").cloned())
                .set_content_language(headers.get("content-language").cloned())
                .set_content_type(content_type.clone())
                .set_metadata(Some(metadata.clone().into_iter().collect()));
        }
        let out = self.block(call.send()).map_err(|e| {
            from_sdk(
                e,
                &Ctx::object(&src.bucket, &src.key, src.version_id.as_deref()),
            )
        })?;
        Ok(ObjectWritten {
            bucket: request.bucket.clone(),
            key: request.key.clone(),
            etag: out
                .copy_object_result()
                .and_then(|r| r.e_tag())
                .unwrap_or_default()
                .to_string(),
            version_id: out.version_id().map(str::to_string),
            storage_class: class,
        })
    }

    fn delete_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Deleted> {
        let out = self
            .block(
                self.s3
                    .delete_object()
                    .bucket(bucket)
                    .key(key)
                    .set_version_id(version_id.map(str::to_string))
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::object(bucket, key, version_id)))?;
        Ok(Deleted {
            key: key.to_string(),
            version_id: out.version_id().map(str::to_string),
            delete_marker: out.delete_marker().unwrap_or(false),
        })
    }

    fn delete_objects(&self, bucket: &str, objects: &[ObjectId]) -> Result<Vec<Result<Deleted>>> {
        let ids = objects
            .iter()
            .map(|o| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(&o.key)
                    .set_version_id(o.version_id.clone())
                    .build()
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>>>()?;
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(ids))
            .quiet(false)
            .build()
            .map_err(build_error)?;
        let out = self
            .block(
                self.s3
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::bucket(bucket)))?;
        let same = |key: Option<&str>, version: Option<&str>, id: &ObjectId| {
            key == Some(id.key.as_str())
                && (id.version_id.is_none() || version == id.version_id.as_deref())
        };
        Ok(objects
            .iter()
            .map(|id| {
                if let Some(d) = out
                    .deleted()
                    .iter()
                    .find(|d| same(d.key(), d.version_id(), id))
                {
                    return Ok(Deleted {
                        key: id.key.clone(),
                        version_id: d
                            .version_id()
                            .or(d.delete_marker_version_id())
                            .map(str::to_string),
                        delete_marker: d.delete_marker().unwrap_or(false),
                    });
                }
                match out
                    .errors()
                    .iter()
                    .find(|e| same(e.key(), e.version_id(), id))
                {
                    Some(e) => Err(
                        Ctx::object(bucket, &id.key, id.version_id.as_deref()).attach(Error::new(
                            e.code().unwrap_or("InternalError"),
                            e.message().unwrap_or("the object could not be deleted"),
                        )),
                    ),
                    None => Err(Error::internal(format!(
                        "DeleteObjects said nothing about {}",
                        id.key
                    ))),
                }
            })
            .collect())
    }

    fn restore_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        request: RestoreRequest,
    ) -> Result<RestoreOutcome> {
        self.block(self.restore_async(bucket, key, version_id, request))
    }

    fn restore_objects(
        &self,
        requests: &[(ObjectRef, RestoreRequest)],
        concurrency: usize,
    ) -> Vec<Result<RestoreOutcome>> {
        use futures_util::StreamExt;
        self.block(
            futures_util::stream::iter(requests)
                .map(|(o, r)| self.restore_async(&o.bucket, &o.key, o.version_id.as_deref(), *r))
                .buffered(concurrency.max(1))
                .collect(),
        )
    }

    fn create_job(&self, spec: &JobSpec) -> Result<String> {
        use aws_sdk_s3control::types as t;
        let account = self.account()?;
        let JobOperation::InitiateRestore { days, tier } = spec.operation;
        let operation = t::JobOperation::builder()
            .s3_initiate_restore_object(
                t::S3InitiateRestoreObjectOperation::builder()
                    .set_expiration_in_days(days.map(|d| d as i32))
                    .glacier_job_tier(t::S3GlacierJobTier::from(tier.as_str()))
                    .build(),
            )
            .build();
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
        let out = self
            .block(
                self.control
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

    fn describe_job(&self, job_id: &str) -> Result<Job> {
        self.block(self.describe(job_id))
    }

    fn list_jobs(&self, statuses: &[JobStatus], next: Option<&str>) -> Result<Page<JobSummary>> {
        let account = self.account()?;
        let out = self
            .block(
                self.control
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
                        _ => "Other",
                    },
                    creation_time: smithy_time(j.creation_time())
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
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

    fn update_job_status(
        &self,
        job_id: &str,
        requested: RequestedJobStatus,
        reason: Option<&str>,
    ) -> Result<JobStatus> {
        let account = self.account()?;
        let out = self
            .block(
                self.control
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

    fn update_job_priority(&self, job_id: &str, priority: i32) -> Result<i32> {
        let account = self.account()?;
        let out = self
            .block(
                self.control
                    .update_job_priority()
                    .account_id(account)
                    .job_id(job_id)
                    .priority(priority)
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::job(job_id)))?;
        Ok(out.priority())
    }

    fn get_job_tagging(&self, job_id: &str) -> Result<BTreeMap<String, String>> {
        let account = self.account()?;
        let out = self
            .block(
                self.control
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

    fn put_job_tagging(&self, job_id: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        let account = self.account()?;
        let ctx = Ctx::job(job_id);
        if tags.is_empty() {
            self.block(
                self.control
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
        self.block(
            self.control
                .put_job_tagging()
                .account_id(account)
                .job_id(job_id)
                .set_tags(Some(tags))
                .send(),
        )
        .map_err(|e| from_sdk(e, &ctx))?;
        Ok(())
    }

    fn create_role(
        &self,
        name: &str,
        trust_policy: &Json,
        description: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Role> {
        let tags = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .block(
                self.iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust_policy.to_string())
                    .set_description(description.map(str::to_string))
                    .set_tags((!tags.is_empty()).then_some(tags))
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        out.role()
            .map(role_of)
            .ok_or_else(|| Error::internal("CreateRole returned no role"))
    }

    fn get_role(&self, name: &str) -> Result<Role> {
        let out = self
            .block(self.iam.get_role().role_name(name).send())
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        out.role()
            .map(role_of)
            .ok_or_else(|| Error::internal("GetRole returned no role"))
    }

    fn delete_role(&self, name: &str) -> Result<()> {
        self.block(self.iam.delete_role().role_name(name).send())
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        Ok(())
    }

    fn create_policy(&self, name: &str, document: &Json) -> Result<Policy> {
        let out = self
            .block(
                self.iam
                    .create_policy()
                    .policy_name(name)
                    .policy_document(document.to_string())
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        policy_of(out.policy())
    }

    fn get_policy(&self, arn: &str) -> Result<Policy> {
        let out = self
            .block(self.iam.get_policy().policy_arn(arn).send())
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        policy_of(out.policy())
    }

    fn delete_policy(&self, arn: &str) -> Result<()> {
        self.block(self.iam.delete_policy().policy_arn(arn).send())
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        Ok(())
    }

    fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        self.block(
            self.iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
        Ok(())
    }

    fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        self.block(
            self.iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(policy_arn)
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
        Ok(())
    }

    fn list_attached_role_policies(&self, role: &str) -> Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .block(
                    self.iam
                        .list_attached_role_policies()
                        .role_name(role)
                        .set_marker(marker.clone())
                        .send(),
                )
                .map_err(|e| from_sdk(e, &Ctx::none()))?;
            arns.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
            match (out.is_truncated(), out.marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => break,
            }
        }
        arns.sort();
        Ok(arns)
    }

    fn put_role_policy(&self, role: &str, name: &str, document: &Json) -> Result<()> {
        self.block(
            self.iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(document.to_string())
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
        Ok(())
    }

    fn delete_role_policy(&self, role: &str, name: &str) -> Result<()> {
        self.block(
            self.iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
        Ok(())
    }

    fn list_role_policies(&self, role: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .block(
                    self.iam
                        .list_role_policies()
                        .role_name(role)
                        .set_marker(marker.clone())
                        .send(),
                )
                .map_err(|e| from_sdk(e, &Ctx::none()))?;
            names.extend(out.policy_names().iter().cloned());
            match (out.is_truncated(), out.marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }

    fn simulate_principal_policy(
        &self,
        role_arn: &str,
        action: &str,
        resource: &str,
    ) -> Result<crate::policy::Decision> {
        let out = self
            .block(
                self.iam
                    .simulate_principal_policy()
                    .policy_source_arn(role_arn)
                    .action_names(action)
                    .resource_arns(resource)
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        let result = out
            .evaluation_results()
            .first()
            .ok_or_else(|| Error::internal("SimulatePrincipalPolicy returned no result"))?;
        use crate::policy::Decision;
        Ok(match result.eval_decision().as_str() {
            "allowed" => Decision::Allowed,
            "explicitDeny" => Decision::ExplicitDeny,
            _ => Decision::ImplicitDeny,
        })
    }
}
