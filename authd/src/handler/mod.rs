//! What the server does with one datagram: the path of an Access-Request
//! from bytes to reply (see ARCHITECTURE.md, "One Access-Request").
//!
//! 1. Source address -> NAS client (unknown: drop, rate-limited log).
//! 2. `radius-proto` checks lengths and Message-Authenticator with that
//!    client's secret (failure: drop with a reason).
//! 3. Duplicate cache: a retransmission gets the cached reply again.
//! 4. Session table: no State starts a conversation, a State continues one.
//! 5. The `eap-methods` server session consumes the EAP packet and answers.
//! 6. The reply is built (Message-Authenticator first) and cached.
//!
//! No socket here: the UDP loops in [`crate::server`] call
//! [`AuthHandler::handle_auth`] with the bytes, the source and the time, and
//! send what it returns. The access service lives in `access.rs` (EAP) and
//! `pap.rs`; admission and reply encoding are their own modules
//! ([`crate::admission`], [`crate::reply`]).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::tls::{CachingVerifier, VerifiedChain};
use eap_methods::server::{
    Outcome, PeerVerified, ServerConfig as EapServerConfig, ServerSession, Verdict,
};
use radius_proto::{Code, Packet, PacketBuilder, dict};
use rustls::pki_types::UnixTime;
use tracing::{debug, info, warn};

use crate::admission::{self, Admitted, Origin, Port};
use crate::clients::{NasClient, NasClients};
use crate::dedupe::{DuplicateCache, Lookup, RequestKey, Tracked};
use crate::logsafe::{self, escaped};
use crate::metrics::{AuthMethod, KeyedRateLimit, Metrics, RateLimitedLog};
use crate::pap::{PapOutcome, PasswordCache};
use crate::policy::{Decision, Policy};
use crate::reply;
use crate::sessions::{
    CONVERSATION_BASE_COST, CheckOut, Limits, SessionTable, StateKey, reassembly_octets,
};

/// Access-Reject lines per (NAS client, reason) and second; the next line
/// let through says how many were held back. Every reject is counted.
const REJECT_LINES_PER_SECOND: u32 = 10;
/// (client, reason) pairs whose reject lines are limited one by one.
const REJECT_LOG_KEYS: usize = 4096;

/// Tunables of the handler, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// TLS bytes per EAP-TLS fragment when the request carries no Framed-MTU.
    pub fragment_size: usize,
    /// PEAP and TTLS inner identity -> stored user name.
    pub inner_names: crate::config::InnerNames,
    pub session_idle_timeout: Duration,
    pub max_sessions: usize,
    /// Bytes charged for all conversations in progress.
    pub max_sessions_memory: usize,
    pub duplicate_cache_lifetime: Duration,
    pub duplicate_cache_entries: usize,
    /// PAP answered (needs a store too).
    pub pap_enabled: bool,
    pub pap_cache_ttl: Duration,
    pub pap_cache_entries: usize,
    /// PAP checks past the cache admitted at once, and how long one waits.
    pub pap_max_waiting: usize,
    pub pap_max_wait: Duration,
    pub store_breaker: crate::store::breaker::BreakerSettings,
}

/// The EAP-TLS configuration and the client certificate verifier inside
/// it, which checks a resumed session's certificate again.
#[derive(Clone)]
pub struct EapTls {
    pub eap: Arc<EapServerConfig>,
    pub verifier: Arc<CachingVerifier>,
}

/// Swappable parts, replaced on reload.
struct Live {
    clients: Arc<NasClients>,
    tls: EapTls,
}

