//! `cargo xtask clean`: removes `manifest.json` and `build/`, so the next build starts a
//! fresh manifest and no stale output names an old AMI.

use anyhow::Context;
use xshell::Shell;

use crate::outputs::Place;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    place: Place,
}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let manifest = self.place.manifest();
        match std::fs::remove_file(&manifest) {
            Ok(()) => eprintln!("removed {}", manifest.display()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("remove {}", manifest.display())),
        }
        let build = self.place.build_dir();
        match std::fs::remove_dir_all(&build) {
            Ok(()) => eprintln!("removed {}", build.display()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("remove {}", build.display())),
        }
        Ok(())
    }
}
