//! IAM policy documents and their evaluation, following the IAM JSON policy reference
//! (Version, Statement, Sid, Effect, Action/NotAction, Resource/NotResource,
//! Principal/NotPrincipal, Condition).
//!
//! Choices, where AWS is richer than the simulator needs:
//! - Policy variables such as `${aws:username}` are not substituted; they match literally.
//! - Resources match the whole ARN with `*`/`?`; `ArnLike`/`ArnEquals` conditions match each of
//!   the six colon-separated ARN parts separately, as AWS documents.
//! - An unknown condition operator is accepted at parse time (see [`PolicyDocument::warnings`])
//!   but its statement never applies, so it neither grants nor denies.
//! - Element names (`Effect`, `Action`, ...) are case-sensitive; unknown elements are rejected.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A policy document AWS would reject; maps to IAM's `MalformedPolicyDocument`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

fn err<T>(msg: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(msg.into()))
}

/// Outcome of evaluating a request, spelled like SimulatePrincipalPolicy's `EvalDecision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    Allowed,
    ImplicitDeny,
    ExplicitDeny,
}

impl Decision {
    /// `"allowed"`, `"implicitDeny"` or `"explicitDeny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::ImplicitDeny => "implicitDeny",
            Decision::ExplicitDeny => "explicitDeny",
        }
    }
}

/// Which rules [`PolicyDocument::from_value`] enforces beyond the common grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Permissive: Resource and Principal are both optional (e.g. resource-based policies).
    Generic,
    /// Identity policy: Resource/NotResource required, Principal forbidden.
    Identity,
    /// Role trust policy: Principal/NotPrincipal required, Resource forbidden, STS actions only.
    Trust,
}

/// The caller of a request, as a policy's `Principal` element sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A service principal such as `batchoperations.s3.amazonaws.com`.
    Service(String),
    /// An account id or an IAM ARN (`arn:aws:iam::123456789012:role/name`).
    Aws(String),
    /// A federated identity provider.
    Federated(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrincipalType {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalSpec {
    Any,
    List(Vec<(PrincipalType, String)>),
}

/// A list element that may be negated (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Negatable<T> {
    not: bool,
    items: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    StrEq,
    StrEqIgnoreCase,
    StrLike,
    Arn,
    Bool,
    NumEq,
    NumLt,
    NumLe,
    NumGt,
    NumGe,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetMode {
    Single,
    AnyValue,
    AllValues,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    /// `None` for an operator this module does not know; such a condition is never true.
    cmp: Option<Cmp>,
    negated: bool,
    if_exists: bool,
    set: SetMode,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    action: Negatable<Vec<String>>,
    resource: Option<Negatable<Vec<String>>>,
    principal: Option<Negatable<PrincipalSpec>>,
    conditions: Vec<Condition>,
}

/// A parsed and validated IAM policy document; the original JSON is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    json: Value,
    statements: Vec<Statement>,
    warnings: Vec<String>,
}

/// Actions a trust policy may name (`sts:*` and `*` cover them).
const TRUST_ACTIONS: &str = "sts:AssumeRole sts:AssumeRoleWithSAML sts:AssumeRoleWithWebIdentity \
    sts:TagSession sts:SetSourceIdentity sts:SetContext";

/// Statement elements IAM knows; anything else is rejected.
const FIELDS: &str =
    "Sid Effect Action NotAction Resource NotResource Principal NotPrincipal Condition";

impl PolicyDocument {
    /// Parses permissively about Resource and Principal (any kind of policy).
    pub fn parse(json: &str) -> Result<PolicyDocument, PolicyError> {
        Self::parse_kind(json, PolicyKind::Generic)
    }

    /// Parses an identity (permissions) policy: Resource required, Principal forbidden.
    pub fn parse_identity(json: &str) -> Result<PolicyDocument, PolicyError> {
        Self::parse_kind(json, PolicyKind::Identity)
    }

    /// Parses a role trust policy: Principal required, Resource forbidden, STS actions only.
    pub fn parse_trust(json: &str) -> Result<PolicyDocument, PolicyError> {
        Self::parse_kind(json, PolicyKind::Trust)
    }

    /// Parses JSON text with the rules of `kind`.
    pub fn parse_kind(json: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|_| PolicyError("Syntax errors in policy.".into()))?;
        Self::from_value(&value, kind)
    }

    /// Validates an already-decoded JSON value with the rules of `kind`.
    pub fn from_value(v: &Value, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
        let Some(obj) = v.as_object() else {
            return err("Syntax errors in policy.");
        };
        for key in obj.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return unknown_field(key);
            }
        }
        match obj.get("Version") {
            None => {}
            Some(Value::String(s)) if s == "2012-10-17" || s == "2008-10-17" => {}
            Some(_) => return err("The policy must contain a valid version string"),
        }
        if obj.get("Id").is_some_and(|id| !id.is_string()) {
            return err("Id must be a string");
        }
        let raw = match obj.get("Statement") {
            None | Some(Value::Null) => return err("Policy document must contain a Statement"),
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(one @ Value::Object(_)) => vec![one],
            Some(_) => return err("Statement must be an object or an array of objects"),
        };
        let mut doc = PolicyDocument {
            json: v.clone(),
            statements: Vec::with_capacity(raw.len()),
            warnings: Vec::new(),
        };
        let mut sids: Vec<&str> = Vec::new();
        for (index, st) in raw.into_iter().enumerate() {
            let Some(st) = st.as_object() else {
                return err("Statement must be an object or an array of objects");
            };
            if let Some(sid) = st.get("Sid") {
                let Some(sid) = sid.as_str() else {
                    return err("Sid must be a string");
                };
                if sids.contains(&sid) {
                    return err("Statement IDs (SID) in a single policy must be unique.");
                }
                sids.push(sid);
            }
            let statement = parse_statement(st, kind, index, &mut doc.warnings)?;
            doc.statements.push(statement);
        }
        Ok(doc)
    }

    /// The JSON the document was parsed from.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The `Version` element, if present.
    pub fn version(&self) -> Option<&str> {
        self.json.get("Version").and_then(Value::as_str)
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Things accepted but not understood (unknown condition operators, whose statements
    /// never apply), so callers can surface them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

fn unknown_field<T>(key: &str) -> Result<T, PolicyError> {
    err(format!(
        "Syntax errors in policy. Unrecognized field: {key}"
    ))
}

fn string_list(v: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
    let bad = || PolicyError(format!("{field} must be a string or an array of strings"));
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(bad))
            .collect(),
        _ => Err(bad()),
    }
}

