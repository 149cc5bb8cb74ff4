//! What STS refuses and how it fails, through a stand-in (moto accepts any MFA code and
//! never throttles): each failure is one line, no secret, no cache written.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use support::standin::{self, StandIn};
use support::*;

fn assume_calls(sts: &StandIn) -> Vec<String> {
    sts.requests()
        .iter()
        .filter(|r| r.get("Action").map(String::as_str) == Some("AssumeRole"))
        .map(|r| r.get("TokenCode").cloned().unwrap_or_default())
        .collect()
}

#[test]
fn a_refused_code_is_reported_and_asked_for_again() {
    let sts = StandIn::start(vec![standin::refuse_code(), standin::session()]);
    let home = Home::new("");
    let (child, mut tty) =
        pty::spawn(home.xtask(&sts.endpoint(), &["creds", "--profile", "build"]));
    tty.expect("Enter MFA code for");
    tty.type_line("111111");
    tty.expect("STS refused that MFA code");
    tty.expect("Enter MFA code for");
    tty.type_line("222222");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ASIASTANDIN0000EXAMPLE"));
    assert_eq!(assume_calls(&sts), ["111111", "222222"]);
    assert_eq!(home.cache_files().len(), 1);
}

#[test]
fn three_refused_codes_end_the_run_without_a_cache_file() {
    let sts = StandIn::start(vec![standin::refuse_code()]);
    let home = Home::new("");
    let (child, mut tty) =
        pty::spawn(home.xtask(&sts.endpoint(), &["creds", "--profile", "build"]));
    for code in ["111111", "222222", "333333"] {
        tty.expect("Enter MFA code for");
        tty.type_line(code);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("refused three MFA codes"), "{stderr}");
    assert!(!stderr.contains("333333"), "{stderr}");
    assert_eq!(assume_calls(&sts).len(), 3);
    assert!(home.cache_files().is_empty());
}

#[test]
fn a_refused_code_given_on_the_command_line_is_not_asked_for_again() {
    let sts = StandIn::start(vec![standin::refuse_code()]);
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask(
        &sts.endpoint(),
        &["creds", "--profile", "build", "--mfa-token", "987650"],
    ));
    assert!(!out.status.success());
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("STS refused the MFA code"), "{stderr}");
    assert!(!stderr.contains("987650"), "{stderr}");
    assert_eq!(assume_calls(&sts).len(), 1);
}

#[test]
fn throttling_that_outlasts_the_retries_is_one_line() {
    let sts = StandIn::start(vec![standin::throttle()]);
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask(
        &sts.endpoint(),
        &["creds", "--profile", "build", "--mfa-token", "123456"],
    ));
    assert!(!out.status.success());
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("throttled AssumeRole"), "{stderr}");
    assert!(stderr.contains(&sts.endpoint()), "{stderr}");
    // The SDK retried before giving up.
    assert!(assume_calls(&sts).len() > 1);
    assert!(home.cache_files().is_empty());
}

#[test]
fn a_server_error_that_outlasts_the_retries_is_one_line() {
    let sts = StandIn::start(vec![standin::unavailable()]);
    let home = Home::new("");
    let (out, _, stderr) = run(home.xtask(&sts.endpoint(), &["creds", "--profile", "plain"]));
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("ServiceUnavailable") && stderr.contains("try again later"),
        "{stderr}"
    );
    assert!(assume_calls(&sts).len() > 1);
}

#[test]
fn expired_source_credentials_say_to_renew_them() {
    let sts = StandIn::start(vec![standin::expired_token()]);
    let home = Home::new("");
    let (out, _, stderr) = run(home.xtask(&sts.endpoint(), &["creds", "--profile", "plain"]));
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("source credentials of profile \"plain\" have expired"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_sts_is_named() {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let home = Home::new("");
    let (out, _, stderr) = run(home.xtask(&endpoint, &["creds", "--profile", "plain"]));
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach STS at {endpoint}")),
        "{stderr}"
    );
    assert!(!stderr.contains(BASE_SECRET));
}

#[test]
fn an_sts_that_accepts_and_never_answers_is_named_not_waited_on_forever() {
    // Accepts every connection (the kernel's backlog does) and never reads or answers.
    let silent = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let endpoint = format!("http://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let home = Home::new("");
    let (out, _, stderr) = run(home.xtask(&endpoint, &["creds", "--profile", "plain"]));
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach STS at {endpoint}")),
        "{stderr}"
    );
    drop(silent);
}

#[test]
fn a_socks_proxy_in_the_environment_is_passed_over_not_a_crash() {
    let sts = StandIn::start(vec![standin::session()]);
    let home = Home::new("");
    let mut cmd = home.xtask(&sts.endpoint(), &["creds", "--profile", "plain"]);
    cmd.env("ALL_PROXY", "socks5h://user:pw@127.0.0.1:1");
    let (out, _, stderr) = run(cmd);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("pw@"),
        "{stderr}"
    );
    assert_eq!(sts.requests().len(), 1);
}
