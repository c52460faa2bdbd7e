//! Which URLs the network tier may fetch: an allow-list of hosts, and no private,
//! loopback, link-local or metadata addresses (nor IPv6 forms that carry an IPv4
//! address: mapped, NAT64, 6to4, Teredo…) unless explicitly allowed.
//!
//! Host names are checked here before every request (every redirect hop); addresses
//! are checked twice: IP literals here, and resolved names by [`super::dns`], on the
//! very addresses the connection will use, so DNS tricks (a public name resolving to
//! 127.0.0.1, rebinding between check and connect) do not get through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use maplink::domain::reason_code as code;
use reqwest::Url;

use super::reason::Reason;

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
                    // IPv6 literals may be written as in a URL (`[::1]`); hosts are
                    // compared without the brackets.
                    h.trim()
                        .trim_start_matches(['.', '['])
                        .trim_end_matches(['.', ']'])
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
    pub fn check(&self, url: &Url) -> Result<(), Reason> {
        let not_followed = |text: String| Reason::new(code::LINK_NOT_FOLLOWED, text);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(not_followed(format!("unsupported scheme {}", url.scheme())));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(not_followed(
                "links with credentials are not followed".into(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| not_followed("the link has no host".into()))?;
        if !self.allowed_hosts.matches(host) {
            return Err(Reason::new(
                code::HOST_NOT_ALLOWED,
                format!("host {host} is not on the allow-list"),
            ));
        }
        if let Some(ip) = literal_ip(url)
            && is_internal(ip)
            && !self.private_hosts.matches(host)
        {
            return Err(Reason::new(
                code::INTERNAL_ADDRESS,
                format!("refused to connect to internal address {ip}"),
            ));
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
/// counterparts (see [`INTERNAL_V6`]).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (NAT64 discovery, DS-Lite)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// IPv6 ranges that are refused whole, each with the reason.
///
/// Every form that embeds an IPv4 address (mapped, compatible, translated, NAT64,
/// 6to4, Teredo) is refused outright rather than by the IPv4 address inside: a
/// translator or relay may deliver it to a private network, the embedding rules differ
/// per form (Teredo even obfuscates its client address), and a public map host has no
/// business being reached that way, so nothing legitimate is lost.
// One range per line reads as the table it is.
#[rustfmt::skip]
const INTERNAL_V6: &[(Ipv6Addr, u8, &str)] = &[
    (Ipv6Addr::UNSPECIFIED,                           128, "unspecified"),
    (Ipv6Addr::LOCALHOST,                             128, "loopback"),
    // Also holds :: and ::1: every IPv4 address in the deprecated ::a.b.c.d form.
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),            96, "IPv4-compatible"),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),       96, "IPv4-mapped"),
    (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0),       96, "IPv4-translated (SIIT)"),
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),    96, "NAT64 well-known prefix"),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),    48, "NAT64 local-use prefix"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),        64, "discard-only"),
    // Teredo (2001::/32), benchmarking (2001:2::/48), ORCHID and the other IETF
    // protocol assignments: none of them is where a map page lives.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),       23, "IETF protocol assignments (Teredo)"),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),   32, "documentation"),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),       16, "6to4"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),       20, "documentation"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),        7, "unique local"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),       10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),       10, "site-local (deprecated)"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),        8, "multicast"),
];

fn internal_v6(ip: Ipv6Addr) -> bool {
    internal_v6_range(ip).is_some()
}

/// The first [`INTERNAL_V6`] range holding `ip`, by name.
fn internal_v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    INTERNAL_V6
        .iter()
        .find(|&&(net, len, _)| in_prefix(ip, net, len))
        .map(|&(_, _, name)| name)
}

