//! IAM and STS on AWS: roles, policies, policy simulation (the face of
//! `crate::backend::sim::iam` and `crate::serve::iam`).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::errors::{Ctx, build_error, from_sdk};
use super::{AwsBackend, datetime};
use crate::backend::*;
use crate::errors::{Error, Result};

fn role_of(role: &aws_sdk_iam::types::Role) -> Role {
    let document = role
        .assume_role_policy_document()
        .map(|d| crate::sigv4::percent_decode(d, false))
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

pub(super) fn create_role(
    aws: &AwsBackend,
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
    let out = aws
        .block(
            aws.iam
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

pub(super) fn get_role(aws: &AwsBackend, name: &str) -> Result<Role> {
    let out = aws
        .block(aws.iam.get_role().role_name(name).send())
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    out.role()
        .map(role_of)
        .ok_or_else(|| Error::internal("GetRole returned no role"))
}

pub(super) fn delete_role(aws: &AwsBackend, name: &str) -> Result<()> {
    aws.block(aws.iam.delete_role().role_name(name).send())
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    Ok(())
}

pub(super) fn create_policy(aws: &AwsBackend, name: &str, document: &Json) -> Result<Policy> {
    let out = aws
        .block(
            aws.iam
                .create_policy()
                .policy_name(name)
                .policy_document(document.to_string())
                .send(),
        )
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    policy_of(out.policy())
}

pub(super) fn get_policy(aws: &AwsBackend, arn: &str) -> Result<Policy> {
    let out = aws
        .block(aws.iam.get_policy().policy_arn(arn).send())
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    policy_of(out.policy())
}

pub(super) fn delete_policy(aws: &AwsBackend, arn: &str) -> Result<()> {
    aws.block(aws.iam.delete_policy().policy_arn(arn).send())
        .map_err(|e| from_sdk(e, &Ctx::none()))?;
    Ok(())
}

pub(super) fn attach_role_policy(aws: &AwsBackend, role: &str, policy_arn: &str) -> Result<()> {
    aws.block(
        aws.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send(),
    )
    .map_err(|e| from_sdk(e, &Ctx::none()))?;
    Ok(())
}

pub(super) fn detach_role_policy(aws: &AwsBackend, role: &str, policy_arn: &str) -> Result<()> {
    aws.block(
        aws.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send(),
    )
    .map_err(|e| from_sdk(e, &Ctx::none()))?;
    Ok(())
}

pub(super) fn list_attached_role_policies(aws: &AwsBackend, role: &str) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .block(
                aws.iam
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

pub(super) fn put_role_policy(
    aws: &AwsBackend,
    role: &str,
    name: &str,
    document: &Json,
) -> Result<()> {
    aws.block(
        aws.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document.to_string())
            .send(),
    )
    .map_err(|e| from_sdk(e, &Ctx::none()))?;
    Ok(())
}

pub(super) fn delete_role_policy(aws: &AwsBackend, role: &str, name: &str) -> Result<()> {
    aws.block(
        aws.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send(),
    )
    .map_err(|e| from_sdk(e, &Ctx::none()))?;
    Ok(())
}

pub(super) fn list_role_policies(aws: &AwsBackend, role: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .block(
                aws.iam
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

pub(super) fn simulate_principal_policy(
    aws: &AwsBackend,
    role_arn: &str,
    action: &str,
    resource: &str,
) -> Result<crate::policy::Decision> {
    let out = aws
        .block(
            aws.iam
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
