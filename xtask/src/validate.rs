//! `cargo xtask validate`: not written yet.

use xshell::Shell;

#[derive(clap::Args)]
pub(crate) struct Args {}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        anyhow::bail!("`cargo xtask validate` is not implemented yet")
    }
}
