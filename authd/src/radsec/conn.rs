//! One RadSec connection: handshake, identification, then a reader that
//! frames packets and hands each to the request path in its own task, and
//! a writer that sends replies as they are ready (any order: each carries
//! its Identifier).
//!
//! What a connection holds is bounded: a 4096-octet read buffer, the
//! framer's one incomplete packet (at most 4096), rustls' buffers (one
//! TLS record being read, 16 KiB of plaintext read, what one reply
//! writes), and at most 256 requests in progress (one per Identifier; on
//! RADIUS/1.1 one per Token, and the reader waits while 256 are in
//! progress), each holding its share of the byte budget shared by all
//! connections (`[radsec] max_buffered_bytes`) from the moment it is read
//! until its reply is written: a reply queued for the writer still holds
//! it, so neither requests nor replies pile up past the budget.
//!
//! RADIUS/1.1 (RFC 9765) is the ALPN protocol "radius/1.1": it needs
//! TLS 1.3 (RFC 9765 §3.4, "Implementations of this specification MUST
//! require TLS version 1.3 or later"), so a TLS 1.2 connection that
//! negotiated it is closed; under `radius_1_1 = "require"` a connection
//! without ALPN is closed (RFC 9765 §3.3, "Close-S" of its table: the
//! server closes, and MAY send the alert or a Protocol-Error). Both are
//! logged and counted as refused for `protocol`. rustls sends no alert
//! after a finished handshake; the peer sees the connection closed. A
//! client whose ALPN list names neither protocol of the mode gets the
//! alert no_application_protocol from rustls during the handshake
//! (RFC 9765 §3.3 and RFC 7301 §3.2: MUST send it, then close).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use radius_proto::stream::StreamFramer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{Radsec, Shared};
use crate::admission::Origin;
use crate::config::{RADSEC_REQUEST_CHARGE, Radius11Mode};
use crate::metrics::radsec::{Closed, Refused};

/// Requests in progress per connection: one per Identifier (RFC 6613
/// §2.6.5: the 8-bit Identifier limits a connection to 256 outstanding).
const MAX_OUTSTANDING: usize = 256;
/// Octets read at once.
const READ_BUFFER: usize = 4096;
/// How long the writer may take to flush and close once the connection ends.
const WRITER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
/// RADIUS code of Status-Server (RFC 5997).
const STATUS_SERVER: u8 = 12;

/// Holds one of a client's connection slots; gives it back when dropped.
struct ClientSlot<'a> {
    shared: &'a Shared,
    name: String,
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        let mut map = crate::sync::lock(&self.shared.per_client);
        if let Some(n) = map.get_mut(&self.name) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.name);
            }
        }
    }
}

fn take_slot<'a>(shared: &'a Shared, name: &str) -> Option<ClientSlot<'a>> {
    let mut map = crate::sync::lock(&shared.per_client);
    let n = map.entry(name.to_owned()).or_insert(0);
    if *n >= shared.limits.max_connections_per_client {
        return None;
    }
    *n += 1;
    Some(ClientSlot {
        shared,
        name: name.to_owned(),
    })
}

/// What matches a reply to its request: the Identifier, or on RADIUS/1.1
/// the Token (RFC 9765 §4.1: Reserved-1 is not examined).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id(u8),
    Token([u8; 4]),
}

/// The Identifiers (or Tokens) of the requests in progress on one
/// connection. Tokens are at most [`MAX_OUTSTANDING`]: the reader waits
/// for a slot before it claims one.
#[derive(Default)]
struct Outstanding {
    ids: [u64; 4],
    tokens: std::collections::HashSet<[u8; 4]>,
}

impl Outstanding {
    /// Marks `key` as in progress; false if it already is.
    fn claim(&mut self, key: Key) -> bool {
        match key {
            Key::Id(id) => {
                let (word, bit) = (usize::from(id / 64), id % 64);
                let was = self.ids[word] & (1 << bit) != 0;
                self.ids[word] |= 1 << bit;
                !was
            }
            Key::Token(t) => self.tokens.insert(t),
        }
    }

