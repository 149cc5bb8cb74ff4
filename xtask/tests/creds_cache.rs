//! The session cache is the AWS CLI's own: each reuses the other's sessions, and parallel
//! runs share one AssumeRole call.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use std::os::unix::fs::PermissionsExt;

use support::*;

#[test]
fn the_aws_cli_reuses_a_session_creds_made() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let (out, _, stderr) = run(home.xtask(
        &moto.endpoint(),
        &["creds", "--profile", "build", "--mfa-token", "123456"],
    ));
    assert!(out.status.success(), "{stderr}");
    let files = home.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    start_recording(&moto);
    // stdin is /dev/null: had the CLI missed the cache, it could not have read a code.
    let mut cli = home.command(aws(), &moto.endpoint());
    cli.args([
        "sts",
        "get-caller-identity",
        "--profile",
        "build",
        "--output",
        "text",
    ]);
    let (out, stdout, stderr) = run(cli);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("assumed-role/packer-build/alice-build"),
        "{stdout}"
    );
    let recording = moto.recording().unwrap();
    assert_eq!(assume_role_calls(&recording), 0, "{recording}");
}

#[test]
fn creds_reuses_a_session_the_aws_cli_made() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let mut cli = home.command(aws(), &moto.endpoint());
    cli.args(["sts", "get-caller-identity", "--profile", "plain"]);
    let (out, _, stderr) = run(cli);
    assert!(out.status.success(), "{stderr}");
    let cli_file = home.cache_files();
    assert_eq!(cli_file.len(), 1, "the CLI cached nothing: {cli_file:?}");
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cli_file[0]).unwrap()).unwrap();

    start_recording(&moto);
    let (out, stdout, stderr) = run(home.xtask(
        &moto.endpoint(),
        &["creds", "--profile", "plain", "--format", "json"],
    ));
    assert!(out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["AccessKeyId"], cached["Credentials"]["AccessKeyId"]);
    let recording = moto.recording().unwrap();
    assert_eq!(assume_role_calls(&recording), 0, "{recording}");
}

#[test]
fn two_runs_at_once_make_one_assume_role_call() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new("");
    let children: Vec<_> = (0..2)
        .map(|_| {
            let mut cmd = home.xtask(
                &moto.endpoint(),
                &[
                    "creds",
                    "--profile",
                    "build",
                    "--mfa-token",
                    "123456",
                    "--quiet",
                ],
            );
            cmd.stdout(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert!(outputs.iter().all(|o| o.status.success()));
    assert!(
        outputs[0].stdout == outputs[1].stdout,
        "the two runs printed different sessions"
    );
    let recording = moto.recording().unwrap();
    assert_eq!(assume_role_calls(&recording), 1, "{recording}");
}

#[test]
fn a_corrupt_cache_file_is_replaced_with_a_warning() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let args = ["creds", "--profile", "plain", "--quiet"];
    assert!(run(home.xtask(&moto.endpoint(), &args)).0.status.success());
    let file = home.cache_files().remove(0);
    std::fs::write(&file, "{ half a file").unwrap();
    let (out, _, stderr) = run(home.xtask(&moto.endpoint(), &args));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with("warning: the cached session"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("SessionToken"), "{text}");
}

#[test]
fn no_cache_neither_reads_nor_writes_the_cache() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let args = ["creds", "--profile", "plain", "--quiet", "--no-cache"];
    assert!(run(home.xtask(&moto.endpoint(), &args)).0.status.success());
    assert!(home.cache_files().is_empty());
    // A cached session exists now, but --no-cache still asks STS.
    assert!(
        run(home.xtask(&moto.endpoint(), &args[..4]))
            .0
            .status
            .success()
    );
    start_recording(&moto);
    assert!(run(home.xtask(&moto.endpoint(), &args)).0.status.success());
    assert_eq!(assume_role_calls(&moto.recording().unwrap()), 1);
}

#[test]
fn a_cached_session_shorter_than_min_ttl_is_renewed() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    // duration_seconds = 1800: a fresh session lasts just under 30 min.
    let first = [
        "creds",
        "--profile",
        "build",
        "--mfa-token",
        "123456",
        "--quiet",
    ];
    assert!(run(home.xtask(&moto.endpoint(), &first)).0.status.success());
    start_recording(&moto);
    let mut again = first.to_vec();
    again.extend(["--min-ttl", "20"]);
    assert!(run(home.xtask(&moto.endpoint(), &again)).0.status.success());
    assert_eq!(assume_role_calls(&moto.recording().unwrap()), 0);
    let mut longer = first.to_vec();
    longer.extend(["--min-ttl", "29", "--duration", "3600"]);
    assert!(
        run(home.xtask(&moto.endpoint(), &longer))
            .0
            .status
            .success()
    );
    assert_eq!(assume_role_calls(&moto.recording().unwrap()), 1);
}

#[test]
fn a_session_that_cannot_last_min_ttl_is_refused_before_any_call() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new("");
    let (out, _, stderr) = run(home.xtask(
        &moto.endpoint(),
        &[
            "creds",
            "--profile",
            "build",
            "--mfa-token",
            "123456",
            "--min-ttl",
            "45",
        ],
    ));
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("last 30 min, but more than 45 min are needed"),
        "{stderr}"
    );
    assert_eq!(assume_role_calls(&moto.recording().unwrap()), 0);
    assert!(home.cache_files().is_empty());
}

#[test]
fn a_session_exactly_as_long_as_min_ttl_is_refused_before_any_prompt() {
    // duration_seconds = 1800 and --min-ttl 30: a fresh session would arrive a moment short.
    let home = Home::new("");
    let mut cmd = home.xtask(
        "http://127.0.0.1:9",
        &["creds", "--profile", "build", "--min-ttl", "30"],
    );
    pty::without_terminal(&mut cmd);
    let (out, _, stderr) = run(cmd);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("but more than 30 min are needed"),
        "{stderr}"
    );
}

#[test]
fn a_temporary_file_left_by_a_killed_run_is_removed_by_the_next_write() {
    let sts = support::standin::StandIn::start(vec![support::standin::session()]);
    let home = Home::new("");
    std::fs::create_dir_all(home.cache_dir()).unwrap();
    // What a run killed between writing and renaming leaves: a session's secret.
    let left = home
        .cache_dir()
        .join(".13b2d88bd3d707b44c9242446a067de623564288.4242.tmp");
    let file = std::fs::File::create(&left).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    drop(file);

    let (out, _, stderr) = run(home.xtask(
        &sts.endpoint(),
        &["creds", "--profile", "build", "--mfa-token", "123456"],
    ));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(home.cache_files().len(), 1);
    assert!(!left.exists());
}
