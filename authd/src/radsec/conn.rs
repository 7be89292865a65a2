//! One RadSec connection: handshake, identification, then a reader that
//! frames packets and hands each to the request path in its own task, and
//! a writer that sends replies as they are ready (any order: each carries
//! its Identifier).
//!
//! What a connection holds is bounded: a 4096-octet read buffer, the
//! framer's one incomplete packet (at most 4096), at most 256 requests in
//! progress (one per Identifier), and the replies queued for the writer
//! (at most one per request in progress).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
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

/// The Identifiers of the requests in progress on one connection.
#[derive(Default)]
struct Outstanding([u64; 4]);

impl Outstanding {
    /// Marks `id` as in progress; false if it already is.
    fn claim(&mut self, id: u8) -> bool {
        let (word, bit) = (usize::from(id / 64), id % 64);
        let was = self.0[word] & (1 << bit) != 0;
        self.0[word] |= 1 << bit;
        !was
    }

    fn release(&mut self, id: u8) {
        let (word, bit) = (usize::from(id / 64), id % 64);
        self.0[word] &= !(1 << bit);
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// Serves one accepted TCP connection to its end.
pub(super) async fn serve(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let (acceptor, clients) = shared.live();
    let limits = shared.limits;
    let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            shared
                .metrics
                .handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            log_refusal(&shared, peer, format_args!("TLS handshake failed: {e}"));
            return;
        }
        Err(_) => {
            shared
                .metrics
                .handshake_failures
                .fetch_add(1, Ordering::Relaxed);
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
    // RFC 6614 §2.3: the certificate names the client.
    let (cert_name, client) = match clients.identify(leaf.as_deref(), peer.ip()) {
        Ok(found) => found,
        Err(why) => {
            shared
                .metrics
                .unknown_certificates
                .fetch_add(1, Ordering::Relaxed);
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
    shared.metrics.connections.fetch_add(1, Ordering::Relaxed);
    info!(
        peer = %peer,
        client = %client.name,
        certificate_name = %crate::logsafe::escape(&cert_name),
        connection,
        tls = ?version,
        "RadSec connection open"
    );
    let origin = Origin::tls(peer, connection);

    let (mut reader, mut writer) = tokio::io::split(tls);
    let (tx, mut rx) = mpsc::channel::<Arc<[u8]>>(MAX_OUTSTANDING);
    let close = shutdown.child_token();
    let writer_close = close.clone();
    let write_limit = limits.idle_timeout;
    let mut writer_task = tokio::spawn(async move {
        loop {
            let reply = tokio::select! {
                r = rx.recv() => r,
                _ = writer_close.cancelled() => None,
            };
            let Some(reply) = reply else { break };
            // A peer that stops reading cannot hold the connection: a
            // reply not taken within the idle timeout closes it.
            let sent = tokio::time::timeout(write_limit, async {
                writer.write_all(&reply).await?;
                writer.flush().await
            })
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                writer_close.cancel();
                break;
            }
        }
        let _ = writer.shutdown().await;
    });

    let outstanding = Arc::new(Mutex::new(Outstanding::default()));
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let mut requests = 0u64;
    let why: String = 'conn: loop {
        let read = tokio::select! {
            _ = close.cancelled() => break 'conn "closed (shutdown, write error or refused packet)".into(),
            r = tokio::time::timeout(limits.idle_timeout, reader.read(&mut buf)) => r,
        };
        let n = match read {
            Err(_) => {
                if !crate::sync::lock(&outstanding).is_empty() {
                    continue;
                }
                shared.metrics.idle_closed.fetch_add(1, Ordering::Relaxed);
                break format!("idle for {} s", limits.idle_timeout.as_secs());
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof && framer.is_idle() => {
                break "closed by the peer (without TLS close_notify)".into();
            }
            Ok(Err(e)) => break format!("read error: {e}"),
            Ok(Ok(0)) if framer.is_idle() => break "closed by the peer".into(),
            Ok(Ok(0)) => {
                break format!(
                    "closed by the peer in the middle of a packet ({} octets)",
                    framer.buffered()
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
                    shared
                        .metrics
                        .closed_for_packet
                        .fetch_add(1, Ordering::Relaxed);
                    shared.handler.metrics.drop_reason(e.reason());
                    break 'conn format!("malformed packet: {e} (RFC 6613 §2.6.4)");
                }
            };
            // The client table may have changed (SIGHUP): the certificate
            // must still name a client.
            let Some(client) = shared.clients().get(&cert_name) else {
                shared
                    .metrics
                    .closed_for_packet
                    .fetch_add(1, Ordering::Relaxed);
                break 'conn "its [[client]] is no longer configured".into();
            };
            let id = packet[1];
            if !crate::sync::lock(&outstanding).claim(id) {
                // A TLS client never retransmits on the same connection
                // (RFC 6614 §2.5), so an Identifier in use is the peer's
                // error: the reply could not be matched (RFC 6613 §2.6.5).
                shared
                    .metrics
                    .closed_for_packet
                    .fetch_add(1, Ordering::Relaxed);
                shared
                    .handler
                    .metrics
                    .drop_reason("radsec_identifier_in_use");
                break 'conn format!("Identifier {id} reused while its request is in progress");
            }
            requests += 1;
            shared.metrics.requests.fetch_add(1, Ordering::Relaxed);
            let (shared, tx, close, outstanding) = (
                shared.clone(),
                tx.clone(),
                close.clone(),
                outstanding.clone(),
            );
            tokio::spawn(async move {
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
                                .metrics
                                .status_server_answered
                                .fetch_add(1, Ordering::Relaxed);
                            debug!(peer = %origin.peer, connection, "Status-Server answered");
                        }
                        crate::sync::lock(&outstanding).release(id);
                        let _ = tx.send(reply).await;
                    }
                    Ok(None) => crate::sync::lock(&outstanding).release(id),
                    Err(label) => {
                        shared
                            .metrics
                            .closed_for_packet
                            .fetch_add(1, Ordering::Relaxed);
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
    info!(
        peer = %peer,
        client = %client.name,
        connection,
        requests,
        "RadSec connection closed: {why}"
    );
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
            assert!(o.claim(id), "{id}");
        }
        assert!(!o.claim(0));
        assert!(!o.claim(255));
        o.release(255);
        assert!(o.claim(255));
        for id in 0..=255u8 {
            o.release(id);
        }
        assert!(o.is_empty());
    }
}
