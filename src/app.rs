//! What every subcommand shares: the backend and script arguments, the one opener of the
//! simulator's state directory, the run settings they give, the exit codes, and the `run` and
//! `check` commands. `cli` parses and dispatches here; `repl`, `inspect`, `docs` and `serve` use
//! this module, never `cli`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::backend::Backend;
use crate::backend::aws::{AwsBackend, AwsOptions};
use crate::backend::sim::Simulator;
use crate::engine::{RunSettings, ScriptFailure, Session, compile_all_errors, render};
use crate::errors::Error;

/// Exit codes: 0 success, 1 a runtime error in the script (`StateBusy` included: see
/// [`open_failure_code`]), 2 usage or compile errors.
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
/// `s3thaw status`: read fine, but not every archived object is readable yet.
pub const EXIT_NOT_READY: u8 = 3;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The embedded offline simulator (default).
    Sim,
    /// Real AWS through the AWS SDK.
    Aws,
}

/// Where the script runs.
#[derive(Args, Debug, Clone)]
pub struct BackendArgs {
    /// Which backend to run against.
    #[arg(long, value_enum, default_value = "sim", env = "S3THAW_BACKEND")]
    pub backend: BackendKind,
    /// The simulator's state directory [default: $XDG_STATE_HOME/s3thaw/sim or ~/.local/state/s3thaw/sim].
    #[arg(long, env = "S3THAW_STATE")]
    pub state: Option<PathBuf>,
    /// Seed for the simulator's restore durations (kept in its state).
    #[arg(long)]
    pub seed: Option<u64>,
    /// AWS region (aws backend).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile (aws backend).
    #[arg(long)]
    pub profile: Option<String>,
    /// Endpoint URL for every AWS service (aws backend).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// AWS account id (aws backend; default: from STS).
    #[arg(long)]
    pub account_id: Option<String>,
}

