//! The operations s3thaw needs from S3, S3 Batch Operations and IAM, behind one trait, with the
//! domain types defined once. Two implementations: `sim` (the embedded simulator) and `aws`.
//!
//! The trait follows the shape of the AWS APIs (one method per API call, paged listings, job ids
//! as strings) so that the AWS backend maps each method onto one SDK call without contortions.
//! Policy of the script API (defaults, option maps, progress) lives in `crate::api`, not here.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(not(feature = "aws"))]
#[path = "aws_off.rs"]
pub mod aws;
mod controls;
pub mod sim;

pub use controls::{Faults, SimControls};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::errors::{Error, Result};

/// Defines a string-backed enum with its AWS spelling, `as_str` and `FromStr`.
macro_rules! aws_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// AWS's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            /// Case-insensitive, so scripts may write `"bulk"` or `"BULK"`.
            fn from_str(s: &str) -> Result<Self> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        Error::invalid_argument(format!(
                            "unknown {} `{s}`; expected one of {}",
                            $what,
                            names.join(", ")
                        ))
                    })
            }
        }
    };
}

aws_enum!(
    /// S3 storage classes, spelled as in `x-amz-storage-class`.
    StorageClass, "storage class" {
        Standard => "STANDARD",
        StandardIa => "STANDARD_IA",
        OnezoneIa => "ONEZONE_IA",
        ReducedRedundancy => "REDUCED_REDUNDANCY",
        IntelligentTiering => "INTELLIGENT_TIERING",
        Glacier => "GLACIER",
        GlacierIr => "GLACIER_IR",
        DeepArchive => "DEEP_ARCHIVE",
    }
);

impl StorageClass {
    /// GLACIER and DEEP_ARCHIVE always need a restore before GET. Intelligent-Tiering objects
    /// do only in their archive access tiers, which is a property of the object, not the class.
    pub fn is_archive(self) -> bool {
        matches!(self, StorageClass::Glacier | StorageClass::DeepArchive)
    }
}

aws_enum!(
    /// The opt-in archive tiers of Intelligent-Tiering (`x-amz-archive-status`).
    ArchiveAccessTier, "archive access tier" {
        ArchiveAccess => "ARCHIVE_ACCESS",
        DeepArchiveAccess => "DEEP_ARCHIVE_ACCESS",
    }
);

aws_enum!(
    /// Retrieval tier of a restore.
    Tier, "tier" {
        Expedited => "EXPEDITED",
        Standard => "STANDARD",
        Bulk => "BULK",
    }
);

impl Tier {
    /// RestoreObject's default tier when a request names none (AWS: Standard). The one default:
    /// the script API, `serve` and the aws backend all use it.
    pub const DEFAULT: Tier = Tier::Standard;

    /// Smaller is faster: used by the overlapping-restore rules ("this tier is faster").
    pub fn speed_rank(self) -> u8 {
        match self {
            Tier::Expedited => 0,
            Tier::Standard => 1,
            Tier::Bulk => 2,
        }
    }
}

aws_enum!(
    /// Batch Operations job status, exactly AWS's names.
    JobStatus, "job status" {
        New => "New",
        Preparing => "Preparing",
        Suspended => "Suspended",
        Ready => "Ready",
        Active => "Active",
        Pausing => "Pausing",
        Paused => "Paused",
        Complete => "Complete",
        Completing => "Completing",
        Cancelling => "Cancelling",
        Cancelled => "Cancelled",
        Failing => "Failing",
        Failed => "Failed",
    }
);

impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Complete | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

aws_enum!(
    /// The statuses a caller may request with UpdateJobStatus.
    RequestedJobStatus, "requested job status" {
        Ready => "Ready",
        Cancelled => "Cancelled",
    }
);

aws_enum!(
    /// Which tasks a completion report lists.
    ReportScope, "report scope" {
        AllTasks => "AllTasks",
        FailedTasksOnly => "FailedTasksOnly",
    }
);

aws_enum!(
    /// Manifest formats CreateJob accepts.
    ManifestFormat, "manifest format" {
        BatchOperationsCsv => "S3BatchOperations_CSV_20180820",
        InventoryCsv => "S3InventoryReport_CSV_20161130",
    }
);

aws_enum!(
    /// Columns of a CSV manifest (`Ignore` skips one).
    ManifestField, "manifest field" {
        Ignore => "Ignore",
        Bucket => "Bucket",
        Key => "Key",
        VersionId => "VersionId",
    }
);

/// Who owns a bucket or an object, or started a multipart upload, as S3's `Owner` and
/// `Initiator` elements show it: the canonical user id and the display name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    pub id: String,
    pub display_name: String,
}

/// A bucket as listed or created.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketInfo {
    pub name: String,
    pub region: String,
    pub created: OffsetDateTime,
}

impl BucketInfo {
    pub fn arn(&self) -> String {
        bucket_arn(&self.name)
    }
}

pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// An S3 ARN split into bucket and key: `arn:aws:s3:::bucket` gives `(bucket, None)`,
/// `arn:aws:s3:::bucket/key/with/slashes` gives `(bucket, Some(key))`. Other partitions
/// (`aws-cn`, `aws-us-gov`) are accepted; anything else is `None`.
pub fn parse_s3_arn(arn: &str) -> Option<(&str, Option<&str>)> {
    let rest = ["arn:aws:s3:::", "arn:aws-cn:s3:::", "arn:aws-us-gov:s3:::"]
        .iter()
        .find_map(|p| arn.strip_prefix(p))?;
    let (bucket, key) = match rest.split_once('/') {
        Some((b, k)) => (b, Some(k)),
        None => (rest, None),
    };
    (!bucket.is_empty()).then_some((bucket, key))
}

/// A bucket given by name or by ARN, as Batch Operations' report and target fields accept.
pub fn bucket_of(name_or_arn: &str) -> &str {
    match parse_s3_arn(name_or_arn) {
        Some((bucket, None)) => bucket,
        _ => name_or_arn,
    }
}

