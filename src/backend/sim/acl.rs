//! Access control lists: the grants of a bucket or an object version, as S3 keeps them.
//!
//! An ACL is either a canned ACL (`x-amz-acl`), which stands for the grants AWS documents for
//! it (`private` is the owner's FULL_CONTROL, `public-read` adds READ for AllUsers…), or an
//! explicit list of grants (`x-amz-grant-*` headers, an `AccessControlPolicy` body) to
//! canonical users by id and to S3's groups by URI. Grantee ids must be accounts the simulator
//! knows: the world's own account and the identities `serve` was started with
//! ([`register_accounts`]); others are 400 `InvalidArgument` "Invalid id", as on AWS.
//! [`permits`] says what a list of grants lets a caller do; `identity::authorize` decides with
//! it.

use rusqlite::{OptionalExtension, params};

use super::World;
use super::identity::{self, Caller};
use super::s3;
use crate::backend::*;
use crate::errors::{Error, Result};

/// S3's group of everyone, signed or not.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// S3's group of every signed request (any AWS account).
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// S3's log delivery group.
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// What a grant allows (S3's ACL permissions). On a bucket: READ lists it, WRITE creates and
/// deletes its objects, READ_ACP/WRITE_ACP read and write its ACL. On an object: READ reads it
/// (GET, HEAD, a copy's source), READ_ACP/WRITE_ACP its ACL. FULL_CONTROL is all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    FullControl,
    Read,
    Write,
    ReadAcp,
    WriteAcp,
}

impl Permission {
    pub const ALL: &'static [Permission] = &[
        Permission::FullControl,
        Permission::Read,
        Permission::Write,
        Permission::ReadAcp,
        Permission::WriteAcp,
    ];

    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::FullControl => "FULL_CONTROL",
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
        }
    }
}

impl std::str::FromStr for Permission {
    type Err = Error;
    /// AWS's spelling, exactly (anything else is not a permission S3 knows).
    fn from_str(s: &str) -> Result<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                Error::new(
                    "MalformedACLError",
                    "The XML you provided was not well-formed or did not validate against our published schema",
                )
                .status(400)
                .hint(format!("`{s}` is not one of FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP"))
            })
    }
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A canonical user (an account) by id; `display_name` is filled in when an ACL is read
    /// back, and ignored when one is set.
    User { id: String, display_name: String },
    /// One of S3's groups, by URI ([`ALL_USERS`], [`AUTHENTICATED_USERS`], [`LOG_DELIVERY`]).
    Group(String),
    /// An account by e-mail address: the simulator knows none, so such grants are refused.
    Email(String),
}

impl Grantee {
    /// A canonical user by id (the display name is the simulator's to fill in).
    pub fn user(id: impl Into<String>) -> Grantee {
        Grantee::User {
            id: id.into(),
            display_name: String::new(),
        }
    }
}

/// One grant of an ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grantee: Grantee,
    pub permission: Permission,
}

/// An ACL as a request sets it: canned, or an explicit list of grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acl {
    Canned(CannedAcl),
    Grants(Vec<Grant>),
}

impl From<CannedAcl> for Acl {
    fn from(acl: CannedAcl) -> Acl {
        Acl::Canned(acl)
    }
}

/// Makes `accounts` known as grantees (upserting their display names): the identities `serve`
/// signs requests as. The world's own account is always known.
pub(super) fn register_accounts(w: &World, accounts: &[Owner]) -> Result<()> {
    for a in accounts {
        w.tx.execute(
            "INSERT INTO accounts (id, display_name) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name",
            params![a.id, a.display_name],
        )?;
    }
    Ok(())
}

