//! The RADIUS hot path of an EAP-TLS server, per packet: parse and verify an
//! Access-Request, emit an Access-Challenge or an Access-Accept with MPPE
//! keys; and the two primitives underneath (Message-Authenticator HMAC-MD5,
//! RFC 2548 key hiding).
//!
//! Packets are built once with the crate's own builder, so what is parsed is
//! exactly what the encoder produces (Message-Authenticator first).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use radius_proto::{
    Code, Packet, PacketBuilder, dict, encrypt_mppe_key, encrypt_user_password, verify_request,
};

const SECRET: &[u8] = b"testing123";
const REQUEST_AUTHENTICATOR: [u8; 16] = [
    0x3a, 0x91, 0x0c, 0x5e, 0x77, 0x12, 0xd4, 0x08, 0x6b, 0xe2, 0x41, 0x9f, 0x20, 0xc3, 0x55, 0x1d,
];
const USER: &[u8] = b"alice@example.org";
const NAS_IP: [u8; 4] = [192, 0, 2, 10];
const CALLING_STATION: &[u8] = b"02-00-00-00-01-01";

/// Deterministic filler standing in for TLS records.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// An EAP packet of `total` octets: header, type 13 (EAP-TLS), flags, then
/// TLS data.
fn eap_tls(code: u8, identifier: u8, total: usize) -> Vec<u8> {
    let mut eap = vec![code, identifier];
    eap.extend_from_slice(&(total as u16).to_be_bytes());
    eap.push(13);
    eap.push(0);
    eap.extend_from_slice(&filler(total - 6, identifier));
    eap
}

/// An Access-Request carrying a 1,400-octet EAP-Response/TLS (six
/// EAP-Message attributes: 5 x 253 + 135), as a supplicant's client flight
/// arrives: User-Name, State, Calling-Station-Id, Framed-MTU, NAS-IP-Address
/// and Message-Authenticator.
fn eap_access_request() -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccessRequest, 42);
    b.add(dict::USER_NAME, USER)
        .unwrap()
        .add(dict::NAS_IP_ADDRESS, &NAS_IP)
        .unwrap()
        .add(dict::CALLING_STATION_ID, CALLING_STATION)
        .unwrap()
        .add_u32(dict::FRAMED_MTU, 1400)
        .unwrap()
        .add(dict::STATE, &[0x5c; 16])
        .unwrap()
        .add_eap_message(&eap_tls(2, 5, 1400));
    b.encode_request(REQUEST_AUTHENTICATOR, SECRET).unwrap()
}

/// A small PAP Access-Request: User-Name, User-Password (hidden, 16
/// octets), NAS-IP-Address, NAS-Port and Message-Authenticator.
fn pap_access_request() -> Vec<u8> {
    let password = encrypt_user_password(b"correct horse", SECRET, &REQUEST_AUTHENTICATOR).unwrap();
    let mut b = PacketBuilder::new(Code::AccessRequest, 7);
    b.add(dict::USER_NAME, b"bob")
        .unwrap()
        .add(dict::USER_PASSWORD, &password)
        .unwrap()
        .add(dict::NAS_IP_ADDRESS, &NAS_IP)
        .unwrap()
        .add_u32(dict::NAS_PORT, 1)
        .unwrap();
    b.encode_request(REQUEST_AUTHENTICATOR, SECRET).unwrap()
}

/// An Access-Request of exactly `len` octets: Message-Authenticator and
/// EAP-Message filler.
fn access_request_of_len(len: usize) -> Vec<u8> {
    // 20 (header) + 18 (MA) + EAP-Message attributes of 2 + up to 253.
    let mut payload = len - 38;
    payload -= 2 * payload.div_ceil(255);
    let mut b = PacketBuilder::new(Code::AccessRequest, 1);
    b.add_eap_message(&eap_tls(2, 9, payload));
    let wire = b.encode_request(REQUEST_AUTHENTICATOR, SECRET).unwrap();
    assert_eq!(wire.len(), len);
    wire
}