aws_enum!(
    /// S3's canned ACLs (`x-amz-acl`). The simulator keeps one per bucket and per object
    /// version; the grants it lists and the anonymous access it allows follow from it.
    CannedAcl, "canned ACL" {
        Private => "private",
        PublicRead => "public-read",
        PublicReadWrite => "public-read-write",
        AuthenticatedRead => "authenticated-read",
        AwsExecRead => "aws-exec-read",
        BucketOwnerRead => "bucket-owner-read",
        BucketOwnerFullControl => "bucket-owner-full-control",
        LogDeliveryWrite => "log-delivery-write",
    }
);

aws_enum!(
    /// S3 Object Ownership (`PutBucketOwnershipControls`): `BucketOwnerEnforced` turns ACLs off.
    ObjectOwnership, "object ownership" {
        BucketOwnerEnforced => "BucketOwnerEnforced",
        BucketOwnerPreferred => "BucketOwnerPreferred",
        ObjectWriter => "ObjectWriter",
    }
);

/// S3 Block Public Access for one bucket. `block_public_acls` refuses public ACLs,
/// `ignore_public_acls` makes existing ones grant nothing; the policy flags are kept (buckets
/// have no policies here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

/// What an unsigned (anonymous) request asks of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnonymousAccess {
    /// ListObjects: the bucket's ACL must grant everyone READ.
    List,
    /// GetObject/HeadObject: the object's ACL must grant everyone READ.
    Read,
    /// PutObject: the bucket's ACL must grant everyone WRITE.
    Write,
    /// DeleteObject: as PutObject, for the bucket policy `s3:DeleteObject`.
    Delete,
}

/// A bucket's versioning once it has been enabled: S3 never returns to "unversioned".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersioningStatus {
    Enabled,
    Suspended,
}

impl VersioningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersioningStatus::Enabled => "Enabled",
            VersioningStatus::Suspended => "Suspended",
        }
    }
}

/// PutObject's input.
#[derive(Debug, Clone, Default)]
pub struct PutObject {
    pub bucket: String,
    pub key: String,
    pub body: Vec<u8>,
    pub storage_class: Option<StorageClass>,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Stored headers returned by GET and HEAD, lower-case names: `cache-control`,
    /// `content-disposition`, `content-encoding`, `content-language`, `expires`.
    pub headers: BTreeMap<String, String>,
    /// Conditional write: `if_match` / `if_none_match` against the current object.
    pub conditions: Conditions,
}

/// A body staged in a file rather than held in memory: `serve` streams big request bodies
/// to disk while hashing them, and the simulator copies them into its store from there.
#[derive(Debug, Clone)]
pub struct BodyFile {
    pub path: std::path::PathBuf,
    /// Its length in bytes.
    pub len: u64,
    /// Its MD5 (the ETag of a PutObject, checked against `Content-MD5`).
    pub md5: [u8; 16],
}

/// The headers an object keeps from its PutObject (besides `Content-Type`) and returns on GET.
pub const STORED_HEADERS: [&str; 5] = [
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
];

/// HTTP preconditions on an object (`If-Match`, `If-None-Match`, `If-Modified-Since`,
/// `If-Unmodified-Since`; on CopyObject the `x-amz-copy-source-if-*` ones, about the source).
/// ETags are compared without their quotes; `*` matches any existing object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<OffsetDateTime>,
    pub if_unmodified_since: Option<OffsetDateTime>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }
}

/// GetObject / HeadObject with preconditions.
#[derive(Debug, Clone, Default)]
pub struct GetObject {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub conditions: Conditions,
}

/// A `Range: bytes=..` request, before the object's size is known: `first-last`, `first-` or
/// the suffix `-n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    FromTo(u64, u64),
    From(u64),
    Suffix(u64),
}

fn invalid_range() -> Error {
    Error::new("InvalidRange", "The requested range is not satisfiable").status(416)
}

impl RangeRequest {
    /// Parses `bytes=first-last`, `bytes=first-` or `bytes=-n` (one range: S3 serves no
    /// multi-range requests); anything else is 416 `InvalidRange`, as S3 answers.
    pub fn parse(header: &str) -> Result<RangeRequest> {
        let spec = header
            .trim()
            .strip_prefix("bytes=")
            .filter(|s| !s.contains(','))
            .ok_or_else(invalid_range)?;
        let (first, last) = spec.split_once('-').ok_or_else(invalid_range)?;
        let number = |s: &str| s.trim().parse::<u64>().map_err(|_| invalid_range());
        match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, false) => Ok(RangeRequest::Suffix(number(last)?)),
            (false, true) => Ok(RangeRequest::From(number(first)?)),
            (false, false) => {
                let (a, b) = (number(first)?, number(last)?);
                if a > b {
                    return Err(invalid_range());
                }
                Ok(RangeRequest::FromTo(a, b))
            }
            (true, true) => Err(invalid_range()),
        }
    }

    /// The bytes `start..end` this asks of an object of `len` bytes (a last byte past the end
    /// is clipped to it); none of them inside the object is 416 `InvalidRange`.
    pub fn resolve(self, len: u64) -> Result<std::ops::Range<u64>> {
        let (start, end) = match self {
            RangeRequest::Suffix(0) => return Err(invalid_range()),
            RangeRequest::Suffix(n) => (len.saturating_sub(n), len),
            RangeRequest::From(a) => (a, len),
            RangeRequest::FromTo(a, b) => (a, b.saturating_add(1).min(len)),
        };
        if start >= len || start >= end {
            return Err(invalid_range());
        }
        Ok(start..end)
    }
}

/// A GetObject read a chunk at a time: the object's head, the bytes it returns (the whole
/// object, or the range asked for) and a reader of exactly those bytes. Memory stays flat
/// whatever the object's size.
pub struct ObjectStream<'a> {
    pub head: ObjectHead,
    /// The bytes returned, `start..end` of the object's `head.size`.
    pub range: std::ops::Range<u64>,
    pub reader: Box<dyn std::io::Read + Send + 'a>,
}

impl fmt::Debug for ObjectStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("head", &self.head)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// The part size a multipart copy of `size` bytes uses, as the AWS CLI chooses it: 8 MiB, doubled
/// until the copy needs at most 10,000 parts (and never over 5 GiB a part).
pub fn multipart_part_size(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    let mut part = 8 * MIB;
    while size.div_ceil(part) > 10_000 && part < MAX_COPY_SIZE {
        part *= 2;
    }
    part.min(MAX_COPY_SIZE)
}

