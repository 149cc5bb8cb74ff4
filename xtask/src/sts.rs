//! Talks to AWS: the SDK configuration (with the small HTTP client of `http.rs`), the
//! source credentials a role is assumed with, and the AssumeRole call with its errors
//! turned into one line each.

use std::time::SystemTime;

use anyhow::{Context, anyhow};
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::config::Region;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::cache::Entry;
use crate::profile::{Profiles, Role, Source};
use crate::secret::Secret;

/// The SDK configuration: endpoint overrides (`AWS_ENDPOINT_URL…`, `endpoint_url`) come
/// with it, which is how the tests point it at moto.
pub(crate) async fn sdk_config(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(crate::http::client());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    loader.load().await
}

/// Resolves the credentials of a provider now, so that "none found" is one clear line.
pub(crate) async fn provide(
    provider: &SharedCredentialsProvider,
    what: &str,
) -> anyhow::Result<Credentials> {
    use aws_credential_types::provider::error::CredentialsError;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|err| match err {
            CredentialsError::CredentialsNotLoaded(_) => anyhow!(
                "no AWS credentials found in {what}; set AWS_PROFILE (or pass --profile), or \
             export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ),
            other => anyhow!(
                "cannot load the credentials of {what}: {}",
                one_line(&other)
            ),
        })?;
    if let Some(expiry) = creds.expiry()
        && expiry <= SystemTime::now()
    {
        anyhow::bail!("the credentials of {what} have expired; renew them and try again");
    }
    Ok(creds)
}

/// The credentials a role is assumed with, for every source but another role (which the
/// caller assumes first, outside this async context).
pub(crate) async fn source_credentials(
    profiles: &dyn Profiles,
    role: &Role,
    region: Option<&str>,
) -> anyhow::Result<Credentials> {
    let conf = ProviderConfig::without_region()
        .with_http_client(crate::http::client())
        .with_region(region.map(|r| Region::new(r.to_string())));
    let (provider, what) = match &role.source {
        Source::StaticKeys { profile } => {
            let get = |key| profiles.get(profile, key).map(str::to_string);
            let (Some(id), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key"))
            else {
                anyhow::bail!(
                    "profile \"{profile}\" has aws_access_key_id but no \
                     aws_secret_access_key; add it to the credentials file"
                );
            };
            let creds = Credentials::new(id, secret, get("aws_session_token"), None, "profile");
            return Ok(creds);
        }
        Source::Role(inner) => {
            anyhow::bail!("internal: role {} must be assumed first", inner.role_arn)
        }
        Source::Profile { profile } => (
            sdk_config(Some(profile), region)
                .await
                .credentials_provider()
                .context("internal: the SDK configuration has no credentials provider")?,
            format!("profile \"{profile}\""),
        ),
        Source::Environment => (
            SharedCredentialsProvider::new(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
            "the environment (credential_source = Environment)".to_string(),
        ),
        Source::Ec2InstanceMetadata => (
            SharedCredentialsProvider::new(
                aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                    .configure(&conf)
                    .build(),
            ),
            "instance metadata (credential_source = Ec2InstanceMetadata)".to_string(),
        ),
        Source::EcsContainer => (
            SharedCredentialsProvider::new(
                aws_config::ecs::EcsCredentialsProvider::builder()
                    .configure(&conf)
                    .build(),
            ),
            "the ECS container endpoint (credential_source = EcsContainer)".to_string(),
        ),
    };
    provide(&provider, &what).await
}

/// Why an AssumeRole call failed.
pub(crate) enum Failure {
    /// STS refused the MFA code: worth asking for another.
    CodeRefused,
    Other(anyhow::Error),
}

/// The arguments of one AssumeRole call.
pub(crate) struct Call<'a> {
    pub(crate) role: &'a Role,
    pub(crate) session_name: &'a str,
    pub(crate) duration_seconds: Option<i32>,
    pub(crate) code: Option<&'a Secret>,
}

/// One AssumeRole call with `source` credentials.
pub(crate) async fn assume_role(
    source: Credentials,
    region: Option<&str>,
    call: &Call<'_>,
) -> Result<Entry, Failure> {
    // STS needs a region to sign; the global endpoint's us-east-1 when none is known.
    let base = sdk_config(
        Some(&call.role.profile),
        Some(region.unwrap_or("us-east-1")),
    )
    .await;
    let config = aws_sdk_sts::config::Builder::from(&base)
        .credentials_provider(source)
        .build();
    let endpoint = base.endpoint_url().map(str::to_string).unwrap_or_else(|| {
        format!(
            "https://sts.{}.amazonaws.com",
            region.unwrap_or("us-east-1")
        )
    });
    let client = aws_sdk_sts::Client::from_conf(config);
    let role = call.role;
    let result = client
        .assume_role()
        .role_arn(&role.role_arn)
        .role_session_name(call.session_name)
        .set_external_id(role.external_id.clone())
        .set_duration_seconds(call.duration_seconds)
        .set_serial_number(role.mfa_serial.clone())
        .set_token_code(call.code.map(|c| c.expose().to_string()))
        .send()
        .await;
    let output = result.map_err(|err| classify(err, &endpoint, role))?;
    let creds = output.credentials().ok_or_else(|| {
        Failure::Other(anyhow!(
            "STS at {endpoint} answered AssumeRole without credentials"
        ))
    })?;
    let expiration = SystemTime::try_from(*creds.expiration())
        .map_err(|_| Failure::Other(anyhow!("STS at {endpoint} sent an unreadable expiry")))?;
    Ok(Entry {
        access_key_id: creds.access_key_id().to_string(),
        secret_access_key: Secret::new(creds.secret_access_key()),
        session_token: Secret::new(creds.session_token()),
        expiration,
        assumed_arn: output.assumed_role_user().map(|u| u.arn().to_string()),
    })
}

fn classify<R: std::fmt::Debug>(
    err: SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError, R>,
    endpoint: &str,
    role: &Role,
) -> Failure {
    let arn = &role.role_arn;
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("unknown");
            let message = e.message().unwrap_or("");
            if code == "AccessDenied" && message.contains("MultiFactorAuthentication") {
                return Failure::CodeRefused;
            }
            let text = match code {
                "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => format!(
                    "STS at {endpoint} throttled AssumeRole for {arn} ({code}) even after \
                     retries; wait a minute and try again"
                ),
                "ExpiredToken" | "ExpiredTokenException" => format!(
                    "the source credentials of profile \"{}\" have expired ({code}); renew \
                     them and try again",
                    role.profile
                ),
                _ if code.starts_with("InternalFailure") || code == "ServiceUnavailable" => {
                    format!(
                        "STS at {endpoint} failed AssumeRole for {arn} ({code}) even after \
                         retries; try again later"
                    )
                }
                _ => format!("STS at {endpoint} refused AssumeRole for {arn}: {code}: {message}"),
            };
            Failure::Other(anyhow!(text))
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Failure::Other(anyhow!(
            "cannot reach STS at {endpoint}; check the network, AWS_ENDPOINT_URL and the \
             profile's endpoint_url, or HTTPS_PROXY and NO_PROXY"
        )),
        SdkError::ResponseError(_) => Failure::Other(anyhow!(
            "STS at {endpoint} sent a response to AssumeRole that could not be read (is it STS?)"
        )),
        _ => Failure::Other(anyhow!(
            "AssumeRole for {arn} at {endpoint} failed: {}",
            one_line(&err)
        )),
    }
}

/// An error and its causes on one line.
pub(crate) fn one_line(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