fn parse_and_verify(c: &mut Criterion) {
    let eap = eap_access_request();
    let pap = pap_access_request();
    println!(
        "Access-Request sizes: EAP {} octets, PAP {} octets",
        eap.len(),
        pap.len()
    );
    for wire in [&eap, &pap] {
        // The packets must be what they claim before anything is timed.
        let p = Packet::new_checked(&wire[..]).unwrap();
        verify_request(&p, SECRET, true).unwrap();
    }
    assert_eq!(
        Packet::new_checked(&eap[..])
            .unwrap()
            .count(dict::EAP_MESSAGE),
        6
    );

    let mut g = c.benchmark_group("radius_parse");
    for (name, wire) in [
        ("access_request_eap_1400", &eap),
        ("access_request_pap", &pap),
    ] {
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| Packet::new_checked(black_box(&wire[..])).unwrap().length())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("radius_verify");
    for (name, wire) in [
        ("access_request_eap_1400", &eap),
        ("access_request_pap", &pap),
    ] {
        let p = Packet::new_checked(&wire[..]).unwrap();
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| verify_request(black_box(&p), black_box(SECRET), true).unwrap())
        });
    }
    g.finish();

    // What the server does with every EAP Access-Request before EAP sees
    // it: parse, verify, join the EAP-Message attributes.
    let mut g = c.benchmark_group("radius_receive");
    g.throughput(Throughput::Bytes(eap.len() as u64));
    g.bench_function("parse_verify_join_eap_1400", |b| {
        b.iter(|| {
            let p = Packet::new_checked(black_box(&eap[..])).unwrap();
            verify_request(&p, SECRET, true).unwrap();
            p.eap_message().unwrap()
        })
    });
    g.finish();
}

fn emit(c: &mut Criterion) {
    let req_wire = eap_access_request();
    let req = Packet::new_checked(&req_wire[..]).unwrap();
    let challenge_eap = eap_tls(1, 6, 1100);
    let state = [0x5c; 16];
    let msk = filler(64, 0x99);

    let mut g = c.benchmark_group("radius_emit");
    g.bench_function("access_challenge_eap_1100_state", |b| {
        b.iter(|| {
            let mut r = PacketBuilder::reply_to(Code::AccessChallenge, &req);
            r.add(dict::STATE, black_box(&state))
                .unwrap()
                .add_eap_message(black_box(&challenge_eap));
            r.encode_response(&req, SECRET).unwrap()
        })
    });
    // EAP-Success, User-Name, MS-MPPE-Recv-Key = MSK[0..32] and
    // MS-MPPE-Send-Key = MSK[32..64], each hidden with its own salt.
    let success = [3u8, 6, 0, 4];
    g.bench_function("access_accept_eap_success_mppe_keys", |b| {
        b.iter(|| {
            let msk = black_box(&msk);
            let auth = req.authenticator();
            let recv = encrypt_mppe_key(&msk[..32], SECRET, auth, [0x80, 0x01]);
            let send = encrypt_mppe_key(&msk[32..], SECRET, auth, [0x80, 0x02]);
            let mut r = PacketBuilder::reply_to(Code::AccessAccept, &req);
            r.add_eap_message(&success)
                .add(dict::USER_NAME, USER)
                .unwrap()
                .add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY, &recv)
                .unwrap()
                .add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY, &send)
                .unwrap();
            r.encode_response(&req, SECRET).unwrap()
        })
    });
    g.finish();
}

fn primitives(c: &mut Criterion) {
    let wire = access_request_of_len(1500);
    let p = Packet::new_checked(&wire[..]).unwrap();
    verify_request(&p, SECRET, true).unwrap();

    let mut g = c.benchmark_group("message_authenticator");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    // The crate's HMAC is internal: measured through verify_request, whose
    // other work here is walking 8 attribute headers.
    g.bench_function("verify_request_1500", |b| {
        b.iter(|| verify_request(black_box(&p), black_box(SECRET), true).unwrap())
    });
    // The floor: HMAC-MD5 of the same 1,500 octets with the same crates,
    // in one piece.
    g.bench_function("hmac_md5_1500_floor", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(black_box(SECRET)).unwrap();
            mac.update(black_box(&wire[..]));
            mac.finalize().into_bytes()
        })
    });
    g.finish();

    let key = filler(32, 0x42);
    let mut g = c.benchmark_group("mppe_key");
    g.bench_function("encrypt_32", |b| {
        b.iter(|| {
            encrypt_mppe_key(
                black_box(&key),
                SECRET,
                black_box(&REQUEST_AUTHENTICATOR),
                [0x80, 0x01],
            )
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse_and_verify, emit, primitives
}
criterion_main!(benches);
