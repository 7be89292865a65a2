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
//! No socket here: the UDP loops in [`crate::server`] call [`AuthHandler::handle`]
//! with the bytes, the source and the time, and send what it returns.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use eap_methods::server::{
    Outcome, PeerVerified, ServerConfig as EapServerConfig, ServerSession, Verdict,
};
use radius_proto::{Code, Packet, PacketBuilder, dict};
use rustls::pki_types::UnixTime;
use rustls::server::danger::ClientCertVerifier;
use tracing::{debug, info, warn};

use crate::admission::{self, Admitted, Origin};
use crate::clients::{NasClient, NasClients};
use crate::dedupe::{DuplicateCache, Lookup, RequestKey};
use crate::logsafe::{self, escaped};
use crate::metrics::{KeyedRateLimit, Metrics, RateLimitedLog};
use crate::pap::{PapOutcome, PasswordCache};
use crate::policy::{Decision, Policy};
use crate::reply;
use crate::sessions::{
    CONVERSATION_BASE_COST, CheckOut, Limits, SessionTable, StateKey, reassembly_octets,
};

/// EAPOL header (4) + EAP header (5) + EAP-TLS flags (1) + TLS Message
/// Length (4): what an EAP-TLS fragment adds on the link whose MTU the NAS
/// reports in Framed-MTU (RFC 3579 §2.2 asks the server to respect it).
const EAP_TLS_LINK_OVERHEAD: usize = 14;
/// Smallest fragment we agree to produce, whatever Framed-MTU says.
const MIN_FRAGMENT: usize = 64;
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

/// An EAP conversation in progress.
struct Conversation {
    eap: ServerSession,
    /// The NAS client that started it: another client may not continue it.
    client: Arc<NasClient>,
    started: Instant,
    round_trips: u32,
    /// What the policy granted when the EAP core asked (before any success
    /// indication left); the Access-Accept carries it.
    granted: Option<crate::policy::Accept>,
    /// Why the policy refused: the EAP core sends the access_denied alert,
    /// and the Access-Reject that ends the conversation says this.
    refused: Option<(&'static str, String)>,
    /// The station (RFC 3580 §3.20) that started it: later requests must
    /// name the same one.
    calling_station_id: Option<Vec<u8>>,
    /// EAP-TLS octets the peer sent in fragments of a message not complete
    /// yet (what the reassembly buffer holds).
    reassembly: usize,
}

impl Conversation {
    /// What the session table charges for it.
    fn approx_size(&self) -> usize {
        CONVERSATION_BASE_COST + self.reassembly
    }
}

/// Clears a checked-out State's busy mark when the request that took it is
/// done, whichever way it ends.
struct Busy<'a> {
    table: &'a SessionTable<Conversation>,
    key: StateKey,
    token: u64,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.table.release(&self.key, self.token);
    }
}

/// The EAP-TLS configuration and the client certificate verifier inside
/// it, which checks a resumed session's certificate again.
#[derive(Clone)]
pub struct EapTls {
    pub eap: Arc<EapServerConfig>,
    pub verifier: Arc<dyn ClientCertVerifier>,
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
    reject_log: KeyedRateLimit<(String, &'static str)>,
}

/// Why a packet was dropped: logged and counted by the caller of `drop`.
struct Dropped {
    label: &'static str,
    detail: String,
}

impl AuthHandler {
    pub fn new(clients: NasClients, tls: EapTls, policy: Policy, settings: Settings) -> Self {
        // One breaker for every store read on the request path: EAP's
        // policy and PAP see the same health of the same store.
        let breaker = policy.breaker().cloned().unwrap_or_else(|| {
            Arc::new(crate::store::breaker::Breaker::new(settings.store_breaker))
        });
        let policy = policy.with_breaker(breaker.clone());
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
            pap: (settings.pap_enabled && policy.store().is_some()).then(|| {
                PasswordCache::with_limits(
                    settings.pap_cache_ttl,
                    settings.pap_cache_entries.max(1),
                    crate::pap::WaitingRoom::new(settings.pap_max_waiting, settings.pap_max_wait),
                    breaker,
                )
            }),
            settings,
            policy,
            metrics: Metrics::default(),
            unknown_client_log: RateLimitedLog::new(Duration::from_secs(1)),
            bad_packet_log: RateLimitedLog::new(Duration::from_millis(100)),
            eviction_log: RateLimitedLog::new(Duration::from_secs(1)),
            reject_log: KeyedRateLimit::new(
                REJECT_LINES_PER_SECOND,
                Duration::from_secs(1),
                REJECT_LOG_KEYS,
            ),
        }
    }

