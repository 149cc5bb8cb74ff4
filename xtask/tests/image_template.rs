//! The Packer template and the scripts as tools see them: formatted, valid offline,
//! shellcheck-clean, `cargo xtask validate` — and a complete `packer build` of the real
//! template against moto, provisioning the sandbox over SSH.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;

#[allow(dead_code)] // each test file uses part of the helpers
mod image_sandbox;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use image_sandbox::{Sandbox, repo, text};

/// An empty HOME for the tools, shared by this file's tests and kept out of the user's.
fn home() -> PathBuf {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-template-home");
    std::fs::create_dir_all(&home).unwrap();
    home
}

fn system_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
}

fn packer(args: &[&str]) -> std::process::Output {
    Command::new("packer")
        .args(args)
        .current_dir(repo())
        .env_clear()
        .env("PATH", system_path())
        .env("HOME", home())
        .env("CHECKPOINT_DISABLE", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

#[test]
fn the_template_is_formatted_and_validates_offline_without_credentials() {
    for dir in ["packer", "packer/plugins"] {
        let out = packer(&["fmt", "-check", dir]);
        assert!(
            out.status.success(),
            "{dir} is not formatted: {}",
            text(&out.stdout)
        );
    }
    let out = packer(&["validate", "packer"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = packer(&[
        "validate",
        "-var",
        "arch=arm64",
        "-var",
        "source_ami=ami-0123456789abcdef0",
        "packer",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = packer(&["validate", "-var", "arch=sparc", "packer"]);
    assert!(!out.status.success(), "an unknown arch was accepted");
}

/// Every shell script of the repository: each `*.sh` outside hidden folders and `target/`,
/// and `.ci/run`.
fn repository_scripts() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                if !name.starts_with('.') && name != "target" {
                    walk(&path, found);
                }
            } else if name.ends_with(".sh") {
                found.push(path);
            }
        }
    }
    let mut scripts = vec![repo().join(".ci/run")];
    walk(&repo(), &mut scripts);
    scripts
}

#[test]
fn every_script_passes_shellcheck() {
    let scripts = repository_scripts();
    for script in [
        "xtask/sandbox/checks/image.sh",
        "xtask/sandbox/checks/firstrun.sh",
        "xtask/bench/makefile_step.sh",
        "files/firstrun.sh",
    ] {
        assert!(
            scripts.contains(&repo().join(script)),
            "{script}: {scripts:?}"
        );
    }
    let out = Command::new("shellcheck").args(&scripts).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
}

fn xtask(path: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("validate")
        .env_clear()
        .env("PATH", path)
        .env("HOME", home())
        .output()
        .unwrap()
}

/// The line `cargo xtask validate` ends with when it shellchecked every script.
fn all_scripts_clean() -> String {
    format!(
        "validate: shellcheck: {} scripts are clean",
        repository_scripts().len()
    )
}

#[test]
fn cargo_xtask_validate_passes_on_the_real_tree_and_shellchecks_every_script() {
    let out = xtask(&system_path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("is formatted and valid"), "{stderr}");
    assert!(stderr.contains(&all_scripts_clean()), "{stderr}");
}

/// A folder of links to the real tools named, to build a PATH of exactly those.
fn tool_dir(name: &str, tools: &[&str]) -> PathBuf {
    let bin = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).unwrap();
    for tool in tools {
        std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
    }
    bin
}

#[test]
fn cargo_xtask_validate_without_git_shellchecks_the_same_scripts() {
    let bin = tool_dir("no-git", &["packer", "shellcheck"]);
    let out = xtask(bin.to_str().unwrap());
    let _ = std::fs::remove_dir_all(&bin);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&all_scripts_clean()), "{stderr}");
}

