//! Who is asking, and what S3 lets them do: the one rule between identities (bucket and object
//! owners, canned ACLs, bucket policies, Object Ownership, Block Public Access) that every S3
//! request of the simulator goes through, whoever the caller is.
//!
//! Scripts run as the world's own account (`Caller::Account` with the account id of the state and
//! the display name `s3thaw`); `serve` passes the identity a request was signed with (see
//! `serve --credentials`), or `Caller::Anonymous` for an unsigned request.

use rusqlite::OptionalExtension;

use super::World;
use super::acl::{self, Grant, Permission};
use super::s3;
use crate::backend::*;
use crate::errors::{Error, Result};

/// The display name of the world's own account.
pub const DEFAULT_DISPLAY_NAME: &str = "s3thaw";

/// The canonical id S3 shows as the owner of what anonymous requests write.
pub const ANONYMOUS_ID: &str = "65a011a29cdf8ec533ec3d1ccaae921c";

/// Who makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A signed request: the identity's account (canonical) id and display name.
    Account(Owner),
    /// An unsigned request.
    Anonymous,
}

impl Caller {
    /// The owner of what this caller creates.
    pub fn owner(&self) -> Owner {
        match self {
            Caller::Account(o) => o.clone(),
            Caller::Anonymous => Owner {
                id: ANONYMOUS_ID.to_string(),
                display_name: "anonymous".to_string(),
            },
        }
    }

    fn is(&self, owner: &Owner) -> bool {
        matches!(self, Caller::Account(o) if o.id == owner.id)
    }

    /// The principal a bucket policy sees.
    fn principal(&self) -> crate::policy::Principal {
        match self {
            Caller::Account(o) => {
                crate::policy::Principal::Aws(format!("arn:aws:iam::{}:root", o.id))
            }
            Caller::Anonymous => crate::policy::Principal::Aws("*".to_string()),
        }
    }
}

/// The world's own account: who owns what was stored before identities (NULL owners), and who
/// scripts act as.
pub(super) fn default_owner(w: &World) -> Owner {
    Owner {
        id: w.account_id.clone(),
        display_name: DEFAULT_DISPLAY_NAME.to_string(),
    }
}

/// An owner read from a pair of nullable columns (NULL: the world's own account).
pub(super) fn owner_from(w: &World, id: Option<String>, name: Option<String>) -> Owner {
    match id {
        Some(id) => Owner {
            id,
            display_name: name.unwrap_or_default(),
        },
        None => default_owner(w),
    }
}

pub(super) fn bucket_owner(w: &World, bucket: &str) -> Result<Owner> {
    let row: Option<(Option<String>, Option<String>)> =
        w.tx.prepare_cached("SELECT owner_id, owner_name FROM buckets WHERE name = ?1")?
            .query_row([bucket], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    let (id, name) = row.ok_or_else(|| Error::no_such_bucket(bucket))?;
    Ok(owner_from(w, id, name))
}

/// What a request asks of a bucket or an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Bucket configuration (versioning, policy, Object Ownership, Block Public Access,
    /// deleting it): the bucket owner only.
    BucketOwner,
    /// ListObjects, HeadBucket, ListMultipartUploads: READ on the bucket.
    List,
    /// PutObject, DeleteObject, a copy's or an upload's destination: WRITE on the bucket.
    Write,
    /// DeleteObject (for the bucket policy's `s3:DeleteObject`): WRITE on the bucket.
    Delete,
    /// GetObject, HeadObject, a copy's source: READ on the object.
    Read,
    /// GetBucketAcl, GetObjectAcl: READ_ACP on the bucket or the object (its owner has it).
    ReadAcp,
    /// PutBucketAcl, PutObjectAcl: WRITE_ACP on the bucket or the object (its owner has it).
    WriteAcp,
    /// RestoreObject: the object's owner (or the bucket owner where Object Ownership makes it
    /// the owner of every object); no ACL grants it.
    ObjectOwner,
}

impl Access {
    /// The bucket policy's action for this access, on an object or on the bucket.
    fn action(self, object: bool) -> &'static str {
        match (self, object) {
            (Access::BucketOwner, _) => "s3:PutBucketAcl",
            (Access::List, _) => "s3:ListBucket",
            (Access::Write, _) => "s3:PutObject",
            (Access::Delete, _) => "s3:DeleteObject",
            (Access::Read, _) => "s3:GetObject",
            (Access::ReadAcp, true) => "s3:GetObjectAcl",
            (Access::ReadAcp, false) => "s3:GetBucketAcl",
            (Access::WriteAcp, true) => "s3:PutObjectAcl",
            (Access::WriteAcp, false) => "s3:PutBucketAcl",
            (Access::ObjectOwner, _) => "s3:RestoreObject",
        }
    }
}

impl From<AnonymousAccess> for Access {
    fn from(a: AnonymousAccess) -> Access {
        match a {
            AnonymousAccess::List => Access::List,
            AnonymousAccess::Read => Access::Read,
            AnonymousAccess::Write => Access::Write,
            AnonymousAccess::Delete => Access::Delete,
        }
    }
}

fn denied(bucket: &str, key: Option<&str>) -> Error {
    let e = Error::access_denied("Access Denied").bucket(bucket);
    match key {
        Some(k) => e.key(k),
        None => e,
    }
}

