//! `cargo xtask validate`: the template is formatted and valid, and every shell script
//! passes shellcheck — all offline, without AWS credentials.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{packer, tools};

#[derive(clap::Args)]
pub(crate) struct Args {}

/// The template folder, relative to the repository root, where packer always runs.
pub(crate) const TEMPLATE: &str = "packer";

/// Shell scripts whose names do not end in `.sh`.
const SCRIPTS_WITHOUT_SH: &[&str] = &[".ci/run"];

impl Args {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = sh.current_dir();
        let template = root.join(TEMPLATE);
        // Both tools up front, so a missing one is reported before any work is done. The
        // packer is judged as `build` judges it: the template's floor, the same plugin rule.
        let packer = packer::inspect(sh, packer::template_floor(&template))?;
        let shellcheck = tools::SHELLCHECK.find()?;
        let (path, version) = (&packer.path, packer.version);

        let plugins = format!("{TEMPLATE}/{}", packer::PLUGINS_DIR);
        for dir in [TEMPLATE, plugins.as_str()] {
            // packer names the files it would reformat on stdout: leave it visible.
            cmd!(sh, "{path} fmt -check {dir}")
                .env("CHECKPOINT_DISABLE", "1")
                .quiet()
                .run()
                .with_context(|| {
                    format!(
                        "{dir} is not formatted the way packer wants it (run: packer fmt {dir})"
                    )
                })?;
        }
        if packer::plugin_needed(version) {
            eprintln!("validate: packer {version} ships without the amazon plugin: setting it up");
        }
        packer::setup_plugins(sh, &packer, &template)?;
        cmd!(sh, "{path} validate {TEMPLATE}")
            .env("CHECKPOINT_DISABLE", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .quiet()
            .run()
            .context("packer validate found errors in the template (see above)")?;
        eprintln!("validate: packer {version}: {TEMPLATE} is formatted and valid");

        let scripts = shell_scripts(&root)?;
        if scripts.is_empty() {
            bail!("no shell scripts found in {}", root.display());
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

/// Every shell script of the repository at `root`, relative to it, sorted: the `*.sh` files
/// git knows of (tracked, or new and not ignored), or, without git, those a walk finds,
/// and the scripts named otherwise.
fn shell_scripts(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut scripts = match git_listed(root) {
        Some(listed) => listed,
        None => walked(root)?,
    };
    scripts.extend(SCRIPTS_WITHOUT_SH.iter().map(PathBuf::from));
    // git still lists a tracked file that was deleted and not yet committed.
    scripts.retain(|script| root.join(script).is_file());
    scripts.sort();
    scripts.dedup();
    Ok(scripts)
}

/// `git ls-files` of `*.sh`, or `None` when git is missing or `root` is no repository.
fn git_listed(root: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .args(["--", "*.sh"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|name| !name.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

/// Every `*.sh` under `root`, leaving out hidden folders (`.git`) and `target`.
fn walked(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(root.join(dir))
            .with_context(|| format!("read {}", root.join(dir).display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("read {}", dir.display()))?;
            let name = entry.file_name();
            let path = dir.join(&name);
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !name.to_string_lossy().starts_with('.') && name != "target" {
                    walk(root, &path, found)?;
                }
            } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "sh") {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    walk(root, Path::new(""), &mut found)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_script_of_the_repository_is_checked() {
        let scripts = shell_scripts(&crate::project_root()).unwrap();
        for script in [
            "scripts/storage.sh",
            "scripts/cleanup.sh",
            "files/firstrun.sh",
            "xtask/sandbox/enter.sh",
            "xtask/sandbox/standin.sh",
            "xtask/sandbox/checks/image.sh",
            "xtask/sandbox/checks/firstrun.sh",
            "xtask/bench/makefile_step.sh",
            ".ci/run",
        ] {
            assert!(
                scripts.contains(&PathBuf::from(script)),
                "{script}: {scripts:?}"
            );
        }
    }

    #[test]
    fn without_git_a_walk_finds_the_scripts_git_lists() {
        let root = crate::project_root();
        let mut listed = git_listed(&root).expect("the repository is a git checkout");
        listed.retain(|script| root.join(script).is_file());
        listed.sort();
        let mut walked = walked(&root).unwrap();
        walked.sort();
        assert_eq!(walked, listed);
    }
}
