//! Helpers for tests that talk to `s3thaw serve`: start one on a free loopback port, stop it
//! with Ctrl-C, and run the binary with a clean environment (nothing from the developer's AWS
//! setup leaks in).
//!
//! A child process rather than `serve` on a thread: it costs about 30 ms more per server (see
//! BENCHMARKS.md, "Contract suite"), and it tests what users run, the Ctrl-C exit and the log.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::project_root;

pub(crate) const ACCESS_KEY: &str = "S3THAWTESTKEY0000001";
pub(crate) const SECRET_KEY: &str = "s3thaw/test/secret/0000000000000000000000";

/// An `s3thaw serve` on a free loopback port, stopped with Ctrl-C (SIGINT) when dropped.
pub(crate) struct Serve {
    child: Option<Child>,
    pub url: String,
    log: Arc<Mutex<String>>,
    _state: tempfile::TempDir,
}

impl Serve {
    pub(crate) fn start(extra: &[&str]) -> Serve {
        let state = tempfile::tempdir().expect("temp dir");
        let path = state.path().to_path_buf();
        Serve::spawn(&path, extra, state)
    }

    /// A server on an existing state directory (prepared by `s3thaw run --state`).
    pub(crate) fn start_with_state(dir: &Path) -> Serve {
        Serve::spawn(dir, &[], tempfile::tempdir().expect("temp dir"))
    }

    fn spawn(dir: &Path, extra: &[&str], state: tempfile::TempDir) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3thaw"))
            .args(["serve", "--bind", "127.0.0.1:0", "--state"])
            .arg(dir)
            .args(extra)
            .env_remove("S3THAW_SERVE_ACCESS_KEY_ID")
            .env_remove("S3THAW_SERVE_SECRET_ACCESS_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start s3thaw serve");
        let stderr = child.stderr.take().expect("serve's stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Serve {
            child: Some(child),
            url,
            log,
            _state: state,
        }
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL (`kill -9`): no shutdown, whatever is in flight is cut.
    pub(crate) fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill serve");
        let _ = child.wait();
    }

    /// Ctrl-C, then the exit status and the whole log.
    pub(crate) fn stop(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        interrupt(&mut child)
    }
}

fn interrupt(child: &mut Child) -> (std::process::ExitStatus, String) {
    // Ctrl-C is SIGINT; the shell's own `kill` sends it without needing procps.
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for serve") {
            return (status, String::new());
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("serve did not stop within 30s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            interrupt(&mut child);
        }
    }
}

/// Runs the binary with a clean environment: nothing from the developer's AWS setup leaks in.
pub(crate) fn s3thaw(args: &[&str], env: &[(&str, &str)], home: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_STATE_HOME", home)
        .current_dir(project_root())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run s3thaw")
}

pub(crate) fn aws_env(secret: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}