/// Reads `Name`/`NotName`, rejecting both; an empty list counts as absent.
fn pair<'a>(
    st: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<(bool, &'a Value)>, PolicyError> {
    let not_name = format!("Not{name}");
    match (st.get(name), st.get(&not_name)) {
        (Some(_), Some(_)) => err(format!(
            "Statement cannot contain both {name} and {not_name}"
        )),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

fn parse_statement(
    st: &Map<String, Value>,
    kind: PolicyKind,
    index: usize,
    warnings: &mut Vec<String>,
) -> Result<Statement, PolicyError> {
    if let Some(key) = st.keys().find(|k| !FIELDS.split(' ').any(|f| f == *k)) {
        return unknown_field(key);
    }
    let effect = match st.get("Effect") {
        None => return err("Missing required field Effect"),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => return err(format!("Invalid Effect: {s}")),
        Some(other) => return err(format!("Invalid Effect: {other}")),
    };

    let action = match pair(st, "Action")? {
        Some((not, v)) => {
            let field = if not { "NotAction" } else { "Action" };
            Negatable {
                not,
                items: string_list(v, field)?,
            }
        }
        None => return err("Policy statement must contain actions."),
    };
    if action.items.is_empty() {
        return err("Policy statement must contain actions.");
    }
    for a in &action.items {
        if a != "*"
            && a.split_once(':')
                .is_none_or(|(vendor, _)| vendor.is_empty())
        {
            return err(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
            );
        }
    }

    let resource = match pair(st, "Resource")? {
        Some((not, v)) => {
            let field = if not { "NotResource" } else { "Resource" };
            let items = string_list(v, field)?;
            if let Some(r) = items.iter().find(|r| *r != "*" && !r.starts_with("arn:")) {
                return err(format!("Resource {r} must be in ARN format or \"*\"."));
            }
            Some(Negatable { not, items })
        }
        None => None,
    };
    let principal = match pair(st, "Principal")? {
        Some((not, v)) => Some(Negatable {
            not,
            items: parse_principal(v)?,
        }),
        None => None,
    };

    match kind {
        PolicyKind::Generic => {}
        PolicyKind::Identity => {
            if principal.is_some() {
                return err("Policy document should not specify a principal.");
            }
            if resource.as_ref().is_none_or(|r| r.items.is_empty()) {
                return err("Policy statement must contain resources.");
            }
        }
        PolicyKind::Trust => {
            if principal.is_none() {
                return err("Missing required field Principal");
            }
            if let Some(r) = &resource {
                return err(format!(
                    "Has prohibited field {}Resource",
                    if r.not { "Not" } else { "" }
                ));
            }
            let sts_only = action.not
                || action
                    .items
                    .iter()
                    .all(|p| TRUST_ACTIONS.split_whitespace().any(|a| glob(p, a, true)));
            if !sts_only {
                return err("AssumeRole policy may only specify STS AssumeRole actions.");
            }
        }
    }

    let conditions = match st.get("Condition") {
        None => Vec::new(),
        Some(v) => parse_conditions(v, index, warnings)?,
    };
    Ok(Statement {
        effect,
        action,
        resource,
        principal,
        conditions,
    })
}

fn parse_principal(v: &Value) -> Result<PrincipalSpec, PolicyError> {
    let invalid = || PolicyError(format!("Invalid principal in policy: {v}"));
    let obj = match v {
        Value::String(s) if s == "*" => return Ok(PrincipalSpec::Any),
        Value::Object(obj) if !obj.is_empty() => obj,
        _ => return Err(invalid()),
    };
    let mut list = Vec::new();
    for (key, val) in obj {
        let ty = match key.as_str() {
            "AWS" => PrincipalType::Aws,
            "Service" => PrincipalType::Service,
            "Federated" => PrincipalType::Federated,
            "CanonicalUser" => PrincipalType::CanonicalUser,
            _ => return Err(invalid()),
        };
        let ids = string_list(val, &format!("Principal {key}"))?;
        if ids.is_empty() || ids.iter().any(String::is_empty) {
            return Err(invalid());
        }
        for id in ids {
            if ty == PrincipalType::Aws
                && id != "*"
                && !is_account_id(&id)
                && !id.starts_with("arn:")
            {
                return Err(invalid());
            }
            list.push((ty, id));
        }
    }
    Ok(PrincipalSpec::List(list))
}

fn parse_conditions(
    v: &Value,
    index: usize,
    warnings: &mut Vec<String>,
) -> Result<Vec<Condition>, PolicyError> {
    let bad = || PolicyError("Condition must map operators to objects of key: value(s)".into());
    let ops = v.as_object().ok_or_else(bad)?;
    let mut out = Vec::new();
    for (op_name, block) in ops {
        let block = block.as_object().ok_or_else(bad)?;
        let (set, rest) = if let Some(r) = strip_prefix_ci(op_name, "ForAnyValue:") {
            (SetMode::AnyValue, r)
        } else if let Some(r) = strip_prefix_ci(op_name, "ForAllValues:") {
            (SetMode::AllValues, r)
        } else {
            (SetMode::Single, op_name.as_str())
        };
        let (if_exists, base) = match rest.len().checked_sub("IfExists".len()) {
            Some(cut)
                if rest.is_char_boundary(cut) && rest[cut..].eq_ignore_ascii_case("IfExists") =>
            {
                (true, &rest[..cut])
            }
            _ => (false, rest),
        };
        let known = operator(base);
        if known.is_none() {
            warnings.push(format!(
                "statement {index}: unknown condition operator {op_name}; the statement never applies"
            ));
        }
        for (key, vals) in block {
            let values = match vals {
                Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
                one => scalar(one).map(|s| vec![s]),
            }
            .ok_or_else(|| PolicyError(format!("Invalid value for condition key {key}")))?;
            let (cmp, negated) = known.map_or((None, false), |(c, n)| (Some(c), n));
            out.push(Condition {
                cmp,
                negated,
                if_exists,
                set,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Maps an operator name (without set prefix or IfExists) to its comparison and negation.
fn operator(name: &str) -> Option<(Cmp, bool)> {
    const OPS: &[(&str, Cmp, bool)] = &[
        ("StringEquals", Cmp::StrEq, false),
        ("StringNotEquals", Cmp::StrEq, true),
        ("StringEqualsIgnoreCase", Cmp::StrEqIgnoreCase, false),
        ("StringNotEqualsIgnoreCase", Cmp::StrEqIgnoreCase, true),
        ("StringLike", Cmp::StrLike, false),
        ("StringNotLike", Cmp::StrLike, true),
        ("ArnEquals", Cmp::Arn, false),
        ("ArnLike", Cmp::Arn, false),
        ("ArnNotEquals", Cmp::Arn, true),
        ("ArnNotLike", Cmp::Arn, true),
        ("Bool", Cmp::Bool, false),
        ("NumericEquals", Cmp::NumEq, false),
        ("NumericNotEquals", Cmp::NumEq, true),
        ("NumericLessThan", Cmp::NumLt, false),
        ("NumericLessThanEquals", Cmp::NumLe, false),
        ("NumericGreaterThan", Cmp::NumGt, false),
        ("NumericGreaterThanEquals", Cmp::NumGe, false),
        ("Null", Cmp::Null, false),
    ];
    OPS.iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, c, n)| (c, n))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One request to evaluate. Build with [`Request::new`] and the `with_*` helpers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// e.g. `s3:RestoreObject`.
    pub action: &'a str,
    /// e.g. `arn:aws:s3:::bucket/key`; ignored by statements without Resource/NotResource.
    pub resource: &'a str,
    /// Who is calling; statements with Principal/NotPrincipal apply only when it is set.
    pub principal: Option<&'a Principal>,
    /// Condition keys (matched case-insensitively) and their values.
    pub context: &'a BTreeMap<String, Vec<String>>,
}

static EMPTY_CONTEXT: BTreeMap<String, Vec<String>> = BTreeMap::new();

impl<'a> Request<'a> {
    /// A request with no principal and an empty context.
    pub fn new(action: &'a str, resource: &'a str) -> Self {
        Request {
            action,
            resource,
            principal: None,
            context: &EMPTY_CONTEXT,
        }
    }

    /// Sets the calling principal.
    pub fn with_principal(self, principal: &'a Principal) -> Self {
        Request {
            principal: Some(principal),
            ..self
        }
    }

    /// Sets the condition context.
    pub fn with_context(self, context: &'a BTreeMap<String, Vec<String>>) -> Self {
        Request { context, ..self }
    }
}

/// Identity-policy evaluation: any matching Deny wins, else any matching Allow, else implicit deny.
pub fn evaluate(policies: &[&PolicyDocument], action: &str, resource: &str) -> Decision {
    evaluate_request(policies, &Request::new(action, resource))
}

/// [`evaluate`] with condition keys available to `Condition` blocks.
pub fn evaluate_with_context(
    policies: &[&PolicyDocument],
    action: &str,
    resource: &str,
    context: &BTreeMap<String, Vec<String>>,
) -> Decision {
    evaluate_request(
        policies,
        &Request::new(action, resource).with_context(context),
    )
}

/// General evaluation of `req` against all statements of all `policies`.
pub fn evaluate_request(policies: &[&PolicyDocument], req: &Request<'_>) -> Decision {
    let mut allowed = false;
    for st in policies.iter().flat_map(|p| p.statements.iter()) {
        if st.applies(req) {
            match st.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
    }
    if allowed {
        Decision::Allowed
    } else {
        Decision::ImplicitDeny
    }
}

/// Does the trust policy let service `service` perform `action` (e.g. `sts:AssumeRole`)?
/// Statements with conditions need context; use [`trust_allows`] for those.
pub fn trust_allows_service(trust: &PolicyDocument, service: &str, action: &str) -> bool {
    trust_allows(
        trust,
        &Principal::Service(service.to_string()),
        action,
        &EMPTY_CONTEXT,
    )
}

/// Does the trust policy let `principal` perform `action` given `context`? Deny wins.
pub fn trust_allows(
    trust: &PolicyDocument,
    principal: &Principal,
    action: &str,
    context: &BTreeMap<String, Vec<String>>,
) -> bool {
    let req = Request::new(action, "")
        .with_principal(principal)
        .with_context(context);
    evaluate_request(&[trust], &req) == Decision::Allowed
}

impl Statement {
    fn applies(&self, req: &Request<'_>) -> bool {
        let action_hit = self.action.items.iter().any(|p| glob(p, req.action, true));
        if action_hit == self.action.not {
            return false;
        }
        if let Some(res) = &self.resource {
            let hit = res
                .items
                .iter()
                .any(|p| p == "*" || glob(p, req.resource, false));
            if hit == res.not {
                return false;
            }
        }
        if let Some(pr) = &self.principal {
            let Some(caller) = req.principal else {
                return false;
            };
            if principal_matches(&pr.items, caller) == pr.not {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.holds(req.context))
    }
}

fn account_of(id: &str) -> Option<&str> {
    if is_account_id(id) {
        return Some(id);
    }
    let acct = id.strip_prefix("arn:")?.split(':').nth(3)?;
    is_account_id(acct).then_some(acct)
}

fn principal_matches(spec: &PrincipalSpec, caller: &Principal) -> bool {
    let PrincipalSpec::List(list) = spec else {
        return true;
    };
    list.iter().any(|(ty, id)| match (ty, caller) {
        (PrincipalType::Aws, _) if id == "*" => true,
        (PrincipalType::Aws, Principal::Aws(who)) => {
            let root = id.ends_with(":root") || is_account_id(id);
            id == who || (root && account_of(id).is_some_and(|a| account_of(who) == Some(a)))
        }
        (PrincipalType::Service, Principal::Service(who)) => id.eq_ignore_ascii_case(who),
        (PrincipalType::Federated, Principal::Federated(who)) => id == who,
        _ => false,
    })
}

impl Condition {
    fn holds(&self, context: &BTreeMap<String, Vec<String>>) -> bool {
        let Some(cmp) = self.cmp else {
            return false;
        };
        let found = context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&self.key))
            .map(|(_, v)| v.as_slice())
            .filter(|v| !v.is_empty());
        if cmp == Cmp::Null {
            let absent = found.is_none();
            return self
                .values
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&absent.to_string()));
        }
        let Some(actual) = found else {
            // Absent key: IfExists and ForAllValues hold vacuously; so do plain negated operators.
            return self.if_exists
                || self.set == SetMode::AllValues
                || (self.negated && self.set == SetMode::Single);
        };
        let per_value = |v: &String| {
            let hit = self.values.iter().any(|p| compare(cmp, p, v));
            hit != self.negated
        };
        match (self.set, self.negated) {
            (SetMode::AllValues, _) | (SetMode::Single, true) => actual.iter().all(per_value),
            (SetMode::AnyValue, _) | (SetMode::Single, false) => actual.iter().any(per_value),
        }
    }
}

/// Does context value `actual` satisfy policy value `expected` under `cmp`?
fn compare(cmp: Cmp, expected: &str, actual: &str) -> bool {
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let nums = || num(actual).zip(num(expected));
    match cmp {
        Cmp::StrEq => expected == actual,
        Cmp::StrEqIgnoreCase => expected.to_lowercase() == actual.to_lowercase(),
        Cmp::StrLike => glob(expected, actual, false),
        Cmp::Arn => arn_like(expected, actual),
        Cmp::Bool => expected.eq_ignore_ascii_case(actual),
        Cmp::NumEq => nums().is_some_and(|(a, e)| a == e),
        Cmp::NumLt => nums().is_some_and(|(a, e)| a < e),
        Cmp::NumLe => nums().is_some_and(|(a, e)| a <= e),
        Cmp::NumGt => nums().is_some_and(|(a, e)| a > e),
        Cmp::NumGe => nums().is_some_and(|(a, e)| a >= e),
        Cmp::Null => false,
    }
}

/// ArnLike: each of the six colon-separated parts matches separately (the last part keeps
/// any further colons). Patterns with fewer parts fall back to a whole-string match.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if p.len() < 6 {
        return glob(pattern, arn, false);
    }
    a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a, false))
}

