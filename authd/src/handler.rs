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

use eap_methods::server::{Authenticated, Outcome, ServerConfig as EapServerConfig, ServerSession};
use radius_proto::{Code, Packet, PacketBuilder, dict};
use rustls::pki_types::UnixTime;
use rustls::server::danger::ClientCertVerifier;
use tracing::{debug, info, warn};

use crate::clients::{NasClient, NasClients};
use crate::dedupe::{DuplicateCache, Lookup, RequestKey};
use crate::logsafe::{self, escaped};
use crate::metrics::{KeyedRateLimit, Metrics, RateLimitedLog};
use crate::pap::{PapOutcome, PasswordCache};
use crate::policy::{Decision, Policy};
use crate::sessions::{
    CONVERSATION_BASE_COST, Limits, SessionTable, StateKey, reassembly_octets,
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
                    Arc::new(crate::store::breaker::Breaker::new(settings.store_breaker)),
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

    /// Steps 1 and 2 of the request path, for either port: the NAS client
    /// by source address, the checked parse, the code the port accepts and
    /// the authenticators with that client's secret. `None`: dropped,
    /// logged (rate-limited) and counted.
    fn admit<'a>(
        &self,
        clients: &NasClients,
        from: SocketAddr,
        data: &'a [u8],
        now: Instant,
        port: Port,
    ) -> Option<(Arc<NasClient>, Packet<&'a [u8]>)> {
        let Some(client) = clients.lookup(from.ip()) else {
            self.metrics.drop_reason("unknown_client");
            if let Some(suppressed) = self.unknown_client_log.allow(now) {
                warn!(peer = %from, suppressed, port = port.name(), "packet from unknown client dropped (no [[client]] matches its address)");
            }
            return None;
        };
        let drop = |label: &'static str, detail: String| {
            self.log_drop(from, Some(&client.name), Dropped { label, detail }, now);
            None
        };
        let packet = match Packet::new_checked(data) {
            Ok(p) => p,
            Err(e) => return drop(e.reason(), format!("malformed RADIUS packet: {e}")),
        };
        if !port.accepts(packet.code()) {
            return drop(
                "unexpected_code",
                format!(
                    "{:?} is not accepted on the {} port",
                    packet.code(),
                    port.name()
                ),
            );
        }
        // Accounting-Request has its own authenticator (RFC 2866 §3);
        // Message-Authenticator is checked when present.
        let require_ma = port == Port::Authentication && client.require_message_authenticator;
        if let Err(e) = radius_proto::verify_request(&packet, &client.secret, require_ma) {
            return drop(
                e.reason(),
                format!(
                    "{e} (wrong shared secret, or a request without Message-Authenticator: BlastRADIUS protection)"
                ),
            );
        }
        Some((client, packet))
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
        let (client, packet) = self.admit(&clients, from, data, now, Port::Authentication)?;
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

    /// Encode a response to `request`, Message-Authenticator first, with
    /// the request's Proxy-State attributes copied unmodified and in order
    /// (RFC 2865 section 5.33): a proxy in between needs them.
    fn respond(
        &self,
        request: &Packet<&[u8]>,
        client: &NasClient,
        mut b: PacketBuilder,
    ) -> Option<Arc<[u8]>> {
        for state in request.attrs(dict::PROXY_STATE) {
            if let Err(e) = b.add(dict::PROXY_STATE, state) {
                warn!(client = %client.name, "could not copy Proxy-State: {e}");
                return None;
            }
        }
        match b.encode_response(request, &client.secret) {
            Ok(bytes) => Some(Arc::from(bytes)),
            Err(e) => {
                warn!(client = %client.name, "could not encode response: {e}");
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

        let (state, mut conv) = match packet.attr(dict::STATE) {
            None => {
                let fragment_size = self.fragment_size(packet);
                let mut state = [0u8; 16];
                rand::fill(&mut state);
                let conv = Conversation {
                    eap: ServerSession::new(tls.eap.clone(), fragment_size),
                    client: client.clone(),
                    started: now,
                    round_trips: 0,
                    reassembly: 0,
                };
                (state, conv)
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
                let Some(conv) = self.sessions.take(&state, now) else {
                    return self.reject(
                        packet,
                        client,
                        Some(eap_methods::server::failure_packet(eap_id)),
                        "unknown_state",
                        "conversation unknown or expired (idle timeout, eviction, or a restart)",
                        &user_name,
                    );
                };
                if !Arc::ptr_eq(&conv.client, client) && conv.client.name != client.name {
                    return self.reject(
                        packet,
                        client,
                        Some(eap_methods::server::failure_packet(eap_id)),
                        "state_from_other_client",
                        "State belongs to a conversation started by another NAS client",
                        &user_name,
                    );
                }
                (state, conv)
            }
        };
        conv.round_trips += 1;
        conv.reassembly = reassembly_octets(conv.reassembly, &eap);

        match conv.eap.handle(&eap) {
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
                // it was; the peer will retransmit the right response.
                self.keep_conversation(state, conv, now);
                let d = Dropped {
                    label: reason.label(),
                    detail: format!("EAP packet discarded: {reason}"),
                };
                self.log_drop(from, Some(&client.name), d, now);
                None
            }
            Outcome::Failure { eap, reason } => {
                let who = conv.eap.identity().unwrap_or(&user_name).to_string();
                self.reject(
                    packet,
                    client,
                    Some(eap),
                    reason.label(),
                    &reason.to_string(),
                    &who,
                )
            }
            Outcome::Success { eap, auth } => {
                let decision = match recheck_resumed(&auth, tls.verifier.as_ref()) {
                    Some(reject) => reject,
                    None => self.policy.authorize(&auth).await,
                };
                match decision {
                    Decision::Reject { label, why } => self.reject(
                        packet,
                        client,
                        Some(eap_methods::server::failure_packet(
                            eap.get(1).copied().unwrap_or(0),
                        )),
                        label,
                        &if auth.resumed {
                            format!("{why} (resumed TLS session)")
                        } else {
                            why
                        },
                        &auth.identity,
                    ),
                    Decision::Accept(accept) => {
                        let mut b = PacketBuilder::new(Code::AccessAccept, packet.identifier());
                        b.add_eap_message(&eap);
                        if let Err(e) =
                            self.accept_attributes(&mut b, packet, client, &auth, &accept)
                        {
                            warn!(client = %client.name, "could not build Access-Accept: {e}");
                            return None;
                        }
                        let reply = self.respond(packet, client, b)?;
                        Metrics::inc(&self.metrics.accepts);
                        info!(
                            client = %client.name,
                            user = logsafe::escape(&accept.user_name),
                            identity = logsafe::escape(&auth.identity),
                            method = ?auth.method,
                            tls = ?auth.tls_version,
                            resumed = auth.resumed,
                            round_trips = conv.round_trips,
                            elapsed_ms = now.saturating_duration_since(conv.started).as_millis() as u64,
                            vlan = ?accept.vlan,
                            "Access-Accept"
                        );
                        Some(reply)
                    }
                }
            }
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
                if let Err(e) = user_attributes(&mut b, &accept) {
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

    fn accept_attributes(
        &self,
        b: &mut PacketBuilder,
        request: &Packet<&[u8]>,
        client: &NasClient,
        auth: &Authenticated,
        accept: &crate::policy::Accept,
    ) -> Result<(), radius_proto::Error> {
        user_attributes(b, accept)?;
        // RFC 2548 §2.4.2/§2.4.3; the PMK for WPA is MSK[0..32] in the
        // Recv-Key (from the NAS's point of view, received from the peer).
        let msk = auth.msk.as_bytes();
        let authn = request.authenticator();
        let mut salts = [0u8; 4];
        rand::fill(&mut salts);
        // Each salt must be unique (RFC 2548 §2.4.2): force them apart.
        let recv_salt = [salts[0] | 0x80, salts[1]];
        let mut send_salt = [salts[2] | 0x80, salts[3]];
        if send_salt == recv_salt {
            send_salt[1] ^= 1;
        }
        let recv = radius_proto::encrypt_mppe_key(&msk[..32], &client.secret, authn, recv_salt);
        let send = radius_proto::encrypt_mppe_key(&msk[32..64], &client.secret, authn, send_salt);
        b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY, &recv)?;
        b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY, &send)?;
        // RFC 4072 §2.1 (EAP-Key-Name): sent when the NAS asked for it by
        // including the attribute in the Access-Request.
        if request.attr(dict::EAP_KEY_NAME).is_some() {
            b.add(dict::EAP_KEY_NAME, &auth.session_id)?;
        }
        Ok(())
    }

    /// TLS bytes per EAP-TLS fragment for a new conversation: from the
    /// request's Framed-MTU when present (RFC 3579 §2.2), else configured.
    fn fragment_size(&self, packet: &Packet<&[u8]>) -> usize {
        let configured = self.settings.fragment_size.max(MIN_FRAGMENT);
        match packet
            .attr(dict::FRAMED_MTU)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
        {
            Some(mtu) => {
                let mtu = u32::from_be_bytes(mtu) as usize;
                mtu.saturating_sub(EAP_TLS_LINK_OVERHEAD)
                    .clamp(MIN_FRAGMENT, configured.max(MIN_FRAGMENT))
            }
            None => configured,
        }
    }

    /// Handle one datagram on the accounting port (RFC 2866): verify it and
    /// acknowledge it.
    pub fn handle_acct(&self, from: SocketAddr, data: &[u8], now: Instant) -> Option<Arc<[u8]>> {
        let (clients, _) = self.live();
        let (client, packet) = self.admit(&clients, from, data, now, Port::Accounting)?;
        let key = RequestKey {
            from,
            identifier: packet.identifier(),
            authenticator: *packet.authenticator(),
        };
        if let Lookup::Replay(reply) = self.dedupe.check(key, now) {
            Metrics::inc(&self.metrics.duplicates_replayed);
            return Some(reply);
        }
        Metrics::inc(&self.metrics.accounting);
        debug!(
            client = %client.name,
            user = logsafe::escape(packet.attr(dict::USER_NAME).unwrap_or_default()),
            "Accounting-Request acknowledged"
        );
        let reply = self.respond(
            &packet,
            &client,
            PacketBuilder::new(Code::AccountingResponse, packet.identifier()),
        );
        match &reply {
            Some(bytes) => self.dedupe.complete(key, bytes.clone(), now),
            None => self.dedupe.forget(&key),
        }
        reply
    }
}

/// The two UDP ports and what each accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Authentication,
    Accounting,
}

