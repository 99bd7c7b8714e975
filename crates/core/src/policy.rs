//! Which IP addresses may be contacted.
//!
//! A bot that looks up any address a stranger types is an open door into the network
//! it runs in. [`TargetPolicy`] refuses private, loopback, link-local, multicast,
//! unspecified, shared (CGNAT), documentation and other special-purpose addresses by
//! default, with an allow list for the networks an operator does want reachable (a test
//! setup allows loopback). The [`StatusSource`](crate::ports::StatusSource) checks it on
//! **every resolved IP right before connecting**, so a name that resolves to a private
//! address (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an IP network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an IP network (write e.g. 10.0.0.0/8, 127.0.0.1 or ::1/128)")]
pub struct IpNetError(String);

impl IpNet {
    /// A network; the prefix is clamped to the address family's width.
    #[must_use]
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        Self {
            addr,
            prefix: prefix.min(max),
        }
    }

    /// Whether `ip` is inside this network (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || IpNetError(s.chars().take(64).collect());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| err())?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(err());
        }
        Ok(Self { addr, prefix })
    }
}

impl TryFrom<String> for IpNet {
    type Error = IpNetError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<IpNet> for String {
    fn from(n: IpNet) -> Self {
        format!("{}/{}", n.addr, n.prefix)
    }
}

/// The address refused and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ip} is a {kind} address, which this service does not contact")]
pub struct PolicyViolation {
    /// The address refused.
    pub ip: IpAddr,
    /// What kind of address it is (e.g. `private`, `loopback`).
    pub kind: &'static str,
}

/// Which addresses may be contacted. See the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPolicy {
    /// Networks allowed even though they are special-purpose (e.g. `127.0.0.0/8` in
    /// tests, a LAN for a home server bot).
    #[serde(default)]
    pub allow: Vec<IpNet>,
    /// Allow every address (no checks at all). For development only.
    #[serde(default)]
    pub allow_all: bool,
}

impl TargetPolicy {
    /// The default: public unicast addresses only.
    #[must_use]
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Public addresses plus loopback (for tests and local development).
    #[must_use]
    pub fn with_loopback() -> Self {
        Self {
            allow: vec![
                IpNet::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
                IpNet::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
            ],
            allow_all: false,
        }
    }

    /// Check one address.
    ///
    /// # Errors
    /// [`PolicyViolation`] when the address is special-purpose and not allowed.
    pub fn check(&self, ip: IpAddr) -> Result<(), PolicyViolation> {
        if self.allow_all || self.allow.iter().any(|n| n.contains(ip)) {
            return Ok(());
        }
        match special_kind(canonical(ip)) {
            Some(kind) => Err(PolicyViolation { ip, kind }),
            None => Ok(()),
        }
    }
}

/// IPv4-mapped (`::ffff:a.b.c.d`) IPv6 addresses become their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn special_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_multicast() {
                Some("multicast")
            } else if v4.is_broadcast() || o[0] >= 240 {
                Some("reserved")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("shared (CGNAT)")
            } else if v4.is_documentation() {
                Some("documentation")
            } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
                Some("benchmarking")
            } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
                Some("protocol-assignment")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Some("private (unique local)")
            } else if (seg[0] & 0xffc0) == 0xfec0 {
                Some("site-local")
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else if seg[0] == 0x0064 && seg[1] == 0xff9b {
                // NAT64: the embedded IPv4 address decides.
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                special_kind(IpAddr::V4(v4))
            } else if v6.to_ipv4().is_some() && seg[0..6] == [0; 6] {
                // IPv4-compatible (deprecated) ::a.b.c.d
                Some("reserved")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn special_addresses_are_refused_by_default() {
        let p = TargetPolicy::public_only();
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(p.check(ip(bad)).is_err(), "{bad} must be refused");
        }
        for good in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(p.check(ip(good)).is_ok(), "{good} must be allowed");
        }
    }

    #[test]
    fn allow_list_opens_networks() {
        let p = TargetPolicy::with_loopback();
        assert!(p.check(ip("127.0.0.1")).is_ok());
        assert!(p.check(ip("127.5.6.7")).is_ok());
        assert!(p.check(ip("::1")).is_ok());
        assert!(p.check(ip("10.0.0.1")).is_err());
        let lan = TargetPolicy {
            allow: vec!["192.168.0.0/16".parse().expect("net")],
            allow_all: false,
        };
        assert!(lan.check(ip("192.168.7.7")).is_ok());
        assert!(lan.check(ip("192.169.0.1")).is_ok(), "public anyway");
        assert!(lan.check(ip("10.0.0.1")).is_err());
    }

    #[test]
    fn ipnet_parses_and_rejects() {
        assert!("10.0.0.0/8".parse::<IpNet>().is_ok());
        assert!("::1".parse::<IpNet>().is_ok());
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nope".parse::<IpNet>().is_err());
        let n: IpNet = "0.0.0.0/0".parse().expect("net");
        assert!(n.contains(ip("8.8.8.8")));
    }
}
