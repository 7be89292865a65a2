//! The access service, PAP side (RFC 2865 §5.2): the password checked
//! against the store through the cache, waiting room and breaker of
//! [`crate::pap`].

use super::*;

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
        let (true, Some(cache), Some(store)) =
            (self.settings.pap_enabled, &self.pap, self.policy.store())
        else {
            return self.reject(
                origin,
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
                origin,
                packet,
                client,
                None,
                "no_user_name",
                "PAP request without User-Name",
                user_name,
            );
        }
        let from = origin.peer;
        // RFC 9765 §5.1.1: on RADIUS/1.1 the value is the password itself.
        let password = if origin.radius_1_1() {
            radius_proto::v11::user_password(hidden)
                .map(|p| radius_proto::Zeroizing::new(p.to_vec()))
        } else {
            radius_proto::decrypt_user_password(hidden, &client.secret, packet.authenticator())
        };
        let password = match password {
            Ok(p) => p,
            Err(e) => {
                return self.reject(
                    origin,
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
