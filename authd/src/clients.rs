//! NAS clients: who may talk to the server, and with which shared secret.
//!
//! A packet's source address is matched against every client's address or
//! CIDR; the most specific (longest prefix) wins, so a `/32` for one access
//! point can override a `/24` for the rest of its subnet.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use radius_proto::SharedSecret;

use crate::cidr::IpNet;

/// One NAS client as the server uses it.
pub struct NasClient {
    pub name: String,
    pub net: IpNet,
    /// The shared secret, with its HMAC-MD5 keyed once (every request and
    /// reply carries a Message-Authenticator).
    pub secret: SharedSecret,
    pub require_message_authenticator: bool,
    /// Drop a request with Proxy-State but no Message-Authenticator even
    /// where Message-Authenticator is not required (BlastRADIUS).
    pub limit_proxy_state: bool,
    /// Packets from and to this client, by code (the metrics endpoint).
    pub counters: Arc<crate::metrics::ClientCounters>,
}

impl std::fmt::Debug for NasClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NasClient")
            .field("name", &self.name)
            .field("net", &self.net.to_string())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Shared secrets this long or shorter draw a warning at start: the secret
/// keys every authenticator and the MS-MPPE key hiding, and one captured
/// request and response let an attacker test guesses offline. RFC 2865
/// section 3 prefers at least 16 octets.
pub const SHORT_SECRET_LEN: usize = 8;

impl NasClient {
    /// Whether the shared secret is [`SHORT_SECRET_LEN`] bytes or fewer.
    pub fn has_short_secret(&self) -> bool {
        self.secret.len() <= SHORT_SECRET_LEN
    }
}

/// The set of clients, looked up by source address.
///
/// Every datagram is looked up, so the cost must not grow with the number
/// of clients: the networks sit in one hash table per (family, prefix
/// length), tried longest prefix first, so a lookup costs at most one hash
/// probe per distinct prefix length configured (a handful in practice, 162
/// at worst), whether there are ten clients or a hundred thousand.
#[derive(Debug, Default)]
pub struct NasClients {
    /// Longest prefix first (the order of [`NasClients::iter`]).
    clients: Vec<Arc<NasClient>>,
    /// Longest prefix first; the first match is the most specific.
    index: Vec<PrefixTable>,
}

/// The networks of one family and prefix length, to the first client
/// (in `clients` order) that names each.
#[derive(Debug)]
struct PrefixTable {
    prefix_len: u8,
    ipv4: bool,
    networks: HashMap<IpAddr, usize>,
}

