//! The external tools a build needs: where they are, which version, how to install them.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use xshell::{Shell, cmd};

/// A program looked up on `PATH`, with the one line that tells a user how to get it.
pub(crate) struct Tool {
    pub(crate) name: &'static str,
    pub(crate) install: &'static str,
}

pub(crate) const PACKER: Tool = Tool {
    name: "packer",
    install: "apt-get install packer, or see https://developer.hashicorp.com/packer/install",
};
pub(crate) const SHELLCHECK: Tool = Tool {
    name: "shellcheck",
    install: "apt-get install shellcheck",
};
pub(crate) const GIT: Tool = Tool {
    name: "git",
    install: "apt-get install git",
};

impl Tool {
    /// The tool's path, or an error that says how to install it.
    pub(crate) fn find(&self) -> anyhow::Result<PathBuf> {
        which::which(self.name).map_err(|_| {
            anyhow!(
                "{} not found on PATH (install it: {})",
                self.name,
                self.install
            )
        })
    }
}

/// A `major.minor.patch` version, compared numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub(crate) u32, pub(crate) u32, pub(crate) u32);

impl Version {
    /// Reads the first `X.Y.Z` in `text`, with or without a leading `v`
    /// (`Packer v1.6.6`, `1.11.2`, `TS,,version,1.6.6`).
    pub(crate) fn find_in(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find_map(|word| {
                let mut parts = word.split('.');
                let major = parts.next()?.parse().ok()?;
                let minor = parts.next()?.parse().ok()?;
                let patch = parts.next()?.parse().ok()?;
                Some(Version(major, minor, patch))
            })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The version `packer version` reports.
pub(crate) fn packer_version(sh: &Shell, packer: &std::path::Path) -> anyhow::Result<Version> {
    let out = cmd!(sh, "{packer} version")
        .env("CHECKPOINT_DISABLE", "1")
        .ignore_stderr()
        .read()
        .with_context(|| format!("run {} version", packer.display()))?;
    let first = out.lines().next().unwrap_or_default();
    Version::find_in(first)
        .ok_or_else(|| anyhow!("cannot read a version from `packer version`: {first:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_packer_prints() {
        assert_eq!(Version::find_in("Packer v1.6.6"), Some(Version(1, 6, 6)));
        assert_eq!(
            Version::find_in("Packer v1.11.2\n\nYour version of Packer is out of date!"),
            Some(Version(1, 11, 2))
        );
        assert_eq!(
            Version::find_in("TS,,version,1.6.6"),
            Some(Version(1, 6, 6))
        );
        assert_eq!(Version::find_in("Packer"), None);
    }

    #[test]
    fn versions_compare_numerically_not_as_text() {
        assert!(Version(1, 10, 0) > Version(1, 9, 9));
        assert!(Version(1, 6, 6) < Version(1, 7, 0));
    }
}
