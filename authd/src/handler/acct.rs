//! The accounting service and Status-Server (RFC 2866, RFC 5997).
//!
//! An Accounting-Request passes admission on the accounting port, the
//! duplicate cache, the sans-IO core ([`crate::accounting::parse`]), then
//! one write to the store through the breaker. The Accounting-Response is
//! encoded only once that write returned, i.e. committed (RFC 2866 §4.1:
//! "upon receipt of an Accounting-Request, the accounting server MUST
//! transmit an Accounting-Response reply if it successfully records the
//! accounting packet, and MUST NOT transmit any reply if it fails to
//! record"). A store that cannot write means no answer: the NAS
//! retransmits, or fails over to another accounting server. On a
//! RADIUS/1.1 connection the answer is a Protocol-Error with Error-Cause
//! 506 instead (RFC 9765 §6.1), which tells the client to go elsewhere.
//!
//! Status-Server (RFC 5997 §3) is answered on the authentication port with
//! Access-Accept and on the accounting port with Accounting-Response, but
//! only while the store is usable (RFC 5997 §4 leaves to the server what
//! "alive" means; a server that would reject or drop every request must not
//! look alive to a NAS choosing between servers). It is not an
//! authentication: it is counted in `status_server_answered` /
//! `status_server_unanswered` only, never in `requests` or `accepts`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use radius_proto::{Code, Packet, PacketBuilder};
use tracing::{debug, warn};

use super::AuthHandler;
use crate::accounting;
use crate::admission::{Origin, Port};
use crate::clients::NasClient;
use crate::logsafe;
use crate::metrics::Metrics;
use crate::store::Recorded;
use crate::store::breaker::BreakerError;

impl AuthHandler {
    /// Handle one datagram received on the accounting port, arrived at
    /// `now` (monotonic) and `unix_now` (Unix seconds). Returns the bytes
    /// to send back to `from`, if any.
    pub async fn handle_acct(
        &self,
        from: SocketAddr,
        data: &[u8],
        now: Instant,
        unix_now: i64,
    ) -> Option<Arc<[u8]>> {
        let (clients, tls) = self.live();
        let admitted = self.admit(&clients, Origin::udp_to(from, Port::Acct), data, now)?;
        self.serve(admitted, &tls, now, unix_now).await
    }

    /// Whether the store can be used now: no store configured, or the
    /// breaker is closed and the last change-generation poll worked.
    pub fn store_usable(&self, now: Instant) -> bool {
        if self.policy.store().is_none() {
            return true;
        }
        let breaker_open = self.policy.breaker().is_some_and(|b| b.is_open(now));
        !breaker_open && self.metrics.store_changes_readable.load(Ordering::Relaxed)
    }

    /// Status-Server on either port: answered with `code` while the store
    /// is usable.
    pub(super) fn status_server(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        code: Code,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        if !self.store_usable(now) {
            Metrics::inc(&self.metrics.status_server_unanswered);
            if let Some(suppressed) = self.store_down_log.allow(now) {
                warn!(client = %client.name, suppressed, "Status-Server not answered: the store is unusable");
            }
            return None;
        }
        let reply = self.respond(
            origin,
            packet,
            client,
            PacketBuilder::new(code, packet.identifier()),
        )?;
        Metrics::inc(&self.metrics.status_server_answered);
        Some(reply)
    }

    pub(super) async fn accounting_request(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        now: Instant,
        unix_now: i64,
    ) -> Option<Arc<[u8]>> {
        let from = origin.peer;
        let record = match accounting::parse(packet, &client.name, from.ip(), unix_now) {
            Ok(r) => r,
            Err(refusal) => {
                self.log_drop(from, Some(&client.name), refusal.label(), &refusal, now);
                return None;
            }
        };
        let Some(store) = self.policy.store() else {
            self.log_drop(
                from,
                Some(&client.name),
                "acct_no_store",
                "Accounting-Request without a store to record it",
                now,
            );
            return self.unable_to_process(origin, packet, client);
        };
        let written = match self.policy.breaker() {
            Some(b) => b.call(now, store.record_accounting(&record)).await,
            None => store
                .record_accounting(&record)
                .await
                .map_err(BreakerError::Store),
        };
        match written {
            Ok(outcome) => {
                Metrics::inc(&self.metrics.accounting_written);
                debug!(
                    client = %client.name,
                    status = record.status.label(),
                    session = logsafe::escape(&record.acct_session_id),
                    user = logsafe::escape(&record.user_name),
                    changed = !matches!(outcome, Recorded::Unchanged),
                    "Accounting-Request recorded"
                );
                self.respond(
                    origin,
                    packet,
                    client,
                    PacketBuilder::new(Code::AccountingResponse, packet.identifier()),
                )
            }
            Err(e) => {
                Metrics::inc(&self.metrics.accounting_write_failures);
                if let Some(suppressed) = self.store_down_log.allow(now) {
                    warn!(
                        client = %client.name,
                        status = record.status.label(),
                        suppressed,
                        "Accounting-Request not recorded, not answered: {e}"
                    );
                }
                self.unable_to_process(origin, packet, client)
            }
        }
    }

    /// A request this server cannot process (no store, or the store
    /// failed): no answer over UDP and classic RadSec (the NAS
    /// retransmits or fails over), and on RADIUS/1.1 the Protocol-Error
    /// with Error-Cause 506 (Resources Unavailable) that RFC 9765 §6.1
    /// requires of a home server ("it MUST respond with a Protocol-Error
    /// packet containing an Error-Cause attribute").
    fn unable_to_process(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
    ) -> Option<Arc<[u8]>> {
        if !origin.radius_1_1() {
            return None;
        }
        self.respond(
            origin,
            packet,
            client,
            radius_proto::v11::protocol_error(radius_proto::v11::ERROR_CAUSE_RESOURCES_UNAVAILABLE),
        )
    }

    /// Closes the sessions gone stale (see
    /// [`crate::store::Store::close_stale_sessions`]); run every minute.
    pub async fn sweep_accounting(&self, unix_now: i64, intervals: u32, default_interval: u32) {
        let Some(store) = self.policy.store() else {
            return;
        };
        if intervals == 0 {
            return;
        }
        match store
            .close_stale_sessions(unix_now, intervals, default_interval)
            .await
        {
            Ok(0) => {}
            Ok(n) => debug!(closed = n, "stale accounting sessions closed"),
            Err(e) => warn!("cannot close stale accounting sessions: {e}"),
        }
    }
}
