//! The SDK's HTTP client: blocking HTTP/1.1 (ureq) over the system's OpenSSL, which builds
//! in a fraction of the time of the SDK's hyper + rustls stack. Proxies come from the
//! environment the way the SDK's default client reads them.

use std::net::IpAddr;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// The client to hand to `aws_config` and the STS client.
pub(crate) fn client() -> SharedHttpClient {
    SharedHttpClient::new(Client)
}

#[derive(Debug)]
struct Client;

impl HttpClient for Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            connect_timeout: settings.connect_timeout(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct Connector {
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (connect_timeout, read_timeout) = (self.connect_timeout, self.read_timeout);
        HttpConnectorFuture::new(async move {
            // ureq blocks; the SDK's own timers keep running on the runtime meanwhile.
            tokio::task::spawn_blocking(move || send(request, connect_timeout, read_timeout))
                .await
                .map_err(|err| ConnectorError::other(err.into(), None))?
        })
    }
}

/// How long a response may take when the SDK sets no read timeout.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

fn send(
    request: HttpRequest,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
) -> Result<HttpResponse, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|err| ConnectorError::user(err.into()))?;
    let uri = request.uri();
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    let proxy = match proxy_for(scheme, host, |name| std::env::var(name).ok()) {
        Some(url) => Some(ureq::Proxy::new(&url).map_err(|err| ConnectorError::user(err.into()))?),
        None => None,
    };
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    // STS answers in well under a second: without a bound, a server that accepts the
    // connection and never answers would hang xtask (the SDK sets no read timeout).
    let read_timeout = read_timeout.or(Some(DEFAULT_READ_TIMEOUT));
    let agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        // The SDK reads error statuses itself and follows no redirects.
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_resolve(connect_timeout)
        .timeout_connect(connect_timeout)
        .timeout_recv_response(read_timeout)
        .timeout_recv_body(read_timeout)
        .build()
        .new_agent();
    let (parts, body) = request.into_parts();
    let Some(body) = body.bytes().map(<[u8]>::to_vec) else {
        return Err(ConnectorError::user(
            "a streaming request body is not supported".into(),
        ));
    };
    let sent = if body.is_empty() {
        agent.run(ureq::http::Request::from_parts(parts, ()))
    } else {
        agent.run(ureq::http::Request::from_parts(parts, body))
    };
    let (parts, mut body) = sent.map_err(connector_error)?.into_parts();
    let bytes = body.read_to_vec().map_err(connector_error)?;
    HttpResponse::try_from(ureq::http::Response::from_parts(
        parts,
        SdkBody::from(bytes),
    ))
    .map_err(|err| ConnectorError::other(err.into(), None))
}

/// How the SDK's retry logic sees a failure: timeouts and I/O (refused, reset, DNS, TLS)
/// are transient, a bad URL or proxy setting is the caller's.
fn connector_error(err: ureq::Error) -> ConnectorError {
    use ureq::Error as E;
    match err {
        E::Timeout(_) => ConnectorError::timeout(err.into()),
        E::Io(_)
        | E::HostNotFound
        | E::ConnectionFailed
        | E::Protocol(_)
        | E::Tls(_)
        | E::NativeTls(_)
        | E::ConnectProxyFailed(_)
        | E::BodyStalled => ConnectorError::io(err.into()),
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl => ConnectorError::user(err.into()),
        _ => ConnectorError::other(err.into(), None),
    }
}

/// The proxy URL for a request to `scheme://host`, chosen as the SDK's default client
/// (hyper-util's matcher) chooses it: `HTTPS_PROXY` for https, `HTTP_PROXY` for http,
/// `ALL_PROXY` for either, upper case before lower; none for a host `NO_PROXY` names, and
/// none at all under CGI (`REQUEST_METHOD` set), where `HTTP_PROXY` may come from a client.
fn proxy_for(scheme: &str, host: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let first = |names: [&str; 2]| names.iter().find_map(|name| env(name));
    if env("REQUEST_METHOD").is_some() {
        return None;
    }
    // http:// and https:// proxies only (a bare host means http://): a SOCKS or other
    // proxy is passed over, as the SDK's own client passes over what it cannot use.
    let usable = |url: Option<String>| {
        url.filter(|u| !u.trim().is_empty())
            .map(|u| {
                if u.contains("://") {
                    u
                } else {
                    format!("http://{u}")
                }
            })
            .filter(|u| {
                let scheme = u.split("://").next().unwrap_or("").to_ascii_lowercase();
                scheme == "http" || scheme == "https"
            })
    };
    let all = usable(first(["ALL_PROXY", "all_proxy"]));
    let proxy = match scheme {
        "https" => usable(first(["HTTPS_PROXY", "https_proxy"])).or(all),
        "http" => usable(first(["HTTP_PROXY", "http_proxy"])).or(all),
        _ => None,
    }?;
    let no_proxy = first(["NO_PROXY", "no_proxy"]).unwrap_or_default();
    (!bypasses(&no_proxy, host)).then_some(proxy)
}

