//! Reads a profile from the AWS config and credentials files (with aws-config's own parser)
//! and works out how to get its credentials: a role to assume, and where the credentials
//! to assume it with come from. aws-config does this too, but without MFA.

use anyhow::{Context, bail};
use aws_config::profile::ProfileSet;
use aws_types::os_shim_internal::{Env, Fs};

mod files;

/// The keys of every profile, by name.
pub(crate) trait Profiles {
    fn get(&self, profile: &str, key: &str) -> Option<&str>;
    fn names(&self) -> Vec<String>;
    /// The files the profiles came from, for an error line.
    fn searched(&self) -> String;
}

/// The profiles of both files, and which files they came from.
pub(crate) struct Loaded {
    set: ProfileSet,
    searched: Vec<files::Searched>,
}

impl Profiles for Loaded {
    fn get(&self, profile: &str, key: &str) -> Option<&str> {
        self.set
            .get_profile(profile)?
            .get(key)
            .filter(|v| !v.is_empty())
    }
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.profiles().map(str::to_string).collect();
        names.sort();
        names
    }
    fn searched(&self) -> String {
        files::describe(&self.searched)
    }
}

/// Loads both files, as the AWS CLI finds them (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`).
/// A file that is absent holds no profiles; one that is there but unreadable is an error.
// aws-config's aliases are deprecated for aws-runtime's types, which are not a dependency here.
#[allow(deprecated)]
pub(crate) async fn load() -> anyhow::Result<Loaded> {
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};

    let mut builder = ProfileFiles::builder();
    let mut contents = std::collections::HashMap::new();
    let mut searched = Vec::new();
    for kind in files::Kind::BOTH {
        let (path, from_variable) = files::locate(
            kind,
            std::env::var_os(kind.variable()),
            std::env::var_os("HOME"),
        );
        let text = files::read(kind, &path, from_variable)?;
        let sdk_kind = match kind {
            files::Kind::Config => ProfileFileKind::Config,
            files::Kind::Credentials => ProfileFileKind::Credentials,
        };
        // The parser reads what was read here (so a file cannot change in between) under
        // its real path, which its errors name.
        builder = match &text {
            Some(_) => builder.with_file(sdk_kind, &path),
            None => builder.with_contents(sdk_kind, ""),
        };
        searched.push(files::Searched {
            kind,
            path: path.clone(),
            from_variable,
            found: text.is_some(),
        });
        if let Some(text) = text {
            contents.insert(path.into_os_string(), text.into_bytes());
        }
    }
    let set = aws_config::profile::load(
        &Fs::from_raw_map(contents),
        &Env::real(),
        &builder.build(),
        None,
    )
    .await
    .map_err(|err| {
        // The parser's message names the file and line over two lines: keep it on one.
        let detail = std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_else(|| err.to_string());
        let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
        let detail = detail.strip_prefix("error parsing ").unwrap_or(&detail);
        anyhow::anyhow!("cannot parse {detail}; fix that line")
    })?;
    Ok(Loaded { set, searched })
}

/// How a profile's credentials are made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    Role(Role),
    /// No `role_arn`: the profile's own credentials, as aws-config resolves them.
    Own {
        profile: String,
    },
}

/// A role to assume, with everything AssumeRole needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Role {
    pub(crate) profile: String,
    pub(crate) role_arn: String,
    /// `None` when the profile names none: a default is generated (and left out of the
    /// cache key, as the CLI does).
    pub(crate) session_name: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) duration_seconds: Option<i32>,
    pub(crate) mfa_serial: Option<String>,
    pub(crate) mfa_process: Option<String>,
    pub(crate) source: Source,
}

/// Where the credentials that assume a role come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// `aws_access_key_id` and friends in this profile.
    StaticKeys {
        profile: String,
    },
    /// Another role, assumed first.
    Role(Box<Role>),
    /// A profile aws-config resolves (credential_process, …).
    Profile {
        profile: String,
    },
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