/// A stand-in `packer` in `bin` that reports `version`, records each call in `bin/calls`
/// and succeeds at everything else.
fn fake_packer(bin: &Path, version: &str) {
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$1\" in version) echo 'Packer v{version}' ;; esac\n",
        bin.join("calls").display()
    );
    std::fs::write(bin.join("packer"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("packer"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn cargo_xtask_validate_refuses_a_packer_older_than_the_template_needs() {
    let bin = tool_dir("old-packer", &["shellcheck", "git"]);
    fake_packer(&bin, "1.5.6");
    let out = xtask(bin.to_str().unwrap());
    let calls = std::fs::read_to_string(bin.join("calls")).unwrap();
    let _ = std::fs::remove_dir_all(&bin);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: packer 1.5.6 at "), "{stderr}");
    assert!(stderr.contains("older than 1.6.6"), "{stderr}");
    assert_eq!(calls, "version\n");
}

#[test]
fn cargo_xtask_validate_sets_up_the_plugins_the_way_a_build_does() {
    let bin = tool_dir("new-packer", &["shellcheck", "git"]);
    fake_packer(&bin, "1.11.2");
    let out = xtask(bin.to_str().unwrap());
    let calls = std::fs::read_to_string(bin.join("calls")).unwrap();
    let _ = std::fs::remove_dir_all(&bin);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls: Vec<&str> = calls.lines().collect();
    let plugins = repo().join("packer/plugins").canonicalize().unwrap();
    assert_eq!(
        calls,
        [
            "version".to_string(),
            "fmt -check packer".into(),
            "fmt -check packer/plugins".into(),
            format!("init {}", plugins.display()),
            "validate packer".into(),
        ]
    );
}

#[test]
fn cargo_xtask_validate_without_packer_says_in_one_line_how_to_install_it() {
    // A PATH with shellcheck but no packer.
    let bin =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("no-packer-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    let shellcheck = which("shellcheck");
    let _ = std::fs::remove_file(bin.join("shellcheck"));
    std::os::unix::fs::symlink(shellcheck, bin.join("shellcheck")).unwrap();
    let out = xtask(bin.to_str().unwrap());
    let _ = std::fs::remove_dir_all(&bin);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: packer not found on PATH (install it: apt-get install packer"),
        "{stderr}"
    );
}

fn which(program: &str) -> PathBuf {
    system_path()
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed"))
}

/// The sandbox's sshd; killed (and with it the sandbox) when dropped.
struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

#[test]
fn the_template_builds_against_moto_and_the_sandbox() {
    let python = std::env::var_os("PACKER_ECS_PYTHON").unwrap_or_else(|| "python3".into());
    let moto = moto::Moto::start(Path::new(&python)).unwrap();
    let sandbox = Sandbox::new("template-build");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    let key = work.join("key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(keygen.success());
    let public = std::fs::read_to_string(work.join("key.pub")).unwrap();
    let port = moto::free_port().unwrap();
    let sshd = Sshd(
        Command::new(repo().join("xtask/sandbox/enter.sh"))
            .arg(&sandbox.state)
            .args(["sandbox-sshd", &port.to_string(), public.trim()])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd in the sandbox did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let endpoint = moto.endpoint();
    let vars = [
        format!("ec2_endpoint={endpoint}"),
        "skip_region_validation=true".into(),
        "ssh_host=127.0.0.1".into(),
        format!("ssh_port={port}"),
        format!("ssh_private_key_file={}", key.display()),
        "ssh_timeout=30s".into(),
        "build_commit=0123abc".into(),
    ];
    let mut build = Command::new("packer");
    build.arg("build").arg("-color=false");
    for var in &vars {
        build.arg("-var").arg(var);
    }
    let out = build
        .arg(repo().join("packer"))
        .current_dir(&work)
        .env_clear()
        .env("PATH", system_path())
        .env("HOME", home())
        .env("CHECKPOINT_DISABLE", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    let log = text(&out.stdout);
    assert!(out.status.success(), "{log}{}", text(&out.stderr));
    for step in [
        "storage.sh",
        "time.sh",
        "cloudinit.sh",
        "packages.sh",
        "cleanup.sh",
    ] {
        assert!(
            log.contains(&format!(
                "Provisioning with shell script: {}",
                repo().join("packer/../scripts").join(step).display()
            )),
            "{step} did not run: {log}"
        );
    }

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("manifest.json")).unwrap())
            .unwrap();
    let build = &manifest["builds"][0];
    assert_eq!(build["name"], "ecs");
    assert_eq!(build["custom_data"]["build_commit"], "0123abc");
    let source_ami = build["custom_data"]["source_ami"].as_str().unwrap();
    assert!(source_ami.starts_with("ami-"), "{manifest}");
    let ami = build["artifact_id"]
        .as_str()
        .unwrap()
        .strip_prefix("us-east-1:")
        .unwrap()
        .to_string();

    let aws = std::env::var_os("PACKER_ECS_AWS").unwrap_or_else(|| "aws".into());
    let described = Command::new(aws)
        .args([
            "--endpoint-url",
            &endpoint,
            "--region",
            "us-east-1",
            "ec2",
            "describe-images",
            "--image-ids",
            &ami,
        ])
        .env_clear()
        .env("PATH", system_path())
        .env("HOME", home())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(described.status.success(), "{}", text(&described.stderr));
    let images: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
    let image = &images["Images"][0];
    assert!(
        image["Name"]
            .as_str()
            .unwrap()
            .starts_with("packer-ecs-al2023-x86_64-"),
        "{image}"
    );
    let tag = |key: &str| {
        image["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["Key"] == key)
            .map(|t| t["Value"].as_str().unwrap().to_string())
    };
    assert_eq!(tag("BuildCommit").as_deref(), Some("0123abc"));
    assert_eq!(tag("SourceAMI").as_deref(), Some(source_ami));
    assert!(
        tag("SourceAMIName")
            .unwrap()
            .starts_with("al2023-ami-ecs-hvm-"),
        "{image}"
    );
    assert_eq!(tag("Name"), image["Name"].as_str().map(String::from));

    // The provisioners ran in the sandbox, as root, in order.
    let calls = sandbox.calls();
    assert!(
        calls.contains(&"mkfs.ext4 -q -L docker /dev/xvdcy".to_string()),
        "{calls:?}"
    );
    assert!(
        sandbox
            .read("/etc/cloud/cloud.cfg.d/90-packer-ecs-no-updates.cfg")
            .is_some()
    );
    use std::os::unix::fs::PermissionsExt;
    let firstrun = std::fs::metadata(sandbox.host_path("/home/ec2-user/firstrun.sh")).unwrap();
    assert_eq!(firstrun.permissions().mode() & 0o777, 0o755);

    drop(sshd);
    sandbox.assert_gone_and_host_untouched();
    let _ = std::fs::remove_dir_all(&work);
}
