//! The NAS client lookup every datagram pays, in a table of one client and
//! in one of 100,000 (the mix bench/scale_seed.sh seeds): nanoseconds per
//! lookup for a host address, an address in a CIDR client, an IPv6 client
//! and a source no client holds, and the time to build the large table.
//! A measurement to run by hand, not a test:
//!
//!     cargo run --release -p authd --example client_lookup

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use authd::clients::{NasClient, NasClients};

fn client(name: String, net: &str) -> NasClient {
    NasClient {
        name,
        net: net.parse().expect("network"),
        secret: radius_proto::SharedSecret::new(b"bench-secret-0123456789"),
        require_message_authenticator: true,
        limit_proxy_state: true,
        counters: Default::default(),
    }
}

/// Client `i` of bench/scale_seed.sh.
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

fn table(n: u32) -> NasClients {
    let mut clients = vec![client("bench".into(), "127.0.0.1/32")];
    clients.extend((2..=n).map(|i| client(format!("nas{i}"), &seeded_network(i))));
    NasClients::new(clients)
}

fn main() {
    let sources: [(&str, IpAddr); 4] = [
        ("host 127.0.0.1", "127.0.0.1".parse().unwrap()),
        ("cidr 11.0.4.5", "11.0.4.5".parse().unwrap()),
        ("ipv6 /64", "2001:db8:8000:9::77".parse().unwrap()),
        ("miss 192.0.2.1", "192.0.2.1".parse().unwrap()),
    ];
    const ROUNDS: u32 = 2_000_000;
    for n in [1u32, 100_000] {
        let t0 = Instant::now();
        let t = table(n);
        println!(
            "{n} clients: table built in {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
        for (label, ip) in sources {
            let mut found = 0u32;
            let t0 = Instant::now();
            for _ in 0..ROUNDS {
                found += u32::from(t.lookup(black_box(ip)).is_some());
            }
            let ns = t0.elapsed().as_secs_f64() * 1e9 / f64::from(ROUNDS);
            println!(
                "  lookup {label:<16} {ns:7.1} ns  ({})",
                if found > 0 { "found" } else { "none" }
            );
        }
    }
}
