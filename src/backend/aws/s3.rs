//! S3 on AWS: buckets, objects, versions, restores, one SDK call per `Backend` method (the
//! face of `crate::backend::sim::s3` and `crate::serve::s3`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use time::OffsetDateTime;

use super::errors::{Ctx, build_error, from_sdk};
use super::{AwsBackend, smithy_time};
use crate::backend::*;
use crate::errors::{Error, Result};

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

/// HeadObject, as a future so many can run at once (`head_objects`).
async fn head_async(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    conditions: &Conditions,
) -> Result<ObjectHead> {
    let ctx = Ctx::object(bucket, key, version_id);

    let out = match aws
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
                return Err(missing_object(aws, bucket, key, version_id).await);
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
/// RestoreObject. `sdk_retries: false` sends it once, without the SDK's retries, so a caller
/// that paces itself (`ops::restore::direct`) sees every 503 SlowDown and slows down instead of
/// waiting for the SDK's backoff.
async fn restore_async(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    request: RestoreRequest,
    sdk_retries: bool,
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
    let mut call = aws
        .s3
        .restore_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_string))
        .restore_request(restore)
        .customize()
        .interceptor(probe.clone());
    if !sdk_retries {
        call = call.config_override(
            aws_sdk_s3::config::Builder::default()
                .retry_config(aws_config::retry::RetryConfig::disabled()),
        );
    }
    call.send()
        .await
        .map_err(|e| from_sdk(e, &Ctx::object(bucket, key, version_id)))?;
    Ok(match probe.0.load(Ordering::Relaxed) {
        200 => RestoreOutcome::AlreadyRestored,
        _ => RestoreOutcome::Accepted,
    })
}

