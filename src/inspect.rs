//! `s3thaw jobs`, `s3thaw report JOB_ID` and `s3thaw status TARGET`: what operators check most, answered
//! from the backend and `crate::ops` directly, shown in the shapes the script API gives
//! (`batch::list`, `batch::describe`, `report::load`) and printed as tables. No script runs.

use rhai::{Dynamic, Map};

use crate::api::batch::{describe_map, summary_map};
use crate::app::{BackendArgs, EXIT_RUNTIME, EXIT_USAGE, open_backend};
use crate::backend::{Backend, JobStatus};
use crate::errors::Error;
use crate::ops::report::{Report, load_for_job};

/// An error without a script to point into: code and message, then the same details and hint
/// as a script's uncaught error.
pub fn error_text(e: &Error) -> String {
    let mut e = e.clone();
    if e.hint.is_none() {
        e.hint = crate::hints::for_cli(&e);
    }
    format!(
        "error[{}]: {}\n{}",
        e.code,
        e.message,
        crate::engine::error_details(&e)
    )
}

fn backend(args: &BackendArgs) -> Result<Box<dyn Backend>, u8> {
    open_backend(args).map_err(|e| {
        eprintln!("error: {}", e.message);
        crate::app::open_failure_code(&e)
    })
}

fn print_json(value: &serde_json::Value) {
    crate::progress::print_line(
        &serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()),
    );
}

fn fail(e: &Error) -> u8 {
    eprint!("{}", error_text(e));
    EXIT_RUNTIME
}

