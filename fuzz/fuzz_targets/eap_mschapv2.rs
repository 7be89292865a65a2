//! EAP-MSCHAPv2 server and peer halves on arbitrary Type-Data: no input
//! makes them panic, every Type-Data they produce has a consistent
//! MS-Length, and once a half has failed it stays failed.
//!
//! Input: a control octet, then messages, each behind a 1-octet length.
//! Bit 0 of the control octet picks the half (0: server, 1: peer). Random
//! bytes would never carry a valid NT-Response or Challenge, so unless
//! bit 1 is set the first message is replaced by a genuine one (the
//! peer's Response for the server, the server's Challenge for the peer),
//! which lets the fuzzer reach the Success and Failure states. Bits 2-3
//! choose what the server's caller answers: the right NT hash, a wrong
//! one, none, or a refusal.
#![no_main]

use eap_methods::methods::mschapv2::{MschapPeer, MschapPeerStep, MschapServer, MschapServerStep};
use eap_methods::mschapv2::NtHash;

const USER: &str = "EXAMPLE\\alice";
const PASSWORD: &str = "pw";
const AUTH_CHALLENGE: [u8; 16] = [0x11; 16];
const PEER_CHALLENGE: [u8; 16] = [0x22; 16];

fn messages(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let n = usize::from(len).min(rest.len());
        let (msg, tail) = rest.split_at(n);
        out.push(msg);
        data = tail;
    }
    out
}

/// A Type-Data with a header must carry its own length in MS-Length; the
/// one-octet Success and Failure responses have no header.
fn check_ms_length(type_data: &[u8]) {
    if type_data.len() == 1 {
        assert!(matches!(type_data[0], 3 | 4));
        return;
    }
    assert!(type_data.len() >= 4);
    let ms_length = u16::from_be_bytes([type_data[2], type_data[3]]);
    assert_eq!(usize::from(ms_length), type_data.len());
}

fn run_server(control: u8, msgs: &[&[u8]]) {
    let (mut server, challenge) = MschapServer::start(1, AUTH_CHALLENGE, "authd");
    check_ms_length(&challenge);
    let genuine = if control & 0x02 == 0 {
        let mut peer = MschapPeer::new(USER, PASSWORD, PEER_CHALLENGE);
        match peer.process(&challenge) {
            MschapPeerStep::Send(response) => Some(response),
            other => panic!("peer refused our Challenge: {other:?}"),
        }
    } else {
        None
    };
    let right = NtHash::of_password(PASSWORD);
    let wrong = NtHash::of_password("other");
    let mut failed = false;
    for (i, msg) in msgs.iter().enumerate() {
        let msg = match (&genuine, i) {
            (Some(response), 0) => &response[..],
            _ => msg,
        };
        let mut step = server.process(msg);
        let step = loop {
            step = match step {
                MschapServerStep::NeedNtHash { .. } => match (control >> 2) & 0x03 {
                    0 => server.nt_hash(Some(&right)),
                    1 => server.nt_hash(Some(&wrong)),
                    2 => server.nt_hash(None),
                    _ => server.deny(),
                },
                MschapServerStep::Verified => {
                    assert!(server.msk().is_some());
                    server.allow()
                }
                other => break other,
            };
        };
        match step {
            MschapServerStep::Send(v) => {
                assert!(!failed);
                check_ms_length(&v);
            }
            MschapServerStep::Fail(_) => failed = true,
            MschapServerStep::Done => assert!(server.msk().is_some()),
            MschapServerStep::NeedNtHash { .. } | MschapServerStep::Verified => {}
        }
    }
}

fn run_peer(control: u8, msgs: &[&[u8]]) {
    let (_, challenge) = MschapServer::start(1, AUTH_CHALLENGE, "authd");
    let mut peer = MschapPeer::new(USER, PASSWORD, PEER_CHALLENGE);
    let mut failed = false;
    let mut succeeded = false;
    for (i, msg) in msgs.iter().enumerate() {
        let msg = if control & 0x02 == 0 && i == 0 {
            &challenge[..]
        } else {
            msg
        };
        match peer.process(msg) {
            MschapPeerStep::Send(v) => {
                assert!(!failed);
                check_ms_length(&v);
                if v == [4] {
                    assert!(peer.failure().is_some());
                    failed = true;
                }
            }
            MschapPeerStep::Succeeded(v) => {
                assert!(!failed && !succeeded);
                assert_eq!(v, [3]);
                assert!(peer.msk().is_some());
                succeeded = true;
            }
            MschapPeerStep::Fail(_) => failed |= !succeeded,
        }
        // Success is final: nothing that follows undoes it.
        assert_eq!(peer.succeeded(), succeeded);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let msgs = messages(rest);
    if control & 0x01 == 0 {
        run_server(control, &msgs);
    } else {
        run_peer(control, &msgs);
    }
});