/// What `MetadataDirective: REPLACE` gives a copy instead of the source's.
#[derive(Debug, Clone, Default)]
pub struct Replaced {
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
}

/// CopyObject's input. `replace` is `MetadataDirective: REPLACE` with the new content type,
/// metadata and stored headers (`None` copies the source's).
#[derive(Debug, Clone, Default)]
pub struct CopyObject {
    pub source: ObjectRef,
    pub bucket: String,
    pub key: String,
    pub storage_class: Option<StorageClass>,
    pub replace: Option<Replaced>,
    /// Preconditions on the source.
    pub conditions: Conditions,
}

impl CopyObject {
    /// The copy's content type, metadata and stored headers: the new ones under
    /// `MetadataDirective: REPLACE`, else the source's.
    pub fn attributes(
        &self,
        content_type: &Option<String>,
        metadata: &BTreeMap<String, String>,
        headers: &BTreeMap<String, String>,
    ) -> Replaced {
        self.replace.clone().unwrap_or_else(|| Replaced {
            content_type: content_type.clone(),
            metadata: metadata.clone(),
            headers: headers.clone(),
        })
    }
}

/// What PutObject and CopyObject return.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectWritten {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub version_id: Option<String>,
    pub storage_class: StorageClass,
}

/// The `x-amz-restore` state of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreState {
    pub ongoing: bool,
    pub expiry: Option<OffsetDateTime>,
}

/// HeadObject's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectHead {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub size: u64,
    pub etag: String,
    pub storage_class: StorageClass,
    pub last_modified: OffsetDateTime,
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// See [`PutObject::headers`].
    pub headers: BTreeMap<String, String>,
    pub archive_status: Option<ArchiveAccessTier>,
    pub restore: Option<RestoreState>,
}

/// One entry of ListObjectsV2.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSummary {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub storage_class: StorageClass,
    pub last_modified: OffsetDateTime,
    /// The `RestoreStatus` element, when the listing asked for it
    /// (`OptionalObjectAttributes=RestoreStatus`) and the object has a restore running or a
    /// restored copy; `None` otherwise (never requested, or the copy expired).
    pub restore: Option<RestoreState>,
    /// Who owns it, when the backend knows (the simulator always does).
    pub owner: Option<Owner>,
}

/// One entry of ListObjectVersions: a version or a delete marker.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectVersion {
    pub key: String,
    pub version_id: Option<String>,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    pub size: u64,
    pub etag: Option<String>,
    pub storage_class: Option<StorageClass>,
    pub last_modified: OffsetDateTime,
    /// Who owns it, when the backend knows (the simulator always does).
    pub owner: Option<Owner>,
}

/// One page of a listing; `next` continues it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// ListObjectsV2's input.
#[derive(Debug, Clone, Default)]
pub struct ListObjects {
    pub bucket: String,
    pub prefix: Option<String>,
    /// The previous page's `next`; wins over `start_after`.
    pub continuation: Option<String>,
    /// `StartAfter`: list keys after this one (it need not exist).
    pub start_after: Option<String>,
    pub max_keys: Option<u32>,
    /// `OptionalObjectAttributes=RestoreStatus`: fill each entry's `restore`.
    pub restore_status: bool,
}

/// An object anywhere: bucket, key and optional version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// An object named by bucket, key and optional version, as in DeleteObjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectId {
    pub key: String,
    pub version_id: Option<String>,
}

/// What DeleteObject did.
#[derive(Debug, Clone, PartialEq)]
pub struct Deleted {
    pub key: String,
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

/// RestoreObject's input. `days` is required for GLACIER/DEEP_ARCHIVE and must be absent for
/// Intelligent-Tiering archive tiers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestoreRequest {
    pub days: Option<u32>,
    pub tier: Tier,
}

/// RestoreObject's success outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// 202: a restore started.
    Accepted,
    /// 200: a restored copy already existed; its expiry was recomputed.
    AlreadyRestored,
}

impl RestoreOutcome {
    pub fn http_status(self) -> u16 {
        match self {
            RestoreOutcome::Accepted => 202,
            RestoreOutcome::AlreadyRestored => 200,
        }
    }
}

/// Where a job's manifest is: the object by ARN plus the ETag it had when the job was created.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestLocation {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub etag: String,
    pub format: ManifestFormat,
    pub fields: Vec<ManifestField>,
}

impl ManifestLocation {
    pub fn arn(&self) -> String {
        object_arn(&self.bucket, &self.key)
    }
}

aws_enum!(
    /// CopyObject's `x-amz-metadata-directive` (`MetadataDirective` of an `S3PutObjectCopy` job).
    MetadataDirective, "metadata directive" {
        Copy => "COPY",
        Replace => "REPLACE",
    }
);

/// The largest object CopyObject (and so an `S3PutObjectCopy` task) copies in one request:
/// 5 GB; above it only a multipart upload with UploadPartCopy copies.
pub const MAX_COPY_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// An `S3PutObjectCopy` job's operation: each manifest object is copied to `target_bucket`
/// under `target_prefix` + its key, with CopyObject's semantics.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyOperation {
    /// `TargetResource` (AWS requires it; the source bucket copies in place).
    pub target_bucket: String,
    /// `TargetKeyPrefix`, prepended to each source key.
    pub target_prefix: Option<String>,
    /// `StorageClass` of the copies (STANDARD when absent, as CopyObject).
    pub storage_class: Option<StorageClass>,
    /// `MetadataDirective` (COPY when absent).
    pub metadata_directive: Option<MetadataDirective>,
}

impl CopyOperation {
    /// The key a source key is copied to.
    pub fn target_key(&self, key: &str) -> String {
        format!("{}{key}", self.target_prefix.as_deref().unwrap_or(""))
    }

    /// Whether a copy of `bucket`/`key` lands on itself.
    pub fn is_in_place(&self, bucket: &str, key: &str) -> bool {
        self.target_bucket == bucket && self.target_key(key) == key
    }