/// Whether the first `len` bits of `ip` and `net` agree.
fn in_prefix(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    (ip.to_bits() ^ net.to_bits()) & mask == 0
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
                .text
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

    #[test]
    fn every_special_ipv6_range_is_internal() {
        for (ip, range) in [
            ("::", "unspecified"),
            ("::1", "loopback"),
            // IPv4 inside IPv6 is refused whatever the IPv4 address is.
            ("::7f00:1", "IPv4-compatible"),
            ("::808:808", "IPv4-compatible"),
            ("::ffff:7f00:1", "IPv4-mapped"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("::ffff:0:a9fe:a9fe", "IPv4-translated (SIIT)"),
            ("::ffff:0:808:808", "IPv4-translated (SIIT)"),
            ("64:ff9b::7f00:1", "NAT64 well-known prefix"),
            ("64:ff9b::8.8.8.8", "NAT64 well-known prefix"),
            ("64:ff9b:1::a00:1", "NAT64 local-use prefix"),
            ("64:ff9b:1:ffff::1", "NAT64 local-use prefix"),
            ("100::1", "discard-only"),
            ("100::ffff:ffff:ffff:ffff", "discard-only"),
            ("2001::1", "IETF protocol assignments (Teredo)"),
            (
                "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                "IETF protocol assignments (Teredo)",
            ),
            ("2001:2::1", "IETF protocol assignments (Teredo)"),
            ("2001:db8::1", "documentation"),
            ("2001:db8:ffff::1", "documentation"),
            ("3fff::1", "documentation"),
            ("2002:7f00:1::1", "6to4"),
            ("2002:808:808::1", "6to4"),
            ("fc00::1", "unique local"),
            ("fd12:3456:789a::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local (deprecated)"),
            ("feff::1", "site-local (deprecated)"),
            ("ff02::1", "multicast"),
            ("ff05::1:3", "multicast"),
        ] {
            let v6: Ipv6Addr = ip.parse().unwrap();
            assert_eq!(internal_v6_range(v6), Some(range), "{ip}");
            assert!(is_internal(IpAddr::V6(v6)), "{ip}");
        }
    }

    #[test]
    fn public_ipv6_addresses_stay_reachable() {
        for ip in [
            "2606:4700::1111",
            "2607:f8b0:4004:80a::200e",
            "2a00:1450:4001:82a::200e",
            "2001:200::1", // just past the IETF block
            "2001:db9::1", // just past documentation
            "2003::1",     // just past 6to4
            "64:ff9c::1",  // just past NAT64
            "101::1",      // just past discard-only
            "::1:0:0:0:1", // not IPv4-compatible
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_links_are_refused_unless_the_host_is_private() {
        let p = Policy::new(&["*".into()], &["[64:ff9b::7f00:1]".into()]);
        for link in [
            "http://[::ffff:8.8.8.8]/x",
            "http://[::ffff:0:808:808]/x",
            "http://[::808:808]/x",
            "http://[64:ff9b::808:808]/x",
            "http://[2002:808:808::1]/x",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",
            "http://[fec0::1]/x",
        ] {
            let refused = p.check(&Url::parse(link).unwrap()).unwrap_err();
            assert!(
                refused.text.contains("internal address"),
                "{link}: {refused}"
            );
            assert_eq!(refused.code, code::INTERNAL_ADDRESS);
        }
        assert_eq!(
            p.check(&Url::parse("http://[64:ff9b::7f00:1]:8080/x").unwrap()),
            Ok(()),
            "an operator may still allow one such host"
        );
        assert_eq!(
            p.check(&Url::parse("https://[2606:4700::1111]/x").unwrap()),
            Ok(())
        );
    }

    #[test]
    fn prefix_lengths_are_respected_at_both_ends() {
        let any = Ipv6Addr::new(0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1111);
        assert!(
            in_prefix(any, Ipv6Addr::UNSPECIFIED, 0),
            "/0 holds everything"
        );
        assert!(in_prefix(any, any, 128));
        assert!(!in_prefix(
            any,
            Ipv6Addr::new(0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1110),
            128
        ));
        assert!(in_prefix(
            any,
            Ipv6Addr::new(0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1110),
            127
        ));
    }

    #[test]
    fn ietf_protocol_assignment_ipv4_addresses_are_internal() {
        for ip in ["192.0.0.1", "192.0.0.170", "192.0.0.255"] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        assert!(!is_internal("192.0.1.1".parse().unwrap()));
    }
}