pub struct AuthHandler {
    live: RwLock<Live>,
    settings: Settings,
    sessions: SessionTable<Conversation>,
    dedupe: DuplicateCache,
    policy: Policy,
    /// PAP with a store; `None` rejects PAP requests.
    pap: Option<PasswordCache>,
    pub metrics: Metrics,
    unknown_client_log: RateLimitedLog,
    bad_packet_log: RateLimitedLog,
    eviction_log: RateLimitedLog,
    /// Accounting writes and Status-Server left unanswered: the store.
    store_down_log: RateLimitedLog,
    reject_log: KeyedRateLimit<(String, &'static str)>,
}

impl AuthHandler {
    pub fn new(clients: NasClients, tls: EapTls, policy: Policy, settings: Settings) -> Self {
        // One breaker for every store read on the request path: EAP's
        // policy and PAP see the same health of the same store.
        let breaker = policy.breaker().cloned().unwrap_or_else(|| {
            Arc::new(crate::store::breaker::Breaker::new(settings.store_breaker))
        });
        let policy = policy.with_breaker(breaker.clone());
        // The first verifier's counters are the handler's: a reload builds
        // its verifier with them (`server::eap_config_counted`).
        let mut metrics = Metrics::default();
        metrics.chain_cache.eap = tls.verifier.counters().clone();
        AuthHandler {
            live: RwLock::new(Live {
                clients: Arc::new(clients),
                tls,
            }),
            sessions: SessionTable::new(Limits {
                max_sessions: settings.max_sessions,
                max_bytes: settings.max_sessions_memory,
                idle_timeout: settings.session_idle_timeout,
            }),
            dedupe: DuplicateCache::new(
                settings.duplicate_cache_entries,
                settings.duplicate_cache_lifetime,
            ),
            // The password checks of RADIUS PAP (when `[pap] enabled`) and
            // of TTLS-PAP (always, with a store).
            pap: policy.store().is_some().then(|| {
                PasswordCache::with_limits(
                    settings.pap_cache_ttl,
                    settings.pap_cache_entries.max(1),
                    crate::pap::WaitingRoom::new(settings.pap_max_waiting, settings.pap_max_wait),
                    breaker,
                )
            }),
            settings,
            policy,
            metrics,
            unknown_client_log: RateLimitedLog::new(Duration::from_secs(1)),
            bad_packet_log: RateLimitedLog::new(Duration::from_millis(100)),
            eviction_log: RateLimitedLog::new(Duration::from_secs(1)),
            store_down_log: RateLimitedLog::new(Duration::from_secs(1)),
            reject_log: KeyedRateLimit::new(
                REJECT_LINES_PER_SECOND,
                Duration::from_secs(1),
                REJECT_LOG_KEYS,
            ),
        }
    }

    /// Replace the client list and TLS configuration (SIGHUP). Conversations
    /// in progress keep the configuration they started with.
    pub fn reload(&self, mut clients: NasClients, tls: EapTls) {
        // Outside the write lock: the request path keeps reading meanwhile.
        clients.inherit_counters(&self.live().0);
        let mut live = crate::sync::write(&self.live);
        *live = Live {
            clients: Arc::new(clients),
            tls,
        };
    }

    /// Replace only the client list (NAS clients changed in the store);
    /// the TLS configuration stays.
    pub fn reload_clients(&self, mut clients: NasClients) {
        // Outside the write lock: the request path keeps reading meanwhile.
        clients.inherit_counters(&self.live().0);
        let mut live = crate::sync::write(&self.live);
        live.clients = Arc::new(clients);
    }

    fn live(&self) -> (Arc<NasClients>, EapTls) {
        let live = crate::sync::read(&self.live);
        (live.clients.clone(), live.tls.clone())
    }

    /// Number of EAP conversations in progress.
    pub fn sessions_in_progress(&self) -> usize {
        self.sessions.len()
    }

    /// Drop conversations idle past the timeout; run this periodically.
    pub fn sweep(&self, now: Instant) {
        let n = self.sessions.sweep(now);
        if n > 0 {
            self.metrics
                .sessions_expired
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            debug!(expired = n, "idle EAP conversations expired");
        }
        if let Some(pap) = &self.pap {
            pap.sweep(now);
        }
    }

    /// Whether PAP requests are checked (a store and `[pap] enabled`).
    pub fn pap_enabled(&self) -> bool {
        self.settings.pap_enabled && self.pap.is_some()
    }

    /// Reads the store's change generation, so that what is cached about
    /// users, certificates and PAP passwords is dropped as soon as anything
    /// changed there.
    pub async fn poll_store_changes(&self) {
        let Some(store) = self.policy.store() else {
            return;
        };
        use std::sync::atomic::Ordering::Relaxed;
        match store.changes_generation().await {
            Ok(g) => {
                self.metrics.store_changes_readable.store(true, Relaxed);
                if self.policy.set_store_generation(g) {
                    debug!(
                        generation = g,
                        "store changed: cached users, certificates and passwords dropped"
                    );
                }
                if let Some(pap) = &self.pap {
                    pap.set_generation(g);
                }
            }
            Err(e) => {
                self.metrics.store_changes_readable.store(false, Relaxed);
                self.policy.store_generation_unknown();
                if let Some(pap) = &self.pap {
                    pap.generation_unknown();
                }
                warn!(
                    "cannot read the store's change generation, reading the store on every request: {e}"
                );
            }
        }
    }

