//! The `s3thaw` binary: parse flags, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(s3thaw::cli::main())
}
