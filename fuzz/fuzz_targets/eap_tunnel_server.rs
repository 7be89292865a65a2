//! A PEAP and EAP-TTLS server session (the tunnel methods, method
//! negotiation by Nak, the credential question) fed a sequence of EAP
//! packets cut from the input: it must never panic.
//!
//! Input layout: one control octet (low 7 bits pick the fragment size,
//! bit 7 makes the harness fix up each packet's Identifier to the
//! outstanding one so the fuzzer gets past the identifier check), then
//! packets each prefixed by a 2-octet big-endian length.
#![no_main]

use std::sync::{Arc, OnceLock};

use eap_methods::codec::EapType;
use eap_methods::{Credential, CredentialKind, Outcome, ServerConfig, ServerSession, Verdict};
use eap_methods::rustls;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let certified = rcgen::generate_simple_self_signed(vec!["radius.example".into()])
                .expect("self-signed certificate");
            let cert = certified.cert.der().clone();
            let key: PrivateKeyDer<'static> =
                PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()).into();
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let tls = Arc::new(
                rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("versions")
                    .with_no_client_auth()
                    .with_single_cert(vec![cert], key)
                    .expect("server config"),
            );
            let mut config = ServerConfig::new(tls.clone());
            config.peap = Some(tls.clone());
            config.ttls = Some(tls);
            config.methods = vec![EapType::Peap, EapType::Ttls];
            Arc::new(config)
        })
        .clone()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let fragment_size = usize::from(control & 0x7f) * 16;
    let fix_identifiers = control & 0x80 != 0;
    let mut session = ServerSession::new(config(), fragment_size);
    let mut outstanding: Option<u8> = None;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        let mut packet = body[..take].to_vec();
        rest = &body[take..];
        if fix_identifiers && packet.len() >= 2 {
            if let Some(id) = outstanding {
                packet[1] = id;
            }
        }
        let mut outcome = session.handle(&packet);
        if let Outcome::NeedCredential(q) = outcome {
            let answer = match q.kind {
                CredentialKind::NtHash => Credential::NtHash(
                    (control & 2 == 0).then(|| eap_methods::mschapv2::NtHash::of_password("pw")),
                ),
                CredentialKind::Password(_) => Credential::PasswordChecked(control & 2 == 0),
            };
            outcome = session.credential(answer);
        }
        if let Outcome::Decide(_) = outcome {
            // Alternate the verdict on the control bit so both paths run.
            let verdict = if control & 1 == 0 {
                Verdict::Allow
            } else {
                Verdict::Deny
            };
            outcome = session.decide(verdict);
        }
        match outcome {
            Outcome::Request(req) => outstanding = req.get(1).copied(),
            Outcome::Decide(_) | Outcome::NeedCredential(_) => break,
            Outcome::Success { .. } | Outcome::Failure { .. } => break,
            Outcome::Discard(reason) => {
                let _ = (reason.label(), reason.to_string());
            }
        }
    }
});