    /// Whether a copy onto itself changes something (class or metadata), the only copies in
    /// place S3 accepts; `current` is the source's class.
    pub fn changes(&self, current: StorageClass) -> bool {
        self.storage_class.unwrap_or(StorageClass::Standard) != current
            || self.metadata_directive == Some(MetadataDirective::Replace)
    }
}

/// The operation of a job: restores and copies.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOperation {
    /// `S3InitiateRestoreObject`: `days` is `ExpirationInDays`, `tier` the `GlacierJobTier`.
    InitiateRestore { days: Option<u32>, tier: Tier },
    /// `S3PutObjectCopy`.
    PutObjectCopy(CopyOperation),
}

/// The longest-lived restore s3thaw accepts. AWS takes `Days` as a 32-bit integer, but a copy
/// living past the year 9999 has an expiry no timestamp can hold (it would show as 1970);
/// 1,000,000 days (about 2,700 years) is beyond any use.
pub const MAX_RESTORE_DAYS: u32 = 1_000_000;

/// A restore's days checked once for everyone: 1 to [`MAX_RESTORE_DAYS`], else
/// `InvalidArgument` naming `what` (`"days"`, `"ExpirationInDays"`, ...).
pub fn restore_days(what: &str, days: i64) -> Result<u32> {
    u32::try_from(days)
        .ok()
        .filter(|d| (1..=MAX_RESTORE_DAYS).contains(d))
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "{what} must be 1 to {MAX_RESTORE_DAYS}, not {days}"
            ))
            .status(400)
        })
}

impl JobOperation {
    /// The restore operation of a job, with Batch Operations' rules checked in one place:
    /// `GlacierJobTier` is STANDARD or BULK (CreateJob refuses EXPEDITED), and
    /// `ExpirationInDays`, when given, is 1 or more.
    pub fn restore(days: Option<i64>, tier: Tier) -> Result<JobOperation> {
        if tier == Tier::Expedited {
            return Err(Error::invalid_request(
                "Batch Operations restores support the STANDARD and BULK tiers only, not EXPEDITED",
            )
            .hint("use s3::restore_object (or restore::direct) for Expedited retrievals"));
        }
        let days = days
            .map(|d| {
                restore_days("ExpirationInDays", d).map_err(|e| Error::invalid_request(e.message))
            })
            .transpose()?;
        Ok(JobOperation::InitiateRestore { days, tier })
    }

    /// The copy operation of a job, with CreateJob's rules checked in one place: a valid
    /// target bucket name (or bucket ARN) and a target prefix of at most 1,024 bytes.
    pub fn copy(mut copy: CopyOperation) -> Result<JobOperation> {
        copy.target_bucket = bucket_of(&copy.target_bucket).to_string();
        if copy.target_bucket.is_empty() {
            return Err(Error::invalid_request(
                "TargetResource (the target bucket) is required for S3PutObjectCopy",
            ));
        }
        validate_bucket_name(&copy.target_bucket)?;
        if copy
            .target_prefix
            .as_deref()
            .is_some_and(|p| p.len() > 1024)
        {
            return Err(Error::invalid_request(
                "TargetKeyPrefix is limited to 1,024 bytes",
            ));
        }
        Ok(JobOperation::PutObjectCopy(copy))
    }

    pub fn name(&self) -> &'static str {
        match self {
            JobOperation::InitiateRestore { .. } => "S3InitiateRestoreObject",
            JobOperation::PutObjectCopy(_) => "S3PutObjectCopy",
        }
    }

    /// Checks the operation's rules again (a spec built by hand skips the constructors).
    pub fn check(&self) -> Result<()> {
        match self {
            JobOperation::InitiateRestore { days, tier } => {
                JobOperation::restore(days.map(i64::from), *tier).map(|_| ())
            }
            JobOperation::PutObjectCopy(c) => JobOperation::copy(c.clone()).map(|_| ()),
        }
    }
}

/// Where and what the completion report writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    pub bucket: String,
    pub prefix: Option<String>,
    pub scope: ReportScope,
}

/// The format of the manifest a generator job writes (`GeneratedManifestFormat`): an S3
/// Inventory-style `manifest.json` listing gzipped CSV data files.
pub const GENERATED_MANIFEST_FORMAT: &str = "S3InventoryReport_CSV_20211130";

/// `JobManifestGeneratorFilter`: which objects of the source bucket a generator job takes.
/// Empty lists and `None` bounds match everything; within a list any entry may match
/// (`MatchAny...`), and every given criterion must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratorFilter {
    /// `KeyNameConstraint.MatchAnyPrefix`.
    pub prefixes: Vec<String>,
    /// `KeyNameConstraint.MatchAnySuffix`.
    pub suffixes: Vec<String>,
    /// `KeyNameConstraint.MatchAnySubstring`.
    pub substrings: Vec<String>,
    /// `MatchAnyStorageClass`.
    pub storage_classes: Vec<StorageClass>,
    /// `CreatedAfter` (exclusive): the object (its current version) was written after it.
    pub created_after: Option<OffsetDateTime>,
    /// `CreatedBefore` (exclusive).
    pub created_before: Option<OffsetDateTime>,
    /// `ObjectSizeGreaterThanBytes` (exclusive).
    pub size_greater_than: Option<u64>,
    /// `ObjectSizeLessThanBytes` (exclusive).
    pub size_less_than: Option<u64>,
}

impl GeneratorFilter {
    /// Whether an object (its current version) is one the generated manifest lists.
    pub fn matches(
        &self,
        key: &str,
        size: u64,
        class: StorageClass,
        created: OffsetDateTime,
    ) -> bool {
        let any = |list: &[String], f: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|s| f(s))
        };
        any(&self.prefixes, &|p| key.starts_with(p))
            && any(&self.suffixes, &|s| key.ends_with(s))
            && any(&self.substrings, &|s| key.contains(s))
            && (self.storage_classes.is_empty() || self.storage_classes.contains(&class))
            && self.created_after.is_none_or(|t| created > t)
            && self.created_before.is_none_or(|t| created < t)
            && self.size_greater_than.is_none_or(|n| size > n)
            && self.size_less_than.is_none_or(|n| size < n)
    }

    /// The one key prefix every match starts with, when the filter names a single prefix: a
    /// listing need only read that range.
    pub fn listing_prefix(&self) -> Option<&str> {
        match self.prefixes.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// `ManifestOutputLocation`: where a generator job writes the manifest it generated
/// (`EnableManifestOutput`), in [`GENERATED_MANIFEST_FORMAT`], under `prefix/job-ID/`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestOutput {
    pub bucket: String,
    pub prefix: Option<String>,
}

