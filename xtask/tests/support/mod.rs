//! What the credential tests share: a fake home with AWS profiles, the real binary run
//! with the user's environment stripped, and moto's recorder read back as STS calls.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod pty;
pub mod standin;

use base64::Engine as _;

pub fn python() -> PathBuf {
    std::env::var_os("PACKER_ECS_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| "python3".into())
}

pub fn aws() -> PathBuf {
    std::env::var_os("PACKER_ECS_AWS")
        .map(Into::into)
        .unwrap_or_else(|| "aws".into())
}

pub const ROLE: &str = "arn:aws:iam::123456789012:role/packer-build";
pub const SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";
pub const BASE_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const BASE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A temporary HOME with `~/.aws/config` and `~/.aws/credentials`.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    /// Profiles: `base` (static keys), `build` (a role with MFA, external id, duration),
    /// `plain` (a role without MFA), plus whatever `extra` adds to the config file.
    pub fn new(extra: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let aws = dir.path().join(".aws");
        std::fs::create_dir_all(&aws).unwrap();
        std::fs::write(
            aws.join("credentials"),
            format!(
                "[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            aws.join("config"),
            format!(
                "[profile base]\nregion = eu-west-1\n\n\
                 [profile build]\nrole_arn = {ROLE}\nsource_profile = base\n\
                 mfa_serial = {SERIAL}\nexternal_id = ext-42\nduration_seconds = 1800\n\
                 role_session_name = alice-build\nregion = eu-west-1\n\n\
                 [profile plain]\nrole_arn = {ROLE}\nsource_profile = base\n\
                 role_session_name = plain-build\nregion = eu-west-1\n\n{extra}"
            ),
        )
        .unwrap();
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path().join(".aws/cli/cache")
    }

    /// The JSON files in the CLI's cache.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.cache_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
    }

    /// A command with only PATH, HOME, and AWS settings that keep it on loopback.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, endpoint: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("LANG", "C.UTF-8")
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// `cargo xtask ARGS` (the built binary).
    pub fn xtask(&self, endpoint: &str, args: &[&str]) -> Command {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_xtask"), endpoint);
        cmd.args(args);
        cmd
    }
}

/// Runs and returns the output, with stdout and stderr as text.
pub fn run(mut cmd: Command) -> (Output, String, String) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The STS calls in a moto recording: each one's form parameters.
pub fn sts_calls(recording: &str) -> Vec<BTreeMap<String, String>> {
    recording
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let doc: serde_json::Value = serde_json::from_str(line).unwrap();
            let body = doc["body"].as_str().unwrap_or("");
            let bytes = if doc["body_encoded"].as_bool() == Some(true) {
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .unwrap()
            } else {
                body.as_bytes().to_vec()
            };
            let params: BTreeMap<String, String> = form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            params.contains_key("Action").then_some(params)
        })
        .collect()
}

/// How many AssumeRole calls a recording holds.
pub fn assume_role_calls(recording: &str) -> usize {
    sts_calls(recording)
        .iter()
        .filter(|c| c.get("Action").map(String::as_str) == Some("AssumeRole"))
        .count()
}

/// Starts moto's recorder and records one GetCallerIdentity, so the recording exists (moto
/// answers 500 for a recording with no requests in it) and counts from here.
pub fn start_recording(moto: &crate::moto::Moto) {
    moto.start_recording().unwrap();
    moto.sts("Action=GetCallerIdentity").unwrap();
}
