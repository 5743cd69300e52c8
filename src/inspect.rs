//! `s3thaw jobs` and `s3thaw report JOB_ID`: the two things operators check most, answered
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
    format!(
        "error[{}]: {}\n{}",
        e.code,
        e.message,
        crate::engine::error_details(e)
    )
}

fn backend(args: &BackendArgs) -> Result<Box<dyn Backend>, u8> {
    open_backend(args).map_err(|e| {
        eprintln!("error: {}", e.message);
        EXIT_USAGE
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
pub fn jobs(args: &BackendArgs, statuses: &[String], json: bool) -> u8 {
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
            crate::progress::print_line(&crate::output::jobs_table(&list));
            0
        }
        Err(e) => fail(&e),
    }
}

/// `s3thaw report JOB_ID`: the job's card, then its completion report.
pub fn report(args: &BackendArgs, job_id: &str, json: bool) -> u8 {
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
            let text = crate::output::report_text(&r, role.as_deref());
            crate::progress::print_line(&format!("\n{text}"));
            0
        }
        Err(e) => fail(&e),
    }
}
