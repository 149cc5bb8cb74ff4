//! The one entry point to credentials: resolves the session a command should hand on.
//!
//! Interface contract (the credential engine fills it in; `build`, `exec`, `check` and
//! `local` call only this):
//! - [`Opts`]: the flags every command that needs credentials flattens in;
//! - [`resolve`]: a session valid for at least `min_ttl` (may prompt for an MFA code);
//! - [`describe`]: what a build would use, in one line, without prompting;
//! - [`Session::env`]: the variables to set on a child (`AWS_PROFILE` must be removed).

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_credential_types::Credentials;

use crate::assume;
use crate::cache::{self, Entry};
use crate::profile::{self, Plan, Profiles, Source};
use crate::secret::Secret;
use crate::sts;

/// Flags shared by every command that may need credentials.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct Opts {
    /// The AWS profile to use (default: $AWS_PROFILE).
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// The MFA code, instead of a prompt (six digits).
    #[arg(long, value_name = "CODE")]
    pub(crate) mfa_token: Option<String>,
    /// How long an assumed role's session lasts (overrides the profile's duration_seconds).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<i32>,
    /// Neither read nor write the AWS CLI's session cache.
    #[arg(long)]
    pub(crate) no_cache: bool,
}

/// A resolved set of credentials.
pub(crate) struct Session {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
    expiry: Option<SystemTime>,
    region: Option<String>,
    /// The assumed role's ARN, or where the credentials came from.
    identity: String,
}

