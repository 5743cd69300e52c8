//! The S3 Control face: Batch Operations jobs under `/v20180820/jobs`, REST-XML with the
//! `x-amz-account-id` header. SDKs send these to `{AccountId}.HOST`; any Host is accepted.

use std::collections::BTreeMap;

use super::xml::{self, Node, XmlWriter};
use super::{Request, Response, Server, status_of};
use crate::backend::*;
use crate::errors::Error;
use crate::timefmt::rfc3339_millis;

pub const S3CONTROL_NS: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";

/// S3 Control's error document: `<ErrorResponse><Error><Code>..`.
pub fn error_response(req: &Request, e: &Error) -> Response {
    let mut w = XmlWriter::new("ErrorResponse", None);
    w.start("Error")
        .el("Code", &e.code)
        .el("Message", &e.message)
        .end()
        .el("RequestId", &req.request_id)
        .el("HostId", &req.request_id);
    Response::xml(status_of(e), w.finish())
}

fn invalid_request(message: impl Into<String>) -> Error {
    Error::invalid_request(message)
}

fn malformed(why: impl std::fmt::Display) -> Error {
    Error::new(
        "MalformedXML",
        format!("The XML you provided was not well-formed or did not validate against our published schema: {why}"),
    )
    .status(400)
}

pub fn handle(server: &Server, req: &Request) -> Response {
    route(server, req).unwrap_or_else(|e| {
        let parts: Vec<&str> = req.path.split('/').filter(|p| !p.is_empty()).collect();
        let name = match (req.method.as_str(), parts.as_slice()) {
            ("POST", [_, "jobs"]) => "CreateJob",
            ("GET", [_, "jobs"]) => "ListJobs",
            ("GET", [_, "jobs", _]) => "DescribeJob",
            ("POST", [_, "jobs", _, "status"]) => "UpdateJobStatus",
            ("POST", [_, "jobs", _, "priority"]) => "UpdateJobPriority",
            ("GET", [_, "jobs", _, "tagging"]) => "GetJobTagging",
            ("PUT", [_, "jobs", _, "tagging"]) => "PutJobTagging",
            ("DELETE", [_, "jobs", _, "tagging"]) => "DeleteJobTagging",
            _ => "Unsupported",
        };
        error_response(req, &e).op(format!("S3Control.{name} {}", e.code))
    })
}

type Answer = Result<Response, Error>;

fn route(server: &Server, req: &Request) -> Answer {
    let sim: &dyn Backend = &server.sim;
    let account = sim.account_id()?;
    match req.header("x-amz-account-id") {
        None => {
            return Err(invalid_request(
                "Missing required header for this request: x-amz-account-id",
            ));
        }
        Some(given) if given != account => {
            return Err(Error::access_denied(format!(
                "Access Denied: account {given} is not the account of these credentials"
            )));
        }
        Some(_) => {}
    }
    let rest = req
        .path
        .strip_prefix("/v20180820/jobs")
        .ok_or_else(|| not_found_route(req))?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("POST", []) => create_job(sim, req),
        ("GET", []) => list_jobs(sim, req),
        ("GET", [id]) => describe_job(sim, id),
        ("POST", [id, "status"]) => update_status(sim, req, id),
        ("POST", [id, "priority"]) => update_priority(sim, req, id),
        ("GET", [id, "tagging"]) => {
            let tags = sim.get_job_tagging(id)?;
            let mut w = XmlWriter::new("GetJobTaggingResult", Some(S3CONTROL_NS));
            write_tags(&mut w, &tags);
            Ok(Response::xml(200, w.finish()).op("S3Control.GetJobTagging"))
        }
        ("PUT", [id, "tagging"]) => {
            let doc = xml::parse(&req.body).map_err(malformed)?;
            let tags = read_tags(doc.child("Tags"));
            sim.put_job_tagging(id, &tags)?;
            Ok(Response::new(200).op("S3Control.PutJobTagging"))
        }
        ("DELETE", [id, "tagging"]) => {
            sim.put_job_tagging(id, &BTreeMap::new())?;
            Ok(Response::new(204).op("S3Control.DeleteJobTagging"))
        }
        _ => Err(not_found_route(req)),
    }
}

fn not_found_route(req: &Request) -> Error {
    Error::new(
        "NotImplemented",
        format!(
            "s3thaw serve does not implement {} {}",
            req.method, req.path
        ),
    )
    .status(501)
}