/// The plan for `name`, or one line saying what is wrong with the profiles.
pub(crate) fn plan(profiles: &dyn Profiles, name: &str) -> anyhow::Result<Plan> {
    let names = profiles.names();
    if !names.iter().any(|n| n == name) {
        let searched = profiles.searched();
        if names.is_empty() {
            bail!(
                "profile \"{name}\" is not in {searched}, which hold no profiles; add \
                 [profile {name}] to the config file or set AWS_CONFIG_FILE to the file that has it"
            );
        }
        bail!(
            "profile \"{name}\" is not in {searched} (known: {}); pass --profile with one of them",
            names.join(", ")
        );
    }
    if profiles.get(name, "role_arn").is_none() {
        return Ok(Plan::Own {
            profile: name.to_string(),
        });
    }
    role(profiles, name, &mut vec![name.to_string()]).map(Plan::Role)
}

fn role(profiles: &dyn Profiles, name: &str, seen: &mut Vec<String>) -> anyhow::Result<Role> {
    let get = |key: &str| profiles.get(name, key).map(str::to_string);
    let role_arn = get("role_arn").context("internal: role without role_arn")?;
    let source = match (get("source_profile"), get("credential_source")) {
        (Some(_), Some(_)) => bail!(
            "profile \"{name}\" has both source_profile and credential_source; keep one of them"
        ),
        (None, None) => bail!(
            "profile \"{name}\" has role_arn but no source_profile or credential_source \
             (add one to the AWS config file)"
        ),
        (None, Some(kind)) => match kind.as_str() {
            "Environment" => Source::Environment,
            "Ec2InstanceMetadata" => Source::Ec2InstanceMetadata,
            "EcsContainer" => Source::EcsContainer,
            other => bail!(
                "profile \"{name}\" has credential_source = {other}; use Environment, \
                 Ec2InstanceMetadata or EcsContainer"
            ),
        },
        (Some(source), None) => {
            if !profiles.names().contains(&source) {
                bail!(
                    "profile \"{name}\" has source_profile = {source}, which does not exist; \
                     add [profile {source}] or fix the name"
                );
            }
            let has_keys = profiles.get(&source, "aws_access_key_id").is_some();
            if source == name {
                if !has_keys {
                    bail!(
                        "profile \"{name}\" is its own source_profile but has no \
                         aws_access_key_id; add its keys or another source_profile"
                    );
                }
                Source::StaticKeys { profile: source }
            } else if seen.contains(&source) {
                seen.push(source);
                bail!(
                    "profiles form a source_profile loop: {}; break the loop",
                    seen.join(" → ")
                );
            } else if has_keys {
                Source::StaticKeys { profile: source }
            } else if profiles.get(&source, "role_arn").is_some() {
                seen.push(source.clone());
                Source::Role(Box::new(role(profiles, &source, seen)?))
            } else {
                Source::Profile { profile: source }
            }
        }
    };
    let duration_seconds = match get("duration_seconds") {
        None => None,
        Some(text) => Some(text.parse::<i32>().ok().filter(|d| *d > 0).with_context(|| {
            format!(
                "profile \"{name}\" has duration_seconds = {text}; it must be a whole number \
                 of seconds"
            )
        })?),
    };
    Ok(Role {
        profile: name.to_string(),
        role_arn,
        session_name: get("role_session_name"),
        external_id: get("external_id"),
        duration_seconds,
        mfa_serial: get("mfa_serial"),
        mfa_process: get("mfa_process"),
        source,
    })
}

/// Profiles from a literal, for unit tests here and in `session`.
#[cfg(test)]
pub(crate) mod test_support {
    use super::Profiles;
    use std::collections::BTreeMap;

    pub(crate) struct Map(BTreeMap<String, BTreeMap<String, String>>);

    impl Profiles for Map {
        fn get(&self, profile: &str, key: &str) -> Option<&str> {
            self.0.get(profile)?.get(key).map(String::as_str)
        }
        fn names(&self) -> Vec<String> {
            self.0.keys().cloned().collect()
        }
        fn searched(&self) -> String {
            "/h/.aws/config or /h/.aws/credentials".into()
        }
    }

