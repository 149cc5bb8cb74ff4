//! What git says about the checkout being built: the commit and a describe-style tag.

use std::path::Path;
use std::process::{Command, Stdio};

/// `git rev-parse HEAD` in `repo`, or `None` outside a git checkout or without git.
pub(crate) fn commit(repo: &Path) -> Option<String> {
    read(repo, &["rev-parse", "HEAD"])
}

/// `git describe --tags --always --dirty` in `repo`, or `None`.
pub(crate) fn describe(repo: &Path) -> Option<String> {
    read(repo, &["describe", "--tags", "--always", "--dirty"])
}

fn read(repo: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}
