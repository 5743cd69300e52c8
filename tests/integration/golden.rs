//! Golden tests of the binary, in the style of just's CLI tests: each case under
//! `tests/golden/CASE/` runs the real `s3thaw` in that folder against a fresh simulator and
//! compares stdout, stderr and the exit code exactly with the files `stdout`, `stderr` and
//! `status` beside it.
//!
//! A case is a folder with:
//! - `cmd`: the arguments, one per line;
//! - `setup` (optional): commands run first, one per line (arguments separated by spaces),
//!   each of which must succeed, e.g. `run make-job.rhai`;
//! - `stdin` (optional): what is typed on standard input;
//! - any scripts the commands name.
//!
//! An argument `{job}` is the id of the newest job (from `s3thaw jobs --json`), `{job:1}` the
//! one before it. Outputs are
//! made deterministic before comparing: job ids become `<JOB-1>`, `<JOB-2>` in order of
//! appearance, RFC 3339 timestamps `<TIME>`, and the state folder `<STATE>`. Run with
//! `UPDATE_GOLDEN=1` to write the expected files from the current outputs (then review the
//! diff).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn golden_dir() -> PathBuf {
    project_root().join("tests/golden")
}

/// Runs the binary in `dir` with the world's state; returns (stdout, stderr, status).
fn s3thaw(
    world: &World,
    dir: &Path,
    args: &[String],
    stdin: Option<&str>,
) -> (String, String, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    cmd.args(args)
        .current_dir(dir)
        .env("S3THAW_STATE", world.state().join("sim"))
        .env("XDG_STATE_HOME", world.state())
        .env_remove("RUST_LOG")
        .env_remove("S3THAW_BACKEND")
        .env("COLUMNS", "200")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn s3thaw");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let out = child.wait_with_output().expect("run s3thaw");
    (
        text(&out.stdout),
        text(&out.stderr),
        out.status.code().unwrap_or(-1),
    )
}

/// Replaces what changes from run to run: job ids, timestamps, the state folder.
struct Normalizer {
    jobs: HashMap<String, String>,
    state: String,
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() >= 36
        && s[..36].iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit() && !b.is_ascii_uppercase(),
        })
}

/// The length of an RFC 3339 UTC timestamp at the start of `s` (`2026-11-25T15:46:08Z`,
/// with optional fractions), if there is one.
fn timestamp_len(s: &[u8]) -> Option<usize> {
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if s.len() < shape.len() + 1 {
        return None;
    }
    for (b, want) in s.iter().zip(shape) {
        let ok = if *want == b'd' {
            b.is_ascii_digit()
        } else {
            b == want
        };
        if !ok {
            return None;
        }
    }
    let mut end = shape.len();
    if s[end] == b'.' {
        end += 1;
        while end < s.len() && s[end].is_ascii_digit() {
            end += 1;
        }
    }
    (s.get(end) == Some(&b'Z')).then_some(end + 1)
}

