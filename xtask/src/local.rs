//! `cargo xtask build --local`: rehearses the real build offline. moto stands in for AWS,
//! an sshd in a sandbox (mount and pid namespaces, see `xtask/sandbox/`) stands in for the
//! build instance, a throwaway role profile with an MFA device exercises the credential
//! path, and the real template and scripts go through the very command a real build runs
//! (`cargo xtask build`, started again with the throwaway profile). Afterwards the image is
//! checked the way one would check a launched instance, and the first-run script is run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::checklist::{self, Check};
use crate::moto::{self, Moto};
use crate::{child, setup};

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

/// A folder of the rehearsal's own under `target/`, removed when dropped.
pub(crate) struct Workdir {
    path: PathBuf,
}

impl Workdir {
    pub(crate) fn create() -> anyhow::Result<Workdir> {
        let path = crate::project_root()
            .join("target")
            .join("local")
            .join(format!("run-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("remove stale {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("create {}", path.display()))?;
        Ok(Workdir { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

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

/// A process started in a process group of its own (so a Ctrl-C at the terminal reaches
/// packer, not the stand-ins packer still needs to clean up), stopped with its whole group
/// when dropped.
pub(crate) struct Background {
    child: Child,
    name: &'static str,
    /// Where its stdout and stderr go, to quote when it dies early.
    log: PathBuf,
}

impl Background {
    pub(crate) fn spawn(
        name: &'static str,
        mut command: Command,
        log: PathBuf,
    ) -> anyhow::Result<Background> {
        use std::os::unix::process::CommandExt;
        let file =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        // SAFETY: prctl is async-signal-safe. Should xtask die without running its
        // destructors (SIGKILL), the kernel stops the stand-in too.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        Ok(Background { child, name, log })
    }

    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            // The log dies with the rehearsal's folder: say what it said now.
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let said: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
            bail!(
                "{} exited early ({status}): {}",
                self.name,
                said[said.len().saturating_sub(3)..].join(" | ")
            );
        }
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
fn wait_for_port(port: u16, what: &mut Background) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        what.check_running()?;
        if Instant::now() > deadline {
            bail!(
                "{} did not listen on 127.0.0.1:{port} within 20 s",
                what.name
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
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

/// `xtask/sandbox/enter.sh STATE ARGS…`
fn enter(state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(crate::project_root().join("xtask/sandbox/enter.sh"));
    command.arg(state).args(args);
    command
}

/// Runs one of `xtask/sandbox/checks/` inside the sandbox and returns what it printed.
fn in_sandbox(state: &Path, script: &str, args: &[&str]) -> anyhow::Result<String> {
    // The repository may not be visible inside (under /home, say): hand the checks in,
    // all of them, for they source lib.sh from their own folder.
    let source = crate::project_root().join("xtask/sandbox/checks");
    let copy = state.join("root/tmp/checks");
    std::fs::create_dir_all(&copy)?;
    let entries =
        std::fs::read_dir(&source).with_context(|| format!("read {}", source.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", source.display()))?;
        std::fs::copy(entry.path(), copy.join(entry.file_name()))
            .with_context(|| format!("copy {} into the sandbox", entry.path().display()))?;
    }
    let inside = format!("/tmp/checks/{script}");
    let mut all = vec!["bash", inside.as_str()];
    all.extend_from_slice(args);
    let output = enter(state, &all)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run the check {script} in the sandbox"))?;
    if !output.status.success() {
        bail!(
            "the check {script} failed to run: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs the image's first-run script in the sandbox, as user data would.
fn first_run(
    state: &Path,
    region: &str,
    proxy: Option<&str>,
    section: &str,
    what: &str,
) -> anyhow::Result<Check> {
    let mut command = enter(
        state,
        &[
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ],
    );
    command.args([
        format!("ECS_CLUSTER={CLUSTER}"),
        format!("STACK_NAME={STACK}"),
        format!("AUTOSCALING_GROUP={GROUP}"),
        format!("AWS_DEFAULT_REGION={region}"),
        format!("PROXY_URL={}", proxy.unwrap_or("")),
        "HEALTH_CHECK_TIMEOUT=30".into(),
        "/home/ec2-user/firstrun.sh".into(),
    ]);
    let output = command
        .stdin(Stdio::null())
        .output()
        .context("run the first-run script in the sandbox")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let last = text.lines().last().unwrap_or("").to_string();
    Ok(Check::new(
        output.status.success(),
        format!("{section}: {what}"),
        last,
    ))
}

/// The build assumed the throwaway role with an MFA code, as a real build would.
fn role_check(moto: &Moto) -> anyhow::Result<Check> {
    let bodies = moto.recorded_bodies()?;
    let assumed = bodies.iter().any(|body| {
        body.contains("Action=AssumeRole")
            && body.contains("SerialNumber=")
            && body.contains("TokenCode=")
    });
    Ok(Check::new(
        assumed,
        "credentials",
        if assumed {
            format!("role {ROLE_ARN} assumed with MFA device {MFA_SERIAL}")
        } else {
            "the local STS saw no AssumeRole with an MFA code".to_string()
        },
    ))
}

/// The AMI the outputs name exists in the local AWS, with the build's tags.
fn ami_check(moto: &Moto, place: &Path) -> anyhow::Result<Check> {
    let ami_json = place.join("build").join("ami.json");
    let text = std::fs::read_to_string(&ami_json)
        .with_context(|| format!("read {}", ami_json.display()))?;
    let outputs: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parse {}", ami_json.display()))?;
    let ami = outputs["ami_id"].as_str().unwrap_or_default();
    let xml = moto.ec2(&format!("Action=DescribeImages&ImageId.1={ami}"))?;
    let tags = moto::xml_values(&xml, "key");
    let wanted = ["Name", "SourceAMI", "SourceAMIName", "BuildCommit"];
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|tag| !tags.iter().any(|t| t == tag))
        .collect();
    let found = !ami.is_empty() && xml.contains(&format!("<imageId>{ami}</imageId>"));
    Ok(Check::new(
        found && missing.is_empty() && outputs["local"] == true,
        "AMI in the local AWS",
        if !found {
            format!(
                "{} names {ami:?}, which moto does not have",
                ami_json.display()
            )
        } else if !missing.is_empty() {
            format!("{ami} lacks the tags {}", missing.join(", "))
        } else {
            format!(
                "{ami}, tagged {}, in {} (marked local)",
                wanted.join(", "),
                ami_json.display()
            )
        },
    ))
}

/// ` in scripts/storage.sh (exit status 7): what it printed last`, read from packer's log:
/// the shell provisioner that was running when the build failed, and its last lines.
fn packer_failure(log: &str) -> String {
    const MARK: &str = "Provisioning with shell script: ";
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    let Some(start) = lines.iter().rposition(|l| l.contains(MARK)) else {
        return String::new();
    };
    let script = lines[start].split(MARK).nth(1).unwrap_or("").trim();
    let script = match script.rsplit_once("/scripts/") {
        Some((_, name)) => format!("scripts/{name}"),
        None => script.to_string(),
    };
    let mut said = Vec::new();
    let mut status = String::new();
    for line in &lines[start + 1..] {
        if let Some((_, code)) = line.split_once("non-zero exit status: ") {
            status = format!(" (exit status {})", code.split('.').next().unwrap_or(code));
            break;
        }
        // The script's stdout comes as `ui:     name: …`, its stderr as `ui error: ==> name: …`.
        let text = match (line.split_once(" ui: "), line.split_once(" ui error: ")) {
            (Some((_, ui)), _) if ui.starts_with("    ") => ui.trim_start(),
            (_, Some((_, ui))) => ui.strip_prefix("==> ").unwrap_or(ui),
            _ => continue,
        };
        if let Some((_, text)) = text.split_once(": ") {
            said.push(text.trim().to_string());
        }
    }
    let tail = said[said.len().saturating_sub(3)..].join(" | ");
    format!(" in {script}{status}: {tail}")
}

/// The text without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stand_in_that_dies_early_is_reported_with_what_it_said() {
        let dir = std::env::temp_dir().join(format!("xtask-bg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo starting; echo 'unshare: permission denied' >&2; exit 3",
        ]);
        let mut early = Background::spawn("the test stand-in", command, dir.join("log")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            if let Err(err) = early.check_running() {
                break err.to_string();
            }
            assert!(Instant::now() < deadline, "the stand-in did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            err,
            "the test stand-in exited early (exit status: 3): starting | unshare: permission denied"
        );
        drop(early);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_build_names_the_script_its_status_and_what_it_said() {
        let log = "\
2026/11/25 17:47:04 ui: \u{1b}[1;32m==> amazon-ebs.ecs: Provisioning with shell script: /r/packer/../scripts/time.sh\u{1b}[0m
2026/11/25 17:47:05 ui: \u{1b}[1;32m==> amazon-ebs.ecs: Provisioning with shell script: /r/packer/../scripts/storage.sh\u{1b}[0m
2026/11/25 17:47:05 packer-provisioner-shell plugin: Opening /r/scripts/storage.sh for reading
2026/11/25 17:47:05 ui: \u{1b}[0;32m    amazon-ebs.ecs: storage: data volume is /dev/xvdcy\u{1b}[0m
2026/11/25 17:47:05 ui error: \u{1b}[1;31m==> amazon-ebs.ecs: mkfs.ext4: no such device\u{1b}[0m
2026/11/25 17:47:05 ui error: \u{1b}[1;31mBuild 'amazon-ebs.ecs' errored after 2 seconds: Script exited with non-zero exit status: 7.Allowed exit codes are: [0]\u{1b}[0m
2026/11/25 17:47:05 ui: \u{1b}[1;32m==> amazon-ebs.ecs: Terminating the source AWS instance...\u{1b}[0m
";
        assert_eq!(
            packer_failure(log),
            " in scripts/storage.sh (exit status 7): storage: data volume is /dev/xvdcy | mkfs.ext4: no such device"
        );
        assert_eq!(packer_failure("nothing useful"), "");
    }
}
