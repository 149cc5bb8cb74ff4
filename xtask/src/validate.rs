//! `cargo xtask validate`: the template is formatted and valid, and every shell script
//! passes shellcheck — all offline, without AWS credentials.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::tools::{self, Version};

#[derive(clap::Args)]
pub(crate) struct Args {}

/// The template folder and the plugin folder that Packer >= 1.7 needs `init`-ed; both are
/// relative to the repository root, where packer always runs.
pub(crate) const TEMPLATE: &str = "packer";
pub(crate) const PLUGINS: &str = "packer/plugins";

/// Folders whose `*.sh` files are shellchecked: the provisioners, the first-run script
/// and the sandbox that runs them in tests.
const SCRIPT_DIRS: &[&str] = &["scripts", "files", "xtask/sandbox"];

impl Args {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Both tools up front, so a missing one is reported before any work is done.
        let packer = tools::PACKER.find()?;
        let shellcheck = tools::SHELLCHECK.find()?;
        let version = tools::packer_version(sh, &packer)?;

        for dir in [TEMPLATE, PLUGINS] {
            cmd!(sh, "{packer} fmt -check {dir}")
                .env("CHECKPOINT_DISABLE", "1")
                .quiet()
                .ignore_stdout()
                .run()
                .with_context(|| {
                    format!(
                        "{dir} is not formatted the way packer wants it (run: packer fmt {dir})"
                    )
                })?;
        }
        if needs_init(version) {
            eprintln!("validate: packer {version} needs the amazon plugin: packer init {PLUGINS}");
            cmd!(sh, "{packer} init {PLUGINS}")
                .env("CHECKPOINT_DISABLE", "1")
                .quiet()
                .run()
                .with_context(|| format!("packer init {PLUGINS}"))?;
        }
        cmd!(sh, "{packer} validate {TEMPLATE}")
            .env("CHECKPOINT_DISABLE", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .quiet()
            .run()
            .context("packer validate found errors in the template (see above)")?;
        eprintln!("validate: packer {version}: {TEMPLATE} is formatted and valid");

        let scripts = shell_scripts(sh.current_dir().as_path())?;
        if scripts.is_empty() {
            bail!("no shell scripts found under {}", SCRIPT_DIRS.join(", "));
        }
        let count = scripts.len();
        cmd!(sh, "{shellcheck} {scripts...}")
            .quiet()
            .run()
            .context("shellcheck found problems in the scripts (see above)")?;
        eprintln!("validate: shellcheck: {count} scripts are clean");
        Ok(())
    }
}

/// Packer 1.7 and later take the amazon builder from a plugin, installed by `packer init`.
fn needs_init(version: Version) -> bool {
    version >= Version(1, 7, 0)
}

/// Every `*.sh` directly in the script folders, relative to `root`, sorted.
fn shell_scripts(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut scripts = Vec::new();
    for dir in SCRIPT_DIRS {
        let entries = std::fs::read_dir(root.join(dir)).with_context(|| format!("read {dir}"))?;
        for entry in entries {
            let name = entry.with_context(|| format!("read {dir}"))?.file_name();
            if Path::new(&name).extension().is_some_and(|ext| ext == "sh") {
                scripts.push(Path::new(dir).join(name));
            }
        }
    }
    scripts.sort();
    Ok(scripts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_packer_1_7_and_later_need_the_plugin_installed() {
        assert!(!needs_init(Version(1, 6, 6)));
        assert!(needs_init(Version(1, 7, 0)));
        assert!(needs_init(Version(1, 11, 2)));
    }

    #[test]
    fn every_script_of_the_image_and_the_sandbox_is_checked() {
        let scripts = shell_scripts(&crate::project_root()).unwrap();
        for script in [
            "scripts/storage.sh",
            "scripts/cleanup.sh",
            "files/firstrun.sh",
            "xtask/sandbox/enter.sh",
            "xtask/sandbox/standin.sh",
        ] {
            assert!(
                scripts.contains(&PathBuf::from(script)),
                "{script}: {scripts:?}"
            );
        }
    }
}