/// The job summaries in `statuses`, as `batch::list` gives them.
fn list(backend: &dyn Backend, statuses: &[String]) -> Result<Vec<Map>, Error> {
    let statuses = statuses
        .iter()
        .map(|s| {
            s.parse::<JobStatus>().map_err(|e| {
                Error::invalid_argument(format!("batch::list: option `statuses`: {}", e.message))
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(crate::ops::jobs::list(backend, &statuses)?
        .iter()
        .map(summary_map)
        .collect())
}

/// `s3thaw jobs`: the jobs table.
pub fn jobs(args: &BackendArgs, statuses: &[String], json: bool, wide: bool) -> u8 {
    let backend = match backend(args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    match list(backend.as_ref(), statuses) {
        Ok(list) if json => {
            let list: rhai::Array = list.into_iter().map(Dynamic::from_map).collect();
            print_json(&crate::output::to_json(&list.into()));
            0
        }
        Ok(list) => {
            crate::progress::print_line(&crate::output::jobs_table(&list, wide));
            0
        }
        Err(e) => fail(&e),
    }
}

/// `s3thaw report JOB_ID`: the job's card, then its completion report; with `html`, also the
/// page of [`crate::html`] written to that file.
pub fn report(args: &BackendArgs, job_id: &str, json: bool, html: Option<&std::path::Path>) -> u8 {
    let backend = match backend(args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let found = crate::ops::jobs::resolve_id(backend.as_ref(), job_id).and_then(|id| {
        let job = describe_map(backend.as_ref(), &id)?;
        Ok((job, load_for_job(backend.as_ref(), &id)))
    });
    let (job, report): (Map, Result<Report, Error>) = match found {
        Ok(found) => found,
        Err(e) => return fail(&e),
    };
    if let Some(path) = html
        && let Err(e) = write_html(backend.as_ref(), &job, report.as_ref(), path)
    {
        return fail(&e);
    }
    if json {
        let report = report
            .as_ref()
            .ok()
            .map(|r| crate::output::to_json(&Dynamic::from(r.clone())));
        print_json(&serde_json::json!({
            "job": crate::output::to_json(&Dynamic::from_map(job)),
            "report": report,
        }));
        return if report.is_some() { 0 } else { EXIT_RUNTIME };
    }
    crate::progress::print_line(&crate::output::job_card(&job));
    match report {
        Ok(r) => {
            let role = job.get("role_arn").map(|r| r.to_string());
            let text = crate::output::report_text(&r, role.as_deref(), true);
            crate::progress::print_line(&format!("\n{text}"));
            let transient = r
                .by_error()
                .keys()
                .any(|code| crate::errors::is_transient_code(code));
            if transient && let Some(id) = job.get("id") {
                crate::progress::print_line(&format!(
                    "\n{}",
                    crate::hints::retry_command(&id.to_string())
                ));
            }
            0
        }
        Err(e) => fail(&e),
    }
}

/// Writes the HTML page of a job to `path`; for a restore job, the readiness of its objects
/// is read first (listing pages, as `s3thaw status JOB` does).
fn write_html(
    backend: &dyn Backend,
    job: &Map,
    report: Result<&Report, &Error>,
    path: &std::path::Path,
) -> Result<(), Error> {
    let op = job
        .get("operation")
        .and_then(|v| v.read_lock::<Map>().map(|m| m.clone()))
        .unwrap_or_default();
    let restores = op
        .get("operation")
        .is_some_and(|o| o.to_string() == "S3InitiateRestoreObject");
    let (readiness, expected) = if restores {
        let id = job.get("id").map(|v| v.to_string()).unwrap_or_default();
        let args = StatusArgs {
            target: &id,
            classes: &[],
            via: "auto",
            json: false,
            csv: false,
        };
        match status_manifest(backend, &args) {
            Ok((m, _, expected)) => {
                let mut progress = crate::progress::Counter::new(false, "objects checked");
                let status =
                    crate::ops::restore::status(backend, &m, Default::default(), &mut progress);
                (Some(status), expected)
            }
            Err(e) => (Some(Err(e)), None),
        }
    } else {
        (None, None)
    };
    let page = crate::html::report_page(&crate::html::ReportPage {
        job,
        report,
        readiness: readiness.as_ref().map(|r| r.as_ref()),
        expected,
    });
    std::fs::write(path, &page)
        .map_err(|e| Error::invalid_argument(format!("cannot write {}: {e}", path.display())))?;
    eprintln!("Wrote {} ({} bytes).", path.display(), page.len());
    Ok(())
}

/// The arguments of `s3thaw status`.
pub struct StatusArgs<'a> {
    pub target: &'a str,
    pub classes: &'a [String],
    pub via: &'a str,
    pub json: bool,
    pub csv: bool,
}

/// What `s3thaw status` looks at, as a manifest and its name, and for a restore job, when it
/// started and its tier (so the chart can draw when the rest is due).
fn status_manifest(
    backend: &dyn Backend,
    args: &StatusArgs,
) -> Result<
    (
        crate::ops::manifest::Manifest,
        String,
        Option<crate::readiness::Expected>,
    ),
    Error,
> {
    use crate::backend::StorageClass;
    use crate::ops::manifest::{ListingFilter, from_listing, parse_csv};
    if let Some(rest) = args.target.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let classes = if args.classes.is_empty() {
            vec![
                StorageClass::Glacier,
                StorageClass::DeepArchive,
                StorageClass::IntelligentTiering,
            ]
        } else {
            args.classes
                .iter()
                .map(|c| c.parse())
                .collect::<Result<Vec<StorageClass>, Error>>()?
        };
        let filter = ListingFilter {
            prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
            storage_classes: Some(classes),
            versions: false,
        };
        let m = from_listing(backend, bucket, &filter)?;
        return Ok((m, format!("s3://{bucket}/{prefix}"), None));
    }
    if !args.classes.is_empty() {
        return Err(Error::invalid_argument(
            "--class filters a listing: use it with an s3://BUCKET/PREFIX target",
        ));
    }
    let path = std::path::Path::new(args.target);
    if path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::invalid_argument(format!("cannot read {}: {e}", path.display())))?;
        let m = parse_csv(args.target, &bytes)?;
        return Ok((m, args.target.to_string(), None));
    }
    let not_found = |e: Error| {
        if e.code == "NotFoundException" {
            e.hint(format!(
                "`{}` is not an s3:// prefix, a file or a job id: give s3://BUCKET/PREFIX, a manifest CSV, or an id from `s3thaw jobs`",
                args.target
            ))
        } else {
            e
        }
    };
    let id = crate::ops::jobs::resolve_id(backend, args.target).map_err(not_found)?;
    let job = backend.describe_job(&id).map_err(not_found)?;
    let location = match &job.manifest {
        crate::backend::JobManifest::Location(location) => location,
        crate::backend::JobManifest::Generator(g) => {
            let prefix = g.filter.listing_prefix().unwrap_or("");
            return Err(Error::not_supported(format!(
                "job {id} lists bucket {} itself (a manifest generator): run `s3thaw status s3://{}/{prefix}` instead",
                g.source_bucket, g.source_bucket
            ))
            .job_id(&id));
        }
    };
    if location.format != crate::backend::ManifestFormat::BatchOperationsCsv {
        return Err(Error::not_supported(format!(
            "job {id} reads an S3 Inventory report: run `s3thaw status s3://BUCKET/PREFIX` on the inventoried objects instead"
        ))
        .job_id(&id));
    }
    let bytes = backend.get_object(
        &location.bucket,
        &location.key,
        location.version_id.as_deref(),
    )?;
    let m = parse_csv(
        &format!("s3://{}/{}", location.bucket, location.key),
        &bytes,
    )?;
    let expected = match job.operation {
        crate::backend::JobOperation::InitiateRestore { tier, .. } => {
            Some(crate::readiness::Expected {
                start: job.creation_time,
                tier,
                from_batch: true,
            })
        }
        _ => None,
    };
    Ok((m, format!("job {id}"), expected))
}

/// `s3thaw status TARGET`: readiness at a glance, as JSON or as CSV rows.
pub fn status(args: &BackendArgs, status_args: &StatusArgs) -> u8 {
    let via = match status_args.via.parse::<crate::ops::restore::Via>() {
        Ok(via) => via,
        Err(e) => {
            eprintln!("error: --via: {}", e.message);
            return EXIT_USAGE;
        }
    };
    let backend = match backend(args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    }
    let read = || -> Result<_, Error> {
        let (m, what, expected) = status_manifest(backend.as_ref(), status_args)?;
        let mut progress = StatusProgress {
            counter: crate::progress::Counter::new(false, "objects checked"),
            interrupted: &interrupted,
        };
        let options = crate::ops::restore::ReadOptions {
            via,
            ..Default::default()
        };
        let status = crate::ops::restore::status(backend.as_ref(), &m, options, &mut progress)?;
        let next = match backend.sim_controls() {
            Some(sim) => sim.next_event()?,
            None => None,
        };
        Ok((m, what, status, next, expected))
    };
    let (m, what, status, next, expected) = match read() {
        Ok(found) => found,
        Err(e) => return fail(&e),
    };
    if status_args.json {
        print_json(&crate::readiness::json(&m, &status, next, true));
    } else if status_args.csv {
        match crate::readiness::csv(&m, &status) {
            Ok(bytes) => crate::progress::write_stdout(&String::from_utf8_lossy(&bytes)),
            Err(e) => return fail(&e),
        }
    } else {
        crate::progress::write_stdout(&crate::readiness::text_expecting(
            &what,
            &status,
            next,
            expected.as_ref(),
        ));
    }
    if status.complete() {
        0
    } else {
        crate::app::EXIT_NOT_READY
    }
}

struct StatusProgress<'a> {
    counter: crate::progress::Counter,
    interrupted: &'a std::sync::atomic::AtomicBool,
}

impl crate::ops::Progress for StatusProgress<'_> {
    fn set(&mut self, done: u64) {
        self.counter.set(done);
    }
    fn interrupted(&self) -> bool {
        self.interrupted.load(std::sync::atomic::Ordering::Relaxed)
    }
}
