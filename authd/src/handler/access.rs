//! The access service, EAP side: conversations keyed by State (the
//! session table), the EAP core of eap-methods, and the authorization
//! decision it asks for before any success indication (RFC 9190 §2.5).
//! An Access-Request without EAP-Message goes to PAP (`pap.rs`).

use super::*;
use crate::config::{EAP_TLS_HEADER_LEN, MIN_FRAGMENT_SIZE};
use crate::store::NtCredential;
use eap_methods::server::{Credential, CredentialKind, CredentialQuery};

/// EAPOL header (4, IEEE 802.1X) + the EAP-TLS request header: what an
/// EAP-TLS fragment adds on the link whose MTU the NAS reports in
/// Framed-MTU (RFC 3579 §2.2 asks the server to respect it).
const EAP_TLS_LINK_OVERHEAD: usize = 4 + EAP_TLS_HEADER_LEN;
/// An EAP conversation in progress.
pub(super) struct Conversation {
    eap: ServerSession,
    /// The NAS client that started it: another client may not continue it.
    client: Arc<NasClient>,
    started: Instant,
    round_trips: u32,
    /// What the policy granted when the EAP core asked (before any success
    /// indication left); the Access-Accept carries it.
    granted: Option<crate::policy::Accept>,
    /// EAP-TLS: the client certificate's serial as the store writes it,
    /// read once with the verified chain; the Class carries it.
    certificate_serial: Option<String>,
    /// Why the policy refused: the EAP core sends the access_denied alert,
    /// and the Access-Reject that ends the conversation says this.
    refused: Option<(&'static str, String)>,
    /// What a wrong MS-CHAPv2 answer means for this user, once its NT hash
    /// was handed to the inner method (the log line of that reject).
    wrong_password_is: Option<String>,
    /// PEAP, TTLS: the inner identity once the inner method named it (the
    /// user of the Access-Reject line; the outer one may be anonymous).
    inner_identity: Option<String>,
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
pub(super) struct Busy<'a> {
    table: &'a SessionTable<Conversation>,
    key: StateKey,
    token: u64,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.table.release(&self.key, self.token);
    }
}