impl Normalizer {
    fn apply(&mut self, text: &str) -> String {
        let text = text.replace(&self.state, "<STATE>");
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < bytes.len() {
            let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
            if boundary && is_uuid(&bytes[i..]) {
                let id = &text[i..i + 36];
                let n = self.jobs.len() + 1;
                let name = self
                    .jobs
                    .entry(id.to_string())
                    .or_insert_with(|| format!("<JOB-{n}>"));
                out.push_str(name);
                i += 36;
            } else if let Some(len) = boundary.then(|| timestamp_len(&bytes[i..])).flatten() {
                out.push_str("<TIME>");
                i += len;
            } else {
                let c = text[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
        out
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Runs one case; returns a description of every difference.
fn run_case(dir: &Path) -> Vec<String> {
    let world = World::new();
    let mut failures = Vec::new();
    if let Some(setup) = read(&dir.join("setup")) {
        for line in setup
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            let (out, err, status) = s3thaw(&world, dir, &args, None);
            assert_eq!(status, 0, "setup `{line}` failed:\n{out}\n{err}");
        }
    }
    let job_ids = || -> Vec<String> {
        let (out, _, _) = s3thaw(&world, dir, &["jobs".into(), "--json".into()], None);
        let jobs: serde_json::Value = serde_json::from_str(&out).expect("jobs --json");
        jobs.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|j| j["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let args: Vec<String> = read(&dir.join("cmd"))
        .expect("a case has a cmd file")
        .lines()
        .filter(|l| !l.is_empty())
        .map(
            |l| match l.strip_prefix("{job").and_then(|r| r.strip_suffix('}')) {
                // `{job}` is the newest job, `{job:1}` the one before it.
                Some(n) => {
                    let n: usize = n.trim_start_matches(':').parse().unwrap_or(0);
                    job_ids().get(n).cloned().expect("no such job")
                }
                None => l.to_string(),
            },
        )
        .collect();
    let stdin = read(&dir.join("stdin"));
    let (stdout, stderr, status) = s3thaw(&world, dir, &args, stdin.as_deref());
    let mut normalizer = Normalizer {
        jobs: HashMap::new(),
        state: world.state().display().to_string(),
    };
    let actual = [
        ("stdout", normalizer.apply(&stdout)),
        ("stderr", normalizer.apply(&stderr)),
        ("status", format!("{status}\n")),
    ];
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, actual) in actual {
        let path = dir.join(name);
        let expected = read(&path);
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        let expected = expected.unwrap_or_default();
        if update {
            std::fs::write(&path, &actual).expect("write golden file");
        } else {
            failures.push(format!(
                "{}/{name} differs.\n--- expected\n{expected}\n--- actual\n{actual}\n(UPDATE_GOLDEN=1 cargo test --test integration golden:: rewrites it)",
                dir.display()
            ));
        }
    }
    failures
}

#[test]
fn golden_cases() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("tests/golden")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("cmd").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 8, "golden cases missing: {cases:?}");
    let failures: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn docs_api_md_is_current() {
    let world = World::new();
    let (generated, stderr, status) = s3thaw(&world, &project_root(), &["docs".to_string()], None);
    assert_eq!(status, 0, "{stderr}");
    let committed = read(&project_root().join("docs/API.md")).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(project_root().join("docs/API.md"), &generated).expect("write");
            return;
        }
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |n| format!("line {}", n + 1));
        panic!(
            "docs/API.md is stale (first difference at {line}): regenerate it with `{}`",
            s3thaw::docs::REGENERATE
        );
    }
}

#[test]
fn normalizer_replaces_ids_times_and_state() {
    let mut n = Normalizer {
        jobs: HashMap::new(),
        state: "/tmp/xyz".into(),
    };
    let text = "job 0f6b2c1e-9d3e-4b8e-a0f4-3c1d2b7e9a10 at 2026-11-25T15:46:08Z, again 0f6b2c1e-9d3e-4b8e-a0f4-3c1d2b7e9a10; other 1f6b2c1e-9d3e-4b8e-a0f4-3c1d2b7e9a10 in /tmp/xyz/sim at 2026-11-25T15:46:08.123Z";
    assert_eq!(
        n.apply(text),
        "job <JOB-1> at <TIME>, again <JOB-1>; other <JOB-2> in <STATE>/sim at <TIME>"
    );
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let world = World::new();
    for shell in ["bash", "zsh", "fish"] {
        let (script, stderr, status) = s3thaw(
            &world,
            &project_root(),
            &["completions".into(), shell.into()],
            None,
        );
        assert_eq!(status, 0, "{shell}: {stderr}");
        for sub in [
            "run",
            "check",
            "repl",
            "jobs",
            "report",
            "docs",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} completion lacks `{sub}`");
        }
        assert!(
            script.contains("backend"),
            "{shell} completion lacks --backend"
        );
    }
    let (_, stderr, status) = s3thaw(
        &world,
        &project_root(),
        &["completions".into(), "powershell-ish".into()],
        None,
    );
    assert_eq!(status, 2, "an unknown shell is a usage error");
    assert!(stderr.contains("bash"), "{stderr}");
}

#[test]
fn help_shows_examples() {
    let world = World::new();
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["jobs", "--help"],
        vec!["repl", "--help"],
    ] {
        let args: Vec<String> = args.into_iter().map(str::to_string).collect();
        let (out, _, status) = s3thaw(&world, &project_root(), &args, None);
        assert_eq!(status, 0);
        assert!(out.contains("Example"), "{args:?}: no examples in\n{out}");
        assert!(
            out.contains("s3thaw "),
            "{args:?}: examples name no command\n{out}"
        );
    }
}

#[test]
fn verbose_logs_go_to_stderr_and_leave_stdout_alone() {
    let world = World::new();
    let dir = project_root().join("tests/golden/run_restore");
    let args: Vec<String> = ["-v", "run", "restore.rhai"].map(str::to_string).to_vec();
    let (quiet_out, _, _) = s3thaw(&world, &dir, &args[1..], None);
    let world = World::new();
    let (out, err, status) = s3thaw(&world, &dir, &args, None);
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, quiet_out, "logs must not reach stdout");
    assert!(
        err.contains("running") && err.contains("restore.rhai"),
        "{err}"
    );
    assert!(err.contains("DEBUG") || err.contains("INFO"), "{err}");
}