/// `S3JobManifestGenerator`: the job lists `source_bucket` when it is prepared and takes the
/// current versions that pass `filter`, in key order, instead of reading a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestGenerator {
    pub source_bucket: String,
    pub filter: GeneratorFilter,
    /// `None`: `EnableManifestOutput` false.
    pub output: Option<ManifestOutput>,
}

impl ManifestGenerator {
    /// CreateJob's rules for a generator, in one place: valid bucket names (or bucket ARNs,
    /// turned into names), storage classes `MatchAnyStorageClass` accepts, bounds that are
    /// not negative and leave room, a manifest prefix of at most 512 bytes.
    pub fn check(mut self) -> Result<ManifestGenerator> {
        self.source_bucket = bucket_of(&self.source_bucket).to_string();
        if self.source_bucket.is_empty() {
            return Err(Error::invalid_request(
                "ManifestGenerator.SourceBucket is required",
            ));
        }
        validate_bucket_name(&self.source_bucket)?;
        if let Some(output) = &mut self.output {
            output.bucket = bucket_of(&output.bucket).to_string();
            validate_bucket_name(&output.bucket)?;
            if output.prefix.as_deref().is_some_and(|p| p.len() > 512) {
                return Err(Error::invalid_request(
                    "ManifestOutputLocation.ManifestPrefix is limited to 512 bytes",
                ));
            }
        }
        let f = &self.filter;
        if let Some(class) = f
            .storage_classes
            .iter()
            .find(|c| **c == StorageClass::ReducedRedundancy)
        {
            return Err(Error::invalid_request(format!(
                "MatchAnyStorageClass does not accept {class}; it takes STANDARD, STANDARD_IA, ONEZONE_IA, GLACIER, INTELLIGENT_TIERING, DEEP_ARCHIVE or GLACIER_IR"
            )));
        }
        if let (Some(low), Some(high)) = (f.size_greater_than, f.size_less_than)
            && low.saturating_add(1) >= high
        {
            return Err(Error::invalid_request(format!(
                "ObjectSizeGreaterThanBytes ({low}) and ObjectSizeLessThanBytes ({high}) leave no size to match"
            )));
        }
        if let (Some(after), Some(before)) = (f.created_after, f.created_before)
            && after >= before
        {
            return Err(Error::invalid_request(
                "CreatedAfter must be earlier than CreatedBefore",
            ));
        }
        Ok(self)
    }
}

/// What a job's tasks come from: a manifest object, or a listing the job makes itself.
#[derive(Debug, Clone, PartialEq)]
pub enum JobManifest {
    /// `Manifest`: a CSV manifest or an inventory report.
    Location(ManifestLocation),
    /// `ManifestGenerator.S3JobManifestGenerator`.
    Generator(ManifestGenerator),
}

impl JobManifest {
    pub fn location(&self) -> Option<&ManifestLocation> {
        match self {
            JobManifest::Location(l) => Some(l),
            JobManifest::Generator(_) => None,
        }
    }

    pub fn generator(&self) -> Option<&ManifestGenerator> {
        match self {
            JobManifest::Location(_) => None,
            JobManifest::Generator(g) => Some(g),
        }
    }
}

/// `GeneratedManifestDescriptor`: the `manifest.json` a generator job wrote (its format is
/// [`GENERATED_MANIFEST_FORMAT`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedManifest {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub etag: String,
}

impl GeneratedManifest {
    pub fn arn(&self) -> String {
        object_arn(&self.bucket, &self.key)
    }
}

/// CreateJob's input.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub manifest: JobManifest,
    pub operation: JobOperation,
    pub role_arn: String,
    pub priority: i32,
    /// `None` is a job without a completion report.
    pub report: Option<ReportSpec>,
    pub description: Option<String>,
    pub confirmation_required: bool,
    pub tags: BTreeMap<String, String>,
    pub client_request_token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobProgress {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason {
    pub code: String,
    pub reason: String,
}

/// DescribeJob's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub status: JobStatus,
    pub priority: i32,
    pub description: Option<String>,
    pub role_arn: String,
    pub creation_time: OffsetDateTime,
    pub termination_date: Option<OffsetDateTime>,
    pub progress: JobProgress,
    pub failure_reasons: Vec<FailureReason>,
    pub operation: JobOperation,
    pub manifest: JobManifest,
    /// Where a generator job wrote its manifest, once it has (`EnableManifestOutput`).
    pub generated_manifest: Option<GeneratedManifest>,
    pub report: Option<ReportSpec>,
    pub confirmation_required: bool,
    pub status_update_reason: Option<String>,
}

/// ListJobs' entries.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    pub id: String,
    pub status: JobStatus,
    pub priority: i32,
    pub description: Option<String>,
    pub operation: &'static str,
    pub creation_time: OffsetDateTime,
    pub termination_date: Option<OffsetDateTime>,
    pub progress: JobProgress,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub id: String,
    pub trust_policy: Json,
    pub description: Option<String>,
    pub created: OffsetDateTime,
}

/// A customer-managed IAM policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub arn: String,
    pub id: String,
}

/// How a client retries transient failures: the AWS SDK's retry settings as s3thaw configures
/// them, and the simulator's rehearsal of the same (on its virtual clock), so a rehearsal under
/// `sim::set_faults` behaves as the real run would.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

/// The one retry policy of s3thaw's S3, S3 Control and IAM requests (the SDK's exponential
/// backoff with full jitter: before try n+1 it waits `jitter * min(initial * 2^(n-1), max)`).
pub const RETRIES: RetryPolicy = RetryPolicy {
    max_attempts: 8,
    initial_backoff: Duration::from_secs(1),
    max_backoff: Duration::from_secs(20),
};

