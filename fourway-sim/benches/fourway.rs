//! Four-way handshakes per second, in memory: both state machines, PTK
//! derivation on both sides, MICs and key wrap; no PBKDF2 (the PMK is given).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fourway_sim::eapol::{Akm, RsnElement};
use fourway_sim::fourway::{Authenticator, AuthenticatorConfig, Gtk, Supplicant, SupplicantConfig};
use fourway_sim::frames::MacAddr;
use fourway_sim::keys::Pmk;
use fourway_sim::sim::{Pair, SimOptions, run_handshakes};

fn handshake(pmk: &Pmk, rsne: &[u8], n: u8) -> bool {
    let now = Instant::now();
    let aa = MacAddr([2, 0, 0, 0, 0, 1]);
    let spa = MacAddr([2, 0, 0, 0, 1, n]);
    let auth = Authenticator::new(
        AuthenticatorConfig {
            aa,
            spa,
            pmk: pmk.clone_secret(),
            rsne: rsne.to_vec(),
            sta_rsne: rsne.to_vec(),
            gtk: Gtk::from_bytes([7; 16]),
            gtk_index: 1,
            igtk: None,
            ft_elements: Vec::new(),
            retrans_timeout: Duration::from_millis(100),
            max_retries: 3,
        },
        now,
        [n; 32],
    );
    let supp = Supplicant::new(
        SupplicantConfig {
            aa,
            spa,
            pmk: pmk.clone_secret(),
            rsne: rsne.to_vec(),
            ap_rsne: rsne.to_vec(),
            ft_elements: Vec::new(),
            handshake_timeout: Duration::from_secs(1),
        },
        now,
        [n ^ 0xff; 32],
    );
    let mut pair = Pair::new(auth, supp, now);
    pair.drive();
    pair.supp.ptk().is_some()
}

fn bench(c: &mut Criterion) {
    let pmk = Pmk::from_bytes([0x42; 32]);
    let rsne = RsnElement::ccmp128(Akm::Ieee8021x).to_bytes().unwrap();
    let mut g = c.benchmark_group("fourway");
    g.throughput(Throughput::Elements(1));
    let mut n = 0u8;
    g.bench_function("four_way_handshake", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            assert!(handshake(black_box(&pmk), &rsne, n));
        })
    });
    let opts = SimOptions::default();
    let mut rng = rand::rng();
    g.bench_function("handshakes_group_rekey_and_ccmp", |b| {
        b.iter(|| {
            let r = run_handshakes(
                &pmk,
                &pmk,
                MacAddr([2, 0, 0, 0, 0, 1]),
                MacAddr([2, 0, 0, 0, 0, 2]),
                &mut rng,
                Instant::now(),
                &opts,
            );
            assert!(r.success());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
