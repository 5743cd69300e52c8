//! Hints for the errors we know how to fix, in one place: printed under an uncaught error that
//! carries no hint of its own, and next to failed tasks in completion reports.
//!
//! A hint says what to do next in the user's words and names the function that does it. An
//! error raised with its own `hint` (the simulator knows the storage class, the API knows the
//! job) keeps it; these are the fallbacks.

use crate::errors::{Error, is_transient_code};

/// A hint for an error that carries none.
pub fn for_error(e: &Error) -> Option<String> {
    let hint = match e.code.as_str() {
        "InvalidObjectState" => {
            "the object is archived: restore it first (s3::restore_object or a batch job) and wait until s3::head_object(..).restore.ongoing is false"
                .to_string()
        }
        "AccessDenied" if e.job_id.is_some() => {
            "the job's role lacks a permission: iam::simulate(role_arn, action, resource) names which one, iam::restore_policy(..) grants what a restore job needs"
                .to_string()
        }
        "AccessDenied" => {
            "the credentials in use lack the permission for this call; iam::simulate(role_arn, action, resource) checks a role's policies"
                .to_string()
        }
        "RestoreAlreadyInProgress" => {
            "a restore of this object is already running: s3::head_object(..).restore shows when it completes"
                .to_string()
        }
        "NoSuchBucket" | "InvalidBucketName" if e.bucket.as_deref().and_then(s3_url_hint).is_some() => {
            e.bucket.as_deref().and_then(s3_url_hint).unwrap_or_default()
        }
        "NoSuchBucket" => match &e.bucket {
            Some(b) => format!("no bucket is named {b} in this account: check the spelling with s3::list_buckets()"),
            None => "check the name with s3::list_buckets()".to_string(),
        },
        "NoSuchKey" => "list the keys with s3::list_objects(bucket, #{ prefix: \"..\" })".to_string(),
        "BucketNotEmpty" => "empty it first with s3::empty_bucket(name)".to_string(),
        "NotFoundException" => "batch::list() shows the jobs of this account and region".to_string(),
        "JobStatusException" => {
            "batch::describe(id).status shows where the job is: only a Suspended job can be confirmed, and an ended job cannot change"
                .to_string()
        }
        "DeleteConflict" => {
            "detach or delete its policies first (iam::detach_role_policy, iam::delete_role_policy)".to_string()
        }
        "EntityAlreadyExists" => "reuse it (iam::get_role(name)) or choose another name".to_string(),
        _ if e.is_throttle() => {
            "AWS is throttling requests: retry later, poll less often or lower the concurrency".to_string()
        }
        "Interrupted" => "the statement stopped; what it changed before stays changed".to_string(),
        _ => return None,
    };
    Some(hint)
}

/// `s3://my-archive/2019/` given where a bucket name goes: the bucket and prefix to pass instead.
pub fn s3_url_hint(bucket: &str) -> Option<String> {
    let rest = bucket
        .strip_prefix("s3://")
        .or_else(|| bucket.strip_prefix("S3://"))?;
    let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    Some(if prefix.is_empty() {
        format!("`{bucket}` is an S3 URL, not a bucket name: pass the bucket alone (`{name}`)")
    } else {
        format!(
            "`{bucket}` is an S3 URL, not a bucket name: pass the bucket and the prefix separately (--var bucket={name} --var prefix={prefix})"
        )
    })
}

/// A hint for an error shown by a CLI command (`s3thaw jobs`, `report`, `status`): the command
/// to type, not a script call. Falls back to [`for_error`] where the hint is not a script call.
pub fn for_cli(e: &Error) -> Option<String> {
    let hint = match e.code.as_str() {
        "NotFoundException" | "NoSuchJob" => {
            "`s3thaw jobs` lists the jobs of this account and region (the first 8 characters of an id are enough)"
                .to_string()
        }
        "NoSuchBucket" | "InvalidBucketName" if e.bucket.as_deref().and_then(s3_url_hint).is_some() => {
            e.bucket.as_deref().and_then(s3_url_hint).unwrap_or_default()
        }
        "NoSuchBucket" => match &e.bucket {
            Some(b) => format!("no bucket is named {b} in this account: check the spelling (`aws s3 ls` lists them)"),
            None => "check the bucket's name (`aws s3 ls` lists them)".to_string(),
        },
        "NoSuchKey" => "check the key (`aws s3 ls s3://BUCKET/PREFIX` lists them)".to_string(),
        "JobStatusException" => "`s3thaw report JOB` shows where the job is".to_string(),
        "AccessDenied" => "the credentials in use lack the permission for this call: check --profile".to_string(),
        "InvalidObjectState" => {
            "the object is archived: `s3thaw run restore-prefix --var bucket=.. --var prefix=..` restores it, `s3thaw status s3://BUCKET/PREFIX` says when it is readable".to_string()
        }
        _ => return for_error(e),
    };
    Some(hint)
}

/// The CLI's line under a report with transient failures: the retry playbook for this job.
pub fn retry_command(job_id: &str) -> String {
    format!("Retry the transient failures in a new job: s3thaw run retry-failed --var job={job_id}")
}