/// How the script runs.
#[derive(Args, Debug, Clone)]
pub struct ScriptArgs {
    /// A value for `arg("NAME", default)` in the script; repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Answer yes to every confirm() question.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))?;
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !valid {
        return Err(format!("`{name}` is not a valid variable name"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// The default simulator state directory.
pub fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".s3thaw-state"));
    base.join("s3thaw").join("sim")
}

/// Opens the simulator in `state` (default: [`default_state_dir`]), seeding it when `seed` is
/// given: the one opener of a state directory (`run`, `repl`, `jobs`, `report`, `status` and
/// `serve` all come here).
pub fn open_simulator(state: Option<&Path>, seed: Option<u64>) -> Result<Simulator, Error> {
    let dir = state.map_or_else(default_state_dir, Path::to_path_buf);
    let sim = Simulator::open(&dir)?;
    if let Some(seed) = seed {
        sim.set_seed(seed)?;
    }
    Ok(sim)
}

/// Opens the backend the flags name.
pub fn open_backend(args: &BackendArgs) -> Result<Box<dyn Backend>, Error> {
    match args.backend {
        BackendKind::Sim => Ok(Box::new(open_simulator(args.state.as_deref(), args.seed)?)),
        BackendKind::Aws => Ok(Box::new(AwsBackend::new(AwsOptions {
            region: args.region.clone(),
            profile: args.profile.clone(),
            endpoint_url: args.endpoint_url.clone(),
            account_id: args.account_id.clone(),
        })?)),
    }
}

/// The run settings the flags give.
pub fn settings(run: &ScriptArgs) -> RunSettings {
    RunSettings {
        vars: run.vars.iter().cloned().collect::<BTreeMap<_, _>>(),
        yes: run.yes,
        quiet: run.quiet || !std::io::stderr().is_terminal(),
    }
}

/// The exit code when the backend cannot be opened: 1 when the simulator's state is busy
/// (another process holds it: a runtime condition, worth running again), 2 otherwise (a bad
/// `--state`, flags or credentials).
pub fn open_failure_code(e: &Error) -> u8 {
    if e.code == "StateBusy" {
        EXIT_RUNTIME
    } else {
        EXIT_USAGE
    }
}

fn usage_error(message: String) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// Runs one script file; with `json`, prints its final value as JSON. Returns the exit code.
pub fn run(script: &Path, backend: &BackendArgs, run: &ScriptArgs, json: bool) -> u8 {
    let loaded = match crate::playbooks::load(script) {
        Ok(loaded) => loaded,
        Err(e) => return usage_error(e),
    };
    let text = loaded.text.clone();
    let name = loaded.name.clone();
    // Every variable the script (and what it imports) can ask for, before anything happens.
    let engine = crate::engine::new_engine();
    let vars = crate::playbooks::vars(&engine, &name, &text, loaded.dir.as_deref());
    if let Err(e) = crate::playbooks::check_vars(&run.vars, &vars, &script.display().to_string()) {
        return usage_error(e);
    }
    let backend = match open_backend(backend) {
        Ok(b) => b,
        Err(e) => {
            let details = crate::engine::error_details(&e);
            let code = open_failure_code(&e);
            let prefix = if e.code == "StateBusy" {
                "StateBusy: "
            } else {
                ""
            };
            eprintln!(
                "error: {}",
                format!("{prefix}{}\n{}", e.message, details).trim_end()
            );
            return code;
        }
    };
    // With --json, stdout is the one JSON document: the script's prints go to stderr.
    crate::progress::prints_to_stderr(json);
    let mut session = Session::new(backend, settings(run), loaded.dir.as_deref());
    let flag = session.interrupt_flag();
    // The first Ctrl-C stops the script at its next step; the simulator's state stays whole
    // because every change is one transaction.
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    let mut ast = match compile_all_errors(&session.engine, &text) {
        Ok(ast) => ast,
        Err(errors) => {
            eprint!("{}", render(&ScriptFailure::Compile(errors), &name, &text));
            return EXIT_USAGE;
        }
    };
    ast.set_source(name.as_str());
    tracing::info!(script = %name, backend = session.host.backend.kind(), "running");
    let started = std::time::Instant::now();
    let result = session
        .engine
        .eval_ast_with_scope::<rhai::Dynamic>(&mut session.scope, &ast);
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "finished"
    );
    for var in session.unused_vars() {
        eprintln!(
            "warning: --var {var} was given but the script never asked for it with arg(\"{var}\", ..)"
        );
    }
    match result {
        Ok(value) => {
            if json {
                let json = crate::output::to_json(&value);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string())
                );
            }
            0
        }
        Err(e) => {
            eprint!("{}", render(&ScriptFailure::Runtime(e), &name, &text));
            EXIT_RUNTIME
        }
    }
}

/// `s3thaw run SCRIPT --help`: the script's header and variables; returns the exit code.
pub fn script_help(script: &Path) -> u8 {
    match crate::playbooks::load(script) {
        Ok(loaded) => {
            crate::progress::write_stdout(&crate::playbooks::help(&loaded));
            0
        }
        Err(e) => usage_error(e),
    }
}

/// Compiles scripts and reports every syntax error; returns the exit code.
pub fn check(scripts: &[PathBuf]) -> u8 {
    let engine = crate::engine::new_engine();
    let mut code = 0;
    for script in scripts {
        match crate::playbooks::load(script) {
            Err(e) => code = usage_error(e),
            Ok(crate::playbooks::Script { name, text, .. }) => {
                match compile_all_errors(&engine, &text) {
                    Ok(_) => println!("{name}: ok"),
                    Err(errors) => {
                        eprint!("{}", render(&ScriptFailure::Compile(errors), &name, &text));
                        code = EXIT_USAGE;
                    }
                }
            }
        }
    }
    code
}

/// `s3thaw serve`: opens the state directory and serves it until Ctrl-C; returns the exit code.
pub fn serve(args: &crate::serve::ServeArgs) -> u8 {
    let sim = match open_simulator(args.state.as_deref(), args.seed) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return open_failure_code(&e);
        }
    };
    let limits = crate::backend::sim::UploadLimits {
        max_bytes: args.uploads_max_mib << 20,
        ..Default::default()
    };
    let sim = sim.without_client_retries().with_upload_limits(limits);
    match crate::serve::run(args, sim) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}
