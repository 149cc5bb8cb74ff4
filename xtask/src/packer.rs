//! Running packer: finding it and checking its version against the template's floor,
//! setting up its plugins where the version needs them, and the `packer build` command line.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;
use xshell::{Shell, cmd};

use crate::tools::{self, Version};

/// The oldest packer the templates are written for when they do not say
/// (`packer { required_version = ">= …" }`): Debian's 1.6.6 runs them.
pub(crate) const DEFAULT_FLOOR: Version = Version(1, 6, 6);

/// The folder, inside the template folder, whose `required_plugins` block `packer init`
/// reads. It sits apart because Packer 1.6.6 rejects `required_plugins` in the template.
pub(crate) const PLUGINS_DIR: &str = "plugins";

/// The amazon plugin, for `packer plugins install` when there is no plugins folder.
pub(crate) const AMAZON_PLUGIN: &str = "github.com/hashicorp/amazon";

/// How to get the amazon builder onto this packer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PluginSetup {
    /// Before 1.7 there are no plugins to install, and no `packer init`.
    BuiltIn,
    /// `packer init DIR` installs what `required_plugins` lists.
    Init(PathBuf),
    /// `packer plugins install github.com/hashicorp/amazon`.
    InstallAmazon,
}

/// Packer 1.7 brought `packer init`; 1.10 stopped bundling the amazon plugin.
pub(crate) fn plugin_setup(version: Version, plugins_dir: Option<&Path>) -> PluginSetup {
    if version < Version(1, 7, 0) {
        return PluginSetup::BuiltIn;
    }
    match plugins_dir {
        Some(dir) => PluginSetup::Init(dir.to_path_buf()),
        None if version >= Version(1, 10, 0) => PluginSetup::InstallAmazon,
        None => PluginSetup::BuiltIn,
    }
}

/// Whether this packer needs the amazon plugin installed separately.
pub(crate) fn plugin_needed(version: Version) -> bool {
    version >= Version(1, 10, 0)
}

/// The version in the first `required_version = ">= X.Y.Z"` of an HCL2 template.
pub(crate) fn required_version(hcl: &str) -> Option<Version> {
    hcl.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with("//"))
        .filter_map(|line| line.strip_prefix("required_version"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .find_map(Version::find_in)
}

/// The floor the template at `template` (a folder of `*.pkr.hcl`, or one file) asks for.
pub(crate) fn template_floor(template: &Path) -> Version {
    let files: Vec<PathBuf> = if template.is_dir() {
        std::fs::read_dir(template)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(".pkr.hcl"))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![template.to_path_buf()]
    };
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .find_map(|text| required_version(&text))
        .unwrap_or(DEFAULT_FLOOR)
}

/// A packer that was found and is new enough.
pub(crate) struct Packer {
    pub(crate) path: PathBuf,
    pub(crate) version: Version,
}

/// What `check` and `build` say about the installed packer.
pub(crate) fn inspect(sh: &Shell, floor: Version) -> anyhow::Result<Packer> {
    let path = tools::PACKER.find()?;
    let version = tools::packer_version(sh, &path)?;
    if version < floor {
        anyhow::bail!(
            "packer {version} at {} is older than {floor}, which the template needs (install a newer one: {})",
            path.display(),
            tools::PACKER.install
        );
    }
    Ok(Packer { path, version })
}

/// Whether `packer plugins installed` lists the amazon plugin (Packer ≥ 1.10).
pub(crate) fn amazon_installed(sh: &Shell, packer: &Packer) -> anyhow::Result<bool> {
    let path = &packer.path;
    let out = cmd!(sh, "{path} plugins installed")
        .env("CHECKPOINT_DISABLE", "1")
        .ignore_stderr()
        .read()
        .context("run packer plugins installed")?;
    Ok(out.contains("amazon"))
}