/// A hint for the failed tasks of a job with `code`, on objects of `bucket`, run by `role_arn`,
/// as a script reads it (the functions to call).
pub fn for_task(code: &str, bucket: &str, role_arn: Option<&str>) -> Option<String> {
    let role = role_arn.unwrap_or("the job's role");
    let hint = match code {
        "AccessDenied" => format!(
            "{role} lacks s3:RestoreObject on arn:aws:s3:::{bucket}/*: attach iam::restore_policy(#{{ targets: [\"{bucket}\"], .. }})"
        ),
        "InvalidObjectState" => {
            "the object is not archived (nothing to restore): leave it out of the manifest".into()
        }
        "RestoreAlreadyInProgress" => {
            "a restore was already running: the object is readable once it completes".into()
        }
        "NoSuchKey" => {
            "the manifest names a key that does not exist (deleted, or a wrong prefix or encoding)"
                .into()
        }
        "NoSuchBucket" => format!("the bucket {bucket} does not exist"),
        transient if is_transient_code(transient) => {
            "transient: retry the failed tasks with r.failed_manifest() in a new job".into()
        }
        _ => return None,
    };
    Some(hint)
}

/// A hint for the failed tasks of job `job_id` with `code`, as `s3thaw report` shows it: the
/// commands to type, not script calls.
pub fn for_task_cli(
    code: &str,
    bucket: &str,
    role_arn: Option<&str>,
    job_id: &str,
) -> Option<String> {
    let role_name = role_arn
        .and_then(|arn| arn.rsplit_once('/'))
        .map(|(_, name)| name.to_string());
    let hint = match code {
        "AccessDenied" => {
            let role = role_arn.unwrap_or("the job's role");
            let grant = match &role_name {
                Some(name) => format!(
                    "`aws iam put-role-policy --role-name {name} --policy-name restore --policy-document file://policy.json`"
                ),
                None => "`aws iam put-role-policy` on the job's role".to_string(),
            };
            format!(
                "{role} lacks s3:RestoreObject on arn:aws:s3:::{bucket}/*: grant it ({grant}), then restore these objects again"
            )
        }
        transient if is_transient_code(transient) => {
            format!(
                "transient: `s3thaw run retry-failed --var job={job_id}` retries them in a new job"
            )
        }
        "InvalidObjectState" => {
            "the object is not archived (nothing to restore): leave it out of the manifest".into()
        }
        _ => return for_task(code, bucket, role_arn),
    };
    Some(hint)
}

/// The candidate closest to `word` when it is close enough to be a typo (edit distance at most
/// a third of the word, at least 1), for "did you mean" lines.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with a transposition counted as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_hints() {
        let get = Error::new("InvalidObjectState", "archived").status(403);
        assert!(for_error(&get).unwrap().contains("restore it first"));
        let task = for_task("AccessDenied", "my-archive", Some("arn:aws:iam::1:role/r")).unwrap();
        assert!(
            task.contains("arn:aws:iam::1:role/r lacks s3:RestoreObject"),
            "{task}"
        );
        assert!(task.contains("arn:aws:s3:::my-archive/*"), "{task}");
        assert!(for_error(&Error::new("Mystery", "?")).is_none());
        // Throttling and transient codes come from the one list in `crate::errors`.
        let throttled = for_error(&Error::new("ThrottlingException", "slow down")).unwrap();
        assert!(throttled.contains("throttling"), "{throttled}");
        let timeout = for_task("RequestTimeout", "my-archive", None).unwrap();
        assert!(timeout.starts_with("transient"), "{timeout}");
        assert!(for_task("AccessDenied", "b", None).is_some_and(|h| !h.starts_with("transient")));
    }

    #[test]
    fn the_report_command_hints_commands_not_script_calls() {
        let role = Some("arn:aws:iam::1:role/restorer");
        for code in [
            "AccessDenied",
            "RequestTimeout",
            "SlowDown",
            "InvalidObjectState",
            "NoSuchKey",
        ] {
            let hint = for_task_cli(code, "my-archive", role, "6f0c2a52").unwrap();
            assert!(
                !hint.contains("::") || hint.contains("arn:aws"),
                "{code}: {hint}"
            );
            assert!(
                !hint.contains("iam::restore_policy") && !hint.contains("r.failed_manifest"),
                "{code}: {hint}"
            );
        }
        let denied = for_task_cli("AccessDenied", "my-archive", role, "6f0c2a52").unwrap();
        assert!(
            denied.contains("aws iam put-role-policy --role-name restorer"),
            "{denied}"
        );
        assert!(
            denied.contains("lacks s3:RestoreObject on arn:aws:s3:::my-archive/*"),
            "{denied}"
        );
        let transient = for_task_cli("SlowDown", "my-archive", None, "6f0c2a52").unwrap();
        assert!(
            transient.contains("`s3thaw run retry-failed --var job=6f0c2a52`"),
            "{transient}"
        );
    }
}