    fn release(&mut self, key: Key) {
        match key {
            Key::Id(id) => {
                let (word, bit) = (usize::from(id / 64), id % 64);
                self.ids[word] &= !(1 << bit);
            }
            Key::Token(t) => {
                self.tokens.remove(&t);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.ids.iter().all(|w| *w == 0) && self.tokens.is_empty()
    }
}

/// Whether a finished handshake may carry RADIUS traffic in `mode`:
/// `Ok(radius_1_1)`, or why the connection is refused (RFC 9765 §3.3, §3.4).
/// `alpn` is the protocol rustls negotiated, `tls13` whether the
/// version is TLS 1.3.
fn protocol(mode: Radius11Mode, alpn: Option<&[u8]>, tls13: bool) -> Result<bool, &'static str> {
    let radius_1_1 = alpn == Some(radius_proto::v11::ALPN_RADIUS_1_1);
    if radius_1_1 && !tls13 {
        return Err("ALPN radius/1.1 over TLS 1.2: RADIUS/1.1 requires TLS 1.3 (RFC 9765 §3.4)");
    }
    if mode == Radius11Mode::Require && !radius_1_1 {
        return Err(
            "no ALPN radius/1.1 while [radsec] radius_1_1 = \"require\" (RFC 9765 §3.3: the server closes the connection)",
        );
    }
    Ok(radius_1_1)
}

/// Serves one accepted TCP connection to its end.
pub(super) async fn serve(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let (acceptor, clients, mode) = shared.live();
    let limits = shared.limits;
    let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            shared.metrics().refused(Refused::Handshake);
            log_refusal(&shared, peer, format_args!("TLS handshake failed: {e}"));
            return;
        }
        Err(_) => {
            shared.metrics().refused(Refused::Handshake);
            log_refusal(
                &shared,
                peer,
                format_args!(
                    "TLS handshake not finished within {} s",
                    limits.handshake_timeout.as_secs()
                ),
            );
            return;
        }
    };
    let (_, session) = tls.get_ref();
    let leaf = session
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec());
    let version = session.protocol_version();
    let tls13 = version == Some(rustls::ProtocolVersion::TLSv1_3);
    let radius_1_1 = match protocol(mode, session.alpn_protocol(), tls13) {
        Ok(v11) => v11,
        Err(why) => {
            shared.metrics().refused(Refused::Protocol);
            shared
                .handler
                .metrics
                .drop_reason("radsec_protocol_refused");
            log_refusal(&shared, peer, format_args!("{why}"));
            let mut tls = tls;
            let _ = tls.shutdown().await;
            return;
        }
    };
    // RFC 6614 §2.3: the certificate names the client.
    let (cert_name, client) = match clients.identify(leaf.as_deref(), peer.ip()) {
        Ok(found) => found,
        Err(why) => {
            shared.metrics().refused(Refused::UnknownCertificate);
            shared.handler.metrics.drop_reason(why.label());
            log_refusal(&shared, peer, format_args!("{why}"));
            let mut tls = tls;
            let _ = tls.shutdown().await;
            return;
        }
    };
    let Some(_slot) = take_slot(&shared, &client.name) else {
        Radsec::refused(
            &shared,
            peer,
            Refused::MaxConnectionsPerClient,
            &format!(
                "client `{}` already holds max_connections_per_client ({}) connections",
                client.name, limits.max_connections_per_client
            ),
        );
        let mut tls = tls;
        let _ = tls.shutdown().await;
        return;
    };
    let connection = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    shared.metrics().connections.fetch_add(1, Ordering::Relaxed);
    let _open = OpenGuard::new(&shared);
    info!(
        peer = %peer,
        client = %client.name,
        certificate_name = %crate::logsafe::escape(&cert_name),
        connection,
        tls = ?version,
        radius_1_1,
        "RadSec connection open"
    );
    if radius_1_1 {
        shared
            .metrics()
            .radius_1_1_connections
            .fetch_add(1, Ordering::Relaxed);
    }
    let origin = Origin::tls_with(peer, connection, radius_1_1);
    // One permit per request in progress: at 256 the reader waits.
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_OUTSTANDING));

    let (mut reader, mut writer) = tokio::io::split(tls);
    // Each reply travels with its share of the budget, given back once
    // written: the queue is bounded by the budget as well as by 256.
    let (tx, mut rx) = mpsc::channel::<(Arc<[u8]>, Charge)>(MAX_OUTSTANDING);
    let close = shutdown.child_token();
    let writer_close = close.clone();
    let write_limit = limits.idle_timeout;
    let mut writer_task = tokio::spawn(async move {
        loop {
            let reply = tokio::select! {
                r = rx.recv() => r,
                _ = writer_close.cancelled() => None,
            };
            let Some((reply, charge)) = reply else { break };
            // A peer that stops reading cannot hold the connection: a
            // reply not taken within the idle timeout closes it.
            let sent = tokio::time::timeout(write_limit, async {
                writer.write_all(&reply).await?;
                writer.flush().await
            })
            .await;
            drop(charge);
            if !matches!(sent, Ok(Ok(()))) {
                writer_close.cancel();
                break;
            }
        }
        let _ = writer.shutdown().await;
    });

    let outstanding = Arc::new(Mutex::new(Outstanding::default()));
    // Set when the request path refused a packet (the close that follows
    // is counted as `packet`, not as a write error).
    let packet_refused = Arc::new(AtomicBool::new(false));
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut requests = 0u64;
    let cancelled = || {
        if shutdown.is_cancelled() {
            (Closed::Shutdown, "authd is stopping".to_owned())
        } else if packet_refused.load(Ordering::Relaxed) {
            (
                Closed::Packet,
                "refused packet (RFC 6613 §2.6.4)".to_owned(),
            )
        } else {
            (Closed::Error, "a reply could not be written".to_owned())
        }
    };
    let (reason, why): (Closed, String) = 'conn: loop {
        let read = tokio::select! {
            _ = close.cancelled() => break 'conn cancelled(),
            r = tokio::time::timeout(limits.idle_timeout, reader.read(&mut buf)) => r,
        };
        let n = match read {
            Err(_) => {
                if !crate::sync::lock(&outstanding).is_empty() {
                    continue;
                }
                break (
                    Closed::Idle,
                    format!("idle for {} s", limits.idle_timeout.as_secs()),
                );
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof && framer.is_idle() => {
                break (
                    Closed::Peer,
                    "closed by the peer (without TLS close_notify)".into(),
                );
            }
            Ok(Err(e)) => break (Closed::Error, format!("read error: {e}")),
            Ok(Ok(0)) if framer.is_idle() => break (Closed::Peer, "closed by the peer".into()),
            Ok(Ok(0)) => {
                break (
                    Closed::Peer,
                    format!(
                        "closed by the peer in the middle of a packet ({} octets)",
                        framer.buffered()
                    ),
                );
            }
            Ok(Ok(n)) => n,
        };
        let mut input = &buf[..n];
        loop {
            let packet = match framer.next_packet(&mut input) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    shared.handler.metrics.drop_reason(e.reason());
                    break 'conn (
                        Closed::Packet,
                        format!("malformed packet: {e} (RFC 6613 §2.6.4)"),
                    );
                }
            };
            // The client table may have changed (SIGHUP): the certificate
            // must still name a client.
            let Some(client) = shared.clients().get(&cert_name) else {
                break 'conn (
                    Closed::Packet,
                    "its [[client]] is no longer configured".into(),
                );
            };
            let key = match radius_proto::v11::token_of(&packet) {
                Some(token) if radius_1_1 => Key::Token(token),
                _ => Key::Id(packet[1]),
            };
            // Backpressure: while 256 requests of this connection, or the
            // whole budget, are in progress, nothing more is read.
            let slot = match slots.clone().try_acquire_owned() {
                Ok(s) => s,
                Err(_) => {
                    shared
                        .metrics()
                        .outstanding_limit_waits
                        .fetch_add(1, Ordering::Relaxed);
                    let s = tokio::select! {
                        _ = close.cancelled() => break 'conn cancelled(),
                        s = slots.clone().acquire_owned() => s,
                    };
                    let Ok(s) = s else {
                        break 'conn (Closed::Error, "closed".into());
                    };
                    s
                }
            };
            let charge = match Charge::try_take(&shared) {
                Some(c) => c,
                None => {
                    shared
                        .metrics()
                        .budget_waits
                        .fetch_add(1, Ordering::Relaxed);
                    let c = tokio::select! {
                        _ = close.cancelled() => break 'conn cancelled(),
                        c = Charge::take(&shared) => c,
                    };
                    let Some(c) = c else {
                        break 'conn (Closed::Error, "closed".into());
                    };
                    c
                }
            };
            if !crate::sync::lock(&outstanding).claim(key) {
                // A TLS client never retransmits on the same connection
                // (RFC 6614 §2.5), so an Identifier in use is the peer's
                // error: the reply could not be matched (RFC 6613 §2.6.5).
                // On RADIUS/1.1 the same holds for the Token (RFC 9765
                // §4.2.2: a Token reused for distinct outstanding packets
                // is logged and the connection MUST be closed).
                let (label, what) = match key {
                    Key::Id(id) => ("radsec_identifier_in_use", format!("Identifier {id}")),
                    Key::Token(t) => (
                        "radsec_token_in_use",
                        format!("Token {:08x}", u32::from_be_bytes(t)),
                    ),
                };
                shared.handler.metrics.drop_reason(label);
                break 'conn (
                    Closed::Packet,
                    format!("{what} reused while its request is in progress"),
                );
            }
            requests += 1;
            shared.metrics().requests.fetch_add(1, Ordering::Relaxed);
            let (shared, tx, close, outstanding, packet_refused) = (
                shared.clone(),
                tx.clone(),
                close.clone(),
                outstanding.clone(),
                packet_refused.clone(),
            );
            tokio::spawn(async move {
                let _slot = slot;
                let now = Instant::now();
                let status = packet[0] == STATUS_SERVER;
                match shared
                    .handler
                    .handle_stream(origin, client, &packet, now)
                    .await
                {
                    Ok(Some(reply)) => {
                        if status {
                            shared
                                .metrics()
                                .status_server_answered
                                .fetch_add(1, Ordering::Relaxed);
                            debug!(peer = %origin.peer, connection, "Status-Server answered");
                        }
                        crate::sync::lock(&outstanding).release(key);
                        let _ = tx.send((reply, charge)).await;
                    }
                    Ok(None) => crate::sync::lock(&outstanding).release(key),
                    Err(label) => {
                        packet_refused.store(true, Ordering::Relaxed);
                        warn!(
                            peer = %origin.peer,
                            connection,
                            reason = label,
                            "RadSec connection closed: refused packet (RFC 6613 §2.6.4)"
                        );
                        close.cancel();
                    }
                }
            });
        }
    };
    close.cancel();
    drop(tx);
    if tokio::time::timeout(WRITER_GRACE, &mut writer_task)
        .await
        .is_err()
    {
        writer_task.abort();
    }
    shared.metrics().closed(reason);
    info!(
        peer = %peer,
        client = %client.name,
        connection,
        requests,
        "RadSec connection closed: {why}"
    );
}

