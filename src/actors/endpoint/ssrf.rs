//! The SSRF guard: partner endpoints must not reach internal addresses.
//! Checked on the address actually connected to (after DNS resolution), so a
//! name that resolves to a private address, or changes to one after
//! registration (DNS rebinding), is refused too.

use std::collections::HashSet;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

use crate::endpoint_url::is_internal;

/// A connection to an internal address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolves to {addr}, an internal address (allowlist it in delivery.allow_insecure_hosts for development)")]
pub struct BlockedAddress {
    /// The host asked for.
    pub host: String,
    /// The address it resolved to.
    pub addr: IpAddr,
}

/// Which hosts may be internal: the development allowlist.
#[derive(Debug, Clone, Default)]
pub struct SsrfGuard {
    allowed: Arc<HashSet<String>>,
}

impl SsrfGuard {
    /// A guard allowing exactly these hosts (names or literal addresses).
    pub fn new(allow: &[String]) -> Self {
        SsrfGuard {
            allowed: Arc::new(allow.iter().map(|h| h.to_ascii_lowercase()).collect()),
        }
    }

    fn allows(&self, host: &str) -> bool {
        self.allowed.contains(&host.to_ascii_lowercase())
    }

    /// Checks a URL host that is a literal address (no resolution happens
    /// for those). Names pass here and are checked by the resolver.
    pub fn check_literal(&self, host: &str) -> Result<(), BlockedAddress> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) if is_internal(&ip) && !self.allows(bare) => Err(BlockedAddress {
                host: bare.to_owned(),
                addr: ip,
            }),
            _ => Ok(()),
        }
    }

    /// A resolver applying this guard.
    pub fn resolver(&self) -> GuardedResolver {
        GuardedResolver {
            guard: self.clone(),
        }
    }
}

/// Resolves with the system resolver, then refuses the lot if any address is
/// internal and the name is not allowlisted.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: SsrfGuard,
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !guard.allows(&host) {
                if let Some(bad) = addrs.iter().find(|a| is_internal(&a.ip())) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::PermissionDenied,
                        BlockedAddress {
                            host,
                            addr: bad.ip(),
                        },
                    ));
                }
            }
            Ok(addrs.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_internal_addresses_are_refused_unless_allowlisted() {
        let guard = SsrfGuard::new(&["127.0.0.1".to_owned()]);
        assert!(guard.check_literal("127.0.0.1").is_ok());
        assert!(guard.check_literal("10.1.2.3").is_err());
        assert!(guard.check_literal("[::1]").is_err());
        assert!(
            guard.check_literal("example.com").is_ok(),
            "names are checked at resolution"
        );
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_unless_the_name_is_allowlisted() {
        use tower_service::Service;
        let mut strict = SsrfGuard::new(&["127.0.0.1".to_owned()]).resolver();
        let err = strict
            .call("localhost".parse::<Name>().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("internal address"), "{err}");
        let mut dev = SsrfGuard::new(&["localhost".to_owned()]).resolver();
        assert!(dev.call("localhost".parse::<Name>().unwrap()).await.is_ok());
    }
}
