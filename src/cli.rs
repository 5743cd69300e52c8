//! The command line: flag definitions (clap derive) and what each subcommand does.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::backend::Backend;
use crate::backend::aws::{AwsBackend, AwsOptions};
use crate::backend::sim::Simulator;
use crate::engine::{RunSettings, ScriptFailure, Session, compile_all_errors, render};
use crate::errors::Error;

/// Exit codes: 0 success, 1 a runtime error in the script, 2 usage or compile errors.
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "s3thaw",
    version,
    about = "Restore archived Amazon S3 objects in bulk with scriptable Batch Operations playbooks",
    after_help = "Examples:\n  s3thaw run scripts/restore.rhai                       # the Glacier restore tutorial, on the simulator\n  s3thaw run scripts/restore.rhai --var tier=BULK --var days=3\n  s3thaw run job.rhai --json | jq .status               # the script's final value as JSON\n  s3thaw check scripts/*.rhai\n  s3thaw repl                                           # explore; :help inside\n  s3thaw jobs --status Active                           # restore jobs as a table\n  s3thaw report JOB_ID                                  # a job's completion report\n  s3thaw docs -o docs/API.md                            # the script API reference\n  s3thaw completions bash > ~/.local/share/bash-completion/completions/s3thaw\n\nLogs: -v (debug), -vv (trace), or RUST_LOG=s3thaw=debug; they go to stderr with progress bars."
)]
pub struct Cli {
    /// Log what s3thaw does on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a playbook non-interactively.
    #[command(
        after_help = "Examples:\n  s3thaw run scripts/restore.rhai --var tier=BULK --var days=3\n  s3thaw run scripts/restore.rhai --state /tmp/rehearsal --seed 7\n  s3thaw run status.rhai --json    # prints the value of the script's last statement as JSON"
    )]
    Run {
        /// The .rhai script to run.
        script: PathBuf,
        /// Print the value of the script's last statement as JSON on stdout (after its prints).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        run: ScriptArgs,
    },
    /// Compile scripts without running them and report every syntax error.
    Check {
        /// The .rhai scripts to check.
        #[arg(required = true)]
        scripts: Vec<PathBuf>,
    },
    /// Explore interactively: one statement at a time, in one persistent scope.
    #[command(
        after_help = "Inside: :help, :help s3, :help s3::restore_object, :load FILE, :vars, :reset, :quit.\nTab completes modules, functions, option keys, variables and job ids.\n\nExample:\n  s3thaw> import \"tutorial\" as t;\n  s3thaw> let cfg = t::config(\"BULK\", 3);\n  s3thaw> t::create_bucket(cfg);"
    )]
    Repl {
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        run: ScriptArgs,
    },
    /// List Batch Operations jobs, newest first (batch::list).
    #[command(
        after_help = "Examples:\n  s3thaw jobs\n  s3thaw jobs --status Active --status Suspended\n  s3thaw jobs --json"
    )]
    Jobs {
        /// Only jobs in these statuses (New, Preparing, Suspended, Ready, Active, Complete, ...).
        #[arg(long = "status", value_name = "STATUS")]
        statuses: Vec<String>,
        /// Print the job maps as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Show a job and its completion report: counts, failures by error code with hints
    /// (batch::describe and report::load).
    #[command(
        after_help = "Examples:\n  s3thaw report 6f0c2a52-9d3e-4b8e-a0f4-3c1d2b7e9a10\n  s3thaw report 6f0c2a52 --json    # a unique prefix of the id is enough"
    )]
    Report {
        /// The job's id, or a unique prefix of it.
        job_id: String,
        /// Print the job map and the report's counts as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Write the script API reference (Markdown) generated from the engine's metadata.
    #[command(after_help = "Example:\n  s3thaw docs -o docs/API.md")]
    Docs {
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  s3thaw completions bash > ~/.local/share/bash-completion/completions/s3thaw\n  s3thaw completions zsh > ~/.zfunc/_s3thaw\n  s3thaw completions fish > ~/.config/fish/completions/s3thaw.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Serve the simulator over AWS's wire protocols (S3, S3 Control, IAM, STS) for other tools.
    Serve(crate::serve::ServeArgs),
}

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

/// Opens the backend the flags name.
pub fn open_backend(args: &BackendArgs) -> Result<Box<dyn Backend>, Error> {
    match args.backend {
        BackendKind::Sim => {
            let dir = args.state.clone().unwrap_or_else(default_state_dir);
            let sim = Simulator::open(&dir)?;
            if let Some(seed) = args.seed {
                sim.set_seed(seed)?;
            }
            Ok(Box::new(sim))
        }
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

fn usage_error(message: String) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// Runs one script file; with `json`, prints its final value as JSON. Returns the exit code.
pub fn run(script: &Path, backend: &BackendArgs, run: &ScriptArgs, json: bool) -> u8 {
    let text = match std::fs::read_to_string(script) {
        Ok(text) => text,
        Err(e) => return usage_error(format!("cannot read {}: {e}", script.display())),
    };
    let backend = match open_backend(backend) {
        Ok(b) => b,
        Err(e) => return usage_error(e.message),
    };
    let name = script.display().to_string();
    let mut session = Session::new(backend, settings(run), script.parent());
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

/// Compiles scripts and reports every syntax error; returns the exit code.
pub fn check(scripts: &[PathBuf]) -> u8 {
    let engine = crate::engine::new_engine();
    let mut code = 0;
    for script in scripts {
        let name = script.display().to_string();
        match std::fs::read_to_string(script) {
            Err(e) => code = usage_error(format!("cannot read {name}: {e}")),
            Ok(text) => match compile_all_errors(&engine, &text) {
                Ok(_) => println!("{name}: ok"),
                Err(errors) => {
                    eprint!("{}", render(&ScriptFailure::Compile(errors), &name, &text));
                    code = EXIT_USAGE;
                }
            },
        }
    }
    code
}

/// Parses the command line and runs it; returns the exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    crate::progress::init_tracing(cli.verbose);
    match &cli.command {
        Command::Run {
            script,
            json,
            backend,
            run: args,
        } => run(script, backend, args, *json),
        Command::Check { scripts } => check(scripts),
        Command::Repl { backend, run: args } => crate::repl::run(backend, args),
        Command::Jobs {
            statuses,
            json,
            backend,
        } => crate::inspect::jobs(backend, statuses, *json),
        Command::Report {
            job_id,
            json,
            backend,
        } => crate::inspect::report(backend, job_id, *json),
        Command::Docs { output } => crate::docs::command(output.as_deref()),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                *shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "s3thaw",
                &mut script,
            );
            crate::progress::write_stdout(&String::from_utf8_lossy(&script));
            0
        }
        Command::Serve(args) => crate::serve::main(args),
    }
}