    pub(crate) fn map(entries: &[(&str, &[(&str, &str)])]) -> Map {
        Map(entries
            .iter()
            .map(|(name, keys)| {
                let keys = keys
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (name.to_string(), keys)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::map;

    #[test]
    fn a_role_profile_carries_every_assume_role_argument() {
        let p = map(&[
            (
                "base",
                &[
                    ("aws_access_key_id", "AKIA"),
                    ("aws_secret_access_key", "s"),
                ],
            ),
            (
                "build",
                &[
                    ("role_arn", "arn:aws:iam::1:role/b"),
                    ("source_profile", "base"),
                    ("mfa_serial", "arn:aws:iam::1:mfa/me"),
                    ("external_id", "x"),
                    ("duration_seconds", "900"),
                    ("role_session_name", "me"),
                ],
            ),
        ]);
        let Plan::Role(role) = plan(&p, "build").unwrap() else {
            panic!("not a role")
        };
        assert_eq!(role.duration_seconds, Some(900));
        assert_eq!(role.external_id.as_deref(), Some("x"));
        assert_eq!(role.session_name.as_deref(), Some("me"));
        assert_eq!(
            role.source,
            Source::StaticKeys {
                profile: "base".into()
            }
        );
    }

    #[test]
    fn a_chain_of_roles_is_followed_and_a_loop_is_refused() {
        let p = map(&[
            ("a", &[("role_arn", "arn:a"), ("source_profile", "b")]),
            ("b", &[("role_arn", "arn:b"), ("source_profile", "c")]),
            ("c", &[("role_arn", "arn:c"), ("source_profile", "a")]),
        ]);
        let err = plan(&p, "a").unwrap_err().to_string();
        assert!(err.contains("loop: a → b → c → a"), "{err}");

        let p = map(&[
            ("a", &[("role_arn", "arn:a"), ("source_profile", "b")]),
            (
                "b",
                &[("role_arn", "arn:b"), ("credential_source", "Environment")],
            ),
        ]);
        let Plan::Role(role) = plan(&p, "a").unwrap() else {
            panic!("not a role")
        };
        let Source::Role(inner) = role.source else {
            panic!("not a chain")
        };
        assert_eq!(inner.source, Source::Environment);
    }

    #[test]
    fn a_profile_that_is_its_own_source_uses_its_keys() {
        let p = map(&[(
            "me",
            &[
                ("aws_access_key_id", "AKIA"),
                ("role_arn", "arn:r"),
                ("source_profile", "me"),
            ],
        )]);
        let Plan::Role(role) = plan(&p, "me").unwrap() else {
            panic!("not a role")
        };
        assert_eq!(
            role.source,
            Source::StaticKeys {
                profile: "me".into()
            }
        );
    }

    #[test]
    fn bad_profiles_are_refused_with_the_fix() {
        let p = map(&[
            ("lonely", &[("role_arn", "arn:r")]),
            (
                "odd",
                &[("role_arn", "arn:r"), ("credential_source", "Moon")],
            ),
            (
                "long",
                &[
                    ("role_arn", "arn:r"),
                    ("credential_source", "Environment"),
                    ("duration_seconds", "1h"),
                ],
            ),
        ]);
        let unknown = plan(&p, "nope").unwrap_err().to_string();
        assert!(unknown.contains("known: lonely, long, odd"), "{unknown}");
        let lonely = plan(&p, "lonely").unwrap_err().to_string();
        assert!(
            lonely.contains("no source_profile or credential_source"),
            "{lonely}"
        );
        assert!(plan(&p, "odd").unwrap_err().to_string().contains("Moon"));
        assert!(
            plan(&p, "long")
                .unwrap_err()
                .to_string()
                .contains("duration_seconds = 1h")
        );
    }

    #[test]
    fn a_profile_without_a_role_uses_its_own_credentials() {
        let p = map(&[("plain", &[("aws_access_key_id", "AKIA")])]);
        assert_eq!(
            plan(&p, "plain").unwrap(),
            Plan::Own {
                profile: "plain".into()
            }
        );
    }
}
