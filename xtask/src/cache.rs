//! The AWS CLI's own role-session cache (`~/.aws/cli/cache/<sha1>.json`), so a session
//! made here is reused by the CLI and the other way round: same key, same JSON.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

use crate::secret::Secret;

/// The AssumeRole arguments that make up the CLI's cache key.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyArgs<'a> {
    pub(crate) role_arn: &'a str,
    /// Left out when the name was generated (the CLI does the same).
    pub(crate) role_session_name: Option<&'a str>,
    pub(crate) external_id: Option<&'a str>,
    pub(crate) serial_number: Option<&'a str>,
    pub(crate) duration_seconds: Option<i32>,
}

/// `sha1(json.dumps(args, sort_keys=True))` as botocore computes it.
pub(crate) fn key(args: &KeyArgs) -> String {
    // Keys in sorted order, with Python's default separators.
    let mut fields = Vec::new();
    if let Some(d) = args.duration_seconds {
        fields.push(format!("\"DurationSeconds\": {d}"));
    }
    if let Some(e) = args.external_id {
        fields.push(format!("\"ExternalId\": {}", py_json_string(e)));
    }
    fields.push(format!("\"RoleArn\": {}", py_json_string(args.role_arn)));
    if let Some(n) = args.role_session_name {
        fields.push(format!("\"RoleSessionName\": {}", py_json_string(n)));
    }
    if let Some(s) = args.serial_number {
        fields.push(format!("\"SerialNumber\": {}", py_json_string(s)));
    }
    let text = format!("{{{}}}", fields.join(", "));
    sha1_smol::Sha1::from(text.as_bytes()).hexdigest()
}

/// A string as Python's `json.dumps` writes it with `ensure_ascii=True`.
fn py_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A role session as the cache holds it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Secret,
    pub(crate) session_token: Secret,
    pub(crate) expiration: SystemTime,
    /// The assumed-role ARN, when the response carried it.
    pub(crate) assumed_arn: Option<String>,
}

/// Reads the AssumeRole response document the CLI writes; `None` when it is not one.
pub(crate) fn parse(text: &str) -> Option<Entry> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let c = doc.get("Credentials")?;
    let field = |name: &str| c.get(name)?.as_str().map(str::to_string);
    Some(Entry {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: Secret::new(field("SecretAccessKey")?),
        session_token: Secret::new(field("SessionToken")?),
        expiration: parse_time(&field("Expiration")?)?,
        assumed_arn: doc
            .pointer("/AssumedRoleUser/Arn")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}

/// The document to write: the parts of an AssumeRole response the CLI reads.
pub(crate) fn render(entry: &Entry) -> String {
    let mut doc = serde_json::json!({
        "Credentials": {
            "AccessKeyId": entry.access_key_id,
            "SecretAccessKey": entry.secret_access_key.expose(),
            "SessionToken": entry.session_token.expose(),
            "Expiration": format_time(entry.expiration),
        },
    });
    if let Some(arn) = &entry.assumed_arn {
        doc["AssumedRoleUser"] = serde_json::json!({ "Arn": arn });
    }
    doc.to_string()
}

/// RFC 3339 in UTC, seconds precision: `2026-08-21T12:00:00Z`.
pub(crate) fn format_time(t: SystemTime) -> String {
    aws_sdk_sts::primitives::DateTime::from(t)
        .fmt(aws_sdk_sts::primitives::DateTimeFormat::DateTime)
        .map(|s| {
            // Drop sub-second digits: the CLI and most readers expect whole seconds.
            match (s.find('.'), s.strip_suffix('Z')) {
                (Some(dot), Some(_)) => format!("{}Z", &s[..dot]),
                _ => s,
            }
        })
        .unwrap_or_default()
}

/// UTC times as botocore (`…UTC`), STS (`…Z`) or Python's isoformat (`…+00:00`) write them.
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let base = s
        .strip_suffix("UTC")
        .or_else(|| s.strip_suffix("+00:00"))
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    let normalized = format!("{}Z", base.replacen(' ', "T", 1));
    let dt = aws_sdk_sts::primitives::DateTime::from_str(
        &normalized,
        aws_sdk_sts::primitives::DateTimeFormat::DateTime,
    )
    .ok()?;
    SystemTime::try_from(dt).ok()
}

/// The cache folder: `~/.aws/cli/cache`, as the CLI has it.
pub(crate) fn dir() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set: cannot find ~/.aws/cli/cache")?;
    Ok(Path::new(&home).join(".aws/cli/cache"))
}

/// What reading a cache file found.
pub(crate) enum Lookup {
    Missing,
    Found(Entry),
    /// There was a file, but not one we can read: it will be replaced.
    Corrupt,
}

pub(crate) fn read(dir: &Path, key: &str) -> Lookup {
    match std::fs::read_to_string(dir.join(format!("{key}.json"))) {
        Err(_) => Lookup::Missing,
        Ok(text) => parse(&text).map_or(Lookup::Corrupt, Lookup::Found),
    }
}

