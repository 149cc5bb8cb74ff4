//! `cargo xtask exec -- CMD ARGS…`: runs a command with the session in its environment
//! (and `AWS_PROFILE` removed, so its SDK does not resolve the profile again).

use std::ffi::OsString;
use std::time::Duration;

use xshell::Shell;

use crate::session::{self, Opts};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    opts: Opts,
    /// How long the session must still last (`90s`, `15m`, `2h`); a cached one with less
    /// is renewed.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::timefmt::parse_duration)]
    min_ttl: Duration,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let session = session::resolve(&self.opts, self.min_ttl)?;
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("no command given; pass one after --"))?;
        let mut command = std::process::Command::new(program);
        command.args(args).env_remove("AWS_PROFILE");
        for (name, value) in session.env() {
            command.env(name, value);
        }
        let status = crate::child::run(command)?;
        match crate::child::exit_code(status) {
            0 => Ok(()),
            code => Err(crate::Exit(code).into()),
        }
    }
}
