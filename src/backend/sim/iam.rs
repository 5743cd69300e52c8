//! IAM roles and policies of the simulated account, and the evaluation a job's role gets.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde_json::Value as Json;

use super::World;
use super::clock;
use crate::backend::{Policy, Role};
use crate::errors::{Error, Result};
use crate::policy::{Decision, PolicyDocument, PolicyError};

/// The service principal Batch Operations assumes job roles as.
pub(super) const BATCH_SERVICE: &str = "batchoperations.s3.amazonaws.com";

fn malformed(e: PolicyError) -> Error {
    Error::new("MalformedPolicyDocument", e.to_string()).status(400)
}

fn validate_name(what: &str, name: &str, max: usize) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            "ValidationError",
            format!(
                "invalid {what} name `{name}`: 1-{max} characters of letters, digits and +=,.@_-"
            ),
        )
        .status(400))
    }
}

/// An IAM-style unique id: a four-letter prefix and 17 upper-case characters.
fn unique_id(prefix: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{prefix}{}", &hex[..17])
}

fn role_exists(w: &World, name: &str) -> Result<()> {
    let found: Option<i64> =
        w.tx.query_row("SELECT 1 FROM roles WHERE name = ?1", [name], |r| r.get(0))
            .optional()?;
    found
        .map(drop)
        .ok_or_else(|| Error::no_such_entity(format!("The role with name {name} cannot be found.")))
}

pub(super) fn create_role(
    w: &World,
    name: &str,
    trust_policy: &Json,
    description: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<Role> {
    validate_name("role", name, 64)?;
    let trust_text = trust_policy.to_string();
    PolicyDocument::parse_trust(&trust_text).map_err(malformed)?;
    if role_exists(w, name).is_ok() {
        return Err(Error::new(
            "EntityAlreadyExists",
            format!("Role with name {name} already exists."),
        )
        .status(409));
    }
    let role = Role {
        name: name.to_string(),
        arn: format!("arn:aws:iam::{}:role/{name}", w.account_id),
        id: unique_id("AROA"),
        trust_policy: trust_policy.clone(),
        description: description.map(str::to_string),
        created: clock::to_datetime(w.now),
    };
    w.tx.execute(
        "INSERT INTO roles (name, id, arn, trust_policy, description, tags, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            role.name,
            role.id,
            role.arn,
            trust_text,
            role.description,
            serde_json::to_string(tags).map_err(Error::internal)?,
            w.now
        ],
    )?;
    Ok(role)
}

pub(super) fn get_role(w: &World, name: &str) -> Result<Role> {
    let row =
        w.tx.query_row(
            "SELECT name, id, arn, trust_policy, description, created FROM roles WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    let (name, id, arn, trust, description, created) = row.ok_or_else(|| {
        Error::no_such_entity(format!("The role with name {name} cannot be found."))
    })?;
    Ok(Role {
        name,
        id,
        arn,
        trust_policy: serde_json::from_str(&trust).map_err(Error::internal)?,
        description,
        created: clock::to_datetime(created),
    })
}

pub(super) fn delete_role(w: &World, name: &str) -> Result<()> {
    role_exists(w, name)?;
    if !list_attached_role_policies(w, name)?.is_empty() {
        return Err(Error::new(
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        )
        .status(409));
    }
    if !list_role_policies(w, name)?.is_empty() {
        return Err(Error::new(
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        )
        .status(409));
    }
    w.tx.execute("DELETE FROM roles WHERE name = ?1", [name])?;
    Ok(())
}

