//! `cargo xtask check` with Debian's packer: every row, the role a build would assume, no
//! MFA prompt.

mod build_support;

use std::process::Stdio;

use build_support::*;

#[test]
fn check_shows_the_tools_and_the_role_a_build_would_assume_without_prompting() {
    let home = TempDir::new("home");
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile build]\nrole_arn = arn:aws:iam::123456789012:role/packer-build\n\
         mfa_serial = arn:aws:iam::123456789012:mfa/alice\nsource_profile = base\n\
         region = us-east-1\n[profile base]\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[base]\naws_access_key_id = AKIDBASEPROFILE\naws_secret_access_key = base-secret\n",
    )
    .unwrap();
    let template = template().display().to_string();
    let out = xtask(
        home.path(),
        None,
        &["check", "--template", &template, "--profile", "build"],
    )
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("AWS_SECRET_ACCESS_KEY")
    .stdin(Stdio::null())
    .output()
    .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} row: {table}"))
            .to_owned()
    };
    assert!(
        row("packer").starts_with(
            "✓ packer       /usr/bin/packer 1.6.6 (needs ≥ 1.6.0; amazon builder built in)"
        ),
        "{table}"
    );
    assert!(row("shellcheck").starts_with('✓'), "{table}");
    assert!(row("git").starts_with('✓'), "{table}");
    let creds = row("credentials");
    assert!(
        creds.contains("role arn:aws:iam::123456789012:role/packer-build"),
        "{table}"
    );
    assert!(creds.contains("mfa/alice"), "{table}");
    assert!(!table.contains("base-secret"));
}

#[test]
fn without_a_profile_check_resolves_the_default_chain_and_fails_when_it_finds_nothing() {
    let home = TempDir::new("home");
    let template = template().display().to_string();
    let run = |with_keys: bool| {
        let mut cmd = xtask(home.path(), None, &["check", "--template", &template]);
        if !with_keys {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
        cmd.stdin(Stdio::null()).output().unwrap()
    };

    let found = run(true);
    let table = String::from_utf8_lossy(&found.stdout);
    let row = table
        .lines()
        .find(|l| l.contains("credentials"))
        .unwrap_or_default();
    assert!(found.status.success(), "{table}");
    // Which key, told apart by its ends, never the whole id nor the secret.
    assert!(row.starts_with('✓') && row.contains("AKID…TEST"), "{table}");
    assert!(
        !table.contains(ACCESS_KEY) && !table.contains(SECRET_KEY),
        "{table}"
    );

    let none = run(false);
    let table = String::from_utf8_lossy(&none.stdout);
    let row = table
        .lines()
        .find(|l| l.contains("credentials"))
        .unwrap_or_default();
    assert!(!none.status.success(), "{table}");
    assert!(
        row.starts_with('✗') && row.contains("no AWS credentials found"),
        "{table}"
    );
}
