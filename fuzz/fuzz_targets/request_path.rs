//! Fuzz target for authd's whole request path: admission, the duplicate
//! cache, the conversation table, the EAP-TLS server and reply encoding,
//! fed with a sequence of RADIUS datagrams exactly as the UDP loop feeds
//! them (bytes in, a reply or nothing out). It must never panic, and every
//! reply must be a well-formed response to its request.
//!
//! Input: a control octet, then datagrams, each behind a 2-octet length.
//! Random bytes would never carry a valid Message-Authenticator or the
//! State the server just issued, so unless control bit 0 asks for the raw
//! bytes, the harness rebuilds each datagram that parses: the State
//! attribute is replaced with the last one the server sent, the EAP
//! Identifier with the outstanding one, and the packet is signed with the
//! client's secret. Seeded with the Access-Requests of a real eapol_test
//! exchange (fuzz/seeds/request_path, see fuzz/seeds/README.md), the
//! fuzzer starts inside EAP-TLS, past the ClientHello.
#![no_main]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use authd::config::Config;
use authd::handler::AuthHandler;
use authd::policy::Policy;
use libfuzzer_sys::fuzz_target;
use radius_proto::{Code, Packet, PacketBuilder, dict};

const SECRET: &str = "fuzzing-secret-long";

struct Harness {
    handler: AuthHandler,
    runtime: tokio::runtime::Runtime,
    epoch: Instant,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("authd-fuzz-{}", std::process::id()));
        let (pki, _) = authd::pki::ensure_dev_pki(&dir.join("pki"), "alice").expect("PKI");
        let text = format!(
            "[tls]\ncertificate = {:?}\nprivate_key = {:?}\nca = {:?}\n\
             [[client]]\nname = \"fuzz\"\naddress = \"127.0.0.0/8\"\nsecret = \"{SECRET}\"\n\
             [eap]\nmax_sessions = 64\n",
            pki.server_cert, pki.server_key, pki.ca_cert
        );
        let config = Config::parse(&text, Path::new("fuzz.toml")).expect("config");
        let eap = authd::server::eap_config(&config, None).expect("TLS");
        let handler = AuthHandler::new(
            authd::server::nas_clients(&config),
            eap,
            Policy::new(),
            authd::server::settings(&config),
        );
        // Everything was read into memory; leave no files behind.
        let _ = std::fs::remove_dir_all(&dir);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        Harness {
            handler,
            runtime,
            epoch: Instant::now(),
        }
    })
}

/// What the server's last Access-Challenge asked for.
#[derive(Default)]
struct Expect {
    state: Option<Vec<u8>>,
    eap_identifier: Option<u8>,
}

/// Rebuilds a parsed Access-Request with the expected State and EAP
/// Identifier, signed with the secret. `None`: not rebuildable (kept raw).
fn rebuild(data: &[u8], expect: &Expect) -> Option<Vec<u8>> {
    let p = Packet::new_checked(data).ok()?;
    let mut b = PacketBuilder::new(p.code(), p.identifier());
    for attr in p.attributes() {
        match attr.typ {
            dict::MESSAGE_AUTHENTICATOR | dict::EAP_MESSAGE => {}
            dict::STATE => {
                let state = expect.state.as_deref().unwrap_or(attr.value);
                b.add(dict::STATE, state).ok()?;
            }
            t => {
                b.add(t, attr.value).ok()?;
            }
        }
    }
    if let Some(mut eap) = p.eap_message() {
        if let (Some(id), Some(slot)) = (expect.eap_identifier, eap.get_mut(1)) {
            *slot = id;
        }
        b.add_eap_message(&eap);
    }
    b.encode_request(*p.authenticator(), SECRET.as_bytes()).ok()
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, mut rest)) = input.split_first() else {
        return;
    };
    let h = harness();
    // One NAS port per input, so inputs do not share duplicate-cache slots.
    let from = SocketAddr::from(([127, 0, 0, 1], 1024 + u16::from(control >> 1)));
    let mut expect = Expect::default();
    let mut step = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        let raw = &body[..take];
        rest = &body[take..];
        let datagram = if control & 1 == 0 {
            rebuild(raw, &expect).unwrap_or_else(|| raw.to_vec())
        } else {
            raw.to_vec()
        };
        step += 1;
        let now = h.epoch + Duration::from_millis(step);
        let Some(reply) = h
            .runtime
            .block_on(h.handler.handle_auth(from, &datagram, now))
        else {
            continue;
        };
        // Whatever went in, what comes out is a valid, signed response.
        let request = Packet::new_checked(&datagram[..]).expect("answered a packet that parses");
        let response = Packet::new_checked(&reply[..]).expect("reply parses");
        assert!(response.length() <= 4096);
        assert_eq!(response.identifier(), request.identifier());
        assert!(matches!(
            response.code(),
            Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
        ));
        radius_proto::verify_response(&response, request.authenticator(), SECRET.as_bytes())
            .expect("reply verifies with the secret");
        expect = Expect {
            state: response.attr(dict::STATE).map(<[u8]>::to_vec),
            eap_identifier: response.eap_message().and_then(|e| e.get(1).copied()),
        };
    }
    // Bounded: conversations never outgrow the table.
    assert!(h.handler.sessions_in_progress() <= 64);
});
