//! `cargo xtask creds` and `exec` against a real moto STS, checked through moto's
//! recorder, a real bash and the real AWS CLI.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use support::*;

#[test]
fn every_assume_role_argument_of_the_profile_reaches_sts() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask(
        &moto.endpoint(),
        &["creds", "--profile", "build", "--mfa-token", "123456"],
    ));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("export AWS_SESSION_TOKEN="), "{stdout}");
    let calls = sts_calls(&moto.recording().unwrap());
    let call = calls
        .iter()
        .find(|c| c["Action"] == "AssumeRole")
        .unwrap_or_else(|| panic!("no AssumeRole in {calls:?}"));
    assert_eq!(call["RoleArn"], ROLE);
    assert_eq!(call["RoleSessionName"], "alice-build");
    assert_eq!(call["SerialNumber"], SERIAL);
    assert_eq!(call["TokenCode"], "123456");
    assert_eq!(call["DurationSeconds"], "1800");
    assert_eq!(call["ExternalId"], "ext-42");
}

#[test]
fn evaled_output_lets_the_aws_cli_act_as_the_assumed_role() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let script = format!(
        "set -euo pipefail\n\
         eval \"$('{}' creds --profile build --mfa-token 123456)\"\n\
         test -z \"${{AWS_PROFILE:-}}\"\n\
         echo \"region=$AWS_REGION/$AWS_DEFAULT_REGION\"\n\
         '{}' sts get-caller-identity --query Arn --output text\n",
        env!("CARGO_BIN_EXE_xtask"),
        aws().display()
    );
    let mut cmd = home.command("bash", &moto.endpoint());
    cmd.env("AWS_PROFILE", "build").args(["-c", &script]);
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("region=eu-west-1/eu-west-1"), "{stdout}");
    assert!(
        stdout.contains("arn:aws:sts::123456789012:assumed-role/packer-build/alice-build"),
        "{stdout}"
    );
}

#[test]
fn the_summary_names_role_account_and_expiry_but_no_secret() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask(
        &moto.endpoint(),
        &[
            "creds",
            "--profile",
            "build",
            "--mfa-token",
            "271828",
            "--format",
            "json",
        ],
    ));
    assert!(out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["Version"], 1);
    let secret = doc["SecretAccessKey"].as_str().unwrap();
    let token = doc["SessionToken"].as_str().unwrap();
    assert!(doc["Expiration"].as_str().unwrap().ends_with('Z'), "{doc}");
    assert!(
        stderr.contains("assumed-role/packer-build/alice-build"),
        "{stderr}"
    );
    assert!(stderr.contains("account 123456789012"), "{stderr}");
    // duration_seconds = 1800: half an hour, give or take the seconds the call took.
    assert!(
        stderr.contains("(in 29 min)") || stderr.contains("(in 30 min)"),
        "{stderr}"
    );
    for s in [secret, token, BASE_SECRET, "271828"] {
        assert!(!stderr.contains(s), "stderr shows a secret: {stderr}");
    }
    // The second run finds the session in the cache: no code needed, and --quiet is silent.
    let (_, _, quiet) = run(home.xtask(
        &moto.endpoint(),
        &["creds", "--profile", "build", "--quiet"],
    ));
    assert_eq!(quiet, "");
}

#[test]
fn exec_hands_the_session_to_the_command_and_its_exit_status_back() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let mut cmd = home.xtask(
        &moto.endpoint(),
        &[
            "exec",
            "--mfa-token",
            "123456",
            "--",
            "sh",
            "-c",
            "echo \"profile=${AWS_PROFILE:-none} key=${AWS_ACCESS_KEY_ID%${AWS_ACCESS_KEY_ID#????}} \
             exp=${AWS_CREDENTIAL_EXPIRATION:+yes}\"; exit 7",
        ],
    );
    cmd.env("AWS_PROFILE", "build");
    let (out, stdout, stderr) = run(cmd);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert_eq!(stdout, "profile=none key=ASIA exp=yes\n");
}

