//! The command line itself: a mistake is one line and status 2, help still reads as help.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_mistake_on_the_command_line_is_one_line_and_status_2() {
    for (args, says) in [
        (&["build", "--bogus"][..], "unexpected argument '--bogus'"),
        (&["build", "--var", "foo"], "\"foo\" is not KEY=VALUE"),
        (
            &["build", "--on-error", "explode"],
            "invalid value 'explode'",
        ),
        (
            &["creds", "--format", "xml"],
            "[possible values: env, fish, powershell, dotenv, json]",
        ),
        (&["exec"], "required arguments were not provided: <CMD>"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&["crds"], "tip: a similar subcommand exists: 'creds'"),
    ] {
        let out = xtask(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_and_version_are_printed_in_full_on_stdout() {
    let help = xtask(&["build", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Usage: cargo xtask build") && text.contains("--local"),
        "{text}"
    );
    let version = xtask(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("cargo xtask "));
}
