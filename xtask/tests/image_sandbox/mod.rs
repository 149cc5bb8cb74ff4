//! Runs the image's scripts in the sandbox (`xtask/sandbox/enter.sh`) for the `image_*`
//! tests, and checks afterwards that the host was left alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Host paths a sandboxed script would write if the sandbox leaked, with what they hold.
const WATCHED: &[&str] = &[
    "/etc/fstab",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/chrony.conf",
    "/etc/ecs",
    "/etc/cloud",
    "/etc/systemd/system/docker.service.d",
    "/opt/aws",
    "/data",
    "/home/ec2-user",
];

fn describe(path: &str) -> String {
    let path = Path::new(path);
    match std::fs::symlink_metadata(path) {
        Err(_) => "absent".into(),
        Ok(meta) if meta.file_type().is_symlink() => {
            format!("link {:?}", std::fs::read_link(path).ok())
        }
        Ok(meta) if meta.is_dir() => format!(
            "dir {:?}",
            std::fs::read_dir(path)
                .map(|d| d
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name())
                    .collect::<Vec<_>>())
                .ok()
        ),
        Ok(_) => format!("file {:?}", std::fs::read(path).ok()),
    }
}

pub struct Sandbox {
    pub state: PathBuf,
    host_before: Vec<String>,
}

impl Sandbox {
    /// A fresh, empty sandbox state for one test.
    pub fn new(test: &str) -> Sandbox {
        let state = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sandbox-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).unwrap();
        Sandbox {
            state,
            host_before: WATCHED.iter().map(|p| describe(p)).collect(),
        }
    }

    /// Writes `text` to STATE_DIR/`name` (device, agent, units/..., ...).
    pub fn set(&self, name: &str, text: &str) {
        let file = self.state.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// Puts a file into the sandbox before it starts: it shows inside at `path`.
    pub fn seed(&self, path: &str, text: &str) {
        let file = self.host_path(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// Where a file the sandbox wrote at `path` is read from the host.
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.state.join("root").join(path.trim_start_matches('/'))
    }

    pub fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.host_path(path)).ok()
    }

    /// Every call the stand-ins recorded, one per line.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.state.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Runs `cmd` in the sandbox with only PATH and `env` in its environment.
    pub fn run(&self, env: &[(&str, &str)], cmd: &[&str]) -> Output {
        Command::new(repo().join("xtask/sandbox/enter.sh"))
            .arg(&self.state)
            .args(cmd)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs one of the repository's scripts (e.g. `scripts/storage.sh`) in the sandbox
    /// the way packer does: uploaded to /tmp, then executed as root.
    pub fn script(&self, script: &str, env: &[(&str, &str)]) -> Output {
        let name = Path::new(script).file_name().unwrap().to_str().unwrap();
        let inside = format!("/tmp/{name}");
        std::fs::create_dir_all(self.host_path("/tmp")).unwrap();
        std::fs::copy(repo().join(script), self.host_path(&inside)).unwrap();
        self.run(env, &["bash", &inside])
    }

    /// Whether `path` exists inside the sandbox (deletions show on the host as whiteouts).
    pub fn exists(&self, path: &str) -> bool {
        self.run(&[], &["test", "-e", path]).status.success()
    }

    /// The sandbox is gone: no process has its mounts, the host has none of them, and the
    /// host's files are as they were.
    pub fn assert_gone_and_host_untouched(&self) {
        let needle = self.state.to_string_lossy().into_owned();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let pid = entry.file_name();
            if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let mounts =
                std::fs::read_to_string(entry.path().join("mountinfo")).unwrap_or_default();
            assert!(
                !mounts.contains(&needle),
                "process {pid:?} still has a mount of the sandbox {needle}"
            );
        }
        let after: Vec<String> = WATCHED.iter().map(|p| describe(p)).collect();
        for ((path, before), after) in WATCHED.iter().zip(&self.host_before).zip(&after) {
            assert_eq!(before, after, "the sandbox changed the host's {path}");
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.state);
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
