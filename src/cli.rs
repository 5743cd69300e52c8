//! The command line: flag definitions (clap derive) and the dispatch to what each subcommand
//! does. Nothing here does the work, and nothing imports this module: the shared arguments, the
//! backend opener and the exit codes live in `crate::app`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::{BackendArgs, EXIT_USAGE, ScriptArgs};

#[derive(Parser, Debug)]
#[command(
    name = "s3thaw",
    version,
    about = "Restore archived Amazon S3 objects in bulk with scriptable Batch Operations playbooks",
    after_help = "Examples:\n  s3thaw run scripts/restore.rhai                       # the Glacier restore tutorial, on the simulator\n  s3thaw run scripts/restore.rhai --var tier=BULK --var days=3\n  s3thaw run job.rhai --json | jq .status               # the script's final value as JSON\n  s3thaw check scripts/*.rhai\n  s3thaw repl                                           # explore; :help inside\n  s3thaw jobs --status Active                           # restore jobs as a table\n  s3thaw report JOB_ID                                  # a job's completion report\n  s3thaw status s3://my-archive/2019/                   # is my data back?\n  s3thaw docs -o docs/API.md                            # the script API reference\n  s3thaw completions bash > ~/.local/share/bash-completion/completions/s3thaw\n\nLogs: -v (debug), -vv (trace), or RUST_LOG=s3thaw=debug; they go to stderr with progress bars."
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
    /// Run a playbook non-interactively: a .rhai file, or a shipped playbook by name.
    #[command(
        disable_help_flag = true,
        after_help = "Examples:\n  s3thaw run restore-prefix --help                 # a playbook's variables and defaults\n  s3thaw run scripts/restore.rhai --var tier=BULK --var days=3\n  s3thaw run scripts/restore.rhai --state /tmp/rehearsal --seed 7\n  s3thaw run status.rhai --json    # prints the value of the script's last statement as JSON"
    )]
    Run {
        /// The .rhai script to run, or the name of a shipped playbook (`s3thaw playbooks`); a
        /// file on disk wins.
        #[arg(required_unless_present = "help")]
        script: Option<PathBuf>,
        /// Print help; with a SCRIPT, the script's variables and their defaults.
        #[arg(short, long)]
        help: bool,
        /// Print the value of the script's last statement as JSON on stdout; the script's prints go
        /// to stderr, so stdout is one JSON document.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: BackendArgs,
        #[command(flatten)]
        run: ScriptArgs,
    },
    /// List the shipped playbooks with their --vars and defaults, or copy them to edit.
    #[command(
        after_help = "Examples:\n  s3thaw playbooks\n  s3thaw playbooks --copy ./playbooks    # editable copies; run with s3thaw run ./playbooks/NAME.rhai"
    )]
    Playbooks {
        /// Write each playbook as DIR/NAME.rhai (never over an existing file).
        #[arg(long, value_name = "DIR")]
        copy: Option<PathBuf>,
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
        /// Whole ids, times and descriptions, however wide (default: fit the screen, 80
        /// columns without one).
        #[arg(long)]
        wide: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Show a job and its completion report: counts, failures by error code with hints
    /// (batch::describe and report::load).
    #[command(
        after_help = "Examples:\n  s3thaw report 6f0c2a52-9d3e-4b8e-a0f4-3c1d2b7e9a10\n  s3thaw report 6f0c2a52 --json    # a unique prefix of the id is enough\n  s3thaw report 6f0c2a52 --html job.html   # one page to open in a browser or attach"
    )]
    Report {
        /// The job's id, or a unique prefix of it.
        job_id: String,
        /// Print the job map and the report's counts as JSON.
        #[arg(long)]
        json: bool,
        /// Also write one self-contained HTML page to FILE (job card, timeline, failures by
        /// code, the readiness of a restore job's objects): opens in a browser with no network.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Is my data back? The readiness of a prefix, a job's manifest or a local manifest:
    /// counts per storage class, the earliest expiry, what is still in progress
    /// (restore::status). Exit 0: every archived object is readable; 3: not yet.
    #[command(
        after_help = "Examples:\n  s3thaw status s3://my-archive/2019/          # archived objects under a prefix\n  s3thaw status 6f0c2a52                         # a restore job's manifest (id or unique prefix)\n  s3thaw status manifest.csv --csv > rows.csv    # which objects are readable, one row each\n  s3thaw status s3://my-archive/ --json | jq .by_class\n\nExit codes: 0 every archived object is readable, 3 not yet, 1 an error, 2 usage."
    )]
    Status {
        /// `s3://BUCKET/PREFIX`, a job id (or a unique prefix of one), or a local CSV manifest.
        target: String,
        /// With an s3:// prefix: the storage classes to look at (default GLACIER, DEEP_ARCHIVE,
        /// INTELLIGENT_TIERING).
        #[arg(long = "class", value_name = "CLASS")]
        classes: Vec<String>,
        /// How to read states: auto (listings where dense, HEAD elsewhere), list or head.
        #[arg(long, default_value = "auto")]
        via: String,
        /// Print the status as JSON, with one row per object.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print one CSV row per object: bucket, key, version_id, state, storage_class, expiry.
        #[arg(long)]
        csv: bool,
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
            help,
            json,
            backend,
            run: args,
        } => match (script, help) {
            (Some(script), false) => crate::app::run(script, backend, args, *json),
            (Some(script), true) => crate::app::script_help(script),
            (None, _) => {
                let mut cmd = <Cli as clap::CommandFactory>::command();
                if let Some(run) = cmd.find_subcommand_mut("run") {
                    crate::progress::write_stdout(&format!("{}\n", run.render_long_help()));
                }
                0
            }
        },
        Command::Playbooks { copy } => crate::playbooks::command(copy.as_deref()),
        Command::Check { scripts } => crate::app::check(scripts),
        Command::Repl { backend, run: args } => crate::repl::run(backend, args),
        Command::Jobs {
            statuses,
            json,
            wide,
            backend,
        } => crate::inspect::jobs(backend, statuses, *json, *wide),
        Command::Report {
            job_id,
            json,
            html,
            backend,
        } => crate::inspect::report(backend, job_id, *json, html.as_deref()),
        Command::Status {
            target,
            classes,
            via,
            json,
            csv,
            backend,
        } => crate::inspect::status(
            backend,
            &crate::inspect::StatusArgs {
                target,
                classes,
                via,
                json: *json,
                csv: *csv,
            },
        ),
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
        Command::Serve(args) => crate::app::serve(args),
    }
}
