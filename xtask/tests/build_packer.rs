//! `cargo xtask build` and `check` with stand-in packers on PATH: the exit status handed
//! on, a missing or too old packer refused with the fix, plugins set up on newer versions.

mod build_support;

use std::path::Path;

use build_support::*;

fn template_arg() -> String {
    template().display().to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_packer_that_exits_3_makes_xtask_exit_3_with_no_outputs() {
    let dir = TempDir::new("fake");
    let home = TempDir::new("home");
    let bin = fake_packer(dir.path(), "1.6.6", 3);
    let root = dir.path().display().to_string();
    let out = xtask(
        home.path(),
        Some(&bin),
        &[
            "build",
            "--template",
            &template_arg(),
            "--root",
            &root,
            "--region",
            "eu-west-1",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!dir.path().join("build").exists());
    let calls = calls(dir.path());
    assert_eq!(calls.len(), 2, "1.6.6 has no plugins to set up: {calls:?}");
    assert_eq!(calls[0], "version");
    assert_eq!(
        calls[1],
        format!(
            "build -var build_commit={} -var region=eu-west-1 -on-error=cleanup {}",
            git_head(),
            template_arg()
        )
    );
}

#[test]
fn a_missing_packer_is_named_with_how_to_install_it() {
    let dir = TempDir::new("nopacker");
    let home = TempDir::new("home");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["git", "sh"] {
        std::os::unix::fs::symlink(Path::new("/usr/bin").join(tool), bin.join(tool)).unwrap();
    }
    let path = bin.display().to_string();
    let out = xtask_with_path(
        home.path(),
        &path,
        &["build", "--template", &template_arg()],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert_eq!(
        err.trim_end(),
        "error: packer not found on PATH (install it: apt-get install packer, or see https://developer.hashicorp.com/packer/install)"
    );

    let out = xtask_with_path(
        home.path(),
        &path,
        &["check", "--template", &template_arg()],
    )
    .output()
    .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let row = table.lines().find(|l| l.contains(" packer ")).unwrap();
    assert!(row.starts_with('✗'), "{table}");
    assert!(row.contains("apt-get install packer"), "{table}");
    let row = table.lines().find(|l| l.contains(" shellcheck ")).unwrap();
    assert!(row.contains("apt-get install shellcheck"), "{table}");
}

#[test]
fn a_packer_older_than_the_template_needs_is_refused_before_it_runs() {
    let dir = TempDir::new("old");
    let home = TempDir::new("home");
    let bin = fake_packer(dir.path(), "1.5.6", 0);
    let out = xtask(
        home.path(),
        Some(&bin),
        &["build", "--template", &template_arg()],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.starts_with("error: packer 1.5.6 at "), "{err}");
    assert!(
        err.contains("older than 1.6.0, which the template needs"),
        "{err}"
    );
    assert!(err.contains("install a newer one"), "{err}");
    assert_eq!(calls(dir.path()), ["version"], "no build was started");

    let out = xtask(
        home.path(),
        Some(&bin),
        &["check", "--template", &template_arg()],
    )
    .output()
    .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let row = table.lines().find(|l| l.contains(" packer ")).unwrap();
    assert!(
        row.starts_with('✗') && row.contains("older than 1.6.0"),
        "{table}"
    );
}

/// A copy of the test template, with a `plugins/` folder when asked.
fn template_copy(dir: &Path, with_plugins: bool) -> String {
    let copy = dir.join("template");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(template().join("build.pkr.hcl"), copy.join("build.pkr.hcl")).unwrap();
    if with_plugins {
        std::fs::create_dir_all(copy.join("plugins")).unwrap();
        std::fs::write(
            copy.join("plugins/plugins.pkr.hcl"),
            "packer {\n  required_plugins {\n    amazon = {\n      version = \">= 1.3.0\"\n      source  = \"github.com/hashicorp/amazon\"\n    }\n  }\n}\n",
        )
        .unwrap();
    }
    copy.display().to_string()
}

#[test]
fn a_newer_packer_runs_init_on_the_plugins_folder_before_building() {
    let dir = TempDir::new("new");
    let home = TempDir::new("home");
    let bin = fake_packer(dir.path(), "1.11.2", 0);
    let template = template_copy(dir.path(), true);
    let root = dir.path().display().to_string();
    let out = xtask(
        home.path(),
        Some(&bin),
        &["build", "--template", &template, "--root", &root],
    )
    .output()
    .unwrap();
    // The stand-in writes no manifest: xtask says so instead of inventing outputs.
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("added no build"), "{err}");
    let calls = calls(dir.path());
    assert_eq!(
        calls[..2],
        ["version".to_owned(), format!("init {template}/plugins")]
    );
    assert!(calls[2].starts_with("build "), "{calls:?}");
    assert_eq!(calls.len(), 3);
}

#[test]
fn a_newer_packer_without_a_plugins_folder_gets_the_amazon_plugin_installed() {
    let dir = TempDir::new("new2");
    let home = TempDir::new("home");
    let bin = fake_packer(dir.path(), "1.11.2", 0);
    let template = template_copy(dir.path(), false);
    let root = dir.path().display().to_string();
    xtask(
        home.path(),
        Some(&bin),
        &["build", "--template", &template, "--root", &root],
    )
    .output()
    .unwrap();
    let calls = calls(dir.path());
    assert_eq!(
        calls[..3],
        [
            "version",
            "plugins installed",
            "plugins install github.com/hashicorp/amazon"
        ]
    );
    assert!(calls[3].starts_with("build "), "{calls:?}");
}