    /// Counts a dropped packet under `label` and logs why (rate-limited;
    /// `detail` is only formatted when the line is written).
    fn log_drop(
        &self,
        from: SocketAddr,
        client: Option<&str>,
        label: &'static str,
        detail: impl std::fmt::Display,
        now: Instant,
    ) {
        self.metrics.drop_reason(label);
        if let Some(suppressed) = self.bad_packet_log.allow(now) {
            warn!(
                peer = %from,
                client = client.unwrap_or("-"),
                reason = label,
                suppressed,
                "packet dropped: {detail}"
            );
        }
    }

    /// The admission stage ([`crate::admission`]); what it refuses is
    /// counted and logged (rate-limited) here.
    fn admit<'a>(
        &self,
        clients: &NasClients,
        origin: Origin,
        data: &'a [u8],
        now: Instant,
    ) -> Option<Admitted<'a>> {
        let from = origin.peer;
        match admission::admit(clients, origin, data) {
            Ok(admitted) => Some(admitted),
            Err(refused) if refused.client.is_none() => {
                self.metrics.drop_reason(refused.label);
                if let Some(suppressed) = self.unknown_client_log.allow(now) {
                    warn!(peer = %from, suppressed, "{} dropped", refused.detail);
                }
                None
            }
            Err(refused) => {
                self.log_drop(
                    from,
                    refused.client.as_ref().map(|c| c.name.as_str()),
                    refused.label,
                    refused.detail,
                    now,
                );
                None
            }
        }
    }

    /// Handle one datagram received on the authentication port. Returns the
    /// bytes to send back to `from`, if any.
    pub async fn handle_auth(
        &self,
        from: SocketAddr,
        data: &[u8],
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        match self.try_serve_inline(Origin::udp(from), data, now) {
            Inline::Answered(reply) => Some(reply),
            Inline::Dropped => None,
            Inline::NeedsTask(pending) => {
                let unix_now = crate::store::unix_seconds(SystemTime::now());
                self.resume_pending(pending, now, unix_now).await
            }
        }
    }

    /// Handle one packet of a RADIUS/TLS connection (`crate::radsec`)
    /// whose certificate named `client`. What admission refuses is counted
    /// and logged as for UDP and returned as its label: a malformed packet
    /// or a bad authenticator closes the connection (RFC 6613 §2.6.4).
    pub async fn handle_stream(
        &self,
        origin: Origin,
        client: Arc<NasClient>,
        data: &[u8],
        now: Instant,
    ) -> Result<Option<Arc<[u8]>>, &'static str> {
        let (_, tls) = self.live();
        match admission::admit_from(client, origin, data) {
            Ok(admitted) => Ok(self
                .serve(
                    admitted,
                    &tls,
                    now,
                    crate::store::unix_seconds(SystemTime::now()),
                )
                .await),
            Err(refused) => {
                let client = refused.client.as_ref().map(|c| c.name.as_str());
                self.log_drop(origin.peer, client, refused.label, &refused.detail, now);
                Err(refused.label)
            }
        }
    }

    /// Every stage after admission: duplicates, dispatch by code, reply.
    /// `now` is monotonic, `unix_now` the wall clock in Unix seconds (for
    /// accounting records). The synchronous half first (`inline.rs`), then
    /// what has to wait.
    pub(super) async fn serve(
        &self,
        admitted: Admitted<'_>,
        tls: &EapTls,
        now: Instant,
        unix_now: i64,
    ) -> Option<Arc<[u8]>> {
        match self.begin(admitted, tls.clone(), now) {
            Inline::Answered(reply) => Some(reply),
            Inline::Dropped => None,
            Inline::NeedsTask(pending) => self.resume_pending(pending, now, unix_now).await,
        }
    }

    /// The duplicates stage ([`crate::dedupe`]): `Ok(Some(tracked))` for a
    /// new request now marked in progress, `Ok(None)` for one the cache
    /// does not hold, `Err(what to send)` for a retransmission.
    fn duplicate(
        &self,
        origin: Origin,
        client: &NasClient,
        packet: &Packet<&[u8]>,
        now: Instant,
    ) -> Result<Option<Tracked>, Option<Arc<[u8]>>> {
        let from = origin.peer;
        if origin.radius_1_1() {
            // RFC 9765 §4: requests are told apart by the Token alone, per
            // connection (Reserved-1 and Reserved-2 are not examined), and
            // deduplication is done only where RADIUS requires it, which a
            // reliable TLS connection does not; a Token may be used again
            // once its reply arrived, so a cache would answer a new request
            // with an old reply. A Token reused while its request is in
            // progress is refused by `radsec/conn.rs`.
            return Ok(None);
        }
        if packet.code() == Code::StatusServer {
            // RFC 5997 §4.1: a Status-Server is never retransmitted (a
            // client sends a new one, with a new Identifier and
            // Authenticator), and answering one changes nothing, so a copy
            // would only be answered again with the same bytes. Kept out of
            // the cache, a client's watchdog (or a flood of Status-Server
            // from one client) cannot evict the replies other requests
            // keep for their retransmissions.
            return Ok(None);
        }
        let key = RequestKey {
            origin,
            identifier: packet.identifier(),
            authenticator: *packet.authenticator(),
        };
        match self.dedupe.check(key, now) {
            Lookup::New(tracked) => Ok(Some(tracked)),
            Lookup::InProgress => {
                Metrics::inc(&self.metrics.duplicates_in_progress);
                debug!(peer = %from, id = packet.identifier(), "retransmission of a request in progress dropped");
                Err(None)
            }
            Lookup::Replay(reply) => {
                Metrics::inc(&self.metrics.duplicates_replayed);
                debug!(peer = %from, id = packet.identifier(), "retransmission answered from the duplicate cache");
                client.counters.count_reply(&reply);
                Err(Some(reply))
            }
        }
    }

    /// Caches the reply for retransmissions, or forgets the request when
    /// there is none (a retransmission is then worked on again).
    fn finish(
        &self,
        tracked: Option<Tracked>,
        client: &NasClient,
        reply: Option<Arc<[u8]>>,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        match (&reply, tracked) {
            (Some(bytes), Some(tracked)) => self.dedupe.complete(tracked, bytes.clone(), now),
            (None, Some(tracked)) => self.dedupe.forget(&tracked),
            // Not in the duplicate cache (see `duplicate`).
            (_, None) => {}
        }
        if let Some(bytes) = &reply {
            client.counters.count_reply(bytes);
        }
        reply
    }

    /// A request dropped before it got as far as `finish`: a retransmission
    /// may be worked on again.
    fn forget(&self, tracked: &Option<Tracked>) {
        if let Some(t) = tracked {
            self.dedupe.forget(t);
        }
    }

    /// The reply-encoding stage ([`crate::reply::encode`]); a reply that
    /// cannot be encoded is logged and nothing is sent.
    fn respond(
        &self,
        origin: Origin,
        request: &Packet<&[u8]>,
        client: &NasClient,
        b: PacketBuilder,
    ) -> Option<Arc<[u8]>> {
        match reply::encode_in(reply::Profile::of(origin), request, &client.secret, b) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.metrics.drop_reason("reply_not_encodable");
                warn!(client = %client.name, "could not encode the reply: {e}");
                None
            }
        }
    }

    // The origin rides along for the reply's profile (RFC 9765 or not).
    #[allow(clippy::too_many_arguments)]
    fn reject(
        &self,
        origin: Origin,
        request: &Packet<&[u8]>,
        client: &NasClient,
        eap_failure: Option<Vec<u8>>,
        label: &'static str,
        why: &str,
        user: &str,
    ) -> Option<Arc<[u8]>> {
        self.metrics.reject_reason(label);
        if let Some(suppressed) = self
            .reject_log
            .allow((client.name.clone(), label), Instant::now())
        {
            warn!(client = %client.name, user = logsafe::escape(user), reason = label, suppressed, "Access-Reject: {}", escaped(why).max(1024));
        }
        let mut b = PacketBuilder::new(Code::AccessReject, request.identifier());
        if let Some(eap) = eap_failure {
            b.add_eap_message(&eap);
        }
        self.respond(origin, request, client, b)
    }
}

mod access;
mod acct;
mod inline;
mod observe;
mod pap;

pub use inline::{Inline, OwnedPending, Pending};

pub use observe::StoreHealth;

use access::Conversation;

#[cfg(test)]
mod tests;
