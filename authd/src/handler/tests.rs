//! The request path driven with bytes and a virtual clock: no socket, the
//! handler as the UDP loop calls it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use radius_proto::{Code, Packet, PacketBuilder, dict};

use super::access::fragment_size;
use super::*;
use crate::config::Config;

const SECRET: &[u8] = b"a-long-test-secret";
const STATION: &[u8] = b"02-00-5A-00-00-01";

struct Harness {
    handler: AuthHandler,
    dir: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn harness(name: &str) -> Harness {
    let dir = std::env::temp_dir().join(format!("authd-handler-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pki, _) = crate::pki::ensure_dev_pki(&dir.join("pki"), "alice").unwrap();
    let text = format!(
        "[tls]\ncertificate = {:?}\nprivate_key = {:?}\nca = {:?}\n\
         [[client]]\nname = \"ap1\"\naddress = \"192.0.2.1/32\"\nsecret = \"a-long-test-secret\"\n\
         [[client]]\nname = \"ap2\"\naddress = \"192.0.2.2/32\"\nsecret = \"a-long-test-secret\"\n\
         [[client]]\nname = \"legacy\"\naddress = \"192.0.2.3/32\"\nsecret = \"a-long-test-secret\"\n\
         require_message_authenticator = false\n",
        pki.server_cert, pki.server_key, pki.ca_cert
    );
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let eap = crate::server::eap_config(&config, None).unwrap();
    let handler = AuthHandler::new(
        crate::server::nas_clients(&config),
        eap,
        Policy::new(),
        crate::server::settings(&config),
    );
    Harness { handler, dir }
}

fn nas(n: u8) -> SocketAddr {
    SocketAddr::new([192, 0, 2, n].into(), 50000)
}

/// An Access-Request with Message-Authenticator.
fn access_request(id: u8, attrs: &[(u8, &[u8])], eap: Option<&[u8]>) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccessRequest, id);
    b.add(dict::USER_NAME, b"alice").unwrap();
    for (t, v) in attrs {
        b.add(*t, v).unwrap();
    }
    if let Some(eap) = eap {
        b.add_eap_message(eap);
    }
    let mut authenticator = [0u8; 16];
    rand::fill(&mut authenticator);
    b.encode_request(authenticator, SECRET).unwrap()
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn code(reply: &Option<Arc<[u8]>>) -> Option<Code> {
    reply
        .as_ref()
        .map(|r| Packet::new_checked(&r[..]).unwrap().code())
}

/// EAP-Start from `station` through NAS `n`: the State and the
/// EAP-Request/Identity of the Access-Challenge.
fn start(h: &Harness, n: u8, station: &[u8], now: Instant) -> (Vec<u8>, Vec<u8>) {
    let req = access_request(1, &[(dict::CALLING_STATION_ID, station)], Some(&[]));
    let reply = run(h.handler.handle_auth(nas(n), &req, now)).expect("a challenge");
    let p = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(p.code(), Code::AccessChallenge);
    (
        p.attr(dict::STATE).unwrap().to_vec(),
        p.eap_message().unwrap().to_vec(),
    )
}

/// The EAP-Response/Identity answering `request`.
fn identity_response(request: &[u8]) -> Vec<u8> {
    let mut eap = vec![2, request[1], 0, 10, 1];
    eap.extend_from_slice(b"alice");
    eap
}

fn continue_with(state: &[u8], station: &[u8], eap: &[u8]) -> Vec<u8> {
    access_request(
        2,
        &[(dict::STATE, state), (dict::CALLING_STATION_ID, station)],
        Some(eap),
    )
}

fn drops(h: &Harness, label: &str) -> u64 {
    h.handler.metrics.drops().get(label).copied().unwrap_or(0)
}

#[test]
fn retransmission_gets_the_same_reply_and_does_not_advance() {
    let h = harness("dup");
    let now = Instant::now();
    let req = access_request(1, &[(dict::CALLING_STATION_ID, STATION)], Some(&[]));
    let first = run(h.handler.handle_auth(nas(1), &req, now)).unwrap();
    let again = run(h.handler.handle_auth(nas(1), &req, now)).unwrap();
    assert_eq!(first, again, "the cached reply, byte for byte");
    assert_eq!(h.handler.sessions_in_progress(), 1, "one conversation");
}

#[test]
fn first_identifier_is_random() {
    let h = harness("ident");
    let now = Instant::now();
    let ids: std::collections::HashSet<u8> =
        (0..16).map(|_| start(&h, 1, STATION, now).1[1]).collect();
    // 16 draws of a random octet all equal: probability 2^-120.
    assert!(ids.len() > 1, "identifiers {ids:?}");
}

#[test]
fn state_of_another_nas_or_station_is_discarded_and_the_conversation_goes_on() {
    let h = harness("foreign");
    let now = Instant::now();
    let (state, identity_req) = start(&h, 1, STATION, now);
    let resp = identity_response(&identity_req);
    // Another NAS client names the State: silently discarded.
    let foreign = continue_with(&state, STATION, &resp);
    assert_eq!(run(h.handler.handle_auth(nas(2), &foreign, now)), None);
    assert_eq!(drops(&h, "state_from_other_client"), 1);
    // Another station behind the same NAS: discarded too.
    let other_station = continue_with(&state, b"02-00-5A-00-00-99", &resp);
    assert_eq!(
        run(h.handler.handle_auth(nas(1), &other_station, now)),
        None
    );
    assert_eq!(drops(&h, "calling_station_id_mismatch"), 1);
    // A Response whose Identifier answers no outstanding Request.
    let mut stale = resp.clone();
    stale[1] = stale[1].wrapping_add(7);
    let stale = continue_with(&state, STATION, &stale);
    assert_eq!(run(h.handler.handle_auth(nas(1), &stale, now)), None);
    assert_eq!(drops(&h, "unexpected_identifier"), 1);
    // The conversation is unharmed: the right packet continues it (EAP-TLS
    // Start in an Access-Challenge).
    let right = continue_with(&state, STATION, &resp);
    let reply = run(h.handler.handle_auth(nas(1), &right, now)).expect("continued");
    let p = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(p.code(), Code::AccessChallenge);
    let eap = p.eap_message().unwrap();
    assert_eq!((eap[0], eap[4], eap[5]), (1, 13, 0x20), "EAP-TLS Start");
}

#[test]
fn unknown_state_is_rejected() {
    let h = harness("unknown");
    let now = Instant::now();
    let req = continue_with(&[9; 16], STATION, &[2, 1, 0, 5, 1]);
    let reply = run(h.handler.handle_auth(nas(1), &req, now));
    assert_eq!(code(&reply), Some(Code::AccessReject));
}

#[test]
fn a_discarded_first_packet_leaves_no_state_behind() {
    let h = harness("orphan");
    let now = Instant::now();
    // An EAP-Request (code 1) from the peer side: discarded by the core.
    let req = access_request(
        1,
        &[(dict::CALLING_STATION_ID, STATION)],
        Some(&[1, 1, 0, 5, 1]),
    );
    assert_eq!(run(h.handler.handle_auth(nas(1), &req, now)), None);
    assert_eq!(h.handler.sessions_in_progress(), 0);
    // Control: EAP-Start keeps one.
    start(&h, 1, STATION, now);
    assert_eq!(h.handler.sessions_in_progress(), 1);
}

#[test]
fn status_server_needs_message_authenticator() {
    let h = harness("status");
    let now = Instant::now();
    let mut b = PacketBuilder::new(Code::StatusServer, 5);
    b.add(dict::NAS_IDENTIFIER, b"probe").unwrap();
    let status = b.encode_request([3; 16], SECRET).unwrap();
    let reply = run(h.handler.handle_auth(nas(1), &status, now));
    assert_eq!(code(&reply), Some(Code::AccessAccept));
    // Without Message-Authenticator (RFC 5997 §3), even from a client that
    // relaxes the requirement: dropped.
    let mut bare = vec![12, 6, 0, 20];
    bare.extend_from_slice(&[3; 16]);
    assert_eq!(run(h.handler.handle_auth(nas(3), &bare, now)), None);
    assert_eq!(drops(&h, "missing_message_authenticator"), 1);
}

#[test]
fn pap_and_proxy_state_without_message_authenticator_are_dropped() {
    let h = harness("pap");
    let now = Instant::now();
    let unsigned =
        crate::admission::tests::request_without_ma(&[(dict::USER_PASSWORD, &[0u8; 16])]);
    // ap1 requires Message-Authenticator: dropped, not answered.
    assert_eq!(run(h.handler.handle_auth(nas(1), &unsigned, now)), None);
    assert_eq!(drops(&h, "missing_message_authenticator"), 1);
    // The legacy client does not: answered (PAP needs a store: rejected).
    let reply = run(h.handler.handle_auth(nas(3), &unsigned, now));
    assert_eq!(code(&reply), Some(Code::AccessReject));
    // ...but not with Proxy-State and no Message-Authenticator.
    let proxied = crate::admission::tests::request_without_ma(&[
        (dict::USER_PASSWORD, &[0u8; 16]),
        (dict::PROXY_STATE, b"hop"),
    ]);
    assert_eq!(run(h.handler.handle_auth(nas(3), &proxied, now)), None);
    assert_eq!(drops(&h, "proxy_state_without_message_authenticator"), 1);
}

#[test]
fn fragments_follow_framed_mtu_and_fit_with_proxy_state() {
    let wire = |attrs: &[(u8, &[u8])]| access_request(1, attrs, Some(&[]));
    let size = |w: &[u8]| fragment_size(1398, &Packet::new_checked(w).unwrap());
    assert_eq!(size(&wire(&[])), Some(1398));
    // RFC 3579 §2.2: Framed-MTU 1000 minus the EAPOL/EAP-TLS overhead.
    assert_eq!(
        size(&wire(&[(dict::FRAMED_MTU, &1000u32.to_be_bytes())])),
        Some(986)
    );
    // A tiny Framed-MTU is raised to the smallest useful fragment.
    assert_eq!(
        size(&wire(&[(dict::FRAMED_MTU, &20u32.to_be_bytes())])),
        Some(64)
    );
    // A large configured size shrinks when Proxy-State needs the room.
    let ps = [7u8; 250];
    let mut attrs: Vec<(u8, &[u8])> = Vec::new();
    for _ in 0..14 {
        attrs.push((dict::PROXY_STATE, &ps));
    }
    let w = wire(&attrs);
    let p = Packet::new_checked(&w[..]).unwrap();
    let f = fragment_size(3998, &p).unwrap();
    assert_eq!(f, crate::config::max_fragment_size(14 * 252));
    assert!(f < 3998);
    // The Access-Challenge with that fragment fits 4096 octets.
    let mut b = PacketBuilder::reply_to(Code::AccessChallenge, &p);
    b.add_eap_message(&vec![0; f + 10]);
    b.add(dict::STATE, &[1; 16]).unwrap();
    let reply = crate::reply::encode(&p, SECRET, b).expect("fits");
    assert!(reply.len() <= 4096);
}

#[test]
fn state_being_worked_on_is_dropped_not_rejected() {
    let h = harness("busy");
    let now = Instant::now();
    let (state, identity_req) = start(&h, 1, STATION, now);
    let key = StateKey::try_from(&state[..]).unwrap();
    // Another request of the conversation holds it (as a concurrent task
    // would while TLS runs).
    let CheckOut::Found(conv, token) = h.handler.sessions.check_out(&key, now) else {
        panic!("the conversation")
    };
    let req = continue_with(&state, STATION, &identity_response(&identity_req));
    assert_eq!(run(h.handler.handle_auth(nas(1), &req, now)), None);
    assert_eq!(drops(&h, "state_in_progress"), 1);
    assert_eq!(h.handler.metrics.rejects().get("unknown_state"), None);
    // That request finishes and puts the conversation back: a
    // retransmission of the dropped request now continues it.
    assert!(h.handler.keep_conversation(key, conv, now));
    h.handler.sessions.release(&key, token);
    let again = continue_with(&state, STATION, &identity_response(&identity_req));
    let reply = run(h.handler.handle_auth(nas(1), &again, now));
    assert_eq!(code(&reply), Some(Code::AccessChallenge));
}

/// An Accounting-Request (Request Authenticator per RFC 2866 §3), with
/// an Acct-Status-Type of `status` unless `None`.
fn accounting_request(id: u8, status: Option<u32>, session: &[u8]) -> Vec<u8> {
    let mut b = PacketBuilder::new(Code::AccountingRequest, id);
    if let Some(status) = status {
        b.add_u32(dict::ACCT_STATUS_TYPE, status).unwrap();
    }
    b.add(dict::ACCT_SESSION_ID, session).unwrap();
    b.encode_request([0; 16], SECRET).unwrap()
}

/// A Status-Server with Message-Authenticator, signed with `secret`.
fn status_server(id: u8, secret: &[u8]) -> Vec<u8> {
    PacketBuilder::new(Code::StatusServer, id)
        .encode_request([id; 16], secret)
        .unwrap()
}

/// The SQLite store in `h`'s directory.
async fn harness_store(h: &Harness) -> crate::store::Store {
    crate::store::Store::connect(&crate::store::default_url(&h.dir))
        .await
        .unwrap()
}

/// A handler with `h`'s TLS set-up, the NAS client ap1 (192.0.2.1) and
/// `store`, its change generation polled once.
async fn handler_with_store(
    h: &Harness,
    store: crate::store::Store,
    settings: Settings,
) -> AuthHandler {
    let (_, tls) = h.handler.live();
    let clients = crate::clients::NasClients::new(vec![crate::admission::tests::client(
        "ap1",
        "192.0.2.1/32",
        true,
        true,
    )]);
    let handler = AuthHandler::new(clients, tls, Policy::with_store(store), settings);
    handler.poll_store_changes().await;
    handler
}

#[tokio::test]
async fn accounting_answered_after_the_write_and_not_when_the_store_fails() {
    let h = harness("acct");
    let store = harness_store(&h).await;
    let handler = handler_with_store(&h, store.clone(), h.handler.settings.clone()).await;
    let now = Instant::now();
    let status = |id| status_server(id, SECRET);
    // Recorded, then answered; the row is there when the answer is.
    let reply = handler
        .handle_acct(nas(1), &accounting_request(1, Some(1), b"H1"), now, 1000)
        .await;
    assert_eq!(code(&reply), Some(Code::AccountingResponse));
    assert_eq!(store.session("H1").await.unwrap().start_time, Some(1000));
    // Status-Server on the accounting port: Accounting-Response; an
    // Access-Request there is refused.
    let reply = handler.handle_acct(nas(1), &status(2), now, 1000).await;
    assert_eq!(code(&reply), Some(Code::AccountingResponse));
    let access = access_request(3, &[], None);
    assert_eq!(handler.handle_acct(nas(1), &access, now, 1000).await, None);
    assert_eq!(handler.metrics.drops()["unexpected_code"], 1);
    // A refusal of the core is counted under its label.
    let no_status = accounting_request(4, None, b"H2");
    assert_eq!(
        handler.handle_acct(nas(1), &no_status, now, 1000).await,
        None
    );
    assert_eq!(handler.metrics.drops()["acct_missing_status_type"], 1);

    // The store goes away: the poll fails, Status-Server goes unanswered
    // on both ports, and an Accounting-Request that cannot be written gets
    // no answer.
    store.close().await;
    handler.poll_store_changes().await;
    assert!(!handler.store_usable(now));
    assert_eq!(
        handler.handle_acct(nas(1), &status(5), now, 1000).await,
        None
    );
    assert_eq!(handler.handle_auth(nas(1), &status(6), now).await, None);
    let reply = handler
        .handle_acct(nas(1), &accounting_request(7, Some(1), b"H3"), now, 1000)
        .await;
    assert_eq!(reply, None);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(handler.metrics.accounting_written.load(Relaxed), 1);
    assert_eq!(handler.metrics.accounting_write_failures.load(Relaxed), 1);
    assert_eq!(handler.metrics.status_server_answered.load(Relaxed), 1);
    assert_eq!(handler.metrics.status_server_unanswered.load(Relaxed), 2);
    // Status-Server is never an authentication.
    assert_eq!(handler.metrics.requests.load(Relaxed), 0);
    assert_eq!(handler.metrics.accepts.load(Relaxed), 0);
}

/// The stale-session sweep as the server's task runs it: sessions
/// recorded through the request path, `sweep_accounting` with the
/// configured multiple of the interim interval. The session the NAS
/// stopped updating is closed with Lost-Service at its last update; the
/// one it updates stays online.
#[tokio::test]
async fn sweep_closes_the_stale_session_and_keeps_the_fresh_one() {
    let h = harness("acct-sweep");
    let store = harness_store(&h).await;
    let handler = handler_with_store(&h, store.clone(), h.handler.settings.clone()).await;
    let now = Instant::now();
    let send = async |id, status, session: &[u8], at| {
        let reply = handler
            .handle_acct(
                nas(1),
                &accounting_request(id, Some(status), session),
                now,
                at,
            )
            .await;
        assert_eq!(code(&reply), Some(Code::AccountingResponse));
    };
    // Both start at 1000; only "FRESH" gets an Interim-Update, at 1300.
    send(1, dict::ACCT_STATUS_TYPE_START, b"STALE", 1000).await;
    send(2, dict::ACCT_STATUS_TYPE_START, b"FRESH", 1000).await;
    send(3, dict::ACCT_STATUS_TYPE_INTERIM_UPDATE, b"FRESH", 1300).await;
    // 3 intervals of 60 s (no Acct-Interim-Interval from the NAS): at
    // 1179 "STALE" is 179 s old, not yet stale (the boundary).
    handler.sweep_accounting(1179, 3, 60).await;
    assert!(store.session("STALE").await.unwrap().online());
    handler.sweep_accounting(1310, 3, 60).await;
    let stale = store.session("STALE").await.unwrap();
    assert!(!stale.online());
    assert_eq!(
        (stale.stop_time, stale.terminate_cause),
        (
            Some(1000),
            Some(crate::accounting::terminate_cause::LOST_SERVICE)
        )
    );
    let fresh = store.session("FRESH").await.unwrap();
    assert!(fresh.online(), "the updated session stays open");
    assert_eq!(fresh.terminate_cause, None);
    // Intervals 0 (`stale_after_intervals = 0`): the sweep is off.
    send(4, dict::ACCT_STATUS_TYPE_START, b"OFF", 1000).await;
    handler.sweep_accounting(100_000, 0, 60).await;
    assert!(store.session("OFF").await.unwrap().online());
}

/// A PAP request for `user` with `password`, Message-Authenticator signed.
fn pap_request(id: u8, user: &[u8], password: &[u8]) -> Vec<u8> {
    let mut authenticator = [0u8; 16];
    rand::fill(&mut authenticator);
    let hidden = radius_proto::encrypt_user_password(password, SECRET, &authenticator).unwrap();
    let mut b = PacketBuilder::new(Code::AccessRequest, id);
    b.add(dict::USER_NAME, user).unwrap();
    b.add(dict::USER_PASSWORD, &hidden).unwrap();
    b.encode_request(authenticator, SECRET).unwrap()
}

/// The handler of `h` with a store holding alice (password "right") and
/// PAP on.
async fn pap_handler(h: &Harness) -> AuthHandler {
    let store = harness_store(h).await;
    store
        .add_user("alice", &crate::store::UserAttributes::default(), true)
        .await
        .unwrap();
    // Argon2id only (the returned bool says whether an NT hash was kept).
    store.set_password("alice", "right", false).await.unwrap();
    let mut settings = h.handler.settings.clone();
    settings.pap_enabled = true;
    handler_with_store(h, store, settings).await
}

fn inline_code(i: &Inline<'_>) -> Option<Code> {
    match i {
        Inline::Answered(b) => Some(Packet::new_checked(&b[..]).unwrap().code()),
        _ => None,
    }
}

#[tokio::test]
async fn pap_from_the_cache_is_answered_inline_a_miss_goes_to_a_task() {
    let h = harness("inline-pap");
    let handler = pap_handler(&h).await;
    let now = Instant::now();
    let origin = crate::admission::Origin::udp(nas(1));

    // First time: not in the cache, so the store and Argon2id decide, in
    // a task; the request is admitted and marked in progress already.
    let first = pap_request(1, b"alice", b"right");
    let Inline::NeedsTask(pending) = handler.try_serve_inline(origin, &first, now) else {
        panic!("a cache miss needs the store");
    };
    // A copy of it while it is worked on: dropped, not worked on twice.
    assert!(matches!(
        handler.try_serve_inline(origin, &first, now),
        Inline::Dropped
    ));
    let reply = handler.resume(pending.into_owned(now), 0).await;
    assert_eq!(code(&reply), Some(Code::AccessAccept));

    // The same user and password again, in a new request: from the cache,
    // answered without a task.
    let again = pap_request(2, b"alice", b"right");
    let inline = handler.try_serve_inline(origin, &again, now);
    assert_eq!(inline_code(&inline), Some(Code::AccessAccept), "{inline:?}");
    // A wrong password is never cached: a task again (then rejected).
    let wrong = pap_request(3, b"alice", b"wrong");
    let Inline::NeedsTask(pending) = handler.try_serve_inline(origin, &wrong, now) else {
        panic!("a wrong password needs the store");
    };
    let reply = handler.resume(pending.into_owned(now), 0).await;
    assert_eq!(code(&reply), Some(Code::AccessReject));
    // Counted as before the split: three requests (the dropped copy is
    // counted too: every admitted Access-Request), two accepts.
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(handler.metrics.requests.load(Relaxed), 4);
    assert_eq!(handler.metrics.accepts.load(Relaxed), 2);
    assert_eq!(handler.metrics.duplicates_in_progress.load(Relaxed), 1);
}

#[tokio::test]
async fn a_duplicate_is_answered_inline_with_the_same_bytes() {
    let h = harness("inline-dup");
    let handler = pap_handler(&h).await;
    let now = Instant::now();
    let origin = crate::admission::Origin::udp(nas(1));
    // An EAP-Start goes to a task; its retransmission after the answer is
    // answered inline with the very bytes of that answer.
    let start = access_request(1, &[(dict::CALLING_STATION_ID, STATION)], Some(&[]));
    let Inline::NeedsTask(pending) = handler.try_serve_inline(origin, &start, now) else {
        panic!("EAP goes to a task");
    };
    let reply = handler
        .resume(pending.into_owned(now), 0)
        .await
        .expect("a challenge");
    assert_eq!(code(&Some(reply.clone())), Some(Code::AccessChallenge));
    match handler.try_serve_inline(origin, &start, now) {
        Inline::Answered(again) => assert_eq!(again[..], reply[..]),
        other => panic!("retransmission not answered inline: {other:?}"),
    }
    // The EAP-Start is in the duplicate cache.
    assert_eq!(handler.dedupe.len(), 1);
    // Status-Server: answered inline. It is kept out of the duplicate
    // cache (RFC 5997 §4.1: never retransmitted): a copy is answered
    // afresh, with the same bytes.
    let status = status_server(9, SECRET);
    let Inline::Answered(first) = handler.try_serve_inline(origin, &status, now) else {
        panic!("Status-Server answered inline");
    };
    assert_eq!(code(&Some(first.clone())), Some(Code::AccessAccept));
    let Inline::Answered(second) = handler.try_serve_inline(origin, &status, now) else {
        panic!("Status-Server copy answered inline");
    };
    assert_eq!(first[..], second[..]);
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(handler.metrics.duplicates_replayed.load(Relaxed), 1);
    assert_eq!(handler.metrics.status_server_answered.load(Relaxed), 2);
    assert_eq!(handler.dedupe.len(), 1, "Status-Server not cached");
    // Refused at admission (another secret): dropped inline, counted.
    let forged = status_server(10, b"another-secret");
    assert!(matches!(
        handler.try_serve_inline(origin, &forged, now),
        Inline::Dropped
    ));
    assert_eq!(handler.metrics.drops().values().sum::<u64>(), 1);
}
