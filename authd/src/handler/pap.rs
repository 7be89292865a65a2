//! The access service, PAP side (RFC 2865 §5.2): the password checked
//! against the store through the cache, waiting room and breaker of
//! [`crate::pap`].

use super::*;

/// The part of a PAP request decided without waiting.
pub(super) enum PapStep {
    /// Decided: the reply (or nothing, counted where it was decided).
    Done(Option<Arc<[u8]>>),
    /// Not in the cache: the store and Argon2id decide, in a task.
    Store(radius_proto::Zeroizing<Vec<u8>>),
}

impl AuthHandler {
    /// PAP (RFC 2865 section 5.2): the password checked against the store
    /// (see [`crate::pap`]).
    pub(super) async fn pap(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        hidden: &[u8],
        user_name: &str,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        match self.pap_inline(origin, packet, client, hidden, user_name, now) {
            PapStep::Done(reply) => reply,
            PapStep::Store(password) => {
                self.pap_store(origin, packet, client, &password, user_name, now)
                    .await
            }
        }
    }

    /// Everything of PAP that needs no wait: refusals, the decryption of
    /// User-Password, and the answer of a password the cache knows.
    pub(super) fn pap_inline(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        hidden: &[u8],
        user_name: &str,
        now: Instant,
    ) -> PapStep {
        let (true, Some(cache), Some(_)) =
            (self.settings.pap_enabled, &self.pap, self.policy.store())
        else {
            return PapStep::Done(self.reject(
                origin,
                packet,
                client,
                None,
                "pap_disabled",
                "PAP request, but PAP needs a [database] with user passwords and [pap] enabled",
                user_name,
            ));
        };
        if user_name.is_empty() {
            return PapStep::Done(self.reject(
                origin,
                packet,
                client,
                None,
                "no_user_name",
                "PAP request without User-Name",
                user_name,
            ));
        }
        // RFC 9765 §5.1.1: on RADIUS/1.1 the value is the password itself.
        let password = if origin.radius_1_1() {
            radius_proto::v11::user_password(hidden)
                .map(|p| radius_proto::Zeroizing::new(p.to_vec()))
        } else {
            radius_proto::decrypt_user_password(
                hidden,
                client.secret.as_bytes(),
                packet.authenticator(),
            )
        };
        let password = match password {
            Ok(p) => p,
            Err(e) => {
                return PapStep::Done(self.reject(
                    origin,
                    packet,
                    client,
                    None,
                    "bad_user_password",
                    &format!("User-Password attribute: {e}"),
                    user_name,
                ));
            }
        };
        match cache.lookup(user_name, &password, now) {
            Some(accept) => PapStep::Done(self.pap_outcome(
                origin,
                packet,
                client,
                PapOutcome::Accept {
                    accept,
                    cached: true,
                },
                user_name,
                now,
            )),
            None => PapStep::Store(password),
        }
    }

    /// The password checked against the store (the cache is asked again
    /// first: another request may have filled it meanwhile).
    pub(super) async fn pap_store(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        password: &[u8],
        user_name: &str,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        let (Some(cache), Some(store)) = (&self.pap, self.policy.store()) else {
            // `pap_inline` hands over only with both.
            return None;
        };
        let outcome = cache.check(store, user_name, password, now).await;
        self.pap_outcome(origin, packet, client, outcome, user_name, now)
    }

    fn pap_outcome(
        &self,
        origin: Origin,
        packet: &Packet<&[u8]>,
        client: &NasClient,
        outcome: PapOutcome,
        user_name: &str,
        now: Instant,
    ) -> Option<Arc<[u8]>> {
        let from = origin.peer;
        match outcome {
            PapOutcome::Drop { label, why } => {
                let user = logsafe::escape(user_name);
                let detail = format_args!("PAP request for {user}: {why}");
                self.log_drop(from, Some(&client.name), label, detail, now);
                None
            }
            PapOutcome::Reject { label, why } => {
                self.metrics.auth_finished(Some(AuthMethod::Pap), now);
                self.reject(origin, packet, client, None, label, &why, user_name)
            }
            PapOutcome::Accept { accept, cached } => {
                let mut b = PacketBuilder::new(Code::AccessAccept, packet.identifier());
                let class = crate::class::issue(
                    crate::class::Method::Pap,
                    &accept.user_name,
                    None,
                    crate::store::unix_seconds(std::time::SystemTime::now()),
                );
                if let Err(e) = reply::user_attributes(&mut b, &accept)
                    .and_then(|()| reply::class_attribute(&mut b, &class))
                {
                    warn!(client = %client.name, "could not build Access-Accept: {e}");
                    return None;
                }
                let reply = self.respond(origin, packet, client, b)?;
                Metrics::inc(&self.metrics.accepts);
                self.metrics.auth_finished(Some(AuthMethod::Pap), now);
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