impl RetryPolicy {
    /// The wait after failed try `attempt` (1-based), for a jitter in `[0, 1)`.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        exp.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Everything s3thaw asks of AWS, one method per API call. Methods block: the AWS backend owns a
/// tokio runtime, the simulator needs none.
pub trait Backend {
    /// `"sim"` or `"aws"`.
    fn kind(&self) -> &'static str;
    fn account_id(&self) -> Result<String>;
    fn region(&self) -> String;
    /// Current time: virtual on the simulator.
    fn now(&self) -> Result<OffsetDateTime>;
    /// Waits `duration`: the simulator advances its clock instead of sleeping.
    fn sleep(&self, duration: Duration) -> Result<()>;
    /// The clock a client paces itself on (`ops::restore::direct`, retry pauses): real time,
    /// even against `s3thaw serve`, whose clock is shared with every other client and moves only
    /// by explicit waits (`sleep`, `batch::wait`, `restore::wait`). The in-process simulator
    /// paces on its virtual clock, which no one else reads.
    fn pace_now(&self) -> Result<OffsetDateTime> {
        Ok(OffsetDateTime::now_utc())
    }
    /// Waits `duration` on the pacing clock (see [`Backend::pace_now`]).
    fn pace(&self, duration: Duration) -> Result<()> {
        std::thread::sleep(duration);
        Ok(())
    }
    /// One step of a polling wait that gives up at `deadline`: the AWS backend sleeps `poll`
    /// (never past the deadline); the simulator jumps its clock to its next event, so waiting
    /// for a 5-hour restore costs nothing.
    fn wait_step(&self, poll: Duration, deadline: OffsetDateTime) -> Result<()>;
    /// The controls of a simulated world (the `sim::` functions): the simulator's own, or on
    /// the aws backend those of the `s3thaw serve` at its endpoint; `None` against AWS.
    fn sim_controls(&self) -> Option<&dyn SimControls> {
        None
    }
    /// The flag Ctrl-C sets in the session running on this backend: the simulator stops long
    /// calls between two slices of its work when it is set.
    fn watch_interrupt(&self, _flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {}
    /// Whether time is virtual: `wait_step` then jumps a clock instead of sleeping, so callers
    /// must not loop on it for real time. True wherever there are simulator controls.
    fn clock_is_virtual(&self) -> bool {
        self.sim_controls().is_some()
    }
    /// Whether destructive calls (deleting buckets, objects, roles, policies) must be confirmed
    /// first. The aws backend asks even against `s3thaw serve`, so a rehearsal meets the same
    /// prompts as the real run; the simulator never asks.
    fn confirms_destructive(&self) -> bool {
        false
    }

    // S3
    fn create_bucket(&self, name: &str, region: Option<&str>) -> Result<BucketInfo>;
    fn put_bucket_versioning(&self, bucket: &str, enabled: bool) -> Result<()>;
    /// `None` for a bucket whose versioning was never enabled.
    fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<VersioningStatus>>;
    fn delete_bucket(&self, name: &str) -> Result<()>;
    fn list_buckets(&self) -> Result<Vec<BucketInfo>>;
    fn put_object(&self, request: PutObject) -> Result<ObjectWritten>;
    fn get_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Vec<u8>>;
    fn head_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<ObjectHead>;
    fn list_objects(&self, request: &ListObjects) -> Result<Page<ObjectSummary>>;
    /// `continuation` is opaque (key and version markers on AWS).
    fn list_object_versions(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<&str>,
    ) -> Result<Page<ObjectVersion>>;
    /// GetObject with preconditions: the object's head and its bytes.
    fn get_object_with(&self, request: &GetObject) -> Result<(ObjectHead, Vec<u8>)>;
    /// HeadObject with preconditions.
    fn head_object_with(&self, request: &GetObject) -> Result<ObjectHead>;
    /// GetObject (whole, or the bytes `range` asks for) streamed: the bytes are read as the
    /// caller reads them, never held whole (the aws backend reads the SDK's `ByteStream`, the
    /// simulator its store a chunk at a time, or a seeded object's synthetic bytes). The
    /// default reads the whole object and slices it.
    fn get_object_stream(
        &self,
        request: &GetObject,
        range: Option<RangeRequest>,
    ) -> Result<ObjectStream<'_>> {
        let (head, body) = self.get_object_with(request)?;
        let range = match range {
            Some(r) => r.resolve(body.len() as u64)?,
            None => 0..body.len() as u64,
        };
        let bytes = body[range.start as usize..range.end as usize].to_vec();
        Ok(ObjectStream {
            head,
            range,
            reader: Box::new(std::io::Cursor::new(bytes)),
        })
    }
    /// CopyObject: storage class, metadata directive, preconditions on the source.
    fn copy_object_with(&self, request: &CopyObject) -> Result<ObjectWritten>;
    /// A copy by multipart upload, for sources over 5 GB (CopyObject's limit):
    /// CreateMultipartUpload, UploadPartCopy of each `part_size` bytes of the source
    /// (`x-amz-copy-source-range`), CompleteMultipartUpload; an upload that fails is aborted.
    /// Storage class, metadata directive and preconditions on the source as CopyObject. The
    /// copy has a multipart ETag (`…-N`).
    fn copy_object_multipart(&self, request: &CopyObject, part_size: u64) -> Result<ObjectWritten>;
    fn copy_object(
        &self,
        (bucket, key, version_id): (&str, &str, Option<&str>),
        (dst_bucket, dst_key): (&str, &str),
        storage_class: Option<StorageClass>,
    ) -> Result<ObjectWritten> {
        self.copy_object_with(&CopyObject {
            source: ObjectRef {
                bucket: bucket.to_string(),
                key: key.to_string(),
                version_id: version_id.map(str::to_string),
            },
            bucket: dst_bucket.to_string(),
            key: dst_key.to_string(),
            storage_class,
            ..CopyObject::default()
        })
    }
    fn delete_object(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Deleted>;
    /// Deletes up to 1,000 objects; per-object failures come back as errors in the list.
    fn delete_objects(&self, bucket: &str, objects: &[ObjectId]) -> Result<Vec<Result<Deleted>>>;
    fn restore_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        request: RestoreRequest,
    ) -> Result<RestoreOutcome>;
    /// HeadObject for many objects, answers in order. The AWS backend runs up to
    /// `concurrency` requests at once; the default asks one at a time.
    fn head_objects(&self, objects: &[ObjectRef], concurrency: usize) -> Vec<Result<ObjectHead>> {
        let _ = concurrency;
        objects
            .iter()
            .map(|o| self.head_object(&o.bucket, &o.key, o.version_id.as_deref()))
            .collect()
    }
    /// RestoreObject for many objects, answers in order; concurrency as `head_objects`. Each is
    /// sent once, without client retries, so the caller (which paces itself) sees every
    /// throttle; implementations must keep it so.
    fn restore_objects(
        &self,
        requests: &[(ObjectRef, RestoreRequest)],
        concurrency: usize,
    ) -> Vec<Result<RestoreOutcome>> {
        let _ = concurrency;
        requests
            .iter()
            .map(|(o, r)| self.restore_object(&o.bucket, &o.key, o.version_id.as_deref(), *r))
            .collect()
    }