/// Wildcard match (`*` any run, `?` one character), whole string. Iterative, O(len^2) worst
/// case: on a mismatch only the most recent `*` is widened, never earlier ones.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    // ASCII (every ARN and action s3thaw meets) is matched byte by byte without allocating:
    // a job evaluates a policy several times per task, a million tasks per job.
    if pattern.is_ascii() && text.is_ascii() {
        let eq = |p: u8, t: u8| {
            if ignore_case {
                p.eq_ignore_ascii_case(&t)
            } else {
                p == t
            }
        };
        return glob_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?', eq);
    }
    let chars = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (chars(pattern), chars(text));
    glob_units(&p, &t, '*', '?', |p, t| p == t)
}

/// [`glob`] over characters or bytes: `star` matches any run, `one` any single unit.
fn glob_units<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    star_unit: T,
    one: T,
    eq: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None; // (pattern index of '*', text index it covers to)
    while ti < t.len() {
        match p.get(pi) {
            Some(&c) if c == star_unit => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == one || eq(c, t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == star_unit)
}
#[cfg(test)]
mod tests {
    use super::Decision::{Allowed as A, ExplicitDeny as X, ImplicitDeny as I};
    use super::*;

    const BATCH: &str = "batchoperations.s3.amazonaws.com";
    const LAMBDA: &str = "lambda.amazonaws.com";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batchoperations.s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    /// `{"Statement": [..]}` from statement bodies (the text between the braces).
    fn doc(kind: PolicyKind, bodies: &[&str]) -> Result<PolicyDocument, PolicyError> {
        let sts: Vec<String> = bodies.iter().map(|b| format!("{{{b}}}")).collect();
        let json = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            sts.join(",")
        );
        PolicyDocument::parse_kind(&json, kind)
    }

    fn identity(bodies: &[&str]) -> PolicyDocument {
        doc(PolicyKind::Identity, bodies).unwrap()
    }

    fn trust(bodies: &[&str]) -> PolicyDocument {
        doc(PolicyKind::Trust, bodies).unwrap()
    }

    /// Context from `"key=v1,v2; key2=v"`.
    fn ctx(spec: &str) -> BTreeMap<String, Vec<String>> {
        let pairs = spec.split(';').filter_map(|p| p.trim().split_once('='));
        pairs
            .map(|(k, v)| (k.into(), v.split(',').map(String::from).collect()))
            .collect()
    }

    /// Rows of a test table: non-blank lines, trimmed columns separated by `|`.
    fn rows(table: &str) -> impl Iterator<Item = Vec<&str>> {
        let lines = table.lines().map(str::trim).filter(|l| !l.is_empty());
        lines.map(|l| l.split('|').map(str::trim).collect())
    }

    fn decision(code: &str) -> Decision {
        match code {
            "A" => A,
            "X" => X,
            _ => I,
        }
    }

    #[test]
    fn decision_spelling_and_error_display() {
        let spelled = [A.as_str(), I.as_str(), X.as_str()];
        assert_eq!(spelled, ["allowed", "implicitDeny", "explicitDeny"]);
        assert_eq!(serde_json::to_string(&X).unwrap(), "\"explicitDeny\"");
        let e = PolicyError("Invalid Effect: Alow".into());
        assert_eq!(e.to_string(), "Invalid Effect: Alow");
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn batch_operations_trust_policy() {
        let t = PolicyDocument::parse_trust(TRUST).unwrap();
        assert!(trust_allows_service(&t, BATCH, "sts:AssumeRole"));
        assert!(trust_allows_service(&t, BATCH, "STS:assumerole"));
        assert!(!trust_allows_service(&t, LAMBDA, "sts:AssumeRole"));
        assert!(!trust_allows_service(&t, BATCH, "sts:AssumeRoleWithSAML"));
        let root = Principal::Aws("arn:aws:iam::123456789012:root".into());
        assert!(!trust_allows(&t, &root, "sts:AssumeRole", &BTreeMap::new()));
        assert_eq!((t.version(), t.statement_count()), (Some("2012-10-17"), 1));
        assert_eq!(t.json()["Statement"][0]["Action"], "sts:AssumeRole");
        let e = PolicyDocument::parse_identity(TRUST).unwrap_err();
        assert_eq!(e.0, "Policy document should not specify a principal.");
    }

    #[test]
    fn trust_principal_forms_and_deny() {
        let one = |p: &str| {
            trust(&[&format!(
                r#""Effect":"Allow","Principal":{p},"Action":"sts:*""#
            )])
        };
        for any in [one(r#""*""#), one(r#"{"AWS":"*"}"#)] {
            assert!(trust_allows_service(&any, BATCH, "sts:AssumeRole"));
            assert!(trust_allows_service(&any, LAMBDA, "sts:AssumeRole"));
        }
        let both =
            one(r#"{"Service":["lambda.amazonaws.com","batchoperations.s3.amazonaws.com"]}"#);
        assert!(trust_allows_service(&both, BATCH, "sts:AssumeRole"));
        assert!(trust_allows_service(&both, LAMBDA, "sts:TagSession"));
        assert!(!trust_allows_service(
            &both,
            "ec2.amazonaws.com",
            "sts:AssumeRole"
        ));

        let none = BTreeMap::new();
        let aws = |arn: &str| Principal::Aws(arn.into());
        let role = aws("arn:aws:iam::123456789012:role/ops");
        let stranger = aws("arn:aws:iam::999999999999:role/ops");
        for acct in [r#""123456789012""#, r#""arn:aws:iam::123456789012:root""#] {
            let t = one(&format!(r#"{{"AWS":{acct}}}"#));
            assert!(trust_allows(&t, &role, "sts:AssumeRole", &none), "{acct}");
            assert!(trust_allows(
                &t,
                &aws("123456789012"),
                "sts:AssumeRole",
                &none
            ));
            assert!(
                !trust_allows(&t, &stranger, "sts:AssumeRole", &none),
                "{acct}"
            );
            assert!(!trust_allows_service(&t, BATCH, "sts:AssumeRole"));
        }
        let exact = one(r#"{"AWS":["arn:aws:iam::123456789012:role/ops"]}"#);
        assert!(trust_allows(&exact, &role, "sts:AssumeRole", &none));
        let user = aws("arn:aws:iam::123456789012:user/u");
        assert!(!trust_allows(&exact, &user, "sts:AssumeRole", &none));
        let fed = Principal::Federated("cognito-identity.amazonaws.com".into());
        let t = one(r#"{"Federated":"cognito-identity.amazonaws.com"}"#);
        assert!(trust_allows(
            &t,
            &fed,
            "sts:AssumeRoleWithWebIdentity",
            &none
        ));
        assert!(!trust_allows(
            &t,
            &role,
            "sts:AssumeRoleWithWebIdentity",
            &none
        ));

        let t = trust(&[
            r#""Effect":"Allow","Principal":"*","Action":"sts:AssumeRole""#,
            r#""Effect":"Deny","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:*""#,
            r#""Effect":"Deny","NotPrincipal":{"Service":["lambda.amazonaws.com",
                "batchoperations.s3.amazonaws.com"]},"Action":"sts:AssumeRole""#,
        ]);
        assert!(trust_allows_service(&t, BATCH, "sts:AssumeRole"));
        assert!(!trust_allows_service(&t, LAMBDA, "sts:AssumeRole"));
        assert!(!trust_allows_service(
            &t,
            "ec2.amazonaws.com",
            "sts:AssumeRole"
        ));
    }

    #[test]
    fn trust_condition_on_source_account() {
        let t = trust(&[r#""Effect":"Allow","Action":"sts:AssumeRole",
            "Principal":{"Service":"batchoperations.s3.amazonaws.com"},
            "Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"},
            "ArnLike":{"aws:SourceArn":"arn:aws:s3:us-east-1:123456789012:job/*"}}"#]);
        let svc = Principal::Service(BATCH.into());
        for row in rows(
            "true  | aws:SourceAccount=123456789012; aws:SourceArn=arn:aws:s3:us-east-1:123456789012:job/a
             true  | AWS:sourceaccount=123456789012; aws:sourcearn=arn:aws:s3:us-east-1:123456789012:job/a
             false | aws:SourceAccount=999999999999; aws:SourceArn=arn:aws:s3:us-east-1:123456789012:job/a
             false | aws:SourceAccount=123456789012; aws:SourceArn=arn:aws:s3:eu-west-1:123456789012:job/a
             false | aws:SourceAccount=123456789012",
        ) {
            let got = trust_allows(&t, &svc, "sts:AssumeRole", &ctx(row[1]));
            assert_eq!(got.to_string(), row[0], "{row:?}");
        }
        assert!(
            !trust_allows_service(&t, BATCH, "sts:AssumeRole"),
            "absent keys fail"
        );
    }

    /// Checks `decision | action | resource` rows against `policies`.
    fn check_rows(policies: &[&PolicyDocument], table: &str) {
        for row in rows(table) {
            let got = evaluate(policies, row[1], row[2]);
            assert_eq!(got, decision(row[0]), "{row:?}");
        }
    }

    #[test]
    fn least_privilege_restore_policy() {
        let p = identity(&[
            r#""Effect":"Allow","Action":"s3:RestoreObject","Resource":"arn:aws:s3:::my-bucket/*""#,
            r#""Sid":"Manifest","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],
                "Resource":["arn:aws:s3:::manifest-bucket/*"]"#,
            r#""Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::report-bucket/*""#,
        ]);
        check_rows(
            &[&p],
            "A | s3:RestoreObject | arn:aws:s3:::my-bucket/a/b.txt
             A | s3:GetObject | arn:aws:s3:::manifest-bucket/m.csv
             A | s3:GetObjectVersion | arn:aws:s3:::manifest-bucket/m.csv
             A | s3:PutObject | arn:aws:s3:::report-bucket/job-1/x.csv
             I | s3:RestoreObject | arn:aws:s3:::other-bucket/a
             I | s3:RestoreObject | arn:aws:s3:::my-bucket
             I | s3:RestoreObject | arn:aws:s3:::my-bucket-2/a
             I | s3:RestoreObject | arn:aws:s3:::MY-BUCKET/a
             I | s3:GetObject | arn:aws:s3:::my-bucket/a
             I | s3:PutObject | arn:aws:s3:::manifest-bucket/m.csv
             I | s3:DeleteObject | arn:aws:s3:::report-bucket/x
             I | s3:CreateJob | *",
        );
        assert_eq!(evaluate(&[], "s3:GetObject", "*"), I);
        assert!(p.warnings().is_empty());
    }

    #[test]
    fn explicit_deny_beats_allow_across_documents() {
        let a = identity(&[r#""Effect":"Allow","Action":"s3:*","Resource":"*""#]);
        let d = identity(&[
            r#""Effect":"Deny","Action":"s3:RestoreObject","Resource":"arn:aws:s3:::b/secret/*""#,
        ]);
        let secret = "arn:aws:s3:::b/secret/k";
        assert_eq!(evaluate(&[&a], "s3:RestoreObject", secret), A);
        assert_eq!(evaluate(&[&a, &d], "s3:RestoreObject", secret), X);
        assert_eq!(evaluate(&[&d, &a], "s3:RestoreObject", secret), X);
        assert_eq!(evaluate(&[&d], "s3:RestoreObject", secret), X);
        assert_eq!(
            evaluate(&[&a, &d], "s3:RestoreObject", "arn:aws:s3:::b/k"),
            A
        );
        assert_eq!(evaluate(&[&a, &d], "s3:GetObject", secret), A);
    }

    #[test]
    fn action_wildcards_and_case() {
        let table = "A | s3:* | s3:RestoreObject
            A | s3:* | s3:
            I | s3:* | iam:PassRole
            I | s3:* | s3x:GetObject
            A | * | iam:PassRole
            A | s3:Restore* | s3:RestoreObject
            I | s3:Restore* | s3:GetObject
            A | s3:Get?bject | s3:GetObject
            I | s3:Get?bject | s3:GetObjject
            I | s3:Get?bject | s3:Getbject
            A | s3:restoreobject | S3:RESTOREOBJECT
            A | S3:RESTOREOBJECT | s3:RestoreObject
            A | s3:*Object* | s3:GetObjectVersion
            A | s3:Get*Version | s3:GetObjectVersion
            I | s3:GetObject | s3:GetObjectVersion";
        for row in rows(table) {
            let p = identity(&[&format!(
                r#""Effect":"Allow","Action":"{}","Resource":"*""#,
                row[1]
            )]);
            assert_eq!(
                evaluate(&[&p], row[2], "arn:aws:s3:::b/k"),
                decision(row[0]),
                "{row:?}"
            );
        }
    }

    #[test]
    fn resource_matching_with_odd_keys() {
        let p = identity(&[
            r#""Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*""#,
            r#""Effect":"Allow","Action":"s3:PutObject",
                "Resource":["arn:aws:s3:::b/r?sumé.txt","arn:aws:s3:::b/exact key"]"#,
            r#""Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b/${aws:username}/*""#,
        ]);
        check_rows(
            &[&p],
            "A | s3:GetObject | arn:aws:s3:::my-bucket/a key with spaces.txt
             A | s3:GetObject | arn:aws:s3:::my-bucket/données/日本語/ü.bin
             A | s3:GetObject | arn:aws:s3:::my-bucket/what?.txt
             A | s3:GetObject | arn:aws:s3:::my-bucket/star*key
             A | s3:GetObject | arn:aws:s3:::my-bucket/a:b:c
             A | s3:GetObject | arn:aws:s3:::my-bucket/
             I | s3:GetObject | arn:aws:s3:::my-bucket
             I | s3:GetObject | arn:aws:s3:::other/my-bucket/x
             A | s3:PutObject | arn:aws:s3:::b/résumé.txt
             A | s3:PutObject | arn:aws:s3:::b/r?sumé.txt
             I | s3:PutObject | arn:aws:s3:::b/rsumé.txt
             A | s3:PutObject | arn:aws:s3:::b/exact key
             I | s3:PutObject | arn:aws:s3:::b/exact  key
             I | s3:PutObject | arn:aws:s3:::b/Exact key
             I | s3:ListBucket | arn:aws:s3:::b/bob/x
             A | s3:ListBucket | arn:aws:s3:::b/${aws:username}/x",
        );
    }

    #[test]
    fn not_action_and_not_resource() {
        let p =
            identity(&[r#""Effect":"Allow","NotAction":["iam:*","s3:Delete*"],"Resource":"*""#]);
        let d = identity(&[
            r#""Effect":"Allow","Action":"s3:*","Resource":"*""#,
            r#""Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::ok/*","arn:aws:s3:::ok"]"#,
        ]);
        let none = identity(&[r#""Effect":"Allow","Action":"s3:*","NotResource":"*""#]);
        check_rows(
            &[&p],
            "A | s3:GetObject | arn:aws:s3:::b/k
             I | s3:DeleteObject | arn:aws:s3:::b/k
             I | IAM:PassRole | arn:aws:iam::1:role/r",
        );
        check_rows(
            &[&d],
            "A | s3:GetObject | arn:aws:s3:::ok/k
             A | s3:ListBucket | arn:aws:s3:::ok
             X | s3:GetObject | arn:aws:s3:::nope/k",
        );
        check_rows(&[&none], "I | s3:GetObject | arn:aws:s3:::b/k");
    }

    #[test]
    fn conditions() {
        // expected | Condition JSON | context ("key=v1,v2; key2=v")
        let table = r#"
            true  | {"StringEquals":{"s3:t":["ops","dev"]}} | S3:T=dev
            false | {"StringEquals":{"s3:t":["ops","dev"]}} | s3:t=OPS
            false | {"StringEquals":{"s3:t":"ops"}} |
            false | {"StringNotEquals":{"s3:t":"ops"}} | s3:t=ops
            true  | {"StringNotEquals":{"s3:t":"ops"}} | s3:t=dev
            true  | {"StringNotEquals":{"s3:t":"ops"}} |
            true  | {"StringEqualsIgnoreCase":{"s3:t":"OpS"}} | s3:t=ops
            false | {"StringNotEqualsIgnoreCase":{"s3:t":"OpS"}} | s3:t=ops
            true  | {"StringLike":{"s3:prefix":["home/*","shared/??/*"]}} | s3:prefix=home/bob/x
            true  | {"StringLike":{"s3:prefix":["home/*","shared/??/*"]}} | s3:prefix=shared/ab/x
            false | {"StringLike":{"s3:prefix":["home/*","shared/??/*"]}} | s3:prefix=shared/abc/x
            false | {"StringLike":{"s3:prefix":"home/*"}} |
            true  | {"StringNotLike":{"s3:prefix":"private/*"}} | s3:prefix=public/x
            false | {"StringNotLike":{"s3:prefix":"private/*"}} | s3:prefix=private/x
            true  | {"StringEqualsIfExists":{"s3:class":"GLACIER"}} |
            true  | {"StringEqualsIfExists":{"s3:class":"GLACIER"}} | s3:class=GLACIER
            false | {"StringEqualsIfExists":{"s3:class":"GLACIER"}} | s3:class=STANDARD
            true  | {"Null":{"aws:TokenIssueTime":"true"}} |
            false | {"Null":{"aws:TokenIssueTime":"true"}} | aws:TokenIssueTime=2024-01-01
            true  | {"Bool":{"aws:SecureTransport":"true"}} | aws:SecureTransport=true
            true  | {"Bool":{"aws:SecureTransport":true}} | aws:SecureTransport=TRUE
            false | {"Bool":{"aws:SecureTransport":"true"}} | aws:SecureTransport=false
            false | {"Bool":{"aws:SecureTransport":"true"}} |
            true  | {"NumericLessThanEquals":{"s3:days":30}} | s3:days=30
            false | {"NumericLessThan":{"s3:days":"30"}} | s3:days=30
            true  | {"NumericGreaterThan":{"s3:days":"1"}} | s3:days=2.5
            true  | {"NumericGreaterThanEquals":{"s3:days":"2"}} | s3:days=2
            true  | {"NumericEquals":{"s3:days":["7","30"]}} | s3:days=30
            false | {"NumericEquals":{"s3:days":"7"}} | s3:days=seven
            true  | {"NumericNotEquals":{"s3:days":"7"}} | s3:days=8
            false | {"NumericLessThanIfExists":{"s3:days":"7"}} | s3:days=8
            true  | {"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:123456789012:job/*"}} | aws:SourceArn=arn:aws:s3:us-east-1:123456789012:job/j
            false | {"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:123456789012:job/*"}} | aws:SourceArn=arn:aws:s3:us-east-1:999999999999:job/j
            false | {"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:123456789012:job/*"}} | aws:SourceArn=not-an-arn
            false | {"ArnLike":{"aws:SourceArn":"arn:aws:s3:*"}} | aws:SourceArn=arn:aws:iam::1:role/r
            true  | {"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::b"}} | aws:SourceArn=arn:aws:s3:::b
            true  | {"ArnNotEquals":{"aws:SourceArn":"arn:aws:s3:::b"}} | aws:SourceArn=arn:aws:s3:::c
            false | {"ArnNotLike":{"aws:SourceArn":"arn:aws:s3:::*"}} | aws:SourceArn=arn:aws:s3:::b
            true  | {"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]}} | aws:TagKeys=x,env
            false | {"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]}} | aws:TagKeys=x,y
            true  | {"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}} | aws:TagKeys=team,env
            false | {"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}} | aws:TagKeys=team,x
            true  | {"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}} |
            false | {"ForAnyValue:StringNotEquals":{"aws:TagKeys":"team"}} |
            true  | {"ForAnyValue:StringNotEquals":{"aws:TagKeys":"team"}} | aws:TagKeys=team,x
            false | {"ForAllValues:StringNotEquals":{"aws:TagKeys":"team"}} | aws:TagKeys=team,x
            false | {"StringNotEquals":{"aws:TagKeys":"team"}} | aws:TagKeys=team,x
            true  | {"StringEquals":{"a:acct":"1","s3:p":"a"},"StringLike":{"a:id":"AID*"}} | a:acct=1; s3:p=a; a:id=AIDX
            false | {"StringEquals":{"a:acct":"1","s3:p":"a"},"StringLike":{"a:id":"AID*"}} | a:acct=1; s3:p=a; a:id=XYZ
            false | {"StringEquals":{"a:acct":"1","s3:p":"a"},"StringLike":{"a:id":"AID*"}} | a:acct=1; s3:p=a
        "#;
        for row in rows(table) {
            let body = format!(
                r#""Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{}"#,
                row[1]
            );
            let context = ctx(row[2]);
            let got = evaluate_with_context(&[&identity(&[&body])], "s3:Get", "*", &context) == A;
            assert_eq!(got.to_string(), row[0], "{row:?}");
        }
    }

    #[test]
    fn unknown_operator_never_applies_and_warns() {
        let p = identity(&[r#""Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#]);
        assert_eq!(p.warnings().len(), 1);
        assert!(
            p.warnings()[0].contains("DateLessThan"),
            "{:?}",
            p.warnings()
        );
        let c = ctx("aws:CurrentTime=2020-01-01T00:00:00Z");
        assert_eq!(evaluate_with_context(&[&p], "s3:GetObject", "*", &c), I);
        let deny = identity(&[
            r#""Effect":"Allow","Action":"s3:*","Resource":"*""#,
            r#""Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bogus":{"a:b":"c"}}"#,
        ]);
        assert_eq!(evaluate(&[&deny], "s3:GetObject", "arn:aws:s3:::b/k"), A);
    }

    #[test]
    fn malformed_documents() {
        let documents = r#"
            {not json | Syntax errors in policy.
            [] | Syntax errors in policy.
            "Allow" | Syntax errors in policy.
            {"Version":"2012-10-17"} | Policy document must contain a Statement
            {"Version":"2012-10-18","Statement":[]} | The policy must contain a valid version string
            {"Statement":[],"Extra":1} | Syntax errors in policy. Unrecognized field: Extra
            {"Statement":[1]} | Statement must be an object or an array of objects
            {"Statement":"x"} | Statement must be an object or an array of objects"#;
        let deep = format!("{} | Syntax errors in policy.", "[".repeat(100_000));
        for row in rows(documents)
            .chain(rows(&deep))
            .chain([vec!["", "Syntax errors in policy."]])
        {
            assert_eq!(
                PolicyDocument::parse(row[0]).unwrap_err().0,
                row[1],
                "{row:?}"
            );
        }
        // statement body | error
        let statements = r#"
            "Effect":"Alow","Action":"s3:*" | Invalid Effect: Alow
            "Effect":"allow","Action":"s3:*" | Invalid Effect: allow
            "Effect":true,"Action":"s3:*" | Invalid Effect: true
            "Action":"s3:*" | Missing required field Effect
            "Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*" | Statement cannot contain both Action and NotAction
            "Effect":"Allow" | Policy statement must contain actions.
            "Effect":"Allow","Action":[] | Policy statement must contain actions.
            "Effect":"Allow","Action":"GetObject" | Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.
            "Effect":"Allow","Action":["s3:*",3] | Action must be a string or an array of strings
            "Effect":"Allow","NotAction":{} | NotAction must be a string or an array of strings
            "Effect":"Allow","Action":"s3:*","Resource":"my-bucket" | Resource my-bucket must be in ARN format or "*".
            "Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*" | Statement cannot contain both Resource and NotResource
            "Effect":"Allow","Action":"s3:*","Foo":1 | Syntax errors in policy. Unrecognized field: Foo
            "Effect":"Allow","Action":"s3:*","Sid":1 | Sid must be a string
            "Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"bob"} | Invalid principal in policy: {"AWS":"bob"}
            "Effect":"Allow","Action":"sts:AssumeRole","Principal":"bob" | Invalid principal in policy: "bob"
            "Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Robot":"x"} | Invalid principal in policy: {"Robot":"x"}
            "Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":[]} | Invalid principal in policy: {"Service":[]}
            "Effect":"Allow","Action":"sts:AssumeRole","Principal":{} | Invalid principal in policy: {}
            "Effect":"Allow","Action":"sts:AssumeRole","Principal":"*","NotPrincipal":"*" | Statement cannot contain both Principal and NotPrincipal
            "Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":"x"} | Condition must map operators to objects of key: value(s)
            "Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{"a:b":{"c":1}}} | Invalid value for condition key a:b"#;
        for row in rows(statements) {
            assert_eq!(
                doc(PolicyKind::Generic, &[row[0]]).unwrap_err().0,
                row[1],
                "{row:?}"
            );
        }
        let dup = [
            r#""Sid":"A","Effect":"Allow","Action":"s3:*""#,
            r#""Sid":"A","Effect":"Deny","Action":"s3:*""#,
        ];
        let e = doc(PolicyKind::Generic, &dup).unwrap_err();
        assert_eq!(
            e.0,
            "Statement IDs (SID) in a single policy must be unique."
        );
    }

    #[test]
    fn kind_specific_rules() {
        use PolicyKind::{Generic, Identity, Trust};
        assert!(doc(Generic, &[r#""Effect":"Allow","Action":"s3:GetObject""#]).is_ok());
        // kind | statement body | error ("ok" when valid)
        let table = r#"
            Identity | "Effect":"Allow","Action":"s3:GetObject" | Policy statement must contain resources.
            Identity | "Effect":"Allow","Action":"s3:GetObject","Resource":[] | Policy statement must contain resources.
            Identity | "Effect":"Allow","Action":"s3:*","Resource":"*","NotPrincipal":"*" | Policy document should not specify a principal.
            Trust | "Effect":"Allow","Action":"sts:AssumeRole" | Missing required field Principal
            Trust | "Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*" | Has prohibited field Resource
            Trust | "Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","NotResource":"*" | Has prohibited field NotResource
            Trust | "Effect":"Allow","Principal":"*","Action":["sts:AssumeRole","s3:GetObject"] | AssumeRole policy may only specify STS AssumeRole actions.
            Trust | "Effect":"Allow","Principal":"*","Action":"sts:GetCallerIdentity" | AssumeRole policy may only specify STS AssumeRole actions.
            Trust | "Effect":"Allow","Principal":"*","Action":"sts:AssumeRole*" | ok
            Trust | "Effect":"Allow","Principal":"*","Action":"*" | ok
            Trust | "Effect":"Allow","Principal":"*","Action":["sts:AssumeRoleWithSAML","sts:TagSession"] | ok"#;
        for row in rows(table) {
            let kind = if row[0] == "Trust" { Trust } else { Identity };
            let got = doc(kind, &[row[1]]).err().map_or("ok".into(), |e| e.0);
            assert_eq!(got, row[2], "{row:?}");
        }
        let v = serde_json::json!({"Version":"2008-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}});
        let d = PolicyDocument::from_value(&v, Identity).unwrap();
        assert_eq!((d.version(), d.json()), (Some("2008-10-17"), &v));
        assert_eq!(evaluate(&[&d], "anything:AtAll", "arn:x"), X);
        // A resource-based statement with a Principal applies only when the caller is known.
        let bucket = doc(
            Generic,
            &[r#""Effect":"Allow","Principal":{"AWS":"111111111111"},
            "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*""#],
        )
        .unwrap();
        assert_eq!(evaluate(&[&bucket], "s3:GetObject", "arn:aws:s3:::b/k"), I);
        let who = Principal::Aws("arn:aws:iam::111111111111:user/u".into());
        let req = Request::new("s3:GetObject", "arn:aws:s3:::b/k").with_principal(&who);
        assert_eq!(evaluate_request(&[&bucket], &req), A);
    }

    #[test]
    fn glob_edge_cases_and_performance() {
        let cases = [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("**", "abc", true),
        ];
        let more = [
            ("?", "", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
        ];
        for (pattern, text, want) in cases.into_iter().chain(more) {
            assert_eq!(glob(pattern, text, false), want, "{pattern} {text}");
        }
        assert!(glob("*.txt", "x.txt.txt", false));
        assert!(glob("ABC", "abc", true) && !glob("ABC", "abc", false));
        let text = "a".repeat(1024);
        let stars = "*a".repeat(50);
        assert!(glob(&stars, &text, false));
        assert!(!glob(&format!("{stars}*b"), &text, false));
        let p = identity(&[&format!(
            r#""Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/{stars}*b""#
        )]);
        let resource = format!("arn:aws:s3:::b/{}", "a".repeat(1010));
        assert_eq!(evaluate(&[&p], "s3:GetObject", &resource), I);
    }
}
