//! One-time set-up of what the tests and the local rehearsal need: Debian packages when
//! run as root on Debian or Ubuntu, and moto plus the AWS CLI in a project-local Python
//! environment under `target/` when the system Python lacks them. Says what it installs.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

/// A program the project needs and the Debian package that provides it.
#[derive(Clone, Copy)]
pub(crate) struct Package {
    pub(crate) program: &'static str,
    pub(crate) package: &'static str,
}

pub(crate) const PACKER: Package = Package {
    program: "packer",
    package: "packer",
};
pub(crate) const SHELLCHECK: Package = Package {
    program: "shellcheck",
    package: "shellcheck",
};
pub(crate) const SSHD: Package = Package {
    program: "/usr/sbin/sshd",
    package: "openssh-server",
};
pub(crate) const SSH_KEYGEN: Package = Package {
    program: "ssh-keygen",
    package: "openssh-client",
};
pub(crate) const SUDO: Package = Package {
    program: "sudo",
    package: "sudo",
};
// The image's scripts run in the sandbox with the host's jq and curl (the first-run script
// uses both on AL2023) and its time zones.
pub(crate) const JQ: Package = Package {
    program: "jq",
    package: "jq",
};
pub(crate) const CURL: Package = Package {
    program: "curl",
    package: "curl",
};
pub(crate) const TZDATA: Package = Package {
    program: "/usr/share/zoneinfo/US/Eastern",
    package: "tzdata",
};
pub(crate) const UNSHARE: Package = Package {
    program: "unshare",
    package: "util-linux",
};

/// What `cargo xtask build --local` needs: packer, and the sandboxed build instance's sshd,
/// sudo and namespaces, with the host's jq, curl and time zones its scripts use.
pub(crate) const REHEARSAL: &[Package] =
    &[PACKER, SSHD, SSH_KEYGEN, SUDO, UNSHARE, JQ, CURL, TZDATA];

fn present(program: &str) -> bool {
    if program.contains('/') {
        Path::new(program).is_file()
    } else {
        which::which(program).is_ok()
    }
}

/// Installs the packages whose programs are missing, with apt-get, when this is possible
/// (root, apt-get present); otherwise one line naming what to install.
pub(crate) fn apt(sh: &Shell, wanted: &[Package]) -> anyhow::Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| !present(p.program))
        .map(|p| p.package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() || which::which("apt-get").is_err() {
        bail!("missing {list} (install them: sudo apt-get install {list})");
    }
    eprintln!("setup: installing {list} with apt-get");
    cmd!(sh, "apt-get update -qq")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .quiet()
        .ignore_stdout()
        .run()
        .context("apt-get update")?;
    cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends {missing...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .quiet()
    .ignore_stdout()
    .run()
    .with_context(|| format!("apt-get install {list}"))?;
    Ok(())
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A Python interpreter that can `import moto.server`: the system's if it can, else one in
/// `target/python` that this function creates and fills.
pub(crate) fn moto_python(sh: &Shell) -> anyhow::Result<PathBuf> {
    let has_moto = |python: &Path| {
        cmd!(sh, "{python} -c 'import moto.server, flask_cors'")
            .quiet()
            .ignore_stderr()
            .ignore_stdout()
            .run()
            .is_ok()
    };
    // PACKER_ECS_PYTHON names an interpreter to use; `cargo xtask test` sets it for the tests.
    let candidates = std::env::var_os("PACKER_ECS_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain(which::which("python3").ok());
    for python in candidates {
        if has_moto(&python) {
            // The interpreter itself, not a version manager's shim that depends on HOME.
            let real = cmd!(sh, "{python} -c 'import sys; print(sys.executable)'")
                .quiet()
                .read()
                .map(PathBuf::from)
                .unwrap_or(python);
            return Ok(real);
        }
    }
    let python = venv(sh)?;
    if !has_moto(&python) {
        eprintln!("setup: installing moto[server] into target/python");
        pip_install(sh, &python, &["moto[server]"])?;
    }
    Ok(python)
}

/// The AWS CLI: the one on `PATH`, else one installed into `target/python`.
pub(crate) fn aws_cli(sh: &Shell) -> anyhow::Result<PathBuf> {
    if let Ok(aws) = which::which("aws") {
        return Ok(aws);
    }
    let python = venv(sh)?;
    let aws = python.with_file_name("aws");
    if !aws.is_file() {
        eprintln!("setup: installing the AWS CLI into target/python");
        pip_install(sh, &python, &["awscli"])?;
    }
    Ok(aws)
}

/// `target/python`, a virtual environment of the project's own, created on first use.
fn venv(sh: &Shell) -> anyhow::Result<PathBuf> {
    let dir = crate::project_root().join("target").join("python");
    let python = dir.join("bin").join("python");
    if !python.is_file() {
        let python3 = which::which("python3")
            .context("python3 not found (install it: apt-get install python3 python3-venv)")?;
        eprintln!("setup: creating a Python environment in target/python");
        cmd!(sh, "{python3} -m venv {dir}")
            .quiet()
            .ignore_stdout()
            .run()
            .context("create target/python (apt-get install python3-venv)")?;
    }
    Ok(python)
}

fn pip_install(sh: &Shell, python: &Path, packages: &[&str]) -> anyhow::Result<()> {
    cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check {packages...}"
    )
    .quiet()
    .run()
    .with_context(|| format!("pip install {}", packages.join(" ")))
}
