//! Validation of endpoint URLs at registration.
//!
//! HTTPS is required, and literal private, loopback, link-local, multicast
//! and unspecified addresses are refused, unless the host is on the
//! development allowlist (`delivery.allow_insecure_hosts`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hyper::Uri;

/// Longest URL accepted.
pub const MAX_LEN: usize = 2048;

/// A URL fit to deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUrl {
    /// Not a URL at all.
    #[error("{0:?} is not a valid URL")]
    Malformed(String),
    /// Longer than [`MAX_LEN`].
    #[error("URL is longer than {MAX_LEN} characters")]
    TooLong,
    /// Scheme other than http(s).
    #[error("URL must start with https://")]
    Scheme,
    /// No host.
    #[error("URL has no host")]
    NoHost,
    /// User name or password in the URL.
    #[error("URL must not contain credentials; use the signature to authenticate requests")]
    Credentials,
    /// Plain http to a host that is not allowlisted.
    #[error("URL must use https:// (plain http is allowed only for hosts in delivery.allow_insecure_hosts)")]
    NotHttps,
    /// An internal address that is not allowlisted.
    #[error("{0} is a private, loopback, link-local or otherwise internal address")]
    InternalAddress(String),
}

impl EndpointUrl {
    /// Validates `raw` against the rules above.
    pub fn parse(raw: &str, allow_insecure_hosts: &[String]) -> Result<Self, InvalidUrl> {
        let raw = raw.trim();
        if raw.len() > MAX_LEN {
            return Err(InvalidUrl::TooLong);
        }
        let uri: Uri = raw
            .parse()
            .map_err(|_| InvalidUrl::Malformed(raw.to_owned()))?;
        let scheme = uri.scheme_str().ok_or(InvalidUrl::Scheme)?;
        let authority = uri.authority().ok_or(InvalidUrl::NoHost)?;
        if authority.as_str().contains('@') {
            return Err(InvalidUrl::Credentials);
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(InvalidUrl::NoHost);
        }
        let allowlisted = allow_insecure_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host));
        match scheme {
            "https" => {}
            "http" if allowlisted => {}
            "http" => return Err(InvalidUrl::NotHttps),
            _ => return Err(InvalidUrl::Scheme),
        }
        if !allowlisted {
            let internal_name =
                host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost");
            let internal_ip = host.parse::<IpAddr>().is_ok_and(|ip| is_internal(&ip));
            if internal_name || internal_ip {
                return Err(InvalidUrl::InternalAddress(host.to_owned()));
            }
        }
        Ok(EndpointUrl(raw.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Addresses a partner endpoint must never resolve to.
pub fn is_internal(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(&v4);
            }
            is_internal_v6(v6)
        }
    }
}

fn is_internal_v4(ip: &Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // includes 169.254.169.254, the cloud metadata address
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || a >= 240
}

fn is_internal_v6(ip: &Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<EndpointUrl, InvalidUrl> {
        EndpointUrl::parse(url, &["127.0.0.1".to_owned()])
    }

    #[test]
    fn https_to_a_public_host_is_accepted() {
        assert_eq!(
            parse("https://crm.example.com/hooks").unwrap().as_str(),
            "https://crm.example.com/hooks"
        );
    }

    #[test]
    fn plain_http_is_refused_unless_allowlisted() {
        assert_eq!(
            parse("http://crm.example.com/hooks"),
            Err(InvalidUrl::NotHttps)
        );
        assert!(parse("http://127.0.0.1:9000/hooks").is_ok());
    }

    #[test]
    fn internal_addresses_are_refused() {
        for url in [
            "https://10.0.0.1/",
            "https://192.168.1.1/",
            "https://172.16.0.1/",
            "https://169.254.169.254/latest",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://localhost/",
            "https://127.0.0.2/",
        ] {
            assert!(
                matches!(parse(url), Err(InvalidUrl::InternalAddress(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn nonsense_gets_a_clear_error() {
        assert!(matches!(parse("not a url"), Err(InvalidUrl::Malformed(_))));
        assert_eq!(parse("ftp://example.com/"), Err(InvalidUrl::Scheme));
        assert_eq!(
            parse("https://user:pw@example.com/"),
            Err(InvalidUrl::Credentials)
        );
    }
}
