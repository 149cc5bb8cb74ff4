//! The rehearsal's checks after the build: the role the build assumed, the AMI in moto,
//! the image looked at from inside the sandbox, and the first-run script run there.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::{CLUSTER, GROUP, MFA_SERIAL, ROLE_ARN, STACK};
use crate::checklist::Check;
use crate::moto::{self, Moto};

/// `xtask/sandbox/enter.sh STATE ARGS…`
pub(super) fn enter(state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(crate::project_root().join("xtask/sandbox/enter.sh"));
    command.arg(state).args(args);
    command
}

/// Runs one of `xtask/sandbox/checks/` inside the sandbox and returns what it printed.
pub(super) fn in_sandbox(state: &Path, script: &str, args: &[&str]) -> anyhow::Result<String> {
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
pub(super) fn first_run(
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
pub(super) fn role_check(moto: &Moto) -> anyhow::Result<Check> {
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
pub(super) fn ami_check(moto: &Moto, place: &Path) -> anyhow::Result<Check> {
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