    /// CopyObject for many objects, answers in order: each `(source, copy)` copies the source
    /// to `copy.target_bucket` under `copy.target_key(source.key)`; concurrency as
    /// `head_objects`. The default asks one at a time (the class only: no metadata directive).
    fn copy_objects(
        &self,
        requests: &[(ObjectRef, CopyOperation)],
        concurrency: usize,
    ) -> Vec<Result<ObjectWritten>> {
        let _ = concurrency;
        requests
            .iter()
            .map(|(o, c)| {
                self.copy_object(
                    (&o.bucket, &o.key, o.version_id.as_deref()),
                    (&c.target_bucket, &c.target_key(&o.key)),
                    c.storage_class,
                )
            })
            .collect()
    }

    // S3 Batch Operations (S3 Control)
    fn create_job(&self, spec: &JobSpec) -> Result<String>;
    fn describe_job(&self, job_id: &str) -> Result<Job>;
    /// One page of ListJobs, filtered by status (empty: all).
    fn list_jobs(&self, statuses: &[JobStatus], next: Option<&str>) -> Result<Page<JobSummary>>;
    fn update_job_status(
        &self,
        job_id: &str,
        requested: RequestedJobStatus,
        reason: Option<&str>,
    ) -> Result<JobStatus>;
    fn update_job_priority(&self, job_id: &str, priority: i32) -> Result<i32>;
    fn get_job_tagging(&self, job_id: &str) -> Result<BTreeMap<String, String>>;
    fn put_job_tagging(&self, job_id: &str, tags: &BTreeMap<String, String>) -> Result<()>;

