//! What the build tests share: a temporary folder, the real xtask run with a stripped
//! environment, stand-in packers on PATH, and questions asked of moto's EC2.

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../../src/moto.rs"]
pub mod moto;

pub const ACCESS_KEY: &str = "AKIDBUILDTEST";
pub const SECRET_KEY: &str = "build-test-secret-key";

pub fn python() -> PathBuf {
    std::env::var_os("PACKER_ECS_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| "python3".into())
}

/// A folder under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates/moto")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `xtask ARGS…` with only what a user's shell would need: PATH (with `bin` first when
/// given), HOME in `home`, and static test keys for moto (the default chain).
pub fn xtask(home: &Path, bin: Option<&Path>, args: &[&str]) -> Command {
    let mut path = String::new();
    if let Some(bin) = bin {
        path.push_str(&bin.display().to_string());
        path.push(':');
    }
    path.push_str("/usr/local/bin:/usr/bin:/bin");
    xtask_with_path(home, &path, args)
}

/// Like [`xtask`], with exactly this PATH.
pub fn xtask_with_path(home: &Path, path: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CHECKPOINT_DISABLE", "1")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .args(args);
    cmd
}

/// The arguments of a build against `moto` with the test template, outputs in `root`.
pub fn build_args(moto: &moto::Moto, root: &Path) -> Vec<String> {
    vec![
        "build".into(),
        "--template".into(),
        template().display().to_string(),
        "--root".into(),
        root.display().to_string(),
        "--var".into(),
        format!("endpoint={}", moto.endpoint()),
    ]
}

/// A stand-in `packer` in `dir/bin` that reports `version` and records every call (one
/// line each, in `dir/calls`); `build` exits with `build_status`.
pub fn fake_packer(dir: &Path, version: &str, build_status: i32) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("calls");
    let script = format!(
        "#!/bin/sh\n\
         echo \"$*\" >> '{calls}'\n\
         case \"$1\" in\n\
           version) echo 'Packer v{version}' ;;\n\
           build) exit {build_status} ;;\n\
         esac\n",
        calls = calls.display()
    );
    let path = bin.join("packer");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

pub fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// One EC2 query-API call to moto, signed only as far as moto looks (the region).
pub fn ec2(moto: &moto::Moto, region: &str, query: &str) -> String {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/{region}/ec2/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    moto.request_with(
        "POST",
        "/",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(&format!("{query}&Version=2016-11-15")),
    )
    .unwrap()
}

/// Instances moto holds in the running state.
pub fn running_instances(moto: &moto::Moto) -> usize {
    ec2(
        moto,
        "us-east-1",
        "Action=DescribeInstances&Filter.1.Name=instance-state-name&Filter.1.Value.1=running",
    )
    .matches("<instanceId>")
    .count()
}

/// Instances moto has seen, in any state.
pub fn all_instances(moto: &moto::Moto) -> usize {
    ec2(moto, "us-east-1", "Action=DescribeInstances")
        .matches("<instanceId>")
        .count()
}

/// Key pairs and security groups packer made (`packer_…`) that are still there.
pub fn packer_leftovers(moto: &moto::Moto) -> (usize, usize) {
    let keys = ec2(moto, "us-east-1", "Action=DescribeKeyPairs");
    let groups = ec2(moto, "us-east-1", "Action=DescribeSecurityGroups");
    (
        keys.matches("<keyName>packer_").count(),
        groups.matches("<groupName>packer_").count(),
    )
}

/// The images moto holds in `region`, as its DescribeImages answer for our own AMIs.
pub fn own_images(moto: &moto::Moto, region: &str) -> String {
    ec2(moto, region, "Action=DescribeImages&Owner.1=self")
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn git_head() -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo_root())
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The pids of `pid`'s children.
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// xtask started in its own process group as a shell starts a
/// foreground job; its stdout and stderr are collected as they come.
pub struct SlowBuild {
    pub child: Child,
    output: Arc<Mutex<String>>,
}

impl SlowBuild {
    pub fn start(mut cmd: std::process::Command) -> SlowBuild {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setpgid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setpgid(0, 0) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let mut child = cmd.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for mut stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        SlowBuild { child, output }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn wait_for_output(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.output().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "xtask ended ({status}) before {needle:?}:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "xtask did not end:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SlowBuild {
    fn drop(&mut self) {
        // Whatever happened, leave no process of the test behind.
        let pgid = self.child.id() as i32;
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// The recorded requests' bodies and Authorization headers, decoded: one string each.
pub fn recorded_requests(recording: &str) -> Vec<String> {
    recording
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|req| {
            let body = req["body"].as_str().unwrap_or_default();
            let body = if req["body_encoded"] == true {
                String::from_utf8_lossy(&base64_decode(body)).into_owned()
            } else {
                body.to_owned()
            };
            format!(
                "{} {body}",
                req["headers"]["Authorization"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