    /// Replace the client list and TLS configuration (SIGHUP). Conversations
    /// in progress keep the configuration they started with.
    pub fn reload(&self, clients: NasClients, tls: EapTls) {
        let mut live = crate::sync::write(&self.live);
        *live = Live {
            clients: Arc::new(clients),
            tls,
        };
    }

    /// Replace only the client list (NAS clients changed in the store);
    /// the TLS configuration stays.
    pub fn reload_clients(&self, clients: NasClients) {
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
        self.pap.is_some()
    }

    /// Reads the store's change generation, so that what is cached about
    /// users, certificates and PAP passwords is dropped as soon as anything
    /// changed there.
    pub async fn poll_store_changes(&self) {
        let Some(store) = self.policy.store() else {
            return;
        };
        match store.changes_generation().await {
            Ok(g) => {
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

    fn log_drop(&self, from: SocketAddr, client: Option<&str>, d: Dropped, now: Instant) {
        self.metrics.drop_reason(d.label);
        if let Some(suppressed) = self.bad_packet_log.allow(now) {
            warn!(
                peer = %from,
                client = client.unwrap_or("-"),
                reason = d.label,
                suppressed,
                "packet dropped: {}",
                d.detail
            );
        }
    }

    /// The admission stage ([`crate::admission`]); what it refuses is
    /// counted and logged (rate-limited) here.
    fn admit<'a>(
        &self,
        clients: &NasClients,
        from: SocketAddr,
        data: &'a [u8],
        now: Instant,
    ) -> Option<Admitted<'a>> {
        match admission::admit(clients, Origin::udp(from), data) {
            Ok(admitted) => Some(admitted),
            Err(refused) if refused.client.is_none() => {
                self.metrics.drop_reason(refused.label);
                if let Some(suppressed) = self.unknown_client_log.allow(now) {
                    warn!(peer = %from, suppressed, "{} dropped", refused.detail);
                }
                None
            }
            Err(refused) => {
                let d = Dropped {
                    label: refused.label,
                    detail: refused.detail,
                };
                self.log_drop(
                    from,
                    refused.client.as_ref().map(|c| c.name.as_str()),
                    d,
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
        let (clients, tls) = self.live();
        let Admitted { client, packet, .. } = self.admit(&clients, from, data, now)?;
        Metrics::inc(&self.metrics.requests);

        let key = RequestKey {
            from,
            identifier: packet.identifier(),
            authenticator: *packet.authenticator(),
        };
        match self.dedupe.check(key, now) {
            Lookup::New => {}
            Lookup::InProgress => {
                Metrics::inc(&self.metrics.duplicates_in_progress);
                debug!(peer = %from, id = packet.identifier(), "retransmission of a request in progress dropped");
                return None;
            }
            Lookup::Replay(reply) => {
                Metrics::inc(&self.metrics.duplicates_replayed);
                debug!(peer = %from, id = packet.identifier(), "retransmission answered from the duplicate cache");
                return Some(reply);
            }
        }

        let reply = if packet.code() == Code::StatusServer {
            // RFC 5997 §3: answer Status-Server with Access-Accept.
            self.respond(
                &packet,
                &client,
                PacketBuilder::new(Code::AccessAccept, packet.identifier()),
            )
        } else {
            self.access_request(from, &packet, &client, &tls, now).await
        };
        match reply {
            Some(bytes) => {
                self.dedupe.complete(key, bytes.clone(), now);
                Some(bytes)
            }
            None => {
                self.dedupe.forget(&key);
                None
            }
        }
    }

    /// The reply-encoding stage ([`crate::reply::encode`]); a reply that
    /// cannot be encoded is logged and nothing is sent.
    fn respond(
        &self,
        request: &Packet<&[u8]>,
        client: &NasClient,
        b: PacketBuilder,
    ) -> Option<Arc<[u8]>> {
        match reply::encode(request, &client.secret, b) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.metrics.drop_reason("reply_not_encodable");
                warn!(client = %client.name, "could not encode the reply: {e}");
                None
            }
        }
    }

    fn reject(
        &self,
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
        self.respond(request, client, b)
    }

    async fn access_request(
        &self,
        from: SocketAddr,
        packet: &Packet<&[u8]>,
        client: &Arc<NasClient>,
        tls: &EapTls,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        let user_name = packet
            .attr(dict::USER_NAME)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let Some(eap) = packet.eap_message() else {
            if let Some(hidden) = packet.attr(dict::USER_PASSWORD) {
                return self
                    .pap(from, packet, client, hidden, &user_name, now)
                    .await;
            }
            return self.reject(
                packet,
                client,
                None,
                "no_eap_message",
                "request carries neither EAP-Message nor User-Password (CHAP is not supported)",
                &user_name,
            );
        };
        let eap_id = eap.get(1).copied().unwrap_or(0);

        // `_busy` keeps the State marked as being worked on until this
        // request is done with it.
        let (state, mut conv, new, _busy) = match packet.attr(dict::STATE) {
            None => {
                let Some(fragment_size) = fragment_size(self.settings.fragment_size, packet) else {
                    let d = Dropped {
                        label: "proxy_state_too_large",
                        detail:
                            "Proxy-State leaves no room for an Access-Challenge within 4096 octets"
                                .to_owned(),
                    };
                    self.log_drop(from, Some(&client.name), d, now);
                    return None;
                };
                let mut state = [0u8; 16];
                rand::fill(&mut state);
                // RFC 3748 §4.1: the first Identifier is best chosen at random.
                let mut first_identifier = [0u8; 1];
                rand::fill(&mut first_identifier);
                let conv = Conversation {
                    eap: ServerSession::with_initial_identifier(
                        tls.eap.clone(),
                        fragment_size,
                        first_identifier[0],
                    ),
                    client: client.clone(),
                    started: now,
                    round_trips: 0,
                    granted: None,
                    refused: None,
                    calling_station_id: packet.attr(dict::CALLING_STATION_ID).map(<[u8]>::to_vec),
                    reassembly: 0,
                };
                (state, conv, true, None)
            }
            Some(value) => {
                let Ok(state) = StateKey::try_from(value) else {
                    return self.reject(
                        packet,
                        client,
                        Some(eap_methods::server::failure_packet(eap_id)),
                        "unknown_state",
                        "State attribute not issued by this server",
                        &user_name,
                    );
                };
                let (conv, busy) = match self.sessions.check_out(&state, now) {
                    CheckOut::Found(conv, token) => (
                        conv,
                        Busy {
                            table: &self.sessions,
                            key: state,
                            token,
                        },
                    ),
                    CheckOut::Busy => {
                        // Another request of this conversation is being
                        // worked on (a retransmission with a new
                        // Identifier): drop, the NAS retransmits.
                        let d = Dropped {
                            label: "state_in_progress",
                            detail: "State of a conversation being worked on right now".to_owned(),
                        };
                        self.log_drop(from, Some(&client.name), d, now);
                        return None;
                    }
                    CheckOut::Unknown => {
                        return self.reject(
                            packet,
                            client,
                            Some(eap_methods::server::failure_packet(eap_id)),
                            "unknown_state",
                            "conversation unknown or expired (idle timeout, eviction, or a restart)",
                            &user_name,
                        );
                    }
                };
                // RFC 3748 §4.1: a packet that does not belong to the
                // conversation is silently discarded, and the conversation
                // goes on unharmed: another NAS client cannot end it, nor a
                // station behind the same NAS that copied its State.
                let foreign = !Arc::ptr_eq(&conv.client, client) && conv.client.name != client.name;
                let station = packet.attr(dict::CALLING_STATION_ID);
                let refusal = if foreign {
                    Some((
                        "state_from_other_client",
                        "State belongs to a conversation started by another NAS client",
                    ))
                } else if conv.calling_station_id.as_deref() != station {
                    Some((
                        "calling_station_id_mismatch",
                        "Calling-Station-Id differs from the one that started the conversation",
                    ))
                } else {
                    None
                };
                if let Some((label, why)) = refusal {
                    self.keep_conversation(state, conv, now);
                    let d = Dropped {
                        label,
                        detail: why.to_owned(),
                    };
                    self.log_drop(from, Some(&client.name), d, now);
                    return None;
                }
                (state, conv, false, Some(busy))
            }
        };
        conv.round_trips += 1;
        conv.reassembly = reassembly_octets(conv.reassembly, &eap);

        let mut outcome = conv.eap.handle(&eap);
        if let Outcome::Decide(peer) = outcome {
            // RFC 9190 §2.5: decide before the success indication leaves.
            outcome = match self.decide(&peer, tls).await {
                Decision::Accept(accept) => {
                    conv.granted = Some(accept);
                    conv.eap.decide(Verdict::Allow)
                }
                Decision::Reject { label, why } => {
                    let why = if peer.resumed {
                        format!("{why} (resumed TLS session)")
                    } else {
                        why
                    };
                    conv.refused = Some((label, why));
                    conv.eap.decide(Verdict::Deny)
                }
            };
        }
        match outcome {
            Outcome::Request(req) => {
                let mut b = PacketBuilder::new(Code::AccessChallenge, packet.identifier());
                b.add_eap_message(&req);
                if let Err(e) = b.add(dict::STATE, &state) {
                    warn!("could not add State: {e}");
                    return None;
                }
                let reply = self.respond(packet, client, b)?;
                if !self.keep_conversation(state, conv, now) {
                    return None;
                }
                Metrics::inc(&self.metrics.challenges);
                Some(reply)
            }
            Outcome::Discard(reason) => {
                // Silently discarded (RFC 3748 §4.1): keep the conversation as
                // it was; the peer will retransmit the right response. A
                // conversation this very packet would have started is not
                // kept: no State was ever sent for it.
                if !new {
                    self.keep_conversation(state, conv, now);
                }
                let d = Dropped {
                    label: reason.label(),
                    detail: format!("EAP packet discarded: {reason}"),
                };
                self.log_drop(from, Some(&client.name), d, now);
                None
            }
            Outcome::Failure { eap, reason } => {
                let who = conv.eap.identity().unwrap_or(&user_name).to_string();
                match conv.refused.take() {
                    // The policy's refusal, after the access_denied alert.
                    Some((label, why)) => self.reject(packet, client, Some(eap), label, &why, &who),
                    None => self.reject(
                        packet,
                        client,
                        Some(eap),
                        reason.label(),
                        &reason.to_string(),
                        &who,
                    ),
                }
            }
            Outcome::Success { eap, auth } => {
                let Some(accept) = conv.granted.take() else {
                    // The core only succeeds after an Allow; never accept
                    // without the policy's grant.
                    return self.reject(
                        packet,
                        client,
                        Some(eap_methods::server::failure_packet(
                            eap.get(1).copied().unwrap_or(0),
                        )),
                        "no_decision",
                        "EAP succeeded without an authorization decision",
                        &auth.peer.identity,
                    );
                };
                let mut b = PacketBuilder::new(Code::AccessAccept, packet.identifier());
                b.add_eap_message(&eap);
                if let Err(e) =
                    reply::eap_accept_attributes(&mut b, packet, &client.secret, &auth, &accept)
                {
                    warn!(client = %client.name, "could not build Access-Accept: {e}");
                    return None;
                }
                let reply = self.respond(packet, client, b)?;
                Metrics::inc(&self.metrics.accepts);
                info!(
                    client = %client.name,
                    user = logsafe::escape(&accept.user_name),
                    identity = logsafe::escape(&auth.peer.identity),
                    method = ?auth.peer.method,
                    tls = ?auth.peer.tls_version,
                    resumed = auth.peer.resumed,
                    round_trips = conv.round_trips,
                    elapsed_ms = now.saturating_duration_since(conv.started).as_millis() as u64,
                    vlan = ?accept.vlan,
                    "Access-Accept"
                );
                Some(reply)
            }
            Outcome::Decide(_) => {
                // Answered above; a second question in one packet is a bug
                // in the core, not a reason to let anyone in.
                warn!(client = %client.name, "EAP core asked for a second decision; request dropped");
                None
            }
        }
    }

    /// The authorization decision for a peer TLS authenticated: a resumed
    /// session's certificate is verified again first, then the store's
    /// policy decides.
    async fn decide(&self, peer: &PeerVerified, tls: &EapTls) -> Decision {
        match recheck_resumed(peer, tls.verifier.as_ref()) {
            Some(reject) => reject,
            None => self.policy.authorize(peer).await,
        }
    }

    /// Put a conversation (back) into the table, charged to its NAS
    /// client; counts and logs (rate-limited) what made room. `false`: it
    /// was refused (larger than the table's byte budget allows).
    fn keep_conversation(&self, state: StateKey, conv: Conversation, now: Instant) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let owner = conv.client.clone();
        let removed = self
            .sessions
            .insert(state, &owner.name, conv.approx_size(), conv, now);
        for (n, label) in [
            (removed.evicted_full, "conversation_evicted_table_full"),
            (removed.evicted_memory, "conversation_evicted_memory"),
        ] {
            for _ in 0..n {
                self.metrics.drop_reason(label);
            }
        }
        if removed.refused {
            self.metrics.drop_reason("conversation_refused_memory");
        }
        if removed.evicted() > 0 {
            self.metrics
                .sessions_evicted
                .fetch_add(removed.evicted() as u64, Relaxed);
        }
        if (removed.evicted() > 0 || removed.refused)
            && let Some(suppressed) = self.eviction_log.allow(now)
        {
            warn!(
                client = %owner.name,
                evicted_table_full = removed.evicted_full,
                evicted_memory = removed.evicted_memory,
                from_other_clients = removed.evicted_other_client,
                refused = removed.refused,
                suppressed,
                "conversation table full: longest-idle conversation of the client holding the most evicted"
            );
        }
        if removed.expired > 0 {
            self.metrics
                .sessions_expired
                .fetch_add(removed.expired as u64, Relaxed);
        }
        !removed.refused
    }

    /// PAP (RFC 2865 section 5.2): the password checked against the store
    /// (see [`crate::pap`]).
    async fn pap(
        &self,
        from: SocketAddr,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        hidden: &[u8],
        user_name: &str,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        let (Some(cache), Some(store)) = (&self.pap, self.policy.store()) else {
            return self.reject(
                packet,
                client,
                None,
                "pap_disabled",
                "PAP request, but PAP needs a [database] with user passwords and [pap] enabled",
                user_name,
            );
        };
        if user_name.is_empty() {
            return self.reject(
                packet,
                client,
                None,
                "no_user_name",
                "PAP request without User-Name",
                user_name,
            );
        }
        let password = match radius_proto::decrypt_user_password(
            hidden,
            &client.secret,
            packet.authenticator(),
        ) {
            Ok(p) => p,
            Err(e) => {
                return self.reject(
                    packet,
                    client,
                    None,
                    "bad_user_password",
                    &format!("User-Password attribute: {e}"),
                    user_name,
                );
            }
        };
        match cache.check(store, user_name, &password, now).await {
            PapOutcome::Drop { label, why } => {
                let d = Dropped {
                    label,
                    detail: format!("PAP request for {}: {why}", logsafe::escape(user_name)),
                };
                self.log_drop(from, Some(&client.name), d, now);
                None
            }
            PapOutcome::Reject { label, why } => {
                self.reject(packet, client, None, label, &why, user_name)
            }
            PapOutcome::Accept { accept, cached } => {
                let mut b = PacketBuilder::new(Code::AccessAccept, packet.identifier());
                if let Err(e) = reply::user_attributes(&mut b, &accept) {
                    warn!(client = %client.name, "could not build Access-Accept: {e}");
                    return None;
                }
                let reply = self.respond(packet, client, b)?;
                Metrics::inc(&self.metrics.accepts);
                if cached {
                    // The fast path: one line per request would cost more
                    // than the check itself; verbose logs show it.
                    debug!(client = %client.name, user = logsafe::escape(&accept.user_name), method = "PAP", cached, "Access-Accept");
                } else {
                    info!(client = %client.name, user = logsafe::escape(&accept.user_name), method = "PAP", cached, vlan = ?accept.vlan, "Access-Accept");
                }
                Some(reply)
            }
        }
    }
}

/// TLS bytes per EAP-TLS fragment for a new conversation: from the
/// request's Framed-MTU when present (RFC 3579 §2.2), else `configured`;
/// never more than lets the Access-Challenge, with the Proxy-State the
/// request carries, fit 4096 octets. `None`: the Proxy-State alone leaves
/// no room for a useful fragment.
fn fragment_size(configured: usize, packet: &Packet<&[u8]>) -> Option<usize> {
    let proxy_state: usize = packet.attrs(dict::PROXY_STATE).map(|v| v.len() + 2).sum();
    let fits = crate::config::max_fragment_size(proxy_state);
    if fits < MIN_FRAGMENT {
        return None;
    }
    let configured = configured.clamp(MIN_FRAGMENT, fits);
    Some(
        match packet
            .attr(dict::FRAMED_MTU)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
        {
            Some(mtu) => (u32::from_be_bytes(mtu) as usize)
                .saturating_sub(EAP_TLS_LINK_OVERHEAD)
                .clamp(MIN_FRAGMENT, configured),
            None => configured,
        },
    )
}

/// A resumed TLS session skipped certificate verification: check the
/// certificate it was established with against today's CA, CRLs and clock,
/// so that a certificate revoked (CRL) or expired since the ticket was
/// issued is refused. `None` when there is nothing to refuse.
fn recheck_resumed(auth: &PeerVerified, verifier: &dyn ClientCertVerifier) -> Option<Decision> {
    if !auth.resumed {
        return None;
    }
    let Some((leaf, intermediates)) = auth.peer_certificates.split_first() else {
        return Some(Decision::Reject {
            label: "resumed_without_certificate",
            why: "resumed TLS session carries no client certificate".to_owned(),
        });
    };
    match verifier.verify_client_cert(leaf, intermediates, UnixTime::now()) {
        Ok(_) => None,
        Err(e) => Some(Decision::Reject {
            label: "resumed_certificate_invalid",
            why: format!("certificate of the resumed session no longer verifies: {e}"),
        }),
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