impl AuthHandler {
    pub(super) async fn access_request(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &Arc<NasClient>,
        tls: &EapTls,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        let from = origin.peer;
        let user_name = packet
            .attr(dict::USER_NAME)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let Some(eap) = packet.eap_message() else {
            if let Some(hidden) = packet.attr(dict::USER_PASSWORD) {
                return self
                    .pap(origin, packet, client, hidden, &user_name, now)
                    .await;
            }
            return self.reject(
                origin,
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
                    self.log_drop(
                        from,
                        Some(&client.name),
                        "proxy_state_too_large",
                        "Proxy-State leaves no room for an Access-Challenge within 4096 octets",
                        now,
                    );
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
                    certificate_serial: None,
                    refused: None,
                    wrong_password_is: None,
                    inner_identity: None,
                    calling_station_id: packet.attr(dict::CALLING_STATION_ID).map(<[u8]>::to_vec),
                    reassembly: 0,
                };
                (state, conv, true, None)
            }
            Some(value) => {
                let Ok(state) = StateKey::try_from(value) else {
                    return self.reject(
                        origin,
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
                        self.log_drop(
                            from,
                            Some(&client.name),
                            "state_in_progress",
                            "State of a conversation being worked on right now",
                            now,
                        );
                        return None;
                    }
                    CheckOut::Unknown => {
                        return self.reject(origin,
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
                    self.log_drop(from, Some(&client.name), label, why, now);
                    return None;
                }
                (state, conv, false, Some(busy))
            }
        };
        conv.round_trips += 1;
        conv.reassembly = reassembly_octets(conv.reassembly, &eap);

        let mut outcome = conv.eap.handle(&eap);
        if let Outcome::NeedCredential(query) = outcome {
            // PEAP, TTLS: the inner method checks the user's credential.
            let answer = self.credential(&query, &mut conv, now).await;
            outcome = conv.eap.credential(answer);
        }
        if let Outcome::Decide(peer) = outcome {
            // RFC 9190 §2.5: decide before the success indication leaves.
            outcome = match self.decide(&peer, tls, &mut conv).await {
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
                let reply = self.respond(origin, packet, client, b)?;
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
                let detail = format_args!("EAP packet discarded: {reason}");
                self.log_drop(from, Some(&client.name), reason.label(), detail, now);
                None
            }
            Outcome::Failure { eap, reason } => {
                let method = conv.eap.method().and_then(AuthMethod::of_eap);
                self.metrics.auth_finished(method, conv.started);
                let who = conv
                    .inner_identity
                    .as_deref()
                    .or(conv.eap.identity())
                    .unwrap_or(&user_name)
                    .to_string();
                if let (None, eap_methods::Reason::WrongPassword, Some(why)) =
                    (&conv.refused, &reason, conv.wrong_password_is.take())
                {
                    conv.refused = Some(("wrong_password", why));
                }
                match conv.refused.take() {
                    // The policy's refusal, after the access_denied alert.
                    Some((label, why)) => {
                        self.reject(origin, packet, client, Some(eap), label, &why, &who)
                    }
                    None => self.reject(
                        origin,
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
                        origin,
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
                let unix_now = crate::store::unix_seconds(std::time::SystemTime::now());
                let class = match conv.certificate_serial.take() {
                    Some(serial) => crate::class::for_eap_serial(
                        &auth.peer,
                        &accept.user_name,
                        Some(&serial),
                        unix_now,
                    ),
                    None => crate::class::for_eap(&auth.peer, &accept.user_name, unix_now),
                };
                if let Err(e) = reply::eap_accept_attributes(
                    &mut b,
                    packet,
                    &client.secret,
                    &auth,
                    &accept,
                    reply::Profile::of(origin),
                )
                .and_then(|()| reply::class_attribute(&mut b, &class))
                {
                    warn!(client = %client.name, "could not build Access-Accept: {e}");
                    return None;
                }
                let reply = self.respond(origin, packet, client, b)?;
                Metrics::inc(&self.metrics.accepts);
                let method = AuthMethod::of_eap(auth.peer.method);
                self.metrics.auth_finished(method, conv.started);
                info!(
                    client = %client.name,
                    user = logsafe::escape(&accept.user_name),
                    identity = logsafe::escape(&auth.peer.identity),
                    outer_identity = auth.peer.outer_identity.as_deref().map(logsafe::escape),
                    method = %auth.peer.method,
                    inner = auth.peer.inner.map(|m| m.label()),
                    tls = ?auth.peer.tls_version,
                    resumed = auth.peer.resumed,
                    round_trips = conv.round_trips,
                    elapsed_ms = now.saturating_duration_since(conv.started).as_millis() as u64,
                    vlan = ?accept.vlan,
                    "Access-Accept"
                );
                Some(reply)
            }
            Outcome::Decide(_) | Outcome::NeedCredential(_) => {
                // Answered above; a second question in one packet is a bug
                // in the core, not a reason to let anyone in.
                warn!(client = %client.name, "EAP core asked a second question; request dropped");
                None
            }
        }
    }

    /// The authorization decision for a peer TLS authenticated: a resumed
    /// session's certificate is verified again first, then the store's
    /// policy decides. A PEAP or TTLS user is named by its inner identity
    /// (mapped to the stored name), never by the outer one. The EAP-TLS
    /// leaf is read from the verification cache (`tls/verify_cache.rs`),
    /// not parsed again; its serial is kept on `conv` for the Class.
    async fn decide(&self, peer: &PeerVerified, tls: &EapTls, conv: &mut Conversation) -> Decision {
        if peer.inner.is_some() {
            let user = self.settings.inner_names.user_name(&peer.identity);
            return self.policy.authorize_peer(user, None).await;
        }
        let verified = match verified_chain(peer, &tls.verifier, UnixTime::now()) {
            Ok(v) => v,
            Err(reject) => return reject,
        };
        let leaf = match &verified {
            Some(Verified::Cached(entry)) => Some(entry.leaf.as_ref()),
            Some(Verified::Parsed(read)) => Some(read.as_ref()),
            None => None,
        };
        conv.certificate_serial = leaf
            .and_then(|l| l.ok())
            .and_then(crate::certs::LeafFacts::serial_text);
        self.policy.authorize_leaf(&peer.identity, leaf).await
    }

    /// The credential a PEAP or TTLS inner method asks for. Why a check
    /// fails (unknown user, no NT hash, wrong password, a store that
    /// cannot be read) is kept on the conversation for its Access-Reject
    /// line; the peer is told the same for all.
    async fn credential(
        &self,
        query: &CredentialQuery,
        conv: &mut Conversation,
        now: Instant,
    ) -> Credential {
        conv.inner_identity = Some(query.user.clone());
        let user = self.settings.inner_names.user_name(&query.user);
        let escaped = logsafe::escape(user);
        let Some(store) = self.policy.store() else {
            conv.refused = Some((
                "no_store",
                format!("password method for {escaped}, but there is no [database] with users"),
            ));
            return match query.kind {
                CredentialKind::NtHash => Credential::NtHash(None),
                CredentialKind::Password(_) => Credential::PasswordChecked(false),
            };
        };
        match &query.kind {
            CredentialKind::NtHash => {
                let found = match self.policy.breaker() {
                    Some(b) => b
                        .call(now, store.nt_credential(user))
                        .await
                        .map_err(|e| e.to_string()),
                    None => store.nt_credential(user).await.map_err(|e| e.to_string()),
                };
                match found {
                    Ok(NtCredential::Hash(hash)) => {
                        conv.wrong_password_is =
                            Some(format!("wrong password for {escaped} (MS-CHAPv2)"));
                        Credential::NtHash(Some(hash))
                    }
                    Ok(NtCredential::UnknownUser) => {
                        conv.refused = Some((
                            "unknown_user",
                            format!("user {escaped} is not in the store"),
                        ));
                        Credential::NtHash(None)
                    }
                    Ok(NtCredential::NoCredential) => {
                        conv.refused = Some((
                            "no_nt_credential",
                            format!(
                                "user {escaped} has no NT-hash credential (password set with --no-mschap, or none): only PAP and TTLS-PAP can check it"
                            ),
                        ));
                        Credential::NtHash(None)
                    }
                    Err(e) => {
                        conv.refused = Some(("store_unavailable", format!("store: {e}")));
                        Credential::NtHash(None)
                    }
                }
            }
            CredentialKind::Password(password) => {
                let Some(cache) = &self.pap else {
                    conv.refused = Some(("no_store", "no password store".to_owned()));
                    return Credential::PasswordChecked(false);
                };
                match cache.check(store, user, password, now).await {
                    PapOutcome::Accept { .. } => Credential::PasswordChecked(true),
                    PapOutcome::Reject { label, why } | PapOutcome::Drop { label, why } => {
                        conv.refused = Some((label, why));
                        Credential::PasswordChecked(false)
                    }
                }
            }
        }
    }

    /// Put a conversation (back) into the table, charged to its NAS
    /// client; counts and logs (rate-limited) what made room. `false`: it
    /// was refused (larger than the table's byte budget allows).
    pub(super) fn keep_conversation(
        &self,
        state: StateKey,
        conv: Conversation,
        now: Instant,
    ) -> bool {
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
}

/// TLS bytes per EAP-TLS fragment for a new conversation: from the
/// request's Framed-MTU when present (RFC 3579 §2.2), else `configured`;
/// never more than lets the Access-Challenge, with the Proxy-State the
/// request carries, fit 4096 octets. `None`: the Proxy-State alone leaves
/// no room for a useful fragment.
pub(super) fn fragment_size(configured: usize, packet: &Packet<&[u8]>) -> Option<usize> {
    let proxy_state: usize = packet.attrs(dict::PROXY_STATE).map(|v| v.len() + 2).sum();
    let fits = crate::config::max_fragment_size(proxy_state);
    if fits < MIN_FRAGMENT_SIZE {
        return None;
    }
    let configured = configured.clamp(MIN_FRAGMENT_SIZE, fits);
    Some(
        match packet
            .attr(dict::FRAMED_MTU)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
        {
            Some(mtu) => (u32::from_be_bytes(mtu) as usize)
                .saturating_sub(EAP_TLS_LINK_OVERHEAD)
                .clamp(MIN_FRAGMENT_SIZE, configured),
            None => configured,
        },
    )
}

/// The leaf of an EAP-TLS peer's verified chain: the cache's entry, or
/// read here when the cache holds none for it.
enum Verified {
    Cached(Arc<VerifiedChain>),
    Parsed(Result<crate::certs::LeafFacts, String>),
}

/// The verified chain of `auth` at `now`. A full handshake verified it
/// moments ago: its cache entry is used when there is one, else the leaf
/// is read (nothing is verified twice). A resumed TLS session skipped
/// certificate verification: its certificate is checked against today's
/// CA, CRLs and clock, so that a certificate revoked (CRL) or expired
/// since the ticket was issued is refused; that check is answered from the
/// cache while an entry of this verifier's generation is valid (a CRL
/// reload is a new generation). `Ok(None)`: no certificate (a full
/// handshake of a method without one). `Err`: the rejection.
fn verified_chain(
    auth: &PeerVerified,
    verifier: &CachingVerifier,
    now: UnixTime,
) -> Result<Option<Verified>, Decision> {
    if !auth.resumed {
        let Some(leaf) = auth.peer_certificates.first() else {
            return Ok(None);
        };
        return Ok(Some(match verifier.lookup(&auth.peer_certificates, now) {
            Some(entry) => Verified::Cached(entry),
            None => Verified::Parsed(crate::certs::LeafFacts::parse(leaf)),
        }));
    }
    if auth.peer_certificates.is_empty() {
        return Err(Decision::Reject {
            label: "resumed_without_certificate",
            why: "resumed TLS session carries no client certificate".to_owned(),
        });
    }
    match verifier.verify_chain(&auth.peer_certificates, now) {
        Ok(entry) => Ok(Some(Verified::Cached(entry))),
        Err(e) => Err(Decision::Reject {
            label: "resumed_certificate_invalid",
            why: format!("certificate of the resumed session no longer verifies: {e}"),
        }),
    }
}
