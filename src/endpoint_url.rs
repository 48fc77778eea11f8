//! Validation of endpoint URLs at registration.
//!
//! HTTPS is required, and literal private, loopback, link-local, multicast
//! and unspecified addresses are refused, unless the host is on the
//! development allowlist (`delivery.allow_insecure_hosts`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

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
    ///
    /// The URL is read as the WHATWG URL standard reads it (what browsers
    /// and most HTTP clients do), so a host written as a number
    /// (`0x7f000001`, `2130706433`, `127.1`) is the address it stands for,
    /// and an internationalised name is kept in its ASCII (punycode) form,
    /// which is also what is stored and connected to.
    pub fn parse(raw: &str, allow_insecure_hosts: &[String]) -> Result<Self, InvalidUrl> {
        let raw = raw.trim();
        if raw.len() > MAX_LEN {
            return Err(InvalidUrl::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| InvalidUrl::Malformed(raw.to_owned()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(InvalidUrl::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidUrl::Credentials);
        }
        let host = url.host().ok_or(InvalidUrl::NoHost)?;
        let name = host_name(&host);
        if name.is_empty() {
            return Err(InvalidUrl::NoHost);
        }
        let allowlisted = allow_insecure_hosts.iter().any(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case(&name)
        });
        if url.scheme() == "http" && !allowlisted {
            return Err(InvalidUrl::NotHttps);
        }
        if !allowlisted && is_internal_host(&host) {
            return Err(InvalidUrl::InternalAddress(name));
        }
        if url.as_str().len() > MAX_LEN {
            return Err(InvalidUrl::TooLong);
        }
        Ok(EndpointUrl(url.into()))
    }

    /// The URL, as the standard serialises it (punycode host, numeric
    /// hosts in dotted form).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The host as written in a URL, without IPv6 brackets.
fn host_name(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => d.trim_end_matches('.').to_owned(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    }
}

fn is_internal_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Host::Ipv4(ip) => is_internal(&IpAddr::V4(*ip)),
        Host::Ipv6(ip) => is_internal(&IpAddr::V6(*ip)),
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
    fn numeric_host_forms_are_the_addresses_they_stand_for() {
        for url in [
            "https://0x7f000002/x", // 127.0.0.1 itself is allowlisted here
            "https://2130706434/x",
            "https://127.2/x",
            "https://0177.0.0.2/x",
            "https://0xa9fea9fe/latest",
            "https://[::ffff:127.0.0.1]/",
            "https://localhost./",
        ] {
            assert!(
                matches!(parse(url), Err(InvalidUrl::InternalAddress(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn loopback_written_as_one_number_is_refused_without_an_allowlist() {
        for url in ["https://0x7f000001/x", "https://2130706433/x"] {
            assert_eq!(
                EndpointUrl::parse(url, &[]),
                Err(InvalidUrl::InternalAddress("127.0.0.1".into())),
                "{url}"
            );
        }
    }

    #[test]
    fn an_internationalised_name_is_accepted_in_its_ascii_form() {
        assert_eq!(
            parse("https://exämple.com/hooks").unwrap().as_str(),
            "https://xn--exmple-cua.com/hooks"
        );
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