/// The display name of a known account, `None` if the simulator does not know it.
fn account_name(w: &World, id: &str) -> Result<Option<String>> {
    if id == w.account_id {
        return Ok(Some(identity::DEFAULT_DISPLAY_NAME.to_string()));
    }
    Ok(w.tx
        .prepare_cached("SELECT display_name FROM accounts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// The grants a canned ACL stands for, on a resource owned by `owner` in a bucket owned by
/// `bucket_owner`. Group grants come before the owner's FULL_CONTROL (Ceph's order, which
/// ceph/s3-tests' grant comparison relies on; grants are a set on AWS).
fn expand(acl: CannedAcl, owner: &Owner, bucket_owner: &Owner) -> Vec<Grant> {
    let group = |uri: &str, permission| Grant {
        grantee: Grantee::Group(uri.to_string()),
        permission,
    };
    let user = |o: &Owner, permission| Grant {
        grantee: Grantee::user(o.id.clone()),
        permission,
    };
    let mut grants = match acl {
        CannedAcl::PublicRead => vec![group(ALL_USERS, Permission::Read)],
        CannedAcl::PublicReadWrite => vec![
            group(ALL_USERS, Permission::Read),
            group(ALL_USERS, Permission::Write),
        ],
        CannedAcl::AuthenticatedRead => vec![group(AUTHENTICATED_USERS, Permission::Read)],
        CannedAcl::LogDeliveryWrite => vec![
            group(LOG_DELIVERY, Permission::Write),
            group(LOG_DELIVERY, Permission::ReadAcp),
        ],
        _ => Vec::new(),
    };
    grants.push(user(owner, Permission::FullControl));
    // bucket-owner-*: the bucket owner's grant (nothing more when it owns the object).
    if bucket_owner.id != owner.id {
        match acl {
            CannedAcl::BucketOwnerRead => grants.push(user(bucket_owner, Permission::Read)),
            CannedAcl::BucketOwnerFullControl => {
                grants.push(user(bucket_owner, Permission::FullControl))
            }
            _ => {}
        }
    }
    grants
}

/// Whether `grants` let `caller` do what `permission` allows. Grants to AllUsers and
/// AuthenticatedUsers count for nothing when `ignore_public` (Block Public Access's
/// `IgnorePublicAcls`).
pub(super) fn permits(
    grants: &[Grant],
    caller: &Caller,
    permission: Permission,
    ignore_public: bool,
) -> bool {
    grants.iter().any(|g| {
        let covers = g.permission == permission || g.permission == Permission::FullControl;
        let matches = match &g.grantee {
            Grantee::User { id, .. } => matches!(caller, Caller::Account(o) if &o.id == id),
            Grantee::Group(uri) if uri == ALL_USERS => !ignore_public,
            Grantee::Group(uri) if uri == AUTHENTICATED_USERS => {
                !ignore_public && matches!(caller, Caller::Account(_))
            }
            Grantee::Group(_) | Grantee::Email(_) => false,
        };
        covers && matches
    })
}

/// Whether an ACL grants anything to everyone or to every AWS account (what Block Public
/// Access calls public).
fn is_public(acl: &Acl) -> bool {
    match acl {
        Acl::Canned(c) => matches!(
            c,
            CannedAcl::PublicRead | CannedAcl::PublicReadWrite | CannedAcl::AuthenticatedRead
        ),
        Acl::Grants(grants) => grants.iter().any(|g| {
            matches!(&g.grantee, Grantee::Group(uri) if uri == ALL_USERS || uri == AUTHENTICATED_USERS)
        }),
    }
}

/// Refuses an ACL `bucket` does not accept (on itself or on an object in it), before anything
/// is written: grantees S3 would not resolve (400 `InvalidArgument` "Invalid id" for an
/// unknown canonical user id, "Invalid group uri" for a group S3 does not have,
/// `UnresolvableGrantByEmailAddress` for an e-mail address), any ACL but the bucket owner's
/// FULL_CONTROL when Object Ownership is `BucketOwnerEnforced` (ACLs are off), and a public
/// ACL under Block Public Access's `block_public_acls`.
pub(super) fn check(w: &World, bucket: &str, acl: &Acl) -> Result<()> {
    check_grantees(w, bucket, acl)?;
    check_bucket_accepts(w, bucket, acl)
}

/// Refuses grantees S3 would not resolve (see [`check`]); needs no bucket, so CreateBucket
/// can refuse its ACL before the bucket exists.
pub(super) fn check_grantees(w: &World, bucket: &str, acl: &Acl) -> Result<()> {
    if let Acl::Grants(grants) = acl {
        for g in grants {
            match &g.grantee {
                Grantee::User { id, .. } => {
                    if account_name(w, id)?.is_none() {
                        return Err(Error::invalid_argument("Invalid id")
                            .status(400)
                            .bucket(bucket)
                            .hint(format!("no account has the canonical user id `{id}`")));
                    }
                }
                Grantee::Group(uri) => {
                    if ![ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY].contains(&uri.as_str()) {
                        return Err(Error::invalid_argument("Invalid group uri")
                            .status(400)
                            .bucket(bucket)
                            .hint(format!("`{uri}` is not one of S3's groups")));
                    }
                }
                Grantee::Email(_) => {
                    return Err(Error::new(
                        "UnresolvableGrantByEmailAddress",
                        "The e-mail address you provided does not match any account on record.",
                    )
                    .status(400)
                    .bucket(bucket));
                }
            }
        }
    }
    Ok(())
}

/// Refuses an ACL the bucket's settings do not accept (Object Ownership, Block Public Access).
fn check_bucket_accepts(w: &World, bucket: &str, acl: &Acl) -> Result<()> {
    if s3::ownership(w, bucket)? == Some(ObjectOwnership::BucketOwnerEnforced) {
        let owner = identity::bucket_owner(w, bucket)?;
        let owner_full_control = match acl {
            Acl::Canned(c) => *c == CannedAcl::BucketOwnerFullControl,
            Acl::Grants(g) => {
                g.len() == 1
                    && g[0].permission == Permission::FullControl
                    && matches!(&g[0].grantee, Grantee::User { id, .. } if *id == owner.id)
            }
        };
        if !owner_full_control {
            return Err(Error::new(
                "AccessControlListNotSupported",
                "The bucket does not allow ACLs",
            )
            .status(400)
            .bucket(bucket));
        }
    }
    if is_public(acl) && s3::public_access_block(w, bucket)?.is_some_and(|b| b.block_public_acls) {
        return Err(Error::access_denied("Access Denied").bucket(bucket));
    }
    Ok(())
}

/// Stored form of a list of grants: JSON `[["id"|"uri", VALUE, PERMISSION], ...]`.
fn encode(grants: &[Grant]) -> Result<String> {
    let rows: Vec<[&str; 3]> = grants
        .iter()
        .map(|g| match &g.grantee {
            Grantee::User { id, .. } => Ok(["id", id.as_str(), g.permission.as_str()]),
            Grantee::Group(uri) => Ok(["uri", uri.as_str(), g.permission.as_str()]),
            Grantee::Email(_) => Err(Error::internal("an e-mail grant reached the store")),
        })
        .collect::<Result<_>>()?;
    serde_json::to_string(&rows).map_err(Error::internal)
}

fn decode(json: &str) -> Result<Vec<Grant>> {
    let rows: Vec<[String; 3]> = serde_json::from_str(json).map_err(Error::internal)?;
    rows.into_iter()
        .map(|[kind, value, permission]| {
            Ok(Grant {
                grantee: match kind.as_str() {
                    "id" => Grantee::user(value),
                    _ => Grantee::Group(value),
                },
                permission: permission.parse()?,
            })
        })
        .collect()
}

/// A stored ACL: the canned name, or the grants when set explicitly.
fn stored(acl: Option<(String, Option<String>)>) -> Result<Acl> {
    match acl {
        None => Ok(Acl::Canned(CannedAcl::Private)),
        Some((_, Some(grants))) => Ok(Acl::Grants(decode(&grants)?)),
        Some((canned, None)) => Ok(Acl::Canned(canned.parse()?)),
    }
}

/// The row an ACL is stored as: the canned name (`private` for explicit grants, so that an
/// older build reads them as private) and the grants' JSON.
fn row(acl: &Acl) -> Result<(&'static str, Option<String>)> {
    Ok(match acl {
        Acl::Canned(c) => (c.as_str(), None),
        Acl::Grants(g) => (CannedAcl::Private.as_str(), Some(encode(g)?)),
    })
}

/// PutBucketAcl (and CreateBucket's ACL): replaces the bucket's ACL.
pub(super) fn put_bucket_acl(w: &World, bucket: &str, acl: &Acl) -> Result<()> {
    check(w, bucket, acl)?;
    let (canned, grants) = row(acl)?;
    w.tx.execute(
        "INSERT INTO bucket_acls (bucket, acl, grants) VALUES (?1, ?2, ?3)
         ON CONFLICT (bucket) DO UPDATE SET acl = excluded.acl, grants = excluded.grants",
        params![bucket, canned, grants],
    )?;
    Ok(())
}

/// A bucket's ACL as set (`private` unless set).
pub(super) fn bucket_acl(w: &World, bucket: &str) -> Result<Acl> {
    s3::require_bucket(w, bucket)?;
    let row: Option<(String, Option<String>)> =
        w.tx.prepare_cached("SELECT acl, grants FROM bucket_acls WHERE bucket = ?1")?
            .query_row([bucket], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    stored(row)
}

/// A bucket's grants (its canned ACL expanded).
pub(super) fn bucket_grants(w: &World, bucket: &str) -> Result<Vec<Grant>> {
    let owner = identity::bucket_owner(w, bucket)?;
    Ok(match bucket_acl(w, bucket)? {
        Acl::Canned(c) => expand(c, &owner, &owner),
        Acl::Grants(g) => g,
    })
}

/// PutObjectAcl (and the ACL of a PutObject or CopyObject): replaces one version's ACL (the
/// current version's without `version_id`). Changing it changes nothing else: not the
/// version, not Last-Modified.
pub(super) fn put_object_acl(
    w: &World,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    acl: &Acl,
) -> Result<()> {
    check(w, bucket, acl)?;
    let object = s3::find(w, bucket, key, version_id)?;
    let (canned, grants) = row(acl)?;
    w.tx.execute(
        "INSERT INTO object_acls (object_id, acl, grants) VALUES (?1, ?2, ?3)
         ON CONFLICT (object_id) DO UPDATE SET acl = excluded.acl, grants = excluded.grants",
        params![object.id, canned, grants],
    )?;
    Ok(())
}

/// The grants of one stored version (its canned ACL expanded; `private` unless set).
pub(super) fn object_grants_by_id(w: &World, bucket: &str, object_id: i64) -> Result<Vec<Grant>> {
    let row: Option<(String, Option<String>)> =
        w.tx.prepare_cached("SELECT acl, grants FROM object_acls WHERE object_id = ?1")?
            .query_row([object_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
    Ok(match stored(row)? {
        Acl::Canned(c) => expand(
            c,
            &identity::object_owner(w, object_id)?,
            &identity::bucket_owner(w, bucket)?,
        ),
        Acl::Grants(g) => g,
    })
}

/// Grants as GetBucketAcl/GetObjectAcl list them: each canonical user with its display name
/// (the known account's, else the one `owners`, the resource's owners, have).
pub(super) fn listed(w: &World, grants: Vec<Grant>, owners: &[&Owner]) -> Result<Vec<Grant>> {
    grants
        .into_iter()
        .map(|g| {
            let grantee = match g.grantee {
                Grantee::User { id, .. } => Grantee::User {
                    display_name: match owners.iter().find(|o| o.id == id) {
                        Some(o) => o.display_name.clone(),
                        None => account_name(w, &id)?.unwrap_or_default(),
                    },
                    id,
                },
                other => other,
            };
            Ok(Grant { grantee, ..g })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: &str) -> Owner {
        Owner {
            id: id.into(),
            display_name: String::new(),
        }
    }

    fn account(id: &str) -> Caller {
        Caller::Account(owner(id))
    }

    /// Canned ACLs stand for AWS's documented grants; the bucket-owner ones add the bucket
    /// owner only when someone else owns the object.
    #[test]
    fn canned_acls_expand_to_their_grants() {
        let (writer, bucket_owner) = (owner("writer"), owner("bucket"));
        let permissions = |acl| {
            expand(acl, &writer, &bucket_owner)
                .into_iter()
                .map(|g| match g.grantee {
                    Grantee::User { id, .. } => format!("{id}:{}", g.permission.as_str()),
                    Grantee::Group(uri) => format!("{uri}:{}", g.permission.as_str()),
                    Grantee::Email(e) => e,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(permissions(CannedAcl::Private), ["writer:FULL_CONTROL"]);
        assert_eq!(
            permissions(CannedAcl::PublicReadWrite),
            [
                format!("{ALL_USERS}:READ"),
                format!("{ALL_USERS}:WRITE"),
                "writer:FULL_CONTROL".into()
            ]
        );
        assert_eq!(
            permissions(CannedAcl::BucketOwnerRead),
            ["writer:FULL_CONTROL", "bucket:READ"]
        );
        assert_eq!(
            permissions(CannedAcl::BucketOwnerFullControl),
            ["writer:FULL_CONTROL", "bucket:FULL_CONTROL"]
        );
        assert_eq!(
            expand(CannedAcl::BucketOwnerFullControl, &writer, &writer).len(),
            1
        );
    }

    /// FULL_CONTROL covers every permission; AllUsers covers everyone, AuthenticatedUsers
    /// only signed callers, and neither counts when public ACLs are ignored.
    #[test]
    fn grants_permit_by_grantee_and_permission() {
        let grant = |grantee, permission| Grant {
            grantee,
            permission,
        };
        let grants = [
            grant(Grantee::user("bob"), Permission::FullControl),
            grant(Grantee::user("carol"), Permission::ReadAcp),
            grant(Grantee::Group(AUTHENTICATED_USERS.into()), Permission::Read),
            grant(Grantee::Group(ALL_USERS.into()), Permission::Write),
        ];
        let bob = account("bob");
        for p in Permission::ALL {
            assert!(permits(&grants, &bob, *p, false), "{p:?}");
        }
        let carol = account("carol");
        assert!(permits(&grants, &carol, Permission::ReadAcp, false));
        assert!(!permits(&grants, &carol, Permission::WriteAcp, false));
        assert!(permits(&grants, &carol, Permission::Read, false));
        assert!(!permits(&grants, &carol, Permission::Read, true));
        assert!(!permits(
            &grants,
            &Caller::Anonymous,
            Permission::Read,
            false
        ));
        assert!(permits(
            &grants,
            &Caller::Anonymous,
            Permission::Write,
            false
        ));
        assert!(!permits(
            &grants,
            &Caller::Anonymous,
            Permission::Write,
            true
        ));
        assert!(
            "READ_ACP".parse::<Permission>().unwrap() == Permission::ReadAcp
                && "read".parse::<Permission>().is_err()
        );
    }
}
