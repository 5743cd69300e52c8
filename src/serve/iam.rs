//! The Query-protocol faces: IAM (form POSTs with `Version=2010-05-08`, XML replies) and STS
//! `GetCallerIdentity` (`Version=2011-06-15`), which tells clients the account id.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::xml::XmlWriter;
use super::{Request, Response, Server, status_of};
use crate::backend::{Backend, Policy, Role};
use crate::errors::Error;
use crate::sigv4::{parse_query, uri_encode};

pub const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The Query protocol's error document.
pub fn error_response(req: &Request, e: &Error) -> Response {
    let status = status_of(e);
    let ns = if form(req).get("Version").map(String::as_str) == Some("2011-06-15") {
        STS_NS
    } else {
        IAM_NS
    };
    let mut w = XmlWriter::new("ErrorResponse", Some(ns));
    w.start("Error")
        .el("Type", if status >= 500 { "Receiver" } else { "Sender" })
        .el("Code", &e.code)
        .el("Message", &e.message)
        .end()
        .el("RequestId", &req.request_id);
    Response::xml(status, w.finish()).header("x-amzn-requestid", req.request_id.clone())
}

fn form(req: &Request) -> BTreeMap<String, String> {
    let body = String::from_utf8_lossy(&req.body);
    let mut params: BTreeMap<String, String> = parse_query(&body, true).into_iter().collect();
    // The Query protocol also allows parameters in the URL.
    for (k, v) in &req.query {
        params.entry(k.clone()).or_insert_with(|| v.clone());
    }
    params
}

struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, Error> {
        self.get(name).ok_or_else(|| {
            Error::new(
                "ValidationError",
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    lower_first(name)
                ),
            )
            .status(400)
        })
    }

    /// `Prefix.member.1`, `Prefix.member.2`, ... in order.
    fn list(&self, prefix: &str) -> Vec<String> {
        (1..)
            .map_while(|i| {
                self.get(&format!("{prefix}.member.{i}"))
                    .map(str::to_string)
            })
            .collect()
    }

    /// `Tags.member.N.Key` / `.Value` pairs.
    fn tags(&self) -> BTreeMap<String, String> {
        (1..)
            .map_while(|i| {
                let key = self.get(&format!("Tags.member.{i}.Key"))?;
                let value = self.get(&format!("Tags.member.{i}.Value")).unwrap_or("");
                Some((key.to_string(), value.to_string()))
            })
            .collect()
    }

    fn json(&self, name: &str) -> Result<Json, Error> {
        let text = self.required(name)?;
        serde_json::from_str(text).map_err(|e| {
            Error::new(
                "MalformedPolicyDocument",
                format!("Syntax errors in policy: {e}"),
            )
            .status(400)
        })
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

pub fn handle(server: &Server, req: &Request) -> Response {
    let params = Params { map: form(req) };
    let action = params.get("Action").unwrap_or("").to_string();
    let service = if params.get("Version") == Some("2011-06-15") {
        "STS"
    } else {
        "IAM"
    };
    match dispatch(&server.sim, &params, &action) {
        Ok((ns, result)) => {
            let mut doc = result;
            doc.push_str(&format!(
                "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
                req.request_id
            ));
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{ns}\">{doc}"
            );
            Response::xml(200, body)
                .header("x-amzn-requestid", req.request_id.clone())
                .op(format!("{service}.{action}"))
        }
        Err(e) => error_response(req, &e).op(format!("{service}.{action} {}", e.code)),
    }
}

/// A `<ActionResult>` element built by `fill`.
fn result(action: &str, fill: impl FnOnce(&mut XmlWriter)) -> String {
    let mut w = XmlWriter::new("R", None);
    fill(&mut w);
    let doc = w.finish();
    // Strip the wrapper: the writer needs a root, the result element is named per action.
    let inner = doc
        .split_once("<R>")
        .map(|(_, rest)| rest.trim_end_matches("</R>").to_string())
        .unwrap_or_default();
    if inner.is_empty() {
        return String::new();
    }
    format!("<{action}Result>{inner}</{action}Result>")
}

fn write_role(w: &mut XmlWriter, role: &Role) {
    w.start("Role")
        .el("Path", "/")
        .el("RoleName", &role.name)
        .el("RoleId", &role.id)
        .el("Arn", &role.arn)
        .el("CreateDate", crate::timefmt::rfc3339(role.created))
        .el(
            "AssumeRolePolicyDocument",
            uri_encode(&role.trust_policy.to_string(), false),
        )
        .opt("Description", role.description.as_deref())
        .el("MaxSessionDuration", "3600")
        .end();
}

fn write_policy(w: &mut XmlWriter, policy: &Policy) {
    w.start("Policy")
        .el("PolicyName", &policy.name)
        .el("PolicyId", &policy.id)
        .el("Arn", &policy.arn)
        .el("Path", "/")
        .el("DefaultVersionId", "v1")
        .el("IsAttachable", "true")
        .end();
}