impl NasClients {
    pub fn new(mut clients: Vec<NasClient>) -> Self {
        // Longest prefix first, so the first match is the most specific.
        clients.sort_by_key(|c| std::cmp::Reverse(c.net.prefix_len()));
        let mut index: Vec<PrefixTable> = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            let (prefix_len, ipv4) = (c.net.prefix_len(), c.net.addr().is_ipv4());
            let table = match index
                .iter()
                .position(|t| t.prefix_len == prefix_len && t.ipv4 == ipv4)
            {
                Some(t) => &mut index[t],
                None => {
                    index.push(PrefixTable {
                        prefix_len,
                        ipv4,
                        networks: HashMap::new(),
                    });
                    let last = index.len() - 1;
                    &mut index[last]
                }
            };
            table.networks.entry(c.net.addr()).or_insert(i);
        }
        NasClients {
            clients: clients.into_iter().map(Arc::new).collect(),
            index,
        }
    }

    /// The most specific client whose network holds `ip`. An IPv4-mapped
    /// IPv6 address (a dual-stack socket) matches IPv4 networks as the
    /// IPv4 address it carries (see [`IpNet::contains`]).
    pub fn lookup(&self, ip: IpAddr) -> Option<Arc<NasClient>> {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        for t in &self.index {
            let candidate = match (t.ipv4, ip) {
                (true, IpAddr::V4(_)) | (false, IpAddr::V6(_)) => ip,
                (true, IpAddr::V6(_)) => match mapped {
                    Some(v4) => v4,
                    None => continue,
                },
                (false, IpAddr::V4(_)) => continue,
            };
            let Some(network) = crate::cidr::network_of(candidate, t.prefix_len) else {
                continue;
            };
            if let Some(&i) = t.networks.get(&network) {
                return self.clients.get(i).cloned();
            }
        }
        None
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// A client of this (new) table named as one of `old` takes over the
    /// old one's counters, so a reload does not reset them. Only for a
    /// table not shared yet: a client already shared keeps its own.
    pub fn inherit_counters(&mut self, old: &NasClients) {
        let by_name: HashMap<&str, &Arc<crate::metrics::ClientCounters>> = old
            .clients
            .iter()
            .map(|c| (c.name.as_str(), &c.counters))
            .collect();
        for c in &mut self.clients {
            if let Some(c) = Arc::get_mut(c)
                && let Some(counters) = by_name.get(c.name.as_str())
            {
                c.counters = Arc::clone(counters);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<NasClient>> {
        self.clients.iter()
    }

    /// One warning per client whose shared secret is short, naming the
    /// client (never the secret or its length).
    pub fn warn_short_secrets(&self) {
        for c in self.clients.iter().filter(|c| c.has_short_secret()) {
            tracing::warn!(
                client = %c.name,
                "shared secret of {SHORT_SECRET_LEN} characters or fewer: guessable offline from one captured packet; use 16 or more random characters (RFC 2865 section 3)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, net: &str) -> NasClient {
        NasClient {
            name: name.into(),
            net: net.parse().unwrap(),
            secret: SharedSecret::new(b"s"),
            require_message_authenticator: true,
            limit_proxy_state: true,
            counters: Default::default(),
        }
    }

    #[test]
    fn counters_survive_a_reload_by_name() {
        let old = NasClients::new(vec![client("a", "10.0.0.1/32"), client("b", "10.0.0.2/32")]);
        old.lookup("10.0.0.1".parse().unwrap())
            .unwrap()
            .counters
            .count(radius_proto::Code::AccessRequest);
        let mut new = NasClients::new(vec![client("a", "10.0.0.9/32"), client("c", "10.0.0.2/32")]);
        new.inherit_counters(&old);
        let a = new.lookup("10.0.0.9".parse().unwrap()).unwrap();
        assert!(a.counters.any_request());
        // Positive control: a new name starts from zero, even at b's address.
        let c = new.lookup("10.0.0.2".parse().unwrap()).unwrap();
        assert!(!c.counters.any_request());
    }

    #[test]
    fn most_specific_match_wins() {
        let c = NasClients::new(vec![
            client("subnet", "10.0.0.0/24"),
            client("one", "10.0.0.7/32"),
        ]);
        assert_eq!(c.lookup("10.0.0.7".parse().unwrap()).unwrap().name, "one");
        assert_eq!(
            c.lookup("10.0.0.8".parse().unwrap()).unwrap().name,
            "subnet"
        );
        assert!(c.lookup("10.0.1.1".parse().unwrap()).is_none());
    }

    /// The lookup agrees with the definition (the first client, longest
    /// prefix first, whose network contains the address) over a mix of
    /// host addresses and networks of both families, with duplicates and
    /// IPv4-mapped IPv6 sources.
    #[test]
    fn indexed_lookup_matches_the_definition() {
        let mut nets = Vec::new();
        for i in 0..400u32 {
            let prefix = [8u8, 16, 20, 24, 28, 32][(i % 6) as usize];
            let raw = 0x0a00_0000 | (i.wrapping_mul(2_654_435_761) & 0x00ff_ffff);
            let addr = crate::cidr::network_of(IpAddr::from(raw.to_be_bytes()), prefix).unwrap();
            nets.push(format!("{addr}/{prefix}"));
        }
        for (i, prefix) in [48u8, 64, 96, 128].iter().enumerate() {
            nets.push(format!("2001:db8:{i}::/{prefix}"));
        }
        nets.push("::ffff:0:0/96".into());
        nets.push("10.1.0.0/16".into());
        nets.push("10.1.0.0/16".into()); // duplicate: the first keeps it
        let clients: Vec<NasClient> = nets
            .iter()
            .enumerate()
            .map(|(i, n)| client(&format!("c{i}"), n))
            .collect();
        let table = NasClients::new(clients);
        let definition = |ip: IpAddr| {
            table
                .iter()
                .find(|c| c.net.contains(ip))
                .map(|c| c.name.clone())
        };
        let mut matched = 0;
        for i in 0..5000u32 {
            let raw = 0x0a00_0000 | (i.wrapping_mul(40_503) & 0x00ff_ffff);
            let v4 = IpAddr::from(raw.to_be_bytes());
            let v4_mapped = IpAddr::V6(std::net::Ipv4Addr::from(raw).to_ipv6_mapped());
            let v6: IpAddr = format!("2001:db8:{}::{:x}", i % 5, i).parse().unwrap();
            for ip in [v4, v4_mapped, v6] {
                let want = definition(ip);
                matched += usize::from(want.is_some());
                assert_eq!(table.lookup(ip).map(|c| c.name.clone()), want, "{ip}");
            }
        }
        // Both hits and misses were exercised.
        assert!(matched > 1000 && matched < 15000, "{matched}");
        assert!(table.lookup("192.0.2.1".parse().unwrap()).is_none());
    }

    /// The networks bench/scale_seed.sh writes for client `i`: IPv4 hosts,
    /// IPv4 /26../30, IPv6 /128, /64 and /48.
    fn seeded_network(i: u32) -> String {
        match i % 10 {
            0..=5 => format!("10.{}.{}.{}/32", (i >> 16) & 255, (i >> 8) & 255, i & 255),
            6 | 7 => {
                let b = i * 64;
                let p = 26 + (i / 10) % 5;
                format!("11.{}.{}.{}/{p}", (b >> 16) & 255, (b >> 8) & 255, b & 255)
            }
            8 => format!("2001:db8:{:x}:{:x}::1/128", i >> 16, i & 0xffff),
            _ if i % 20 == 9 => format!("2001:db8:{:x}:{:x}::/64", 0x8000 + (i >> 16), i & 0xffff),
            _ => format!("2001:{:x}:{:x}::/48", 0x1000 + (i >> 16), i & 0xffff),
        }
    }

    /// At the size of a large deployment (100,000 clients, the mix the
    /// scale bench seeds, with a /8 and a /16 under them), the lookup still
    /// agrees with the definition, for addresses inside chosen clients'
    /// networks (hits, some shadowed by a longer prefix) and around them.
    #[test]
    fn indexed_lookup_matches_the_definition_at_100k_clients() {
        let mut clients: Vec<NasClient> = (1..=100_000u32)
            .map(|i| client(&format!("nas{i}"), &seeded_network(i)))
            .collect();
        clients.push(client("lab", "11.0.0.0/16"));
        clients.push(client("campus", "10.0.0.0/8"));
        let table = NasClients::new(clients);
        assert_eq!(table.len(), 100_002);
        let definition = |ip: IpAddr| {
            table
                .iter()
                .find(|c| c.net.contains(ip))
                .map(|c| c.name.clone())
        };
        let (mut hits, mut misses) = (0, 0);
        for k in 0..150u32 {
            let i = 1 + k.wrapping_mul(2_654_435_761) % 100_000;
            let net: IpNet = seeded_network(i).parse().unwrap();
            let inside = match net.addr() {
                IpAddr::V4(a) => IpAddr::V4((u32::from(a) | (k & 1)).into()),
                IpAddr::V6(a) => IpAddr::V6((u128::from(a) | u128::from(k & 1)).into()),
            };
            let beside = match net.addr() {
                IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(200).into()),
                IpAddr::V6(a) => IpAddr::V6((u128::from(a) ^ (1 << 80)).into()),
            };
            for ip in [inside, beside] {
                let want = definition(ip);
                if want.is_some() {
                    hits += 1;
                } else {
                    misses += 1;
                }
                assert_eq!(table.lookup(ip).map(|c| c.name.clone()), want, "{ip}");
            }
        }
        assert!(hits > 150 && misses > 10, "{hits} hits, {misses} misses");
        // Positive controls: the host client, the subnet around it, the /8.
        let name = |s: &str| table.lookup(s.parse().unwrap()).map(|c| c.name.clone());
        assert_eq!(name("10.0.0.10").as_deref(), Some("nas10"));
        assert_eq!(name("11.0.4.5").as_deref(), Some("nas16"), "11.0.4.0/27");
        assert_eq!(name("10.200.0.1").as_deref(), Some("campus"));
        assert_eq!(name("11.0.255.255").as_deref(), Some("lab"));
        assert_eq!(name("192.0.2.1"), None);
    }

    #[test]
    fn debug_never_shows_secret() {
        let mut c = client("ap", "127.0.0.1/32");
        c.secret = SharedSecret::new(b"hunter2-long-secret");
        let text = format!("{c:?}");
        assert!(
            text.contains("redacted") && text.contains("\"ap\""),
            "{text}"
        );
        assert!(text.contains("127.0.0.1/32"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        // Nor as the bytes a derived Debug of the Vec would print.
        assert!(!text.contains("104, 117"), "{text}");
        let all = format!("{:?}", NasClients::new(vec![c]));
        assert!(!all.contains("hunter2") && all.contains("\"ap\""), "{all}");
    }

    #[test]
    fn short_secrets_are_told() {
        let mut c = client("ap", "127.0.0.1/32");
        for (secret, short) in [
            (&b"s"[..], true),
            (b"12345678", true),
            (b"123456789", false),
            (b"a-much-longer-shared-secret", false),
        ] {
            c.secret = SharedSecret::new(secret);
            assert_eq!(c.has_short_secret(), short, "{}", secret.len());
        }
    }
}
