//! `cargo xtask check`: not written yet.

use xshell::Shell;

#[derive(clap::Args)]
pub(crate) struct Args {}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        anyhow::bail!("`cargo xtask check` is not implemented yet")
    }
}
