//! `cargo xtask outputs`: not written yet.

use xshell::Shell;

#[derive(clap::Args)]
pub(crate) struct Args {}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        anyhow::bail!("`cargo xtask outputs` is not implemented yet")
    }
}