/// Refuses `caller` what the owners, ACLs and bucket policy do not let it do: 403
/// `AccessDenied`. A missing bucket is 404 `NoSuchBucket` for everyone; a missing object is 404
/// `NoSuchKey` (or `NoSuchVersion`) only to whom may list the bucket, `AccessDenied` otherwise,
/// as S3 answers so as not to reveal which keys exist.
///
/// The bucket owner may do anything to the bucket; others what its grants allow (READ to
/// list, WRITE to write and delete objects, READ_ACP/WRITE_ACP for its ACL). An object's owner
/// may read and write its ACL and restore it; reading it takes a READ grant (the owner's
/// FULL_CONTROL of a canned ACL, say). Object Ownership `BucketOwnerEnforced` turns ACLs off
/// (the bucket owner owns and may do everything, nobody else by ACL); Block Public Access's
/// `IgnorePublicAcls` makes grants to AllUsers and AuthenticatedUsers count for nothing.
pub(super) fn authorize(
    w: &World,
    caller: &Caller,
    bucket: &str,
    key: Option<(&str, Option<&str>)>,
    access: Access,
) -> Result<()> {
    let owner = bucket_owner(w, bucket)?;
    let block = s3::public_access_block(w, bucket)?.unwrap_or_default();
    let enforced = s3::ownership(w, bucket)? == Some(ObjectOwnership::BucketOwnerEnforced);
    // ACLs turned off (Object Ownership) grant nothing.
    let granted = |grants: &[Grant], permission: Permission| {
        !enforced && acl::permits(grants, caller, permission, block.ignore_public_acls)
    };
    let bucket_grants = acl::bucket_grants(w, bucket)?;
    let policy = s3::bucket_policy_document(w, bucket)?;
    let principal = caller.principal();
    // A policy's explicit Deny wins (even over the owner), its Allow grants (unless Block Public
    // Access restricts a public bucket to its owner), otherwise the owners and ACLs decide.
    let decide = |by_acl: bool, action: &str, resource: String| {
        let Some(policy) = &policy else {
            return by_acl;
        };
        let request = crate::policy::Request::new(action, &resource).with_principal(&principal);
        match crate::policy::evaluate_request(&[policy], &request) {
            crate::policy::Decision::ExplicitDeny => false,
            crate::policy::Decision::Allowed => {
                by_acl || !block.restrict_public_buckets || caller.is(&owner)
            }
            crate::policy::Decision::ImplicitDeny => by_acl,
        }
    };
    let is_owner = caller.is(&owner);
    let can_list = decide(
        is_owner || granted(&bucket_grants, Permission::Read),
        Access::List.action(false),
        bucket_arn(bucket),
    );
    let allowed = match (access, key) {
        (Access::BucketOwner, _) => is_owner,
        (Access::List, _) | (Access::Read | Access::ObjectOwner, None) => can_list,
        (Access::Write | Access::Delete, key) => decide(
            is_owner || granted(&bucket_grants, Permission::Write),
            access.action(true),
            object_arn(bucket, key.map_or("", |k| k.0)),
        ),
        (Access::ReadAcp | Access::WriteAcp, None) => {
            let permission = if access == Access::ReadAcp {
                Permission::ReadAcp
            } else {
                Permission::WriteAcp
            };
            decide(
                is_owner || granted(&bucket_grants, permission),
                access.action(false),
                bucket_arn(bucket),
            )
        }
        (_, Some((k, version))) => {
            let object = match s3::find(w, bucket, k, version) {
                Ok(o) => o,
                Err(e) if e.status == Some(404) && !can_list => {
                    return Err(denied(bucket, Some(k)));
                }
                Err(e) => return Err(e),
            };
            let object_owner = object_owner(w, object.id)?;
            let owns = caller.is(&object_owner) || (enforced && is_owner);
            let grants = acl::object_grants_by_id(w, bucket, object.id)?;
            let by_acl = match access {
                Access::Read => (enforced && is_owner) || granted(&grants, Permission::Read),
                Access::ReadAcp => owns || granted(&grants, Permission::ReadAcp),
                Access::WriteAcp => owns || granted(&grants, Permission::WriteAcp),
                _ => owns,
            };
            decide(by_acl, access.action(true), object_arn(bucket, k))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(denied(bucket, key.map(|k| k.0)))
    }
}

/// Whether an unsigned request may do `access` (by the same rule as every caller): a missing
/// bucket is 404 `NoSuchBucket`, a missing object 404 `NoSuchKey` only to whom may list the
/// bucket.
pub(super) fn anonymous_allowed(
    w: &World,
    bucket: &str,
    key: Option<&str>,
    access: AnonymousAccess,
) -> Result<bool> {
    match authorize(
        w,
        &Caller::Anonymous,
        bucket,
        key.map(|k| (k, None)),
        access.into(),
    ) {
        Ok(()) => Ok(true),
        Err(e) if e.code == "AccessDenied" => Ok(false),
        Err(e) => Err(e),
    }
}

pub(super) fn object_owner(w: &World, object_id: i64) -> Result<Owner> {
    let (id, name): (Option<String>, Option<String>) =
        w.tx.prepare_cached("SELECT owner_id, owner_name FROM objects WHERE id = ?1")?
            .query_row([object_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(owner_from(w, id, name))
}

/// Who owns what `caller` writes into `bucket`: the writer, unless Object Ownership makes the
/// bucket owner the owner of every object (`BucketOwnerEnforced`).
pub(super) fn owner_of_new_object(w: &World, bucket: &str) -> Result<Owner> {
    if s3::ownership(w, bucket)? == Some(ObjectOwnership::BucketOwnerEnforced) {
        return bucket_owner(w, bucket);
    }
    Ok(w.caller.owner())
}
