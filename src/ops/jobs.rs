//! Batch Operations jobs as the CLI and the bindings read them: every page of a listing, and a
//! job named by a unique prefix of its id.

use crate::backend::{Backend, JobStatus, JobSummary};
use crate::errors::{Error, Result};

/// Every job in `statuses` (empty: all), newest first, page after page.
pub fn list(backend: &dyn Backend, statuses: &[JobStatus]) -> Result<Vec<JobSummary>> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = backend.list_jobs(statuses, next.as_deref())?;
        out.extend(page.items);
        match page.next {
            Some(n) => next = Some(n),
            None => return Ok(out),
        }
    }
}

/// The full id of the job `prefix` names: itself, or the one job id starting with it. A prefix
/// no job id starts with is returned as it is, for the backend to say it is not found.
pub fn resolve_id(backend: &dyn Backend, prefix: &str) -> Result<String> {
    let ids: Vec<String> = list(backend, &[])?.into_iter().map(|j| j.id).collect();
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