/// Whether a `NO_PROXY` list names `host`: `*`, an IP address or network (`10.0.0.0/8`), or
/// a domain, which also covers its subdomains (`example.com` = `.example.com`).
fn bypasses(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some(ip) = ip {
                return in_network(entry, ip);
            }
            let domain = entry.trim_start_matches('.');
            host.eq_ignore_ascii_case(domain)
                || host.len() > domain.len()
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                    && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
        })
}

/// Whether `ip` is the address `entry` or lies in the network `entry` (`addr/prefix`).
fn in_network(entry: &str, ip: IpAddr) -> bool {
    let (addr, prefix) = match entry.split_once('/') {
        Some((addr, prefix)) => (addr, prefix.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            same_prefix(u32::from(net).into(), u32::from(ip).into(), 32, prefix)
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(net.into(), ip.into(), 128, prefix),
        _ => false,
    }
}

fn same_prefix(net: u128, ip: u128, bits: u32, prefix: Option<u32>) -> bool {
    let prefix = prefix.unwrap_or(bits);
    if prefix > bits {
        return false;
    }
    let shift = bits - prefix;
    shift >= 128 || net.checked_shr(shift) == ip.checked_shr(shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn each_scheme_takes_its_own_proxy_and_all_proxy_fills_in() {
        let vars = [
            ("HTTPS_PROXY", "http://secure:3128"),
            ("ALL_PROXY", "http://all:3128"),
        ];
        assert_eq!(
            proxy_for("https", "sts.amazonaws.com", env(&vars)).as_deref(),
            Some("http://secure:3128")
        );
        assert_eq!(
            proxy_for("http", "sts.amazonaws.com", env(&vars)).as_deref(),
            Some("http://all:3128")
        );
        assert_eq!(proxy_for("https", "sts.amazonaws.com", env(&[])), None);
    }

    #[test]
    fn a_proxy_this_client_cannot_speak_is_passed_over() {
        for url in [
            "socks5://u:pw@127.0.0.1:1080",
            "socks5h://127.0.0.1:1",
            "ftp://p:21",
        ] {
            let vars = [("ALL_PROXY", url)];
            assert_eq!(
                proxy_for("https", "sts.amazonaws.com", env(&vars)),
                None,
                "{url}"
            );
        }
        let vars = [("HTTPS_PROXY", "HTTPS://Secure:3128")];
        assert_eq!(
            proxy_for("https", "sts.amazonaws.com", env(&vars)).as_deref(),
            Some("HTTPS://Secure:3128")
        );
    }

    #[test]
    fn upper_case_wins_and_a_bare_host_means_http() {
        let vars = [("https_proxy", "lower:1"), ("HTTPS_PROXY", "upper:2")];
        assert_eq!(
            proxy_for("https", "example.com", env(&vars)).as_deref(),
            Some("http://upper:2")
        );
    }

    #[test]
    fn no_proxy_names_domains_with_their_subdomains_addresses_and_networks() {
        let list = "localhost, .internal,amazonaws.com,10.0.0.0/8,::1";
        assert!(bypasses(list, "localhost"));
        assert!(bypasses(list, "sts.amazonaws.com"));
        assert!(bypasses(list, "amazonaws.com"));
        assert!(bypasses(list, "db.internal"));
        assert!(bypasses(list, "10.1.2.3"));
        assert!(bypasses(list, "[::1]"));
        assert!(!bypasses(list, "notamazonaws.com"));
        assert!(!bypasses(list, "11.0.0.1"));
        assert!(!bypasses(list, "127.0.0.1"));
        assert!(bypasses("*", "anything.example"));
        assert!(bypasses("127.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn a_host_in_no_proxy_goes_direct() {
        let vars = [
            ("HTTP_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "127.0.0.1"),
        ];
        assert_eq!(proxy_for("http", "127.0.0.1", env(&vars)), None);
        assert!(proxy_for("http", "127.0.0.2", env(&vars)).is_some());
    }

    #[test]
    fn cgi_requests_ignore_every_proxy_variable() {
        let vars = [("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")];
        assert_eq!(proxy_for("http", "example.com", env(&vars)), None);
    }
}
