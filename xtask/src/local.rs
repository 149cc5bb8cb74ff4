//! `cargo xtask build --local`: rehearses the real build offline. moto stands in for AWS,
//! an sshd in a sandbox (mount and pid namespaces, see `xtask/sandbox/`) stands in for the
//! build instance, a throwaway role profile with an MFA device exercises the credential
//! path, and the real template and scripts go through the very command a real build runs
//! (`cargo xtask build`, started again with the throwaway profile). Afterwards the image is
//! checked the way one would check a launched instance, and the first-run script is run.

mod background;
mod inspect;
mod packer_log;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::checklist::{self, Check};
use crate::moto::{self, Moto};
use crate::{child, setup};
use background::{Background, Workdir, wait_for_port};
use inspect::{ami_check, enter, first_run, in_sandbox, role_check};
use packer_log::packer_failure;

/// The throwaway profile the rehearsal assumes, with its MFA device.
pub(crate) const PROFILE: &str = "packer-ecs-local";
const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/packer-ecs-local";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/packer-ecs-local";
/// The cluster, stack and group the first-run script is tried with.
const CLUSTER: &str = "rehearsal";
const STACK: &str = "packer-ecs-local";
const GROUP: &str = "rehearsal-asg";
/// Never contacted: the sandbox only records where the proxy settings went.
const PROXY_URL: &str = "http://proxy.rehearsal.invalid:3128";

/// Writes an AWS config and credentials file holding a static-key source profile and a
/// role profile that requires MFA (its code comes from `mfa_process`: moto takes any six
/// digits), and returns their paths.
pub(crate) fn write_profile(dir: &Path, region: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let config = dir.join("aws-config");
    let credentials = dir.join("aws-credentials");
    std::fs::write(
        &config,
        format!(
            "[profile {PROFILE}]\nrole_arn = {ROLE_ARN}\nsource_profile = {PROFILE}-source\n\
             mfa_serial = {MFA_SERIAL}\nmfa_process = echo 123456\n\
             role_session_name = packer-ecs-local\nregion = {region}\n\n\
             [profile {PROFILE}-source]\nregion = {region}\n"
        ),
    )
    .context("write the throwaway AWS config")?;
    // moto's documented fake keys: nothing real is ever written here.
    std::fs::write(
        &credentials,
        format!(
            "[{PROFILE}-source]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        ),
    )
    .context("write the throwaway AWS credentials")?;
    Ok((config, credentials))
}

/// What the rehearsal takes from `cargo xtask build`'s command line.
pub(crate) struct Request {
    /// `cargo xtask build`'s own arguments less `--local`: the inner build gets them all.
    pub(crate) build_args: Vec<OsString>,
    /// The region built in (`--region`, else the template's default).
    pub(crate) region: String,
    /// The time zone asked for with `--timezone`, which the image must then have.
    pub(crate) timezone: Option<String>,
    /// Where `manifest.json` and `build/` go.
    pub(crate) place: PathBuf,
    pub(crate) tag_given: bool,
}

pub(crate) fn run(sh: &Shell, request: Request) -> anyhow::Result<()> {
    if !setup::is_root() {
        bail!(
            "--local isolates the build instance in mount and pid namespaces, which needs root \
             (run it as root, e.g. in a container or VM)"
        );
    }
    setup::apt(sh, setup::REHEARSAL)?;
    let python = setup::moto_python(sh)?;
    child::catch_interrupts();

    let work = Workdir::create()?;
    let moto = Moto::start(&python)?;
    say(&format!("AWS stand-in: moto on {}", moto.endpoint()));
    let (config, credentials) = write_profile(work.path(), &request.region)?;
    let key = work.path().join("ssh-key");
    cmd!(
        sh,
        "ssh-keygen -q -t ed25519 -N '' -C packer-ecs-local -f {key}"
    )
    .quiet()
    .run()
    .context("make the rehearsal's SSH key")?;
    let public_key = std::fs::read_to_string(key.with_extension("pub"))
        .context("read the rehearsal's SSH key")?;
    let state = work.path().join("instance");
    let ssh_port = moto::free_port()?;
    let mut instance = Background::spawn(
        "the sandboxed build instance",
        enter(
            &state,
            &["sandbox-sshd", &ssh_port.to_string(), public_key.trim()],
        ),
        work.path().join("instance.log"),
    )?;
    wait_for_port(ssh_port, &mut instance)?;
    say(&format!(
        "build instance: sshd in a sandbox on 127.0.0.1:{ssh_port}"
    ));
    child::check_interrupted()?;

    let packer_log = work.path().join("packer.log");
    let mut build = Command::new(std::env::current_exe().context("find xtask's own path")?);
    build.arg("build").args(&request.build_args).args([
        "--profile",
        PROFILE,
        "--no-cache",
        "--rehearsal",
    ]);
    if !request.tag_given {
        build.args(["--tag", "local"]);
    }
    for (name, value) in [
        ("ec2_endpoint", moto.endpoint()),
        ("skip_region_validation", "true".into()),
        ("ssh_host", "127.0.0.1".into()),
        ("ssh_port", ssh_port.to_string()),
        ("ssh_private_key_file", key.display().to_string()),
        ("ssh_timeout", "30s".into()),
    ] {
        build.arg("--var").arg(format!("{name}={value}"));
    }
    // Nothing of the user's own AWS set-up reaches the rehearsal, and nothing of the
    // rehearsal reaches the user's AWS.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            build.env_remove(&name);
        }
    }
    build
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PACKER_LOG", "1")
        .env("PACKER_LOG_PATH", &packer_log);
    say("building the real template against the stand-ins");
    moto.start_recording()?;
    let status = child::run(build)?;

    // Before anything is torn down: did packer leave an instance running?
    let live = moto
        .live_instances()
        .context("ask moto for running instances")?;
    let mut checks = vec![Check::new(
        live.is_empty(),
        "no build instance left running",
        if live.is_empty() {
            "none in the local AWS".to_string()
        } else {
            live.join(" ")
        },
    )];
    if !status.success() {
        eprint!("{}", checklist::render(&checks));
        let failure = packer_failure(&std::fs::read_to_string(&packer_log).unwrap_or_default());
        bail!("the rehearsal's build failed{failure}");
    }
    child::check_interrupted()?;

    // One sandbox at a time on a state folder: the build instance is done with.
    drop(instance);
    checks.push(role_check(&moto)?);
    checks.push(ami_check(&moto, &request.place)?);
    checks.extend(checklist::parse(
        "image",
        &in_sandbox(
            &state,
            "image.sh",
            &[request.timezone.as_deref().unwrap_or("")],
        )?,
    ));
    let prefix = format!("/{STACK}/ec2/{GROUP}");
    for proxy in [None, Some(PROXY_URL)] {
        child::check_interrupted()?;
        let section = if proxy.is_some() {
            "first run, proxy"
        } else {
            "first run"
        };
        // Twice each: a rerun must change nothing.
        checks.push(first_run(
            &state,
            &request.region,
            proxy,
            section,
            "health check",
        )?);
        checks.push(first_run(
            &state,
            &request.region,
            proxy,
            section,
            "run again",
        )?);
        checks.extend(checklist::parse(
            section,
            &in_sandbox(
                &state,
                "firstrun.sh",
                &[CLUSTER, &prefix, proxy.unwrap_or("")],
            )?,
        ));
    }
    drop(moto);
    print!("{}", checklist::render(&checks));
    if checks.iter().any(|c| !c.ok) {
        bail!("the rehearsal found problems (the ✗ lines above)");
    }
    Ok(())
}

fn say(line: &str) {
    eprintln!("local: {line}");
}