impl Port {
    fn name(self) -> &'static str {
        match self {
            Port::Authentication => "authentication",
            Port::Accounting => "accounting",
        }
    }

    fn accepts(self, code: Code) -> bool {
        match self {
            Port::Authentication => matches!(code, Code::AccessRequest | Code::StatusServer),
            Port::Accounting => code == Code::AccountingRequest,
        }
    }
}

/// User-Name, and the user's VLAN and Session-Timeout, for an Access-Accept.
fn user_attributes(
    b: &mut PacketBuilder,
    accept: &crate::policy::Accept,
) -> Result<(), radius_proto::Error> {
    b.add(dict::USER_NAME, accept.user_name.as_bytes())?;
    if let Some(vlan) = &accept.vlan {
        // RFC 3580 §3.31, RFC 2868: tag 0 (untagged).
        b.add(
            dict::TUNNEL_TYPE,
            &dict::tagged_integer(0, dict::TUNNEL_TYPE_VLAN),
        )?;
        b.add(
            dict::TUNNEL_MEDIUM_TYPE,
            &dict::tagged_integer(0, dict::TUNNEL_MEDIUM_IEEE_802),
        )?;
        b.add(dict::TUNNEL_PRIVATE_GROUP_ID, vlan.as_bytes())?;
    }
    if let Some(timeout) = accept.session_timeout {
        b.add(dict::SESSION_TIMEOUT, &timeout.to_be_bytes())?;
    }
    Ok(())
}

/// A resumed TLS session skipped certificate verification: check the
/// certificate it was established with against today's CA, CRLs and clock,
/// so that a certificate revoked (CRL) or expired since the ticket was
/// issued is refused. `None` when there is nothing to refuse.
fn recheck_resumed(auth: &Authenticated, verifier: &dyn ClientCertVerifier) -> Option<Decision> {
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
