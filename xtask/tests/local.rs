//! `cargo xtask build --local`: the whole rehearsal, for real — moto, the sandboxed sshd,
//! packer 1.6.6, the real template and scripts — and what it leaves behind.

mod build_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use build_support::{SlowBuild, TempDir, repo_root};

/// The interpreter that has moto, itself rather than a shim that depends on HOME.
fn python_dir() -> PathBuf {
    let python = build_support::python();
    let out = Command::new(&python)
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let exe = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    exe.parent().unwrap().to_path_buf()
}

/// `xtask build --local ARGS…` as a user's root shell would run it, outputs in `root`.
fn rehearsal(home: &Path, root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.env_clear()
        .env(
            "PATH",
            format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                python_dir().display()
            ),
        )
        .env("HOME", home)
        .env("CHECKPOINT_DISABLE", "1")
        // A user's own keys must not reach the rehearsal.
        .env("AWS_ACCESS_KEY_ID", "AKIDUSERSREALKEY")
        .env("AWS_SECRET_ACCESS_KEY", "users-real-secret")
        .args(["build", "--local", "--root"])
        .arg(root)
        .args(args);
    cmd
}

/// A copy of the template, scripts and first-run script, to break on purpose.
fn tree_copy(dir: &Path) -> PathBuf {
    for folder in ["packer", "scripts", "files"] {
        let status = Command::new("cp")
            .arg("-a")
            .arg(repo_root().join(folder))
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir.join("packer")
}

/// A copy of the tree with `lines` put into `script`; returns the copy and its template.
fn tree_with(script: &str, lines: &str) -> (TempDir, PathBuf) {
    let tree = TempDir::new("local-tree");
    let template = tree_copy(tree.path());
    insert_after_set(&tree.path().join(script), lines);
    (tree, template)
}

/// Runs a rehearsal to its end: its pid (to look for what it left) and its output.
fn finish(mut cmd: Command) -> (u32, std::process::Output) {
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (pid, child.wait_with_output().unwrap())
}

/// Puts `lines` right after the `set -euo pipefail` of a script.
fn insert_after_set(script: &Path, lines: &str) {
    let text = std::fs::read_to_string(script).unwrap();
    let (head, tail) = text.split_once("set -euo pipefail\n").unwrap();
    std::fs::write(script, format!("{head}set -euo pipefail\n{lines}\n{tail}")).unwrap();
}

/// Whatever the rehearsal with this pid started: its folder, processes and mounts.
fn leftovers(pid: u32) -> Vec<String> {
    let marker = format!("target/local/run-{pid}");
    let mut found = Vec::new();
    if repo_root().join(&marker).exists() {
        found.push(format!("folder {marker}"));
    }
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&marker) {
            found.push(format!("process {}", cmdline.trim()));
        }
    }
    for line in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
    {
        if line.contains(&marker) {
            found.push(format!("mount {line}"));
        }
    }
    found
}

#[test]
fn the_rehearsal_passes_every_check_and_leaves_nothing_behind() {
    let home = TempDir::new("local-home");
    let root = TempDir::new("local-root");
    let (pid, out) = finish(rehearsal(
        home.path(),
        root.path(),
        &["--var", "timezone=Europe/Paris"],
    ));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains('✗'), "{stdout}");
    let passed = stdout.lines().filter(|l| l.starts_with('✓')).count();
    assert!(
        stdout.contains(&format!("all {passed} checks passed")),
        "{stdout}"
    );
    for line in [
        "✓ credentials — role arn:aws:iam::123456789012:role/packer-ecs-local assumed with MFA",
        "✓ image: timezone — Europe/Paris",
        "✓ image: data volume",
        "✓ image: ECS agent stopped and disabled at boot",
        "✓ first run: health check",
        "✓ first run, proxy: proxy settings",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("build/ami.json")).unwrap())
            .unwrap();
    assert_eq!(outputs["local"], true);
    assert!(outputs["ami_id"].as_str().unwrap().starts_with("ami-"));
    // The template's manifest carries the AMI's name and region for the outputs.
    assert!(
        outputs["name"]
            .as_str()
            .unwrap()
            .starts_with("packer-ecs-al2023-x86_64-")
    );
    assert_eq!(outputs["region"], "us-east-1");
    assert!(root.path().join("build/local/ami.json").exists());
    for secret in ["AKIDUSERSREALKEY", "users-real-secret"] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

#[test]
fn a_failing_provisioning_script_fails_the_rehearsal_naming_it_and_its_output() {
    let home = TempDir::new("local-home");
    let root = TempDir::new("local-root");
    let (_tree, template) = tree_with(
        "scripts/storage.sh",
        "echo 'storage: deliberately broken for the test' >&2\nexit 7",
    );
    let mut cmd = rehearsal(home.path(), root.path(), &["--template"]);
    cmd.arg(&template);
    let (pid, out) = finish(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        error.contains("scripts/storage.sh") && error.contains("deliberately broken for the test"),
        "{stderr}"
    );
    assert!(
        stderr.contains("✓ no build instance left running"),
        "{stderr}"
    );
    assert!(!root.path().join("build").exists());
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

#[test]
fn ctrl_c_mid_build_leaves_no_instance_running_and_nothing_behind() {
    let home = TempDir::new("local-home");
    let root = TempDir::new("local-root");
    let (_tree, template) = tree_with(
        "scripts/time.sh",
        "echo 'time: paused for the test'\nsleep 120",
    );
    let mut cmd = rehearsal(home.path(), root.path(), &["--template"]);
    cmd.arg(&template);
    let mut build = SlowBuild::start(cmd);
    let pid = build.child.id();
    build.wait_for_output("time: paused for the test");
    // A Ctrl-C at the terminal: SIGINT to the whole foreground process group.
    unsafe { libc::kill(-(pid as i32), libc::SIGINT) };
    let status = build.wait();
    let output = build.output();
    assert!(!status.success(), "{output}");
    assert!(output.contains("Cancelling build"), "{output}");
    assert!(
        output.contains("✓ no build instance left running — none"),
        "{output}"
    );
    assert!(!root.path().join("build").exists());
    assert_eq!(leftovers(pid), Vec::<String>::new());
}

#[test]
fn without_root_the_rehearsal_says_in_one_line_what_it_needs() {
    let home = TempDir::new("local-home");
    let root = TempDir::new("local-root");
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--local", "--root"])
        .arg(root.path())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: --local isolates the build instance"),
        "{stderr}"
    );
    assert!(stderr.contains("needs root"), "{stderr}");
}
