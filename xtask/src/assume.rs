//! Assumes a profile's role: the shared cache (under a lock), the MFA code, the
//! AssumeRole call, and the checks that the session lasts long enough.

use std::time::{Duration, SystemTime};

use anyhow::bail;
use aws_credential_types::Credentials;

use crate::cache::{self, Entry};
use crate::mfa::{self, CodeSource};
use crate::profile::{Profiles, Role, Source};
use crate::secret::Secret;
use crate::session::Opts;
use crate::sts::{self, Call, Failure};

/// Assumes roles for one run: the runtime, the profiles and the flags in one place.
pub(crate) struct Engine<'a> {
    pub(crate) rt: &'a tokio::runtime::Runtime,
    pub(crate) profiles: &'a dyn Profiles,
    pub(crate) region: Option<String>,
    pub(crate) opts: &'a Opts,
}

impl Engine<'_> {
    /// The role's session from the cache when it lasts `min_ttl`, else a new one (cached).
    pub(crate) fn assume_cached(&self, role: &Role, min_ttl: Duration) -> anyhow::Result<Entry> {
        let duration = self.opts.duration.or(role.duration_seconds);
        // STS gives an hour when asked for nothing.
        let lasts = Duration::from_secs(duration.unwrap_or(3600).max(0) as u64);
        // A fresh session is already a moment old when it arrives: it must be asked to last
        // longer than `min_ttl`, not just as long.
        if lasts <= min_ttl {
            bail!(
                "sessions of profile \"{}\" last {} min, but more than {} min are needed; \
                 raise duration_seconds (or pass --duration) or lower --min-ttl",
                role.profile,
                lasts.as_secs() / 60,
                min_ttl.as_secs().div_ceil(60)
            );
        }
        let session_name = session_name(role);
        let key = cache::key(&cache::KeyArgs {
            role_arn: &role.role_arn,
            role_session_name: role.session_name.as_deref(),
            external_id: role.external_id.as_deref(),
            serial_number: role.mfa_serial.as_deref(),
            duration_seconds: duration,
        });
        if self.opts.no_cache {
            return self.assume(role, &session_name, duration, min_ttl);
        }
        let dir = cache::dir()?;
        // Held until the new session is written, so a parallel run waits and then finds it.
        let _lock = cache::lock(&dir, &key)?;
        match cache::read(&dir, &key) {
            cache::Lookup::Found(entry) if lasts_for(&entry, min_ttl) => return Ok(entry),
            cache::Lookup::Corrupt => eprintln!(
                "warning: the cached session {} is unreadable; replacing it",
                dir.join(format!("{key}.json")).display()
            ),
            _ => {}
        }
        let entry = self.assume(role, &session_name, duration, min_ttl)?;
        cache::write(&dir, &key, &entry)?;
        Ok(entry)
    }

    /// A new session: source credentials, an MFA code when the role wants one, AssumeRole.
    fn assume(
        &self,
        role: &Role,
        session_name: &str,
        duration: Option<i32>,
        min_ttl: Duration,
    ) -> anyhow::Result<Entry> {
        let source = match &role.source {
            // A chain: the role underneath is assumed first (with its own MFA code, if it
            // names a serial), and its session assumes this one.
            Source::Role(inner) => {
                let name = self::session_name(inner);
                let entry = self.assume(inner, &name, inner.duration_seconds, Duration::ZERO)?;
                Credentials::new(
                    entry.access_key_id,
                    entry.secret_access_key.expose(),
                    Some(entry.session_token.expose().to_string()),
                    Some(entry.expiration),
                    "role chain",
                )
            }
            _ => self.rt.block_on(sts::source_credentials(
                self.profiles,
                role,
                self.region.as_deref(),
            ))?,
        };
        let codes = match (&role.mfa_serial, &self.opts.mfa_token, &role.mfa_process) {
            (None, _, _) => None,
            (Some(_), Some(code), _) => Some(CodeSource::Given(Secret::new(code.as_str()))),
            (Some(_), None, Some(process)) => Some(CodeSource::Process(process.clone())),
            (Some(_), None, None) => Some(CodeSource::Prompt),
        };
        let serial = role.mfa_serial.as_deref().unwrap_or("");
        let mut tries = 0;
        let entry = loop {
            tries += 1;
            let code = codes.as_ref().map(|c| c.code(serial)).transpose()?;
            let call = Call {
                role,
                session_name,
                duration_seconds: duration,
                code: code.as_ref(),
            };
            match self.rt.block_on(sts::assume_role(
                source.clone(),
                self.region.as_deref(),
                &call,
            )) {
                Ok(entry) => break entry,
                Err(Failure::Other(err)) => return Err(err),
                Err(Failure::CodeRefused) => {
                    let again = codes.as_ref().is_some_and(CodeSource::can_ask_again);
                    if !again {
                        bail!("STS refused the MFA code for {serial}; pass a current code");
                    }
                    if tries >= 3 {
                        bail!("STS refused three MFA codes for {serial}; check the device");
                    }
                    mfa::tell("STS refused that MFA code; try again with a new one");
                }
            }
        };
        if !lasts_for(&entry, min_ttl) {
            bail!(
                "STS gave profile \"{}\" a session shorter than the {} min needed; raise \
                 duration_seconds (or pass --duration) or lower --min-ttl",
                role.profile,
                min_ttl.as_secs().div_ceil(60)
            );
        }
        Ok(entry)
    }
}

fn lasts_for(entry: &Entry, min_ttl: Duration) -> bool {
    entry
        .expiration
        .duration_since(SystemTime::now())
        .is_ok_and(|left| left > min_ttl)
}

/// The profile's `role_session_name`, else `packer-ecs-<user>` (characters STS accepts).
fn session_name(role: &Role) -> String {
    if let Some(name) = &role.session_name {
        return name.clone();
    }
    let user: String = std::env::var("USER")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .collect();
    let name = if user.is_empty() {
        "packer-ecs".to_string()
    } else {
        format!("packer-ecs-{user}")
    };
    name.chars().take(64).collect()
}
