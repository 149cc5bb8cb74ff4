//! `cargo xtask test`: installs what the tests need on a fresh machine, then runs them.

use std::ffi::OsString;

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::setup;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Passed on to `cargo test` (a test name filter, `--nocapture`, …).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    cargo_test_args: Vec<OsString>,
}

impl Args {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // One apt-get run for all: the rehearsal's tools, and shellcheck for the scripts.
        setup::apt(sh, &[setup::REHEARSAL, &[setup::SHELLCHECK]].concat())?;
        let python = setup::moto_python(sh)?;
        let aws = setup::aws_cli(sh)?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let args = &self.cargo_test_args;
        let status = crate::child::run(std::process::Command::from(
            cmd!(sh, "{cargo} test --workspace {args...}")
                .env("PACKER_ECS_PYTHON", &python)
                .env("PACKER_ECS_AWS", &aws)
                .env("CHECKPOINT_DISABLE", "1"),
        ))
        .context("run cargo test")?;
        match crate::child::exit_code(status) {
            0 => Ok(()),
            code => Err(crate::Exit(code).into()),
        }
    }
}