fn read_tags(tags: Option<&Node>) -> BTreeMap<String, String> {
    tags.map(|t| {
        t.children_named("member")
            .map(|m| {
                (
                    m.child("Key").map(|k| k.text.clone()).unwrap_or_default(),
                    m.child("Value").map(|v| v.text.clone()).unwrap_or_default(),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

fn write_tags(w: &mut XmlWriter, tags: &BTreeMap<String, String>) {
    w.start("Tags");
    for (k, v) in tags {
        w.start("member").el("Key", k).el("Value", v).end();
    }
    w.end();
}

fn parse_bool(node: &Node, name: &str) -> Result<Option<bool>, Error> {
    match node.text_of(name).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(malformed(format!(
            "{name} must be true or false, not `{other}`"
        ))),
    }
}

fn required(node: &Node, name: &str) -> Result<String, Error> {
    node.text_of(name)
        .ok_or_else(|| invalid_request(format!("{name} is required")))
}

/// An `S3InitiateRestoreObject` operation.
fn parse_restore(operation: &Node) -> Result<JobOperation, Error> {
    let restore = operation.child("S3InitiateRestoreObject").ok_or_else(|| {
        Error::new(
            "NotImplemented",
            "s3thaw serve runs S3InitiateRestoreObject and S3PutObjectCopy jobs only",
        )
        .status(501)
    })?;
    let days = restore
        .text_of("ExpirationInDays")
        .map(|d| {
            d.parse::<i64>().map_err(|_| {
                invalid_request(format!("ExpirationInDays `{d}` is not a whole number"))
            })
        })
        .transpose()?;
    let tier = match restore.text_of("GlacierJobTier") {
        None => Tier::DEFAULT,
        Some(t) => t.parse::<Tier>().map_err(|_| {
            invalid_request(format!(
                "GlacierJobTier must be BULK or STANDARD, not `{t}`"
            ))
        })?,
    };
    JobOperation::restore(days, tier)
}

/// An `S3PutObjectCopy` operation (AWS's `S3CopyObjectOperation`).
fn parse_copy(copy: &Node) -> Result<JobOperation, Error> {
    let parse_opt = |name: &str| copy.text_of(name).filter(|t| !t.is_empty());
    let storage_class = parse_opt("StorageClass")
        .map(|c| {
            c.parse::<StorageClass>()
                .map_err(|_| invalid_request(format!("StorageClass `{c}` is not a storage class")))
        })
        .transpose()?;
    let metadata_directive = parse_opt("MetadataDirective")
        .map(|m| {
            m.parse::<MetadataDirective>().map_err(|_| {
                invalid_request(format!(
                    "MetadataDirective must be COPY or REPLACE, not `{m}`"
                ))
            })
        })
        .transpose()?;
    JobOperation::copy(CopyOperation {
        target_bucket: required(copy, "TargetResource")?,
        target_prefix: parse_opt("TargetKeyPrefix"),
        storage_class,
        metadata_directive,
    })
}

/// CreateJob's `Manifest`.
fn parse_location(manifest: &Node) -> Result<ManifestLocation, Error> {
    let spec = manifest
        .child("Spec")
        .ok_or_else(|| invalid_request("Manifest.Spec is required"))?;
    let location = manifest
        .child("Location")
        .ok_or_else(|| invalid_request("Manifest.Location is required"))?;
    let arn = required(location, "ObjectArn")?;
    let (bucket, key) = match parse_s3_arn(&arn) {
        Some((bucket, Some(key))) => (bucket, key),
        _ => {
            return Err(invalid_request(format!(
                "ObjectArn `{arn}` is not an S3 object ARN"
            )));
        }
    };
    let format = required(spec, "Format")?
        .parse::<ManifestFormat>()
        .map_err(|e| invalid_request(e.message))?;
    let fields = match spec.child("Fields") {
        None => vec![ManifestField::Bucket, ManifestField::Key],
        Some(f) => f
            .children_named("member")
            .map(|m| m.text.trim().parse::<ManifestField>())
            .collect::<Result<Vec<_>, Error>>()
            .map_err(|e| invalid_request(e.message))?,
    };
    Ok(ManifestLocation {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id: location
            .text_of("ObjectVersionId")
            .filter(|v| !v.is_empty()),
        etag: location.text_of("ETag").unwrap_or_default(),
        format,
        fields,
    })
}

/// A list of `<member>` strings.
fn members(node: Option<&Node>) -> Vec<String> {
    node.map(|n| {
        n.children_named("member")
            .map(|m| m.text.trim().to_string())
            .collect()
    })
    .unwrap_or_default()
}

/// CreateJob's `ManifestGenerator` (`S3JobManifestGenerator`, the only kind there is).
fn parse_generator(node: &Node) -> Result<ManifestGenerator, Error> {
    let g = node
        .child("S3JobManifestGenerator")
        .ok_or_else(|| invalid_request("ManifestGenerator needs an S3JobManifestGenerator"))?;
    let source = required(g, "SourceBucket")?;
    if !source.starts_with("arn:") {
        return Err(invalid_request(format!(
            "SourceBucket `{source}` is not a bucket ARN"
        )));
    }
    let enabled = parse_bool(g, "EnableManifestOutput")?
        .ok_or_else(|| invalid_request("EnableManifestOutput is required"))?;
    let output = match (enabled, g.child("ManifestOutputLocation")) {
        (false, _) => None,
        (true, None) => {
            return Err(invalid_request(
                "ManifestOutputLocation is required when EnableManifestOutput is true",
            ));
        }
        (true, Some(o)) => {
            let format = required(o, "ManifestFormat")?;
            if format != GENERATED_MANIFEST_FORMAT {
                return Err(invalid_request(format!(
                    "ManifestFormat must be {GENERATED_MANIFEST_FORMAT}, not `{format}`"
                )));
            }
            Some(ManifestOutput {
                bucket: required(o, "Bucket")?,
                prefix: o.text_of("ManifestPrefix").filter(|p| !p.is_empty()),
            })
        }
    };
    let filter = g.child("Filter");
    for unsupported in [
        "EligibleForReplication",
        "ObjectReplicationStatuses",
        "MatchAnyObjectEncryption",
    ] {
        if filter.and_then(|f| f.child(unsupported)).is_some() {
            return Err(Error::new(
                "NotImplemented",
                format!("s3thaw serve does not filter generated manifests by {unsupported}"),
            )
            .status(501));
        }
    }
    let text = |name: &str| filter.and_then(|f| f.text_of(name));
    let time = |name: &str| {
        text(name)
            .map(|t| {
                crate::timefmt::parse_rfc3339(&t)
                    .map_err(|_| invalid_request(format!("{name} `{t}` is not a timestamp")))
            })
            .transpose()
    };
    let size = |name: &str| {
        text(name)
            .map(|n| {
                n.trim().parse::<u64>().map_err(|_| {
                    invalid_request(format!("{name} `{n}` is not a whole number of bytes"))
                })
            })
            .transpose()
    };
    let keys = filter.and_then(|f| f.child("KeyNameConstraint"));
    let storage_classes = members(filter.and_then(|f| f.child("MatchAnyStorageClass")))
        .iter()
        .map(|c| {
            c.parse::<StorageClass>().map_err(|_| {
                invalid_request(format!("MatchAnyStorageClass `{c}` is not a storage class"))
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    ManifestGenerator {
        source_bucket: source,
        filter: GeneratorFilter {
            prefixes: members(keys.and_then(|k| k.child("MatchAnyPrefix"))),
            suffixes: members(keys.and_then(|k| k.child("MatchAnySuffix"))),
            substrings: members(keys.and_then(|k| k.child("MatchAnySubstring"))),
            storage_classes,
            created_after: time("CreatedAfter")?,
            created_before: time("CreatedBefore")?,
            size_greater_than: size("ObjectSizeGreaterThanBytes")?,
            size_less_than: size("ObjectSizeLessThanBytes")?,
        },
        output,
    }
    .check()
}

/// DescribeJob's `ManifestGenerator`, as CreateJob took it.
fn write_generator(w: &mut XmlWriter, g: &ManifestGenerator) {
    let f = &g.filter;
    w.start("ManifestGenerator").start("S3JobManifestGenerator");
    w.el("SourceBucket", bucket_arn(&g.source_bucket));
    if let Some(o) = &g.output {
        w.start("ManifestOutputLocation")
            .el("Bucket", bucket_arn(&o.bucket))
            .opt("ManifestPrefix", o.prefix.as_deref())
            .el("ManifestFormat", GENERATED_MANIFEST_FORMAT)
            .end();
    }
    w.start("Filter");
    w.opt("CreatedAfter", f.created_after.map(rfc3339_millis))
        .opt("CreatedBefore", f.created_before.map(rfc3339_millis));
    let lists = [
        ("MatchAnyPrefix", &f.prefixes),
        ("MatchAnySuffix", &f.suffixes),
        ("MatchAnySubstring", &f.substrings),
    ];
    if lists.iter().any(|(_, l)| !l.is_empty()) {
        w.start("KeyNameConstraint");
        for (name, list) in lists {
            if list.is_empty() {
                continue;
            }
            w.start(name);
            for item in list {
                w.el("member", item);
            }
            w.end();
        }
        w.end();
    }
    w.opt(
        "ObjectSizeGreaterThanBytes",
        f.size_greater_than.map(|n| n.to_string()),
    )
    .opt(
        "ObjectSizeLessThanBytes",
        f.size_less_than.map(|n| n.to_string()),
    );
    if !f.storage_classes.is_empty() {
        w.start("MatchAnyStorageClass");
        for c in &f.storage_classes {
            w.el("member", c.as_str());
        }
        w.end();
    }
    w.end();
    w.el("EnableManifestOutput", g.output.is_some().to_string());
    w.end().end();
}

/// CreateJob's body as a job spec.
fn parse_spec(doc: &Node) -> Result<JobSpec, Error> {
    let operation = doc
        .child("Operation")
        .ok_or_else(|| invalid_request("Operation is required"))?;
    let operation = match operation.child("S3PutObjectCopy") {
        Some(copy) => parse_copy(copy)?,
        None => parse_restore(operation)?,
    };
    let manifest = match (doc.child("Manifest"), doc.child("ManifestGenerator")) {
        (Some(_), Some(_)) => {
            return Err(invalid_request(
                "Specify either Manifest or ManifestGenerator, not both",
            ));
        }
        (Some(m), None) => JobManifest::Location(parse_location(m)?),
        (None, Some(g)) => JobManifest::Generator(parse_generator(g)?),
        (None, None) => {
            return Err(invalid_request("Manifest or ManifestGenerator is required"));
        }
    };
    let report = match doc.child("Report") {
        None => None,
        Some(r) if parse_bool(r, "Enabled")? != Some(true) => None,
        Some(r) => {
            let bucket = required(r, "Bucket")?;
            let scope = match r.text_of("ReportScope") {
                None => ReportScope::AllTasks,
                Some(s) => s.parse().map_err(|e: Error| invalid_request(e.message))?,
            };
            Some(ReportSpec {
                bucket: bucket_of(&bucket).to_string(),
                prefix: r.text_of("Prefix").filter(|p| !p.is_empty()),
                scope,
            })
        }
    };
    let priority = required(doc, "Priority")?;
    Ok(JobSpec {
        manifest,
        operation,
        role_arn: required(doc, "RoleArn")?,
        priority: priority
            .parse()
            .map_err(|_| invalid_request(format!("Priority `{priority}` is not an integer")))?,
        report,
        description: doc.text_of("Description"),
        confirmation_required: parse_bool(doc, "ConfirmationRequired")?.unwrap_or(false),
        tags: read_tags(doc.child("Tags")),
        client_request_token: required(doc, "ClientRequestToken")?,
    })
}

fn create_job(sim: &dyn Backend, req: &Request) -> Answer {
    let doc = xml::parse(&req.body).map_err(malformed)?;
    let spec = parse_spec(&doc)?;
    let id = sim.create_job(&spec)?;
    let mut w = XmlWriter::new("CreateJobResult", Some(S3CONTROL_NS));
    w.el("JobId", &id);
    Ok(Response::xml(200, w.finish()).op("S3Control.CreateJob"))
}

fn progress(w: &mut XmlWriter, p: JobProgress) {
    w.start("ProgressSummary")
        .el("TotalNumberOfTasks", p.total.to_string())
        .el("NumberOfTasksSucceeded", p.succeeded.to_string())
        .el("NumberOfTasksFailed", p.failed.to_string())
        .end();
}

fn describe_job(sim: &dyn Backend, id: &str) -> Answer {
    let job = sim.describe_job(id)?;
    let account = sim.account_id()?;
    let mut w = XmlWriter::new("DescribeJobResult", Some(S3CONTROL_NS));
    w.start("Job")
        .el("JobId", &job.id)
        .el(
            "ConfirmationRequired",
            job.confirmation_required.to_string(),
        )
        .opt("Description", job.description.as_deref())
        .el(
            "JobArn",
            format!("arn:aws:s3:{}:{account}:job/{}", sim.region(), job.id),
        )
        .el("Status", job.status.as_str());
    match &job.manifest {
        JobManifest::Location(m) => {
            w.start("Manifest")
                .start("Spec")
                .el("Format", m.format.as_str());
            w.start("Fields");
            for f in &m.fields {
                w.el("member", f.as_str());
            }
            w.end().end();
            w.start("Location")
                .el("ObjectArn", m.arn())
                .opt("ObjectVersionId", m.version_id.as_deref())
                .el("ETag", &m.etag)
                .end()
                .end();
        }
        JobManifest::Generator(g) => write_generator(&mut w, g),
    }
    if let Some(g) = &job.generated_manifest {
        w.start("GeneratedManifestDescriptor")
            .el("Format", GENERATED_MANIFEST_FORMAT)
            .start("Location")
            .el("ObjectArn", g.arn())
            .opt("ObjectVersionId", g.version_id.as_deref())
            .el("ETag", &g.etag)
            .end()
            .end();
    }
    w.start("Operation");
    match &job.operation {
        JobOperation::InitiateRestore { days, tier } => {
            w.start("S3InitiateRestoreObject")
                .opt("ExpirationInDays", days.map(|d| d.to_string()))
                .el("GlacierJobTier", tier.as_str())
                .end();
        }
        JobOperation::PutObjectCopy(c) => {
            w.start("S3PutObjectCopy")
                .el("TargetResource", bucket_arn(&c.target_bucket))
                .opt(
                    "MetadataDirective",
                    c.metadata_directive.map(|m| m.as_str()),
                )
                .opt("StorageClass", c.storage_class.map(|s| s.as_str()))
                .opt("TargetKeyPrefix", c.target_prefix.as_deref())
                .end();
        }
    }
    w.end();
    w.el("Priority", job.priority.to_string());
    progress(&mut w, job.progress);
    w.opt("StatusUpdateReason", job.status_update_reason.as_deref());
    w.start("FailureReasons");
    for r in &job.failure_reasons {
        w.start("member")
            .el("FailureCode", &r.code)
            .el("FailureReason", &r.reason)
            .end();
    }
    w.end();
    w.start("Report");
    match &job.report {
        None => {
            w.el("Enabled", "false");
        }
        Some(r) => {
            w.el("Bucket", bucket_arn(&r.bucket))
                .el("Format", "Report_CSV_20180820")
                .el("Enabled", "true")
                .opt("Prefix", r.prefix.as_deref())
                .el("ReportScope", r.scope.as_str());
        }
    }
    w.end();
    w.el("CreationTime", rfc3339_millis(job.creation_time))
        .opt("TerminationDate", job.termination_date.map(rfc3339_millis))
        .el("RoleArn", &job.role_arn);
    Ok(Response::xml(200, w.finish()).op("S3Control.DescribeJob"))
}

fn list_jobs(sim: &dyn Backend, req: &Request) -> Answer {
    let statuses = req
        .query
        .iter()
        .filter(|(k, _)| k == "jobStatuses")
        .map(|(_, v)| v.parse::<JobStatus>())
        .collect::<Result<Vec<_>, Error>>()
        .map_err(|e| invalid_request(e.message))?;
    let page = sim.list_jobs(&statuses, req.query("nextToken"))?;
    let mut w = XmlWriter::new("ListJobsResult", Some(S3CONTROL_NS));
    w.opt("NextToken", page.next.as_deref());
    w.start("Jobs");
    for j in &page.items {
        w.start("member")
            .el("JobId", &j.id)
            .opt("Description", j.description.as_deref())
            .el("Operation", j.operation)
            .el("Priority", j.priority.to_string())
            .el("Status", j.status.as_str())
            .el("CreationTime", rfc3339_millis(j.creation_time))
            .opt("TerminationDate", j.termination_date.map(rfc3339_millis));
        progress(&mut w, j.progress);
        w.end();
    }
    w.end();
    Ok(Response::xml(200, w.finish()).op("S3Control.ListJobs"))
}

fn update_status(sim: &dyn Backend, req: &Request, id: &str) -> Answer {
    let requested = req
        .query("requestedJobStatus")
        .ok_or_else(|| invalid_request("requestedJobStatus is required"))?
        .parse::<RequestedJobStatus>()
        .map_err(|e| invalid_request(e.message))?;
    let reason = req.query("statusUpdateReason");
    let status = sim.update_job_status(id, requested, reason)?;
    let job = sim.describe_job(id)?;
    let mut w = XmlWriter::new("UpdateJobStatusResult", Some(S3CONTROL_NS));
    w.el("JobId", id)
        .el("Status", status.as_str())
        .opt("StatusUpdateReason", job.status_update_reason.as_deref());
    Ok(Response::xml(200, w.finish()).op("S3Control.UpdateJobStatus"))
}

fn update_priority(sim: &dyn Backend, req: &Request, id: &str) -> Answer {
    let text = req
        .query("priority")
        .ok_or_else(|| invalid_request("priority is required"))?;
    let priority: i32 = text
        .parse()
        .map_err(|_| invalid_request(format!("priority `{text}` is not an integer")))?;
    let priority = sim.update_job_priority(id, priority)?;
    let mut w = XmlWriter::new("UpdateJobPriorityResult", Some(S3CONTROL_NS));
    w.el("JobId", id).el("Priority", priority.to_string());
    Ok(Response::xml(200, w.finish()).op("S3Control.UpdateJobPriority"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_job_bodies_parse_into_specs() {
        let body = br#"<CreateJobRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">
            <ClientRequestToken>tok-1</ClientRequestToken><ConfirmationRequired>true</ConfirmationRequired>
            <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format><Fields><member>Bucket</member><member>Key</member></Fields></Spec>
            <Location><ObjectArn>arn:aws:s3:::b/manifests/m.csv</ObjectArn><ETag>"abc"</ETag></Location></Manifest>
            <Operation><S3InitiateRestoreObject><ExpirationInDays>3</ExpirationInDays><GlacierJobTier>BULK</GlacierJobTier></S3InitiateRestoreObject></Operation>
            <Priority>10</Priority><Report><Bucket>arn:aws:s3:::b</Bucket><Format>Report_CSV_20180820</Format><Enabled>true</Enabled><Prefix>reports</Prefix><ReportScope>AllTasks</ReportScope></Report>
            <RoleArn>arn:aws:iam::111122223333:role/r</RoleArn><Tags><member><Key>k</Key><Value>v</Value></member></Tags></CreateJobRequest>"#;
        let spec = parse_spec(&xml::parse(body).unwrap()).unwrap();
        let m = spec.manifest.location().expect("a manifest location");
        assert_eq!(m.bucket, "b");
        assert_eq!(m.key, "manifests/m.csv");
        assert_eq!(m.etag, "\"abc\"");
        assert_eq!(
            spec.operation,
            JobOperation::InitiateRestore {
                days: Some(3),
                tier: Tier::Bulk
            }
        );
        assert_eq!(spec.report.as_ref().unwrap().bucket, "b");
        assert_eq!(spec.tags.get("k").map(String::as_str), Some("v"));
        assert!(spec.confirmation_required);
        assert_eq!(spec.client_request_token, "tok-1");
    }

    #[test]
    fn manifest_generators_parse_and_write_back_as_aws_shapes_them() {
        let body = |generator: &str| {
            format!(
                r#"<CreateJobRequest><ClientRequestToken>t</ClientRequestToken>
            <ManifestGenerator><S3JobManifestGenerator>{generator}</S3JobManifestGenerator></ManifestGenerator>
            <Operation><S3InitiateRestoreObject><ExpirationInDays>1</ExpirationInDays></S3InitiateRestoreObject></Operation>
            <Priority>1</Priority><RoleArn>arn:aws:iam::111122223333:role/r</RoleArn></CreateJobRequest>"#
            )
        };
        let full = r#"<SourceBucket>arn:aws:s3:::src</SourceBucket>
            <ManifestOutputLocation><Bucket>arn:aws:s3:::out</Bucket><ManifestPrefix>gen</ManifestPrefix>
            <ManifestFormat>S3InventoryReport_CSV_20211130</ManifestFormat></ManifestOutputLocation>
            <Filter><CreatedAfter>2026-01-01T00:00:00Z</CreatedAfter>
            <KeyNameConstraint><MatchAnyPrefix><member>a/</member><member>b/</member></MatchAnyPrefix>
            <MatchAnySuffix><member>.txt</member></MatchAnySuffix></KeyNameConstraint>
            <ObjectSizeGreaterThanBytes>10</ObjectSizeGreaterThanBytes>
            <MatchAnyStorageClass><member>GLACIER</member><member>DEEP_ARCHIVE</member></MatchAnyStorageClass></Filter>
            <EnableManifestOutput>true</EnableManifestOutput>"#;
        let spec = parse_spec(&xml::parse(body(full).as_bytes()).unwrap()).unwrap();
        let g = spec.manifest.generator().expect("a generator").clone();
        assert_eq!(g.source_bucket, "src");
        assert_eq!(g.filter.prefixes, ["a/", "b/"]);
        assert_eq!(g.filter.suffixes, [".txt"]);
        assert_eq!(
            g.filter.storage_classes,
            [StorageClass::Glacier, StorageClass::DeepArchive]
        );
        assert_eq!(g.filter.size_greater_than, Some(10));
        assert_eq!(g.filter.size_less_than, None);
        assert_eq!(
            g.output,
            Some(ManifestOutput {
                bucket: "out".into(),
                prefix: Some("gen".into())
            })
        );
        // What DescribeJob writes reads back as the same generator.
        let mut w = XmlWriter::new("Job", None);
        write_generator(&mut w, &g);
        let doc = xml::parse(w.finish().as_bytes()).unwrap();
        let again = parse_generator(doc.child("ManifestGenerator").unwrap()).unwrap();
        assert_eq!(again, g);
        // AWS's rules: output needs its location; a source is a bucket ARN.
        let no_location = "<SourceBucket>arn:aws:s3:::src</SourceBucket><EnableManifestOutput>true</EnableManifestOutput>";
        let e = parse_spec(&xml::parse(body(no_location).as_bytes()).unwrap()).unwrap_err();
        assert_eq!(e.code, "InvalidRequest", "{e:?}");
        let plain =
            "<SourceBucket>src</SourceBucket><EnableManifestOutput>false</EnableManifestOutput>";
        let e = parse_spec(&xml::parse(body(plain).as_bytes()).unwrap()).unwrap_err();
        assert_eq!(e.code, "InvalidRequest", "{e:?}");
        let replication = "<SourceBucket>arn:aws:s3:::src</SourceBucket><Filter><EligibleForReplication>true</EligibleForReplication></Filter><EnableManifestOutput>false</EnableManifestOutput>";
        let e = parse_spec(&xml::parse(body(replication).as_bytes()).unwrap()).unwrap_err();
        assert_eq!(e.code, "NotImplemented", "{e:?}");
    }

    #[test]
    fn create_job_tier_defaults_and_rules_come_from_the_domain_types() {
        let body = |operation: &str| {
            format!(
                r#"<CreateJobRequest><ClientRequestToken>t</ClientRequestToken>
            <Manifest><Spec><Format>S3BatchOperations_CSV_20180820</Format></Spec>
            <Location><ObjectArn>arn:aws:s3:::b/m.csv</ObjectArn><ETag>e</ETag></Location></Manifest>
            <Operation><S3InitiateRestoreObject>{operation}</S3InitiateRestoreObject></Operation>
            <Priority>1</Priority><RoleArn>arn:aws:iam::111122223333:role/r</RoleArn></CreateJobRequest>"#
            )
        };
        let spec = parse_spec(&xml::parse(body("").as_bytes()).unwrap()).unwrap();
        assert_eq!(
            spec.operation,
            JobOperation::InitiateRestore {
                days: None,
                tier: Tier::DEFAULT
            }
        );
        let doc =
            xml::parse(body("<GlacierJobTier>EXPEDITED</GlacierJobTier>").as_bytes()).unwrap();
        let refused = parse_spec(&doc).unwrap_err();
        let rule = JobOperation::restore(None, Tier::Expedited).unwrap_err();
        assert_eq!((refused.code, refused.message), (rule.code, rule.message));
        let doc = xml::parse(body("<ExpirationInDays>0</ExpirationInDays>").as_bytes()).unwrap();
        assert_eq!(parse_spec(&doc).unwrap_err().code, "InvalidRequest");
    }
}
