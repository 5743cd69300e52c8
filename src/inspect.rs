//! `s3thaw jobs` and `s3thaw report JOB_ID`: the two things operators check most, answered
//! through the script API (`batch::list`, `batch::describe`, `report::load`) so they show
//! exactly what a script would see, printed as tables.

use std::io::IsTerminal;

use rhai::{Array, Dynamic, Map};

use crate::api::report::Report;
use crate::app::{BackendArgs, EXIT_RUNTIME, EXIT_USAGE, open_backend};
use crate::engine::{RunSettings, Session, error_of};
use crate::errors::Error;

/// An error without a script to point into: code, message, details and hint, in the same
/// shape as a script's uncaught error.
pub fn error_text(e: &Error) -> String {
    let mut out = format!("error[{}]: {}\n", e.code, e.message);
    let details = [
        ("bucket", e.bucket.clone()),
        ("key", e.key.clone()),
        ("job_id", e.job_id.clone()),
    ];
    for (name, value) in details {
        if let Some(value) = value {
            out.push_str(&format!("  = {name}: {value}\n"));
        }
    }
    if let Some(hint) = e.hint.clone().or_else(|| crate::hints::for_error(e)) {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
    out
}

fn session(backend: &BackendArgs) -> Result<Session, u8> {
    let backend = open_backend(backend).map_err(|e| {
        eprintln!("error: {}", e.message);
        EXIT_USAGE
    })?;
    let settings = RunSettings {
        vars: Default::default(),
        yes: false,
        quiet: !std::io::stderr().is_terminal(),
    };
    Ok(Session::new(backend, settings, None))
}

/// Evaluates `script` with `vars` in scope.
fn eval(session: &mut Session, script: &str, vars: Vec<(&str, Dynamic)>) -> Result<Dynamic, Error> {
    for (name, value) in vars {
        session.scope.push(name.to_string(), value);
    }
    session
        .engine
        .eval_with_scope::<Dynamic>(&mut session.scope, script)
        .map_err(|e| error_of(&e))
}

fn maps(value: Dynamic) -> Vec<Map> {
    value
        .try_cast::<Array>()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.try_cast::<Map>())
        .collect()
}

fn print_json(value: &serde_json::Value) {
    crate::progress::print_line(
        &serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()),
    );
}

/// `s3thaw jobs`: the jobs table.
pub fn jobs(backend: &BackendArgs, statuses: &[String], json: bool) -> u8 {
    let mut session = match session(backend) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let statuses: Array = statuses.iter().map(|s| Dynamic::from(s.clone())).collect();
    let listed = eval(
        &mut session,
        "batch::list(#{ statuses: statuses })",
        vec![("statuses", statuses.into())],
    );
    match listed {
        Ok(list) if json => {
            print_json(&crate::output::to_json(&list));
            0
        }
        Ok(list) => {
            crate::progress::print_line(&crate::output::jobs_table(&maps(list)));
            0
        }
        Err(e) => {
            eprint!("{}", error_text(&e));
            EXIT_RUNTIME
        }
    }
}

/// The full id of the job `prefix` names: itself, or the one job id starting with it.
fn resolve_id(session: &mut Session, prefix: &str) -> Result<String, Error> {
    let ids: Vec<String> = maps(eval(session, "batch::list()", vec![])?)
        .iter()
        .filter_map(|j| j.get("id").map(|v| v.to_string()))
        .collect();
    if ids.iter().any(|id| id == prefix) {
        return Ok(prefix.to_string());
    }
    let matching: Vec<&String> = ids.iter().filter(|id| id.starts_with(prefix)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Ok(prefix.to_string()),
        many => Err(Error::invalid_argument(format!(
            "`{prefix}` names {} jobs: {}",
            many.len(),
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint("give more of the id")),
    }
}

/// `s3thaw report JOB_ID`: the job's card, then its completion report.
pub fn report(backend: &BackendArgs, job_id: &str, json: bool) -> u8 {
    let mut session = match session(backend) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let outcome = (|| -> Result<(Map, Result<Dynamic, Error>), Error> {
        let id = resolve_id(&mut session, job_id)?;
        let job = eval(
            &mut session,
            "batch::describe(id)",
            vec![("id", id.clone().into())],
        )?
        .try_cast::<Map>()
        .unwrap_or_default();
        let report = eval(&mut session, "report::load(id)", vec![]);
        Ok((job, report))
    })();
    let (job, report) = match outcome {
        Ok(found) => found,
        Err(e) => {
            eprint!("{}", error_text(&e));
            return EXIT_RUNTIME;
        }
    };
    if json {
        let report = report.as_ref().ok().map(crate::output::to_json);
        print_json(&serde_json::json!({
            "job": crate::output::to_json(&Dynamic::from_map(job)),
            "report": report,
        }));
        return if report.is_some() { 0 } else { EXIT_RUNTIME };
    }
    crate::progress::print_line(&crate::output::job_card(&job));
    match report {
        Ok(value) => {
            let role = job.get("role_arn").map(|r| r.to_string());
            if let Some(r) = value.read_lock::<Report>() {
                let text = crate::output::report_text(&r, role.as_deref());
                crate::progress::print_line(&format!("\n{text}"));
            }
            0
        }
        Err(e) => {
            eprint!("{}", error_text(&e));
            EXIT_RUNTIME
        }
    }
}
