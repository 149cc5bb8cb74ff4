//! `cargo xtask`: builds the ECS container-instance AMI and everything around it.
//!
//! The flow reads in one direction: flags → credentials → tool checks → packer → manifest →
//! outputs. Each subcommand lives in its own module, which exposes its `Args` and `run`.

mod assume;
mod bench;
mod build;
mod cache;
mod check;
mod checklist;
mod child;
mod clean;
mod creds;
mod exec;
mod export;
mod git;
mod http;
mod local;
mod manifest;
mod mfa;
#[allow(dead_code)] // shared with the integration tests, which use more of it
mod moto;
mod outputs;
mod packer;
mod profile;
mod secret;
mod session;
mod setup;
mod sts;
mod test;
mod timefmt;
mod tools;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Build and test the packer-ecs AMI",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assume the profile's role (MFA prompt, shared cache) and print the session.
    Creds(creds::Args),
    /// Run a command with the session in its environment.
    Exec(exec::Args),
    /// Show the tools and the credential source a build would use.
    Check(check::Args),
    /// Check the template's format, validate it and shellcheck the scripts.
    Validate(validate::Args),
    /// Build the AMI with packer and write the outputs under build/.
    Build(Box<build::Args>),
    /// Write the outputs under build/ from an existing manifest.json.
    Outputs(outputs::Args),
    /// Remove manifest.json and build/.
    Clean(clean::Args),
    /// Install what the tests need, then run them.
    Test(test::Args),
    /// Time `creds` against the Makefile's credential step, or the offline rehearsal.
    Bench(bench::Args),
}

/// A command that ran a child hands the child's exit code on through this error;
/// `main` exits with it and prints nothing more (the child has spoken).
#[derive(Debug)]
pub(crate) struct Exit(pub(crate) u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let result = xshell::Shell::new()
        .map_err(anyhow::Error::from)
        .and_then(|sh| {
            sh.change_dir(project_root());
            match cli.command {
                Command::Creds(args) => args.run(&sh),
                Command::Exec(args) => args.run(&sh),
                Command::Check(args) => args.run(&sh),
                Command::Validate(args) => args.run(&sh),
                Command::Build(args) => args.run(&sh),
                Command::Outputs(args) => args.run(&sh),
                Command::Clean(args) => args.run(&sh),
                Command::Test(args) => args.run(&sh),
                Command::Bench(args) => args.run(&sh),
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<Exit>() {
            Some(Exit(code)) => ExitCode::from(*code),
            None => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Help and version print as clap has them; a mistake on the command line is one line,
/// like every other error, with where to look.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
    }
    eprintln!(
        "{} (see --help)",
        one_line_usage_error(&err.render().to_string())
    );
    ExitCode::from(2)
}

/// clap's message, its list of what is missing and its tips, on one line: everything
/// before the usage block and the pointer to --help, lines joined.
fn one_line_usage_error(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    parts.join(" ").replace(" tip:", "; tip:")
}

/// The repository root: packer always runs from here, so relative paths in the template
/// and in `manifest.json` mean the same thing whichever folder `cargo xtask` was run from.
pub(crate) fn project_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}