#[test]
fn with_no_profile_the_default_chain_hands_on_the_environment() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let mut cmd = home.xtask(&moto.endpoint(), &["creds", "--format", "dotenv"]);
    cmd.env("AWS_ACCESS_KEY_ID", BASE_KEY)
        .env("AWS_SECRET_ACCESS_KEY", BASE_SECRET)
        .env("AWS_REGION", "us-west-2");
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("AWS_ACCESS_KEY_ID={BASE_KEY}\n")),
        "{stdout}"
    );
    assert!(stdout.contains("AWS_REGION=us-west-2\n"), "{stdout}");
    assert!(!stdout.contains("AWS_SESSION_TOKEN"), "{stdout}");
    assert!(stderr.contains("default chain"), "{stderr}");
    assert!(!stderr.contains(BASE_SECRET));
}

#[test]
fn no_credentials_anywhere_is_one_line_saying_what_was_tried() {
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask("http://127.0.0.1:9", &["creds"]));
    assert!(!out.status.success());
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: no AWS credentials found"),
        "{stderr}"
    );
    assert!(stderr.contains("environment"), "{stderr}");
}

#[test]
fn exec_passes_sigterm_on_to_the_command() {
    use std::io::BufRead;
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let mut cmd = home.xtask(
        &moto.endpoint(),
        &[
            "exec",
            "--profile",
            "plain",
            "--",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    cmd.stdout(std::process::Stdio::piped());
    // A group of its own, so that the watchdog below can end xtask and the loop alike.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    // A lost signal must fail this test, not hang the suite.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_err()
        {
            // SAFETY: kill only sends a signal to the process group we started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    });
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    // SAFETY: kill only sends a signal to the xtask we started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let told = lines.next().map(|l| l.unwrap_or_default());
    let status = child.wait().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    assert_eq!(told.as_deref(), Some("got TERM"));
    assert_eq!(status.code(), Some(42));
}

#[test]
fn a_chain_of_roles_is_assumed_in_order() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new(
        "[profile deploy]\nrole_arn = arn:aws:iam::210987654321:role/deploy\n\
         source_profile = plain\nrole_session_name = deploy\n",
    );
    let (out, _, stderr) = run(home.xtask(&moto.endpoint(), &["creds", "--profile", "deploy"]));
    assert!(out.status.success(), "{stderr}");
    let calls = sts_calls(&moto.recording().unwrap());
    let arns: Vec<_> = calls
        .iter()
        .filter(|c| c["Action"] == "AssumeRole")
        .map(|c| c["RoleArn"].as_str())
        .collect();
    assert_eq!(arns, [ROLE, "arn:aws:iam::210987654321:role/deploy"]);
    assert!(stderr.contains("account 210987654321"), "{stderr}");
}

#[test]
fn credential_source_environment_assumes_the_role_with_the_environment_keys() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new(&format!(
        "[profile ci]\nrole_arn = {ROLE}\ncredential_source = Environment\n\
         role_session_name = ci\n"
    ));
    let mut cmd = home.xtask(&moto.endpoint(), &["creds", "--profile", "ci"]);
    cmd.env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENTKEY01")
        .env("AWS_SECRET_ACCESS_KEY", BASE_SECRET);
    let (out, stdout, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("AWS_SESSION_TOKEN"), "{stdout}");
    let recording = moto.recording().unwrap();
    assert_eq!(assume_role_calls(&recording), 1);
    // The call was signed with the environment's key.
    assert!(recording.contains("AKIAENVIRONMENTKEY01"), "{recording}");
}

#[test]
fn a_profile_without_a_role_hands_on_its_own_keys_and_region() {
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask(
        "http://127.0.0.1:9",
        &["creds", "--profile", "base", "--format", "dotenv"],
    ));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "AWS_ACCESS_KEY_ID={BASE_KEY}\nAWS_SECRET_ACCESS_KEY={BASE_SECRET}\n\
             AWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\n"
        )
    );
    assert!(!stderr.contains(BASE_SECRET), "{stderr}");
}
