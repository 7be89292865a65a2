//! IP networks in CIDR notation, used to match RADIUS clients (NAS) by source
//! address (RFC 2865 section 3: the shared secret is chosen by the source IP
//! address of the request).
//!
//! Notation follows RFC 4632 section 3.1 for IPv4 and RFC 4291 section 2.3 for
//! IPv6. A network must be canonical: bits after the prefix must be zero, so
//! `10.0.0.1/8` is an error rather than silently meaning `10.0.0.0/8`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network: an address plus a prefix length.
///
/// A bare address (`127.0.0.1`, `::1`) is a host network (`/32`, `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix_len: u8,
}

/// Why a string is not a valid network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpNetError {
    /// The address part does not parse as IPv4 or IPv6.
    #[error("`{0}`: not an IP address")]
    InvalidAddress(String),
    /// The prefix length is not a number or is too large for the family.
    #[error("`{value}`: prefix length must be 0..={max}")]
    InvalidPrefix {
        /// The offending text.
        value: String,
        /// The largest prefix length of the address family.
        max: u8,
    },
    /// Bits after the prefix are set (RFC 4632 section 3.1).
    #[error("`{value}`: host bits are set; did you mean `{canonical}`?")]
    HostBitsSet {
        /// The offending text.
        value: String,
        /// The network with the host bits cleared.
        canonical: String,
    },
}

impl IpNet {
    /// Builds a network, checking the prefix length and that host bits are zero.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Result<IpNet, IpNetError> {
        let max = max_prefix(addr);
        if prefix_len > max {
            return Err(IpNetError::InvalidPrefix {
                value: format!("{addr}/{prefix_len}"),
                max,
            });
        }
        let masked = mask(addr, prefix_len);
        if masked != addr {
            return Err(IpNetError::HostBitsSet {
                value: format!("{addr}/{prefix_len}"),
                canonical: format!("{masked}/{prefix_len}"),
            });
        }
        Ok(IpNet { addr, prefix_len })
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `ip` lies inside this network.
    ///
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 section
    /// 2.5.5.2), as seen on a dual-stack socket, is compared as the IPv4
    /// address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if self.addr.is_ipv4() => IpAddr::V4(v4),
                _ => IpAddr::V6(v6),
            },
            v4 => v4,
        };
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        mask(ip, self.prefix_len) == self.addr
    }
}

/// The network of `prefix_len` bits that holds `ip` (host bits cleared);
/// `None` when the prefix is longer than the family allows.
pub fn network_of(ip: IpAddr, prefix_len: u8) -> Option<IpAddr> {
    (prefix_len <= max_prefix(ip)).then(|| mask(ip, prefix_len))
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Clears the bits after `prefix_len`; `prefix_len` must not exceed the
/// family's width (callers check it).
fn mask(addr: IpAddr, prefix_len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(s: &str) -> Result<IpNet, IpNetError> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| IpNetError::InvalidAddress(s.to_owned()))?;
        let max = max_prefix(addr);
        let prefix_len = match prefix_text {
            None => max,
            Some(p) => {
                // Only plain decimal digits: `u8::from_str` would accept "+8".
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(IpNetError::InvalidPrefix {
                        value: s.to_owned(),
                        max,
                    });
                }
                p.parse::<u8>().map_err(|_| IpNetError::InvalidPrefix {
                    value: s.to_owned(),
                    max,
                })?
            }
        };
        IpNet::new(addr, prefix_len).map_err(|e| match e {
            // Report the text as written, not as re-formatted.
            IpNetError::InvalidPrefix { max, .. } => IpNetError::InvalidPrefix {
                value: s.to_owned(),
                max,
            },
            IpNetError::HostBitsSet { canonical, .. } => IpNetError::HostBitsSet {
                value: s.to_owned(),
                canonical,
            },
            other => other,
        })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect(s)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect(s)
    }

    #[test]
    fn bare_addresses_are_host_networks() {
        assert_eq!(net("127.0.0.1").prefix_len(), 32);
        assert_eq!(net("::1").prefix_len(), 128);
        assert_eq!(net("127.0.0.1").to_string(), "127.0.0.1/32");
        assert_eq!(net("::1").to_string(), "::1/128");
    }

    #[test]
    fn contains_ipv4() {
        let n = net("10.0.0.0/8");
        assert!(n.contains(ip("10.0.0.0")));
        assert!(n.contains(ip("10.255.255.255")));
        assert!(!n.contains(ip("11.0.0.0")));
        assert!(!n.contains(ip("9.255.255.255")));
        let host = net("192.0.2.7");
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.6")));
    }

    #[test]
    fn zero_prefix_matches_whole_family_only() {
        let any4 = net("0.0.0.0/0");
        assert!(any4.contains(ip("203.0.113.1")));
        assert!(!any4.contains(ip("2001:db8::1")));
        let any6 = net("::/0");
        assert!(any6.contains(ip("2001:db8::1")));
        assert!(!any6.contains(ip("203.0.113.1")));
    }

    #[test]
    fn contains_ipv6() {
        let n = net("fd00::/8");
        assert!(n.contains(ip("fd12:3456::1")));
        assert!(!n.contains(ip("fe80::1")));
        assert!(net("2001:db8::/127").contains(ip("2001:db8::1")));
        assert!(!net("2001:db8::/128").contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_mapped_source_matches_ipv4_net() {
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(!net("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
        // An IPv6 net still sees the mapped address as IPv6.
        assert!(net("::ffff:0:0/96").contains(ip("::ffff:10.1.2.3")));
        assert!(!net("fd00::/8").contains(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn host_bits_are_rejected_with_the_value() {
        let err = "10.0.0.1/8".parse::<IpNet>().unwrap_err();
        assert_eq!(
            err,
            IpNetError::HostBitsSet {
                value: "10.0.0.1/8".into(),
                canonical: "10.0.0.0/8".into()
            }
        );
        assert!(err.to_string().contains("10.0.0.1/8"));
        assert!(err.to_string().contains("10.0.0.0/8"));
        assert!("fd00::1/8".parse::<IpNet>().is_err());
    }

    #[test]
    fn bad_prefixes_and_addresses() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/08x",
            "10.0.0.0/0008",
            "10.0.0.0/8/8",
        ] {
            let err = bad.parse::<IpNet>().unwrap_err();
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
        for bad in ["", "10.0.0", "host.example", "10.0.0.256", "[::1]"] {
            assert!(
                matches!(bad.parse::<IpNet>(), Err(IpNetError::InvalidAddress(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["10.0.0.0/8", "0.0.0.0/0", "fd00::/8", "2001:db8::1/128"] {
            assert_eq!(net(s).to_string(), s);
            assert_eq!(net(&net(s).to_string()), net(s));
        }
    }
}