async fn bucket_exists(aws: &AwsBackend, bucket: &str) -> Result<bool> {
    match aws.s3.head_bucket().bucket(bucket).send().await {
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
async fn missing_object(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Error {
    match bucket_exists(aws, bucket).await {
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

pub(super) fn create_bucket(
    aws: &AwsBackend,
    name: &str,
    region: Option<&str>,
) -> Result<BucketInfo> {
    validate_bucket_name(name)?;
    let region = region.unwrap_or(&aws.region).to_string();
    let mut request = aws.s3.create_bucket().bucket(name);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    region.as_str(),
                ))
                .build(),
        );
    }
    aws.block(request.send())
        .map_err(|e| from_sdk(e, &Ctx::bucket(name)))?;
    Ok(BucketInfo {
        name: name.to_string(),
        region,
        created: aws.now()?,
    })
}

pub(super) fn put_bucket_versioning(aws: &AwsBackend, bucket: &str, enabled: bool) -> Result<()> {
    let status = if enabled {
        aws_sdk_s3::types::BucketVersioningStatus::Enabled
    } else {
        aws_sdk_s3::types::BucketVersioningStatus::Suspended
    };
    aws.block(
        aws.s3
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

pub(super) fn get_bucket_versioning(
    aws: &AwsBackend,
    bucket: &str,
) -> Result<Option<VersioningStatus>> {
    use aws_sdk_s3::types::BucketVersioningStatus as S;
    let out = aws
        .block(aws.s3.get_bucket_versioning().bucket(bucket).send())
        .map_err(|e| from_sdk(e, &Ctx::bucket(bucket)))?;
    Ok(match out.status() {
        Some(S::Enabled) => Some(VersioningStatus::Enabled),
        Some(S::Suspended) => Some(VersioningStatus::Suspended),
        _ => None,
    })
}

pub(super) fn delete_bucket(aws: &AwsBackend, name: &str) -> Result<()> {
    aws.block(aws.s3.delete_bucket().bucket(name).send())
        .map_err(|e| from_sdk(e, &Ctx::bucket(name)))?;
    Ok(())
}

pub(super) fn list_buckets(aws: &AwsBackend) -> Result<Vec<BucketInfo>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .block(
                aws.s3
                    .list_buckets()
                    .set_continuation_token(token.clone())
                    .send(),
            )
            .map_err(|e| from_sdk(e, &Ctx::none()))?;
        for b in page.buckets() {
            out.push(BucketInfo {
                name: b.name().unwrap_or_default().to_string(),
                region: b.bucket_region().unwrap_or(&aws.region).to_string(),
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

pub(super) fn put_object(aws: &AwsBackend, request: PutObject) -> Result<ObjectWritten> {
    let ctx = Ctx::object(&request.bucket, &request.key, None);
    let class = request.storage_class.unwrap_or(StorageClass::Standard);
    let mut call = aws
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
    let out = aws.block(call.send()).map_err(|e| from_sdk(e, &ctx))?;
    Ok(ObjectWritten {
        etag: out.e_tag().unwrap_or_default().to_string(),
        version_id: out.version_id().map(str::to_string),
        bucket: request.bucket,
        key: request.key,
        storage_class: class,
    })
}

pub(super) fn get_object(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Vec<u8>> {
    let ctx = Ctx::object(bucket, key, version_id);
    aws.block(async {
        let out = aws
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

pub(super) fn head_object(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<ObjectHead> {
    aws.block(head_async(
        aws,
        bucket,
        key,
        version_id,
        &Conditions::default(),
    ))
}

pub(super) fn head_objects(
    aws: &AwsBackend,
    objects: &[ObjectRef],
    concurrency: usize,
) -> Vec<Result<ObjectHead>> {
    use futures_util::StreamExt;
    let none = Conditions::default();
    aws.block(
        futures_util::stream::iter(objects)
            .map(|o| head_async(aws, &o.bucket, &o.key, o.version_id.as_deref(), &none))
            .buffered(concurrency.max(1))
            .collect(),
    )
}

pub(super) fn list_objects(aws: &AwsBackend, request: &ListObjects) -> Result<Page<ObjectSummary>> {
    let out = aws
        .block(
            aws.s3
                .list_objects_v2()
                .bucket(&request.bucket)
                .set_prefix(request.prefix.clone())
                .set_continuation_token(request.continuation.clone())
                .set_start_after(request.start_after.clone())
                .set_max_keys(request.max_keys.map(|m| m.min(1000) as i32))
                .set_optional_object_attributes(
                    request
                        .restore_status
                        .then(|| vec![aws_sdk_s3::types::OptionalObjectAttributes::RestoreStatus]),
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
                last_modified: smithy_time(o.last_modified()).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                // AWS sends RestoreStatus only for objects with a restore running or a restored
                // copy, as HEAD's x-amz-restore.
                restore: o.restore_status().map(|r| RestoreState {
                    ongoing: r.is_restore_in_progress() == Some(true),
                    expiry: smithy_time(r.restore_expiry_date()),
                }),
                owner: o.owner().map(owner_of),
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

pub(super) fn list_object_versions(
    aws: &AwsBackend,
    bucket: &str,
    prefix: Option<&str>,
    continuation: Option<&str>,
) -> Result<Page<ObjectVersion>> {
    // Our token is "KEY\0VERSION": S3's key and version-id markers.
    let (key_marker, version_marker) = match continuation.and_then(|c| c.split_once('\0')) {
        Some((k, v)) => (Some(k.to_string()), Some(v.to_string())),
        None => (None, None),
    };
    let out = aws
        .block(
            aws.s3
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
            owner: v.owner().map(owner_of),
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
            owner: m.owner().map(owner_of),
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

pub(super) fn get_object_with(
    aws: &AwsBackend,
    request: &GetObject,
) -> Result<(ObjectHead, Vec<u8>)> {
    let head = head_object_with(aws, request)?;
    // The bytes of exactly the version the head describes.
    let version = head.version_id.clone().or(request.version_id.clone());
    let body = get_object(aws, &request.bucket, &request.key, version.as_deref())?;
    Ok((head, body))
}

pub(super) fn head_object_with(aws: &AwsBackend, request: &GetObject) -> Result<ObjectHead> {
    aws.block(head_async(
        aws,
        &request.bucket,
        &request.key,
        request.version_id.as_deref(),
        &request.conditions,
    ))
}

pub(super) fn copy_object_with(aws: &AwsBackend, request: &CopyObject) -> Result<ObjectWritten> {
    aws.block(copy_async(aws, request))
}

/// CopyObject for many objects, `concurrency` in flight.
pub(super) fn copy_objects(
    aws: &AwsBackend,
    requests: &[(ObjectRef, CopyOperation)],
    concurrency: usize,
) -> Vec<Result<ObjectWritten>> {
    use futures_util::StreamExt;
    let requests: Vec<CopyObject> = requests
        .iter()
        .map(|(o, c)| CopyObject {
            source: o.clone(),
            bucket: c.target_bucket.clone(),
            key: c.target_key(&o.key),
            storage_class: c.storage_class,
            replace: (c.metadata_directive == Some(MetadataDirective::Replace))
                .then(Replaced::default),
            conditions: Conditions::default(),
        })
        .collect();
    aws.block(
        futures_util::stream::iter(&requests)
            .map(|r| copy_async(aws, r))
            .buffered(concurrency.max(1))
            .collect(),
    )
}

async fn copy_async(aws: &AwsBackend, request: &CopyObject) -> Result<ObjectWritten> {
    let src = &request.source;
    let source = copy_source_of(src);
    let class = request.storage_class.unwrap_or(StorageClass::Standard);
    let c = &request.conditions;
    let mut call = aws
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
    let out = call.send().await.map_err(|e| {
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

/// `x-amz-copy-source` for an object: `bucket/key[?versionId=..]`, the key URL-encoded.
fn copy_source_of(src: &ObjectRef) -> String {
    let mut source = format!(
        "{}/{}",
        src.bucket,
        crate::sigv4::uri_encode(&src.key, true)
    );
    if let Some(v) = &src.version_id {
        source.push_str(&format!(
            "?versionId={}",
            crate::sigv4::uri_encode(v, false)
        ));
    }
    source
}

/// GetObject streamed: the head (with the request's preconditions), then the bytes of exactly
/// that version, `range` of them, read from the SDK's `ByteStream` as the caller reads.
pub(super) fn get_object_stream<'a>(
    aws: &'a AwsBackend,
    request: &GetObject,
    range: Option<RangeRequest>,
) -> Result<ObjectStream<'a>> {
    let head = head_object_with(aws, request)?;
    let version = head.version_id.clone().or(request.version_id.clone());
    let range = match range {
        Some(r) => r.resolve(head.size)?,
        None => 0..head.size,
    };
    let ctx = Ctx::object(&request.bucket, &request.key, version.as_deref());
    if range.is_empty() {
        return Ok(ObjectStream {
            head,
            range,
            reader: Box::new(std::io::empty()),
        });
    }
    let out = aws
        .block(
            aws.s3
                .get_object()
                .bucket(&request.bucket)
                .key(&request.key)
                .set_version_id(version.clone())
                .if_match(head.etag.clone())
                .range(format!("bytes={}-{}", range.start, range.end - 1))
                .send(),
        )
        .map_err(|e| from_sdk(e, &ctx))?;
    Ok(ObjectStream {
        head,
        range,
        reader: Box::new(ByteStreamReader {
            aws,
            body: out.body,
            chunk: bytes::Bytes::new(),
        }),
    })
}

/// A blocking reader over an SDK body: one chunk held at a time.
struct ByteStreamReader<'a> {
    aws: &'a AwsBackend,
    body: ByteStream,
    chunk: bytes::Bytes,
}

impl std::io::Read for ByteStreamReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.aws.block(self.body.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!(
                        "reading the object's body failed: {e}"
                    )));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Part copies in flight at once in a multipart copy.
const PART_COPIES_IN_FLIGHT: usize = 8;

/// A copy by multipart upload: CreateMultipartUpload (with the source's content type,
/// metadata and stored headers unless replaced, as the AWS CLI does), UploadPartCopy of each
/// `part_size` bytes (pinned to the source's ETag, so every part comes from the same version),
/// CompleteMultipartUpload; any failure aborts the upload, so no parts are left to pay for.
pub(super) fn copy_object_multipart(
    aws: &AwsBackend,
    request: &CopyObject,
    part_size: u64,
) -> Result<ObjectWritten> {
    let src = &request.source;
    let ctx = Ctx::object(&src.bucket, &src.key, src.version_id.as_deref());
    let source = head_object_with(
        aws,
        &GetObject {
            bucket: src.bucket.clone(),
            key: src.key.clone(),
            version_id: src.version_id.clone(),
            conditions: request.conditions.clone(),
        },
    )
    .map_err(|e| {
        if e.status == Some(304) {
            Error::new(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
            .status(412)
            .bucket(&src.bucket)
            .key(&src.key)
        } else {
            e
        }
    })?;
    if part_size == 0 {
        return Err(Error::invalid_argument(
            "the part size must be at least 1 byte",
        ));
    }
    let mut ranges = Vec::new();
    let mut start = 0u64;
    while start < source.size || ranges.is_empty() {
        let end = start.saturating_add(part_size).min(source.size);
        ranges.push(start..end);
        start = end;
        if source.size == 0 {
            break;
        }
    }
    let class = request.storage_class.unwrap_or(StorageClass::Standard);
    let Replaced {
        content_type,
        metadata,
        headers,
    } = request.attributes(&source.content_type, &source.metadata, &source.headers);
    let pinned = GetObject {
        version_id: source.version_id.clone().or(src.version_id.clone()),
        ..Default::default()
    };
    let copy_source = copy_source_of(&ObjectRef {
        version_id: pinned.version_id.clone(),
        ..src.clone()
    });
    aws.block(async {
        let created = aws
            .s3
            .create_multipart_upload()
            .bucket(&request.bucket)
            .key(&request.key)
            .storage_class(s3_class(class))
            .set_content_type(content_type)
            .set_cache_control(headers.get("cache-control").cloned())
            .set_content_disposition(headers.get("content-disposition").cloned())
            .set_content_encoding(headers.get("content-encoding").cloned())
            .set_content_language(headers.get("content-language").cloned())
            .set_metadata(Some(metadata.into_iter().collect()))
            .send()
            .await
            .map_err(|e| from_sdk(e, &Ctx::object(&request.bucket, &request.key, None)))?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let parts = async {
            use futures_util::StreamExt;
            let answers: Vec<Result<aws_sdk_s3::types::CompletedPart>> =
                futures_util::stream::iter(ranges.iter().enumerate())
                    .map(|(i, r)| {
                        let number = i as i32 + 1;
                        let call = aws
                            .s3
                            .upload_part_copy()
                            .bucket(&request.bucket)
                            .key(&request.key)
                            .upload_id(&upload_id)
                            .part_number(number)
                            .copy_source(&copy_source)
                            .copy_source_if_match(&source.etag)
                            .set_copy_source_range(
                                (!r.is_empty()).then(|| format!("bytes={}-{}", r.start, r.end - 1)),
                            );
                        let ctx = &ctx;
                        async move {
                            let out = call.send().await.map_err(|e| from_sdk(e, ctx))?;
                            Ok(aws_sdk_s3::types::CompletedPart::builder()
                                .part_number(number)
                                .set_e_tag(
                                    out.copy_part_result()
                                        .and_then(|p| p.e_tag())
                                        .map(str::to_string),
                                )
                                .build())
                        }
                    })
                    .buffered(PART_COPIES_IN_FLIGHT)
                    .collect()
                    .await;
            let parts = answers.into_iter().collect::<Result<Vec<_>>>()?;
            aws.s3
                .complete_multipart_upload()
                .bucket(&request.bucket)
                .key(&request.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    aws_sdk_s3::types::CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| from_sdk(e, &Ctx::object(&request.bucket, &request.key, None)))
        }
        .await;
        match parts {
            Ok(out) => Ok(ObjectWritten {
                bucket: request.bucket.clone(),
                key: request.key.clone(),
                etag: out.e_tag().unwrap_or_default().to_string(),
                version_id: out.version_id().map(str::to_string),
                storage_class: class,
            }),
            Err(e) => {
                // Best effort: the error that stopped the copy is the one to report.
                let _ = aws
                    .s3
                    .abort_multipart_upload()
                    .bucket(&request.bucket)
                    .key(&request.key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(e)
            }
        }
    })
}

fn smithy_date(t: OffsetDateTime) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.unix_timestamp())
}

pub(super) fn delete_object(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Deleted> {
    let out = aws
        .block(
            aws.s3
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

pub(super) fn delete_objects(
    aws: &AwsBackend,
    bucket: &str,
    objects: &[ObjectId],
) -> Result<Vec<Result<Deleted>>> {
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
    let out = aws
        .block(aws.s3.delete_objects().bucket(bucket).delete(delete).send())
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

pub(super) fn restore_object(
    aws: &AwsBackend,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    request: RestoreRequest,
) -> Result<RestoreOutcome> {
    aws.block(restore_async(aws, bucket, key, version_id, request, true))
}

/// Many RestoreObjects, each sent once: their callers pace themselves and must see each throttle
/// (see [`Backend::restore_objects`]).
pub(super) fn restore_objects(
    aws: &AwsBackend,
    requests: &[(ObjectRef, RestoreRequest)],
    concurrency: usize,
) -> Vec<Result<RestoreOutcome>> {
    use futures_util::StreamExt;
    aws.block(
        futures_util::stream::iter(requests)
            .map(|(o, r)| restore_async(aws, &o.bucket, &o.key, o.version_id.as_deref(), *r, false))
            .buffered(concurrency.max(1))
            .collect(),
    )
}

/// S3's `Owner` element, as the SDK reads it.
fn owner_of(o: &aws_sdk_s3::types::Owner) -> Owner {
    Owner {
        id: o.id().unwrap_or_default().to_string(),
        display_name: o.display_name().unwrap_or_default().to_string(),
    }
}