    // IAM
    fn create_role(
        &self,
        name: &str,
        trust_policy: &Json,
        description: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Role>;
    fn get_role(&self, name: &str) -> Result<Role>;
    fn delete_role(&self, name: &str) -> Result<()>;
    fn create_policy(&self, name: &str, document: &Json) -> Result<Policy>;
    fn get_policy(&self, arn: &str) -> Result<Policy>;
    fn delete_policy(&self, arn: &str) -> Result<()>;
    fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()>;
    fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()>;
    fn list_attached_role_policies(&self, role: &str) -> Result<Vec<String>>;
    fn put_role_policy(&self, role: &str, name: &str, document: &Json) -> Result<()>;
    fn delete_role_policy(&self, role: &str, name: &str) -> Result<()>;
    fn list_role_policies(&self, role: &str) -> Result<Vec<String>>;
    /// Evaluates the role's permission policies for one action on one resource, as IAM's
    /// SimulatePrincipalPolicy does.
    fn simulate_principal_policy(
        &self,
        role_arn: &str,
        action: &str,
        resource: &str,
    ) -> Result<crate::policy::Decision>;
}

/// How long a restore takes, from AWS's documented typical times (SEMANTICS.md): the earliest
/// and latest completion after the request, for an object in a Deep Archive class or tier
/// (`deep`) or a Glacier Flexible Retrieval class or tier. `from_batch`: Standard restores
/// started by Batch Operations begin returning objects within minutes (AWS's 2023
/// improvement) and still finish within the 3-5 hour window. The simulator draws from these
/// windows; estimates and preflight warn from them.
pub fn restore_window(deep: bool, tier: Tier, from_batch: bool) -> (Duration, Duration) {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;
    let (low, high) = match (deep, tier) {
        (false, Tier::Expedited) => (MINUTE, 5 * MINUTE),
        (false, Tier::Standard) if from_batch => (MINUTE, 5 * HOUR),
        (false, Tier::Standard) => (3 * HOUR, 5 * HOUR),
        (false, Tier::Bulk) => (5 * HOUR, 12 * HOUR),
        (true, Tier::Expedited) | (true, Tier::Standard) => (6 * HOUR, 12 * HOUR),
        (true, Tier::Bulk) => (24 * HOUR, 48 * HOUR),
    };
    (Duration::from_secs(low), Duration::from_secs(high))
}

/// Whether objects of `class` restore from the Deep Archive tier (its slower windows).
pub fn is_deep(class: StorageClass, tier: Option<ArchiveAccessTier>) -> bool {
    class == StorageClass::DeepArchive || tier == Some(ArchiveAccessTier::DeepArchiveAccess)
}

/// The margin `days` should leave after the slowest restore of a campaign, so the first
/// copies do not expire before the last ones come back and there is time to use them.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(12 * 3600);

/// A warning when restored copies living `days` may expire before the slowest restore of
/// GLACIER/DEEP_ARCHIVE objects among `classes` with `tier` completes (plus [`EXPIRY_MARGIN`]); `None` when `days`
/// is long enough. Copies expire `days` after the request (rounded up to midnight UTC), so the
/// first copies to arrive are gone first.
pub fn short_days_warning(days: u32, tier: Tier, classes: &[StorageClass]) -> Option<String> {
    // Intelligent-Tiering restores have no expiry (the object moves back to the frequent
    // tier): only GLACIER and DEEP_ARCHIVE copies can run out.
    let slowest = classes
        .iter()
        .filter(|c| c.is_archive())
        .map(|c| (*c, restore_window(is_deep(*c, None), tier, true).1))
        .max_by_key(|(_, d)| *d)?;
    let needed = slowest.1 + EXPIRY_MARGIN;
    let lives = Duration::from_secs(u64::from(days) * 24 * 3600);
    if lives >= needed {
        return None;
    }
    let hours = slowest.1.as_secs() / 3600;
    let suggest = needed.as_secs().div_ceil(24 * 3600);
    Some(format!(
        "days={days} is shorter than the slowest restore window ({hours}h for {} with {tier}) plus a {}h margin: the first restored copies may expire before the last objects come back; use days={suggest} or more",
        slowest.0,
        EXPIRY_MARGIN.as_secs() / 3600
    ))
}

/// Checks a bucket name against S3's rules, so bad names fail before any request.
pub fn validate_bucket_name(name: &str) -> Result<()> {
    if let Some(hint) = crate::hints::s3_url_hint(name) {
        return Err(Error::new(
            "InvalidBucketName",
            format!("`{name}` is an S3 URL, not a bucket name"),
        )
        .status(400)
        .bucket(name)
        .hint(hint));
    }
    let fail = |why: &str| {
        Err(Error::new("InvalidBucketName", format!("invalid bucket name `{name}`: {why}"))
            .status(400)
            .bucket(name)
            .hint("bucket names are 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"))
    };
    if !(3..=63).contains(&name.len()) {
        return fail("it must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return fail("only lowercase letters, digits, '.' and '-' are allowed");
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(name.as_bytes()[0]) || !edge_ok(name.as_bytes()[name.len() - 1]) {
        return fail("it must start and end with a letter or digit");
    }
    if name.contains("..") {
        return fail("it must not contain two adjacent periods");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return fail("it must not be formatted as an IP address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for good in ["abc", "my-bucket.2026", "a1b"] {
            assert!(validate_bucket_name(good).is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in [
            "ab",
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "a_b",
            long.as_str(),
        ] {
            let e = validate_bucket_name(bad).unwrap_err();
            assert_eq!(e.code, "InvalidBucketName", "{bad}");
        }
    }

    #[test]
    fn short_days_are_warned_against_the_slowest_window() {
        use StorageClass::*;
        // DEEP_ARCHIVE with BULK takes up to 48 hours: 1 and 2 days are too short, 3 is enough.
        let w = short_days_warning(1, Tier::Bulk, &[Glacier, DeepArchive]).unwrap();
        assert!(w.contains("48h for DEEP_ARCHIVE with BULK"), "{w}");
        assert!(w.contains("use days=3"), "{w}");
        assert!(short_days_warning(2, Tier::Bulk, &[DeepArchive]).is_some());
        assert!(short_days_warning(3, Tier::Bulk, &[DeepArchive]).is_none());
        // GLACIER with STANDARD: up to 5 hours, so 1 day leaves the margin; BULK (12 hours)
        // exactly so.
        assert!(short_days_warning(1, Tier::Standard, &[Glacier]).is_none());
        assert!(short_days_warning(1, Tier::Bulk, &[Glacier]).is_none());
        // Nothing archived: nothing to warn about.
        assert!(short_days_warning(1, Tier::Bulk, &[Standard]).is_none());
    }

    #[test]
    fn generator_filters_match_any_within_a_criterion_and_every_criterion() {
        use StorageClass::*;
        let t = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let f = GeneratorFilter {
            prefixes: vec!["a/".into(), "b/".into()],
            suffixes: vec![".txt".into()],
            storage_classes: vec![Glacier, DeepArchive],
            created_after: Some(t(100)),
            size_greater_than: Some(10),
            size_less_than: Some(20),
            ..GeneratorFilter::default()
        };
        assert!(f.matches("a/x.txt", 11, Glacier, t(101)));
        assert!(f.matches("b/x.txt", 19, DeepArchive, t(101)));
        // Each bound is exclusive, and each criterion must hold.
        assert!(!f.matches("a/x.txt", 10, Glacier, t(101)));
        assert!(!f.matches("a/x.txt", 20, Glacier, t(101)));
        assert!(!f.matches("a/x.txt", 11, Glacier, t(100)));
        assert!(!f.matches("c/x.txt", 11, Glacier, t(101)));
        assert!(!f.matches("a/x.bin", 11, Glacier, t(101)));
        assert!(!f.matches("a/x.txt", 11, Standard, t(101)));
        assert_eq!(f.listing_prefix(), None);
        assert!(GeneratorFilter::default().matches("any", 0, Standard, t(0)));
        let generator = |filter| ManifestGenerator {
            source_bucket: "arn:aws:s3:::src".into(),
            filter,
            output: None,
        };
        assert_eq!(
            generator(GeneratorFilter::default())
                .check()
                .unwrap()
                .source_bucket,
            "src"
        );
        for bad in [
            GeneratorFilter {
                size_greater_than: Some(5),
                size_less_than: Some(6),
                ..GeneratorFilter::default()
            },
            GeneratorFilter {
                created_after: Some(t(5)),
                created_before: Some(t(5)),
                ..GeneratorFilter::default()
            },
            GeneratorFilter {
                storage_classes: vec![ReducedRedundancy],
                ..GeneratorFilter::default()
            },
        ] {
            let e = generator(bad).check().unwrap_err();
            assert_eq!(e.code, "InvalidRequest");
        }
    }

    #[test]
    fn enums_parse_case_insensitively() {
        assert_eq!("bulk".parse::<Tier>().unwrap(), Tier::Bulk);
        assert_eq!(
            "DEEP_ARCHIVE".parse::<StorageClass>().unwrap(),
            StorageClass::DeepArchive
        );
        assert_eq!(
            "suspended".parse::<JobStatus>().unwrap(),
            JobStatus::Suspended
        );
        assert_eq!("FAST".parse::<Tier>().unwrap_err().code, "InvalidArgument");
    }
}