/// Counts an identified connection as open while it lives.
struct OpenGuard {
    shared: Arc<Shared>,
}

impl OpenGuard {
    fn new(shared: &Arc<Shared>) -> OpenGuard {
        shared.metrics().open.fetch_add(1, Ordering::Relaxed);
        OpenGuard {
            shared: shared.clone(),
        }
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.shared.metrics().open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One request's share of the budget all RadSec connections draw on
/// ([`RADSEC_REQUEST_CHARGE`] octets of `[radsec] max_buffered_bytes`),
/// held from the moment the request is read until its reply is written
/// (or the request ends without one).
struct Charge {
    _permit: tokio::sync::OwnedSemaphorePermit,
    shared: Arc<Shared>,
}

impl Charge {
    fn charged(shared: &Arc<Shared>, permit: tokio::sync::OwnedSemaphorePermit) -> Charge {
        shared
            .metrics()
            .buffered_bytes
            .fetch_add(RADSEC_REQUEST_CHARGE as u64, Ordering::Relaxed);
        Charge {
            _permit: permit,
            shared: shared.clone(),
        }
    }

    fn try_take(shared: &Arc<Shared>) -> Option<Charge> {
        let permit = shared
            .budget
            .clone()
            .try_acquire_many_owned(RADSEC_REQUEST_CHARGE as u32)
            .ok()?;
        Some(Charge::charged(shared, permit))
    }

    /// Waits for room (tokio's semaphore serves waiters in order, and each
    /// connection waits for one request at a time).
    async fn take(shared: &Arc<Shared>) -> Option<Charge> {
        let permit = shared
            .budget
            .clone()
            .acquire_many_owned(RADSEC_REQUEST_CHARGE as u32)
            .await
            .ok()?;
        Some(Charge::charged(shared, permit))
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.shared
            .metrics()
            .buffered_bytes
            .fetch_sub(RADSEC_REQUEST_CHARGE as u64, Ordering::Relaxed);
    }
}

/// A refused connection: logged at most 10 times a second.
fn log_refusal(shared: &Shared, peer: SocketAddr, why: std::fmt::Arguments<'_>) {
    if let Some(suppressed) = shared.refusal_log.allow(Instant::now()) {
        warn!(peer = %peer, suppressed, "RadSec connection refused: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_claimed_once() {
        let mut o = Outstanding::default();
        assert!(o.is_empty());
        for id in 0..=255u8 {
            assert!(o.claim(Key::Id(id)), "{id}");
        }
        assert!(!o.claim(Key::Id(0)));
        assert!(!o.claim(Key::Id(255)));
        o.release(Key::Id(255));
        assert!(o.claim(Key::Id(255)));
        for id in 0..=255u8 {
            o.release(Key::Id(id));
        }
        assert!(o.is_empty());
    }

    #[test]
    fn tokens_are_claimed_once_and_apart_from_identifiers() {
        let mut o = Outstanding::default();
        assert!(o.claim(Key::Token([0, 0, 0, 7])));
        assert!(!o.claim(Key::Token([0, 0, 0, 7])));
        // Another Token with the same low octet is another request.
        assert!(o.claim(Key::Token([1, 0, 0, 7])));
        assert!(o.claim(Key::Id(7)));
        o.release(Key::Token([0, 0, 0, 7]));
        o.release(Key::Token([1, 0, 0, 7]));
        o.release(Key::Id(7));
        assert!(o.is_empty());
    }

    #[test]
    fn protocol_follows_rfc_9765() {
        use Radius11Mode::*;
        let v11 = Some(radius_proto::v11::ALPN_RADIUS_1_1);
        let v10 = Some(radius_proto::v11::ALPN_RADIUS_1_0);
        assert_eq!(protocol(Allow, v11, true), Ok(true));
        assert_eq!(protocol(Allow, v10, true), Ok(false));
        assert_eq!(protocol(Allow, None, false), Ok(false));
        assert!(
            protocol(Allow, v11, false).is_err(),
            "RADIUS/1.1 over TLS 1.2"
        );
        assert_eq!(protocol(Require, v11, true), Ok(true));
        assert!(protocol(Require, None, true).is_err());
        assert!(protocol(Require, v10, true).is_err());
        assert_eq!(protocol(Forbid, v10, true), Ok(false));
        assert_eq!(protocol(Forbid, None, true), Ok(false));
    }
}
