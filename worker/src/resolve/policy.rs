//! Which URLs the network tier may fetch: an allow-list of hosts, and no private,
//! loopback, link-local or metadata addresses unless explicitly allowed.
//!
//! Host names are checked here before every request (every redirect hop); addresses
//! are checked twice: IP literals here, and resolved names by [`super::dns`], on the
//! very addresses the connection will use, so DNS tricks (a public name resolving to
//! 127.0.0.1, rebinding between check and connect) do not get through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

#[derive(Clone, Debug)]
pub struct Policy {
    allowed_hosts: HostList,
    private_hosts: HostList,
}

/// Host names matched exactly or as a parent domain (`google.com` matches
/// `maps.google.com`); `*` matches every host.
#[derive(Clone, Debug)]
pub struct HostList(Vec<String>);

impl HostList {
    pub fn new(hosts: &[String]) -> Self {
        Self(
            hosts
                .iter()
                .map(|h| {
                    h.trim()
                        .trim_start_matches('.')
                        .trim_end_matches('.')
                        .to_ascii_lowercase()
                })
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    pub fn matches(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.0.iter().any(|a| {
            a == "*"
                || host == *a
                || host
                    .strip_suffix(a.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

impl Policy {
    pub fn new(allowed_hosts: &[String], private_hosts: &[String]) -> Self {
        Self {
            allowed_hosts: HostList::new(allowed_hosts),
            private_hosts: HostList::new(private_hosts),
        }
    }

    /// The hosts that may resolve to internal addresses, for the DNS guard.
    pub fn private_hosts(&self) -> HostList {
        self.private_hosts.clone()
    }

    /// Checks a URL before it is fetched; the error is the user-facing reason.
    pub fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("unsupported scheme {}", url.scheme()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("links with credentials are not followed".into());
        }
        let host = url
            .host_str()
            .ok_or_else(|| "the link has no host".to_owned())?;
        if !self.allowed_hosts.matches(host) {
            return Err(format!("host {host} is not on the allow-list"));
        }
        if let Some(ip) = literal_ip(url)
            && is_internal(ip)
            && !self.private_hosts.matches(host)
        {
            return Err(format!("refused to connect to internal address {ip}"));
        }
        Ok(())
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// Addresses a link must never make us connect to: loopback, private, link-local
/// (including the 169.254.169.254 metadata service), carrier-grade NAT, unspecified,
/// broadcast, multicast, documentation and benchmarking ranges, and their IPv6
/// counterparts (including IPv4-mapped forms).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            internal_v6(v6)
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || ip.to_ipv4().is_some_and(|v4| ip.segments()[..6] == [0; 6] && internal_v4(v4)) // IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(private: bool) -> Policy {
        let private_hosts = if private {
            vec!["127.0.0.1".to_owned()]
        } else {
            Vec::new()
        };
        Policy::new(
            &[
                "goo.gl".into(),
                "google.com".into(),
                "127.0.0.1".into(),
                "127.0.0.2".into(),
            ],
            &private_hosts,
        )
    }

    #[test]
    fn hosts_must_be_on_the_allow_list() {
        let p = policy(false);
        for ok in [
            "https://goo.gl/maps/x",
            "https://maps.app.goo.gl/x",
            "http://www.google.com/maps",
            "https://GOOGLE.com./x",
        ] {
            assert_eq!(p.check(&Url::parse(ok).unwrap()), Ok(()), "{ok}");
        }
        for bad in [
            "https://evilgoo.gl/x",
            "https://goo.gl.evil.com/x",
            "https://example.com",
            "ftp://goo.gl/x",
            "https://user:pw@goo.gl/x",
        ] {
            assert!(p.check(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let url = Url::parse("http://127.0.0.1:8080/x").unwrap();
        assert!(
            policy(false)
                .check(&url)
                .unwrap_err()
                .contains("internal address")
        );
        assert_eq!(policy(true).check(&url), Ok(()));
        let other = Url::parse("http://127.0.0.2:8080/x").unwrap();
        assert!(
            policy(true).check(&other).is_err(),
            "private access is per host"
        );
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "142.250.72.14", "2607:f8b0:4004:80a::200e"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
