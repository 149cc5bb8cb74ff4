//! Bad input: one line naming the fix, a non-zero exit, no call to STS, no cache file.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use std::path::Path;

use support::standin::{self, StandIn};
use support::*;

/// Runs `creds ARGS` against a stand-in that would answer, and returns stderr after
/// checking the run failed with one line, called nothing and cached nothing.
fn refused(extra_config: &str, args: &[&str]) -> String {
    let sts = StandIn::start(vec![standin::session()]);
    let home = Home::new(extra_config);
    let mut all = vec!["creds"];
    all.extend(args);
    let cmd = home.xtask(&sts.endpoint(), &all);
    refused_by(&home, &sts, cmd)
}

/// Runs `cmd` and checks it failed with one line, called nothing and cached nothing.
fn refused_by(home: &Home, sts: &StandIn, cmd: std::process::Command) -> String {
    let (out, stdout, stderr) = run(cmd);
    assert!(!out.status.success());
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains(BASE_SECRET));
    assert!(sts.requests().is_empty(), "{:?}", sts.requests());
    assert!(home.cache_files().is_empty());
    stderr
}

/// `creds --profile build` with the variables set, refused: its stderr.
fn refused_with(home: &Home, vars: &[(&str, &Path)]) -> String {
    let sts = StandIn::start(vec![standin::session()]);
    let mut cmd = home.xtask(&sts.endpoint(), &["creds", "--profile", "build"]);
    cmd.envs(vars.iter().copied());
    refused_by(home, &sts, cmd)
}

#[test]
fn an_unknown_profile_lists_the_ones_that_exist() {
    let stderr = refused("", &["--profile", "prod"]);
    assert!(stderr.contains("profile \"prod\" is not in /"), "{stderr}");
    assert!(
        stderr.contains("/.aws/config or /") && stderr.contains("/.aws/credentials (known"),
        "{stderr}"
    );
    assert!(stderr.contains("known: base, build, plain"), "{stderr}");
}

#[test]
fn a_role_without_a_source_says_to_add_one() {
    let stderr = refused(
        "[profile lost]\nrole_arn = arn:aws:iam::1:role/x\n",
        &["--profile", "lost"],
    );
    assert!(
        stderr.contains("has role_arn but no source_profile or credential_source"),
        "{stderr}"
    );
}

#[test]
fn a_source_profile_loop_is_refused() {
    let config = "[profile ping]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = pong\n\n\
                  [profile pong]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = ping\n";
    let stderr = refused(config, &["--profile", "ping"]);
    assert!(stderr.contains("loop: ping → pong → ping"), "{stderr}");
}

#[test]
fn a_malformed_config_file_is_named_with_its_line() {
    let stderr = refused("[profile broken\nregion = x\n", &["--profile", "build"]);
    // The Home's profiles take 18 lines; the broken one is the next.
    assert!(stderr.contains("cannot parse /"), "{stderr}");
    assert!(stderr.contains(".aws/config on line 19"), "{stderr}");
    assert!(stderr.contains("must end with ']'"), "{stderr}");
}

#[test]
fn an_mfa_code_that_is_not_six_digits_is_refused_before_any_call() {
    let stderr = refused("", &["--profile", "build", "--mfa-token", "12345x"]);
    assert!(stderr.contains("six digits"), "{stderr}");
    assert!(!stderr.contains("12345x"), "{stderr}");
}

#[test]
fn a_failing_mfa_process_is_one_line() {
    let config = format!(
        "[profile scripted]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = {SERIAL}\n\
         mfa_process = exit 3\n"
    );
    let stderr = refused(&config, &["--profile", "scripted"]);
    assert!(stderr.contains("mfa_process failed"), "{stderr}");
}