fn dispatch(sim: &dyn Backend, p: &Params, action: &str) -> Result<(&'static str, String), Error> {
    let iam = |doc: String| Ok((IAM_NS, doc));
    match action {
        "GetCallerIdentity" => {
            let account = sim.account_id()?;
            Ok((
                STS_NS,
                result(action, |w| {
                    w.el("Arn", format!("arn:aws:iam::{account}:user/s3thaw"))
                        .el("UserId", "AIDAS3THAWSIMULATOR01")
                        .el("Account", &account);
                }),
            ))
        }
        "CreateRole" => {
            let trust = p.json("AssumeRolePolicyDocument")?;
            let role = sim.create_role(
                p.required("RoleName")?,
                &trust,
                p.get("Description"),
                &p.tags(),
            )?;
            iam(result(action, |w| write_role(w, &role)))
        }
        "GetRole" => {
            let role = sim.get_role(p.required("RoleName")?)?;
            iam(result(action, |w| write_role(w, &role)))
        }
        "DeleteRole" => {
            sim.delete_role(p.required("RoleName")?)?;
            iam(String::new())
        }
        "CreatePolicy" => {
            let document = p.json("PolicyDocument")?;
            let policy = sim.create_policy(p.required("PolicyName")?, &document)?;
            iam(result(action, |w| write_policy(w, &policy)))
        }
        "GetPolicy" => {
            let policy = sim.get_policy(p.required("PolicyArn")?)?;
            iam(result(action, |w| write_policy(w, &policy)))
        }
        "DeletePolicy" => {
            sim.delete_policy(p.required("PolicyArn")?)?;
            iam(String::new())
        }
        "AttachRolePolicy" => {
            sim.attach_role_policy(p.required("RoleName")?, p.required("PolicyArn")?)?;
            iam(String::new())
        }
        "DetachRolePolicy" => {
            sim.detach_role_policy(p.required("RoleName")?, p.required("PolicyArn")?)?;
            iam(String::new())
        }
        "ListAttachedRolePolicies" => {
            let arns = sim.list_attached_role_policies(p.required("RoleName")?)?;
            iam(result(action, |w| {
                w.start("AttachedPolicies");
                for arn in &arns {
                    let name = arn.rsplit('/').next().unwrap_or(arn);
                    w.start("member")
                        .el("PolicyName", name)
                        .el("PolicyArn", arn)
                        .end();
                }
                w.end().el("IsTruncated", "false");
            }))
        }
        "PutRolePolicy" => {
            let document = p.json("PolicyDocument")?;
            sim.put_role_policy(
                p.required("RoleName")?,
                p.required("PolicyName")?,
                &document,
            )?;
            iam(String::new())
        }
        "DeleteRolePolicy" => {
            sim.delete_role_policy(p.required("RoleName")?, p.required("PolicyName")?)?;
            iam(String::new())
        }
        "ListRolePolicies" => {
            let names = sim.list_role_policies(p.required("RoleName")?)?;
            iam(result(action, |w| {
                w.start("PolicyNames");
                for name in &names {
                    w.el("member", name);
                }
                w.end().el("IsTruncated", "false");
            }))
        }
        "SimulatePrincipalPolicy" => {
            let source = p.required("PolicySourceArn")?.to_string();
            let actions = p.list("ActionNames");
            if actions.is_empty() {
                return Err(p.required("ActionNames.member.1").unwrap_err());
            }
            let mut resources = p.list("ResourceArns");
            if resources.is_empty() {
                resources.push("*".to_string());
            }
            let mut results = Vec::new();
            for action_name in &actions {
                for resource in &resources {
                    let decision = sim.simulate_principal_policy(&source, action_name, resource)?;
                    results.push((action_name.clone(), resource.clone(), decision));
                }
            }
            iam(result(action, |w| {
                w.start("EvaluationResults");
                for (a, r, d) in &results {
                    w.start("member")
                        .el("EvalActionName", a)
                        .el("EvalResourceName", r)
                        .el("EvalDecision", d.as_str())
                        .start("MatchedStatements")
                        .end()
                        .start("MissingContextValues")
                        .end()
                        .end();
                }
                w.end().el("IsTruncated", "false");
            }))
        }
        "" => Err(Error::new("MissingAction", "Missing Action").status(400)),
        other => Err(Error::new(
            "InvalidAction",
            format!(
                "Could not find operation {other} for version {}",
                p.get("Version").unwrap_or("")
            ),
        )
        .status(400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_tags_read_from_members() {
        let p = Params {
            map: parse_query(
                "ActionNames.member.1=s3%3AGetObject&ActionNames.member.2=s3:PutObject&Tags.member.1.Key=a&Tags.member.1.Value=b+c",
                true,
            )
            .into_iter()
            .collect(),
        };
        assert_eq!(p.list("ActionNames"), ["s3:GetObject", "s3:PutObject"]);
        assert_eq!(p.tags().get("a").map(String::as_str), Some("b c"));
        assert_eq!(p.required("RoleName").unwrap_err().code, "ValidationError");
    }

    #[test]
    fn results_wrap_their_fields() {
        assert_eq!(
            result("GetRole", |w| {
                w.el("A", "1");
            }),
            "<GetRoleResult><A>1</A></GetRoleResult>"
        );
        assert_eq!(result("DeleteRole", |_| {}), "");
    }
}