impl Session {
    /// The environment a child gets: key id, secret, token, expiry, region.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY",
                self.secret_access_key.expose().to_string(),
            ),
        ];
        if let Some(token) = &self.session_token {
            vars.push(("AWS_SESSION_TOKEN", token.expose().to_string()));
        }
        if let Some(expiry) = self.expiry {
            vars.push(("AWS_CREDENTIAL_EXPIRATION", cache::format_time(expiry)));
        }
        if let Some(region) = &self.region {
            vars.push(("AWS_REGION", region.clone()));
            vars.push(("AWS_DEFAULT_REGION", region.clone()));
        }
        vars
    }

    /// When the session ends, if it does.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.expiry
            .map(|e| e.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// The instant the session ends, if it does.
    pub(crate) fn expiry(&self) -> Option<SystemTime> {
        self.expiry
    }

    /// Who the session is: `role arn:aws:sts::…:assumed-role/… (account 1234…)`, or where
    /// the credentials came from. Never a secret.
    pub(crate) fn identity(&self) -> String {
        match account_of(&self.identity) {
            Some(account) => format!("role {} (account {account})", self.identity),
            None => self.identity.clone(),
        }
    }

    fn from_entry(entry: Entry, region: Option<String>, fallback: &str) -> Session {
        Session {
            access_key_id: entry.access_key_id,
            secret_access_key: entry.secret_access_key,
            session_token: Some(entry.session_token),
            expiry: Some(entry.expiration),
            region,
            identity: entry.assumed_arn.unwrap_or_else(|| fallback.to_string()),
        }
    }

    fn from_credentials(creds: &Credentials, region: Option<String>, what: String) -> Session {
        Session {
            access_key_id: creds.access_key_id().to_string(),
            secret_access_key: Secret::new(creds.secret_access_key()),
            session_token: creds.session_token().map(Secret::new),
            expiry: creds.expiry(),
            region,
            identity: what,
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("identity", &self.identity)
            .field("expiry", &self.expiry.map(cache::format_time))
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The account in an ARN (`arn:aws:sts::123456789012:assumed-role/…`).
fn account_of(arn: &str) -> Option<&str> {
    let account = arn.strip_prefix("arn:")?.split(':').nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The profile named by `--profile`, else `AWS_PROFILE`.
pub(crate) fn profile_name(opts: &Opts) -> Option<String> {
    opts.profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")
}

/// The region a session is for: the environment first, as the AWS CLI has it, then the
/// profile's `region`.
fn region(profiles: &dyn Profiles, name: &str) -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
        .or_else(|| profiles.get(name, "region").map(str::to_string))
}

/// A session that stays valid for at least `min_ttl`.
pub(crate) fn resolve(opts: &Opts, min_ttl: Duration) -> anyhow::Result<Session> {
    if let Some(code) = &opts.mfa_token {
        crate::mfa::check(code).context("--mfa-token")?;
    }
    let rt = runtime()?;
    let Some(name) = profile_name(opts) else {
        return rt.block_on(default_chain());
    };
    let profiles = rt.block_on(profile::load())?;
    let region = region(&profiles, &name);
    match profile::plan(&profiles, &name)? {
        Plan::Own { profile } => rt.block_on(async {
            let config = sts::sdk_config(Some(&profile), region.as_deref()).await;
            let provider = config
                .credentials_provider()
                .context("internal: no credentials provider")?;
            let what = format!("profile \"{profile}\"");
            let creds = sts::provide(&provider, &what).await?;
            let region = region.or_else(|| config.region().map(|r| r.to_string()));
            Ok(Session::from_credentials(&creds, region, what))
        }),
        Plan::Role(role) => {
            let engine = assume::Engine {
                rt: &rt,
                profiles: &profiles,
                region: region.clone(),
                opts,
            };
            let entry = engine.assume_cached(&role, min_ttl)?;
            Ok(Session::from_entry(entry, region, &role.role_arn))
        }
    }
}

async fn default_chain() -> anyhow::Result<Session> {
    let config = sts::sdk_config(None, None).await;
    let provider = config
        .credentials_provider()
        .context("internal: no credentials provider")?;
    let what = "the default chain (environment, default profile, web identity, ECS \
                container endpoint, instance metadata)";
    let creds = sts::provide(&provider, what).await?;
    let source = format!("default chain: {}", creds_source_name(&creds));
    let region = config.region().map(|r| r.to_string());
    Ok(Session::from_credentials(&creds, region, source))
}

fn creds_source_name(creds: &Credentials) -> String {
    // The provider name aws-config stamps on the credentials (e.g. "EnvironmentVariable").
    format!("{:?}", creds)
        .split("provider_name: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("aws-config")
        .to_string()
}

/// One line saying which credentials a build would use, without prompting for MFA.
pub(crate) fn describe(opts: &Opts) -> anyhow::Result<String> {
    let Some(name) = profile_name(opts) else {
        // Nothing here can prompt: resolve the chain, so that "none found" fails the check
        // as it would fail the build.
        let session = runtime()?.block_on(default_chain())?;
        return Ok(format!(
            "{} ({})",
            session.identity,
            masked(&session.access_key_id)
        ));
    };
    let profiles = runtime()?.block_on(profile::load())?;
    describe_profile(&profiles, &name)
}

fn describe_profile(profiles: &dyn Profiles, name: &str) -> anyhow::Result<String> {
    Ok(match profile::plan(profiles, name)? {
        Plan::Own { profile } => {
            format!(
                "profile \"{profile}\" → its own credentials ({})",
                own_kind(profiles, &profile)
            )
        }
        Plan::Role(role) => {
            let mut line = format!("profile \"{name}\" → role {}", role.role_arn);
            if let Some(serial) = &role.mfa_serial {
                line.push_str(&format!(" (MFA {serial})"));
            }
            line.push_str(&format!(" from {}", source_text(profiles, &role.source)));
            line
        }
    })
}

fn source_text(profiles: &dyn Profiles, source: &Source) -> String {
    match source {
        Source::StaticKeys { profile } => format!(
            "profile \"{profile}\" keys {}",
            profiles
                .get(profile, "aws_access_key_id")
                .map(masked)
                .unwrap_or_default()
        ),
        Source::Role(inner) => format!("role {} of profile \"{}\"", inner.role_arn, inner.profile),
        Source::Profile { profile } => format!("profile \"{profile}\""),
        Source::Environment => "the environment".into(),
        Source::Ec2InstanceMetadata => "instance metadata".into(),
        Source::EcsContainer => "the ECS container endpoint".into(),
    }
}

fn own_kind(profiles: &dyn Profiles, profile: &str) -> String {
    if let Some(id) = profiles.get(profile, "aws_access_key_id") {
        format!("keys {}", masked(id))
    } else if profiles.get(profile, "credential_process").is_some() {
        "credential_process".into()
    } else if profiles.get(profile, "sso_session").is_some()
        || profiles.get(profile, "sso_start_url").is_some()
    {
        "SSO, not supported by this build of xtask".into()
    } else if profiles.get(profile, "web_identity_token_file").is_some() {
        "web identity".into()
    } else {
        "none found in the profile".into()
    }
}

/// A key id shown as `AKIA…WXYZ`: enough to tell keys apart, never a secret.
fn masked(id: &str) -> String {
    if id.len() < 8 || !id.is_ascii() {
        return "…".into();
    }
    format!("{}…{}", &id[..4], &id[id.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_the_role_and_serial_and_never_a_secret() {
        let p = crate::profile::test_support::map(&[
            (
                "base",
                &[
                    ("aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
                    ("aws_secret_access_key", "wJalrXUtnFEMI"),
                ],
            ),
            (
                "build",
                &[
                    ("role_arn", "arn:aws:iam::1:role/b"),
                    ("source_profile", "base"),
                    ("mfa_serial", "arn:aws:iam::1:mfa/me"),
                ],
            ),
        ]);
        assert_eq!(
            describe_profile(&p, "build").unwrap(),
            "profile \"build\" → role arn:aws:iam::1:role/b (MFA arn:aws:iam::1:mfa/me) \
             from profile \"base\" keys AKIA…MPLE"
        );
        let own = describe_profile(&p, "base").unwrap();
        assert_eq!(
            own,
            "profile \"base\" → its own credentials (keys AKIA…MPLE)"
        );
    }

    #[test]
    fn a_key_id_is_shown_by_its_ends_only() {
        assert_eq!(masked("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(masked("short"), "…");
    }

    #[test]
    fn the_account_is_read_from_an_assumed_role_arn() {
        assert_eq!(
            account_of("arn:aws:sts::123456789012:assumed-role/Admin/packer"),
            Some("123456789012")
        );
        assert_eq!(account_of("profile \"x\""), None);
    }

    #[test]
    fn a_session_prints_no_secret_in_debug() {
        let s = Session {
            access_key_id: "ASIAKEY".into(),
            secret_access_key: Secret::new("topsecret"),
            session_token: Some(Secret::new("tokentoken")),
            expiry: None,
            region: Some("eu-west-1".into()),
            identity: "x".into(),
        };
        let text = format!("{s:?}");
        assert!(
            !text.contains("topsecret") && !text.contains("tokentoken"),
            "{text}"
        );
        let env = s.env();
        assert_eq!(env.len(), 5);
        assert!(env.iter().all(|(n, _)| *n != "AWS_CREDENTIAL_EXPIRATION"));
    }
}