#[test]
fn mfa_process_supplies_the_code() {
    let sts = StandIn::start(vec![standin::session()]);
    let home = Home::new(&format!(
        "[profile scripted]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = {SERIAL}\n\
         mfa_process = echo 424242\n"
    ));
    let (out, _, stderr) = run(home.xtask(&sts.endpoint(), &["creds", "--profile", "scripted"]));
    assert!(out.status.success(), "{stderr}");
    let calls = sts.requests();
    assert_eq!(calls[0]["TokenCode"], "424242");
    assert_eq!(calls[0]["SerialNumber"], SERIAL);
}

#[test]
fn a_min_ttl_too_large_to_count_is_one_line_not_a_crash() {
    for args in [
        &["creds", "--min-ttl", "99999999999999999h"][..],
        &["exec", "--min-ttl", "999999999999999999", "--", "true"],
        &["build", "--min-ttl", "99999999999999999h"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not a duration like 30m"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_config_file_that_is_a_directory_is_named() {
    let home = Home::new("");
    let dir = home.path().join("configs");
    std::fs::create_dir(&dir).unwrap();
    let stderr = refused_with(&home, &[("AWS_CONFIG_FILE", &dir)]);
    assert!(
        stderr.contains(&format!(
            "cannot read the AWS config file {} (AWS_CONFIG_FILE): it is a directory",
            dir.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_named_with_the_profiles_that_do_exist() {
    let home = Home::new("");
    let missing = home.path().join("nowhere/config");
    let stderr = refused_with(&home, &[("AWS_CONFIG_FILE", &missing)]);
    // The default credentials file is still read: its one profile is offered.
    assert!(
        stderr.contains(&format!(
            "profile \"build\" is not in {} (AWS_CONFIG_FILE, no such file) or {} (known: base)",
            missing.display(),
            home.path().join(".aws/credentials").display()
        )),
        "{stderr}"
    );
}

#[test]
fn with_neither_file_the_paths_looked_at_are_named() {
    let home = Home::new("");
    let config = home.path().join("none/config");
    let credentials = home.path().join("none/credentials");
    let stderr = refused_with(
        &home,
        &[
            ("AWS_CONFIG_FILE", &config),
            ("AWS_SHARED_CREDENTIALS_FILE", &credentials),
        ],
    );
    assert!(
        stderr.contains(&format!(
            "is not in {} (AWS_CONFIG_FILE, no such file) or {} (AWS_SHARED_CREDENTIALS_FILE, \
             no such file), which hold no profiles",
            config.display(),
            credentials.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_credentials_file_that_is_not_utf8_is_named_with_its_line() {
    let home = Home::new("");
    let latin1 = home.path().join("credentials.latin1");
    let mut text = format!("[base]\naws_secret_access_key = {BASE_SECRET}\n# caf").into_bytes();
    text.extend(b"\xe9\n");
    std::fs::write(&latin1, text).unwrap();
    let stderr = refused_with(&home, &[("AWS_SHARED_CREDENTIALS_FILE", &latin1)]);
    assert!(
        stderr.contains(&format!(
            "cannot read the AWS credentials file {} (AWS_SHARED_CREDENTIALS_FILE): line 3 is \
             not UTF-8 text",
            latin1.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_config_file_that_cannot_be_opened_is_named() {
    use std::os::unix::fs::PermissionsExt;

    let home = Home::new("");
    let config = home.path().join(".aws/config");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o000)).unwrap();
    let sts = StandIn::start(vec![standin::session()]);
    let args = ["creds", "--profile", "build"];
    // Root reads a mode 000 file anyway: run without the capabilities that let it, so the
    // kernel refuses the read as it would for anyone else.
    let cmd = if std::fs::read(&config).is_ok() {
        let mut cmd = home.command("setpriv", &sts.endpoint());
        cmd.args(["--bounding-set=-dac_override,-dac_read_search", "--"])
            .arg(env!("CARGO_BIN_EXE_xtask"))
            .args(args);
        cmd
    } else {
        home.xtask(&sts.endpoint(), &args)
    };
    let stderr = refused_by(&home, &sts, cmd);
    assert!(
        stderr.contains(&format!(
            "cannot read the AWS config file {}: permission denied",
            config.display()
        )),
        "{stderr}"
    );
}
