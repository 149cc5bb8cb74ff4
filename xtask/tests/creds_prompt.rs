//! The MFA code is asked for on the controlling terminal, even while stdout is a pipe,
//! and a run with no terminal fails at once instead of waiting.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use std::io::Read;
use std::time::{Duration, Instant};

use support::*;

#[test]
fn the_code_typed_at_the_terminal_prompt_reaches_sts() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new("");
    let (child, mut tty) =
        pty::spawn(home.xtask(&moto.endpoint(), &["creds", "--profile", "build"]));
    tty.expect(&format!("Enter MFA code for {SERIAL}: "));
    tty.type_line("654321");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("export AWS_ACCESS_KEY_ID='ASIA"),
        "{stdout}"
    );
    assert!(!stdout.contains("Enter MFA code") && !stderr.contains("Enter MFA code"));
    let calls = sts_calls(&moto.recording().unwrap());
    let call = calls.iter().find(|c| c["Action"] == "AssumeRole").unwrap();
    assert_eq!(call["TokenCode"], "654321");
    // The code typed is not echoed back.
    assert!(!tty.seen.contains("654321"), "{:?}", tty.seen);
}

#[test]
fn a_typed_code_that_is_not_six_digits_is_asked_for_again() {
    let moto = moto::Moto::start(&python()).unwrap();
    start_recording(&moto);
    let home = Home::new("");
    let (child, mut tty) =
        pty::spawn(home.xtask(&moto.endpoint(), &["creds", "--profile", "build"]));
    tty.expect("Enter MFA code for");
    tty.type_line("12345");
    tty.expect("six digits");
    tty.expect("Enter MFA code for");
    tty.type_line("111222");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = sts_calls(&moto.recording().unwrap());
    let tokens: Vec<_> = calls.iter().filter_map(|c| c.get("TokenCode")).collect();
    assert_eq!(tokens, ["111222"]);
}

#[test]
fn without_a_terminal_or_a_code_it_fails_at_once_naming_mfa_token() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = Home::new("");
    let mut cmd = home.xtask(&moto.endpoint(), &["creds", "--profile", "build"]);
    pty::without_terminal(&mut cmd);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Bounded so that a run waiting for input fails the test instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("creds waited for a code that could not come");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!child.wait().unwrap().success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: no terminal"), "{stderr}");
    assert!(stderr.contains("--mfa-token"), "{stderr}");
    assert!(home.cache_files().is_empty());
}