/// Writes the entry with mode 0600 to a temporary file, then renames it into place, so a
/// reader sees the old file or the new one, never half of one.
pub(crate) fn write(dir: &Path, key: &str, entry: &Entry) -> anyhow::Result<()> {
    create_dir(dir)?;
    remove_stale_temps(dir, SystemTime::now());
    let target = dir.join(format!("{key}.json"));
    let temp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(render(entry).as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("write {}", target.display()))
}

/// How old a temporary file must be before it counts as left by a killed run: a write
/// takes milliseconds, so a minute never catches one still in progress.
const STALE: std::time::Duration = std::time::Duration::from_secs(60);

/// Removes `.<key>.<pid>.tmp` files a killed run left (each holds a session's secret), and
/// nothing else: the CLI writes its cache files in place, without temporary files.
fn remove_stale_temps(dir: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE));
        if stale && name.to_str().is_some_and(is_temp_name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `.<40 hex digits>.<pid>.tmp`, as [`write`] names its temporary files.
fn is_temp_name(name: &str) -> bool {
    let Some(middle) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((key, pid)) = middle.split_once('.') else {
        return false;
    };
    key.len() == 40
        && key.bytes().all(|b| b.is_ascii_hexdigit())
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("create {}", dir.display()))
}

/// Holds an exclusive lock for one cache key, so parallel runs prompt for one code and
/// make one AssumeRole call: the others wait, then find the session in the cache.
pub(crate) fn lock(dir: &Path, key: &str) -> anyhow::Result<File> {
    create_dir(dir)?;
    let path = dir.join(format!("{key}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    file.lock()
        .with_context(|| format!("lock {}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_matches_the_aws_cli_for_a_full_set_of_arguments() {
        let args = KeyArgs {
            role_arn: "arn:aws:iam::123456789012:role/Admin",
            role_session_name: Some("packer"),
            external_id: Some("ext-1"),
            serial_number: Some("arn:aws:iam::111111111111:mfa/alice"),
            duration_seconds: Some(3600),
        };
        assert_eq!(key(&args), "dff6b2c8ea97811a4abfe5b7fa073f9012b8e0d0");
    }

    #[test]
    fn the_key_matches_the_aws_cli_without_the_optional_arguments() {
        let args = KeyArgs {
            role_arn: "arn:aws:iam::123456789012:role/Admin",
            serial_number: Some("arn:aws:iam::111111111111:mfa/alice"),
            ..KeyArgs::default()
        };
        assert_eq!(key(&args), "13b2d88bd3d707b44c9242446a067de623564288");
    }

    #[test]
    fn strings_are_escaped_as_python_does() {
        assert_eq!(py_json_string("a\"é😀"), r#""a\"\u00e9\ud83d\ude00""#);
    }

    #[test]
    fn times_in_every_utc_spelling_parse_to_the_same_instant() {
        let a = parse_time("2026-08-21T12:00:00UTC").unwrap();
        assert_eq!(parse_time("2026-08-21T12:00:00Z"), Some(a));
        assert_eq!(parse_time("2026-08-21T12:00:00+00:00"), Some(a));
        assert_eq!(format_time(a), "2026-08-21T12:00:00Z");
        assert_eq!(parse_time("tomorrow"), None);
    }

    #[test]
    fn only_temporary_files_older_than_a_minute_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let key = "13b2d88bd3d707b44c9242446a067de623564288";
        let now = SystemTime::now();
        let aged = |name: &str, age: u64| {
            let path = dir.path().join(name);
            let file = File::create(&path).unwrap();
            file.set_modified(now - std::time::Duration::from_secs(age))
                .unwrap();
            path
        };
        let killed = aged(&format!(".{key}.4242.tmp"), 3600);
        let writing = aged(&format!(".{key}.4243.tmp"), 5);
        let lock = aged(&format!("{key}.lock"), 3600);
        let session = aged(&format!("{key}.json"), 3600);
        let other = aged(".notes.tmp", 3600);
        remove_stale_temps(dir.path(), now);
        assert!(!killed.exists());
        for kept in [writing, lock, session, other] {
            assert!(kept.exists(), "{kept:?}");
        }
    }

    #[test]
    fn an_entry_survives_a_round_trip_and_junk_is_not_an_entry() {
        let entry = Entry {
            access_key_id: "ASIA1".into(),
            secret_access_key: Secret::new("s"),
            session_token: Secret::new("t"),
            expiration: parse_time("2026-08-21T12:00:00Z").unwrap(),
            assumed_arn: Some("arn:aws:sts::1:assumed-role/r/s".into()),
        };
        let back = parse(&render(&entry)).unwrap();
        assert_eq!(back.access_key_id, "ASIA1");
        assert_eq!(back.session_token.expose(), "t");
        assert_eq!(back.expiration, entry.expiration);
        assert_eq!(back.assumed_arn, entry.assumed_arn);
        assert!(parse("{\"Credentials\": 3}").is_none());
        assert!(parse("not json").is_none());
    }
}