pub(super) fn create_policy(w: &World, name: &str, document: &Json) -> Result<Policy> {
    validate_name("policy", name, 128)?;
    let text = document.to_string();
    PolicyDocument::parse_identity(&text).map_err(malformed)?;
    let arn = format!("arn:aws:iam::{}:policy/{name}", w.account_id);
    let exists: Option<i64> =
        w.tx.query_row("SELECT 1 FROM policies WHERE arn = ?1", [&arn], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_some() {
        return Err(Error::new(
            "EntityAlreadyExists",
            format!("A policy called {name} already exists. Duplicate names are not allowed."),
        )
        .status(409));
    }
    let policy = Policy {
        name: name.to_string(),
        arn,
        id: unique_id("ANPA"),
    };
    w.tx.execute(
        "INSERT INTO policies (arn, name, id, document, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![policy.arn, policy.name, policy.id, text, w.now],
    )?;
    Ok(policy)
}

fn policy_document(w: &World, arn: &str) -> Result<String> {
    w.tx.query_row("SELECT document FROM policies WHERE arn = ?1", [arn], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| {
        Error::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
    })
}

pub(super) fn get_policy(w: &World, arn: &str) -> Result<Policy> {
    let row: Option<(String, String)> =
        w.tx.query_row("SELECT name, id FROM policies WHERE arn = ?1", [arn], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (name, id) = row.ok_or_else(|| {
        Error::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
    })?;
    Ok(Policy {
        name,
        arn: arn.to_string(),
        id,
    })
}

pub(super) fn delete_policy(w: &World, arn: &str) -> Result<()> {
    policy_document(w, arn)?;
    let attached: i64 = w.tx.query_row(
        "SELECT COUNT(*) FROM role_attachments WHERE policy_arn = ?1",
        [arn],
        |r| r.get(0),
    )?;
    if attached > 0 {
        return Err(Error::new(
            "DeleteConflict",
            "Cannot delete a policy attached to entities.",
        )
        .status(409));
    }
    w.tx.execute("DELETE FROM policies WHERE arn = ?1", [arn])?;
    Ok(())
}

pub(super) fn attach_role_policy(w: &World, role: &str, policy_arn: &str) -> Result<()> {
    role_exists(w, role)?;
    policy_document(w, policy_arn)?;
    w.tx.execute(
        "INSERT OR IGNORE INTO role_attachments (role, policy_arn) VALUES (?1, ?2)",
        params![role, policy_arn],
    )?;
    Ok(())
}

pub(super) fn detach_role_policy(w: &World, role: &str, policy_arn: &str) -> Result<()> {
    role_exists(w, role)?;
    let removed = w.tx.execute(
        "DELETE FROM role_attachments WHERE role = ?1 AND policy_arn = ?2",
        params![role, policy_arn],
    )?;
    if removed == 0 {
        return Err(Error::no_such_entity(format!(
            "Policy {policy_arn} was not found."
        )));
    }
    Ok(())
}

pub(super) fn list_attached_role_policies(w: &World, role: &str) -> Result<Vec<String>> {
    role_exists(w, role)?;
    let mut stmt = w.tx.prepare_cached(
        "SELECT policy_arn FROM role_attachments WHERE role = ?1 ORDER BY policy_arn",
    )?;
    let rows = stmt.query_map([role], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn put_role_policy(w: &World, role: &str, name: &str, document: &Json) -> Result<()> {
    role_exists(w, role)?;
    validate_name("policy", name, 128)?;
    let text = document.to_string();
    PolicyDocument::parse_identity(&text).map_err(malformed)?;
    w.tx.execute(
        "INSERT INTO role_inline (role, name, document) VALUES (?1, ?2, ?3)
         ON CONFLICT (role, name) DO UPDATE SET document = excluded.document",
        params![role, name, text],
    )?;
    Ok(())
}

pub(super) fn delete_role_policy(w: &World, role: &str, name: &str) -> Result<()> {
    role_exists(w, role)?;
    let removed = w.tx.execute(
        "DELETE FROM role_inline WHERE role = ?1 AND name = ?2",
        params![role, name],
    )?;
    if removed == 0 {
        return Err(Error::no_such_entity(format!(
            "The role policy with name {name} cannot be found."
        )));
    }
    Ok(())
}

pub(super) fn list_role_policies(w: &World, role: &str) -> Result<Vec<String>> {
    role_exists(w, role)?;
    let mut stmt =
        w.tx.prepare_cached("SELECT name FROM role_inline WHERE role = ?1 ORDER BY name")?;
    let rows = stmt.query_map([role], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A role as Batch Operations sees it when it assumes it: its trust policy and every
/// permission policy (inline and attached), parsed once for a whole job step.
pub(super) struct AssumedRole {
    pub trust: PolicyDocument,
    pub policies: Vec<PolicyDocument>,
}

impl AssumedRole {
    pub(super) fn allows(&self, action: &str, resource: &str) -> bool {
        let docs: Vec<&PolicyDocument> = self.policies.iter().collect();
        crate::policy::evaluate(&docs, action, resource) == Decision::Allowed
    }

    pub(super) fn trusts_batch_operations(&self) -> bool {
        crate::policy::trust_allows_service(&self.trust, BATCH_SERVICE, "sts:AssumeRole")
    }
}

/// Loads the role an ARN names, if it exists in this account.
pub(super) fn assume(w: &World, role_arn: &str) -> Result<Option<AssumedRole>> {
    let Some(name) = role_arn
        .strip_prefix(&format!("arn:aws:iam::{}:role/", w.account_id))
        .map(|path| path.rsplit('/').next().unwrap_or(path))
    else {
        return Ok(None);
    };
    let Ok(role) = get_role(w, name) else {
        return Ok(None);
    };
    let trust = PolicyDocument::parse_trust(&role.trust_policy.to_string()).map_err(malformed)?;
    let mut texts: Vec<String> = Vec::new();
    for arn in list_attached_role_policies(w, name)? {
        texts.push(policy_document(w, &arn)?);
    }
    let mut stmt =
        w.tx.prepare_cached("SELECT document FROM role_inline WHERE role = ?1")?;
    let inline = stmt.query_map([name], |r| r.get::<_, String>(0))?;
    for text in inline {
        texts.push(text?);
    }
    let policies = texts
        .iter()
        .map(|t| PolicyDocument::parse_identity(t).map_err(malformed))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(AssumedRole { trust, policies }))
}

/// SimulatePrincipalPolicy for a role of this account.
pub(super) fn simulate(
    w: &World,
    role_arn: &str,
    action: &str,
    resource: &str,
) -> Result<Decision> {
    let role = assume(w, role_arn)?
        .ok_or_else(|| Error::no_such_entity(format!("The role {role_arn} cannot be found.")))?;
    let docs: Vec<&PolicyDocument> = role.policies.iter().collect();
    Ok(crate::policy::evaluate(&docs, action, resource))
}