/// Installs the plugins this packer needs for `template`, or nothing when it needs none.
pub(crate) fn setup_plugins(sh: &Shell, packer: &Packer, template: &Path) -> anyhow::Result<()> {
    let dir = template.join(PLUGINS_DIR);
    let path = &packer.path;
    match plugin_setup(packer.version, dir.is_dir().then_some(dir.as_path())) {
        PluginSetup::BuiltIn => Ok(()),
        PluginSetup::Init(dir) => cmd!(sh, "{path} init {dir}")
            .env("CHECKPOINT_DISABLE", "1")
            .quiet()
            .run()
            .with_context(|| format!("set up packer plugins (packer init {})", dir.display())),
        PluginSetup::InstallAmazon => {
            if amazon_installed(sh, packer)? {
                return Ok(());
            }
            cmd!(sh, "{path} plugins install {AMAZON_PLUGIN}")
                .env("CHECKPOINT_DISABLE", "1")
                .quiet()
                .run()
                .context("install the packer amazon plugin")
        }
    }
}

/// What to do when a build step fails (`packer build -on-error=…`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OnError {
    /// Delete the instance, key pair and security group (packer's default).
    #[default]
    Cleanup,
    /// Leave them for debugging.
    Abort,
    /// Ask at the terminal.
    Ask,
}

impl OnError {
    fn as_str(self) -> &'static str {
        match self {
            OnError::Cleanup => "cleanup",
            OnError::Abort => "abort",
            OnError::Ask => "ask",
        }
    }
}

/// The arguments after `packer`: never a secret, only variables and paths.
pub(crate) fn build_args(
    template: &Path,
    vars: &[(String, String)],
    var_files: &[PathBuf],
    only: Option<&str>,
    on_error: OnError,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["build".into()];
    for (key, value) in vars {
        args.push("-var".into());
        args.push(format!("{key}={value}").into());
    }
    for file in var_files {
        let mut arg = OsString::from("-var-file=");
        arg.push(file);
        args.push(arg);
    }
    if let Some(only) = only {
        // The manifest and the flag speak of the source's label; packer wants its type too.
        let only = if only.contains('.') {
            only.to_owned()
        } else {
            format!("amazon-ebs.{only}")
        };
        args.push(format!("-only={only}").into());
    }
    args.push(format!("-on-error={}", on_error.as_str()).into());
    args.push(template.into());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_are_set_up_only_where_packer_has_them() {
        let dir = Path::new("packer/plugins");
        assert_eq!(
            plugin_setup(Version(1, 6, 6), Some(dir)),
            PluginSetup::BuiltIn
        );
        assert_eq!(
            plugin_setup(Version(1, 7, 0), Some(dir)),
            PluginSetup::Init(dir.into())
        );
        assert_eq!(plugin_setup(Version(1, 9, 4), None), PluginSetup::BuiltIn);
        assert_eq!(
            plugin_setup(Version(1, 11, 2), None),
            PluginSetup::InstallAmazon
        );
        assert_eq!(
            plugin_setup(Version(1, 11, 2), Some(dir)),
            PluginSetup::Init(dir.into())
        );
        assert!(!plugin_needed(Version(1, 9, 4)));
        assert!(plugin_needed(Version(1, 10, 0)));
    }

    #[test]
    fn the_floor_is_read_from_required_version() {
        let hcl = "packer {\n  # required_version = \">= 9.9.9\"\n  required_version = \">= 1.7.2, < 2.0.0\"\n}\n";
        assert_eq!(required_version(hcl), Some(Version(1, 7, 2)));
        assert_eq!(required_version("source \"amazon-ebs\" \"x\" {}"), None);
    }

    #[test]
    fn the_command_line_holds_variables_and_paths_only() {
        let args = build_args(
            Path::new("/repo/packer"),
            &[
                ("build_commit".into(), "abc".into()),
                ("region".into(), "eu-west-1".into()),
            ],
            &[PathBuf::from("/repo/prod.pkrvars.hcl")],
            Some("ecs"),
            OnError::Abort,
        );
        let args: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            [
                "build",
                "-var",
                "build_commit=abc",
                "-var",
                "region=eu-west-1",
                "-var-file=/repo/prod.pkrvars.hcl",
                "-only=amazon-ebs.ecs",
                "-on-error=abort",
                "/repo/packer",
            ]
        );
    }
}
