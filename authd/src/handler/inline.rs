//! The request path split where it first has to wait.
//!
//! Admission, the duplicate cache, Status-Server and a PAP request whose
//! password the cache knows need no await: [`AuthHandler::try_serve_inline`]
//! runs them synchronously, so the UDP receive loop answers them without
//! spawning a task (no allocation of a task, no wake-up of another
//! worker). What needs the store, Argon2id or the EAP core is handed over
//! as a [`Pending`] request, already admitted, counted and marked in
//! progress in the duplicate cache: [`AuthHandler::resume`] runs the
//! remaining stages, and nothing is done twice. [`AuthHandler::serve`] is
//! the two halves in a row, so RadSec and the tests take the same path.

use super::pap::PapStep;
use super::*;

/// What the synchronous half made of a datagram.
pub enum Inline<'a> {
    /// Answered: send these bytes back.
    Answered(Arc<[u8]>),
    /// Nothing to send (refused, dropped, or a copy of a request in
    /// progress), counted and logged where that was decided.
    Dropped,
    /// Admitted, and the rest needs to wait: finish it with
    /// [`AuthHandler::resume`], in a task.
    NeedsTask(Pending<'a>),
}

impl std::fmt::Debug for Inline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Reply bytes and passwords stay out of Debug output.
        match self {
            Inline::Answered(b) => write!(f, "Answered({} octets)", b.len()),
            Inline::Dropped => f.write_str("Dropped"),
            Inline::NeedsTask(p) => write!(f, "NeedsTask({:?})", p.next),
        }
    }
}

/// What is left to do for an admitted request.
pub(super) enum Next {
    /// EAP (or an Access-Request with neither EAP-Message nor
    /// User-Password): `access.rs`.
    Access,
    Accounting,
    /// PAP past the cache: the store and Argon2id, with the password
    /// already decrypted.
    PapStore(radius_proto::Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Next::Access => "Access",
            Next::Accounting => "Accounting",
            Next::PapStore(_) => "PapStore",
        })
    }
}

/// An admitted request the synchronous half could not finish, marked in
/// progress in the duplicate cache: one dropped unfinished stays so until
/// the entry expires, so every caller resumes what it got.
pub struct Pending<'a> {
    admitted: Admitted<'a>,
    key: Option<Tracked>,
    tls: EapTls,
    next: Next,
}

/// A [`Pending`] request that owns its datagram, to move into a task.
pub struct OwnedPending {
    client: Arc<NasClient>,
    origin: Origin,
    datagram: Vec<u8>,
    key: Option<Tracked>,
    tls: EapTls,
    next: Next,
    now: Instant,
}

impl Pending<'_> {
    /// Copies the datagram (what a task needs; an inline answer never
    /// copies it).
    pub fn into_owned(self, now: Instant) -> OwnedPending {
        let Admitted {
            client,
            packet,
            origin,
        } = self.admitted;
        OwnedPending {
            client,
            origin,
            datagram: packet.into_inner().to_vec(),
            key: self.key,
            tls: self.tls,
            next: self.next,
            now,
        }
    }
}

impl AuthHandler {
    /// The synchronous half for a datagram from `origin` (a UDP port):
    /// admission, duplicates, and what needs no wait.
    pub fn try_serve_inline<'a>(&self, origin: Origin, data: &'a [u8], now: Instant) -> Inline<'a> {
        let (clients, tls) = self.live();
        match self.admit(&clients, origin, data, now) {
            Some(admitted) => self.begin(admitted, tls, now),
            None => Inline::Dropped,
        }
    }

    /// Every stage after admission up to the first wait: counting,
    /// duplicates, Status-Server, PAP from the cache.
    pub(super) fn begin<'a>(
        &self,
        admitted: Admitted<'a>,
        tls: EapTls,
        now: Instant,
    ) -> Inline<'a> {
        let Admitted {
            client,
            packet,
            origin,
        } = &admitted;
        client.counters.count(packet.code());
        if packet.code() == Code::AccessRequest {
            // Every admitted Access-Request, retransmissions included;
            // Status-Server is not an authentication (RFC 5997).
            Metrics::inc(&self.metrics.requests);
        }
        let key = match self.duplicate(*origin, client, packet, now) {
            Ok(key) => key,
            Err(Some(replay)) => return Inline::Answered(replay),
            Err(None) => return Inline::Dropped,
        };
        let next = match packet.code() {
            // RFC 5997 §3: Access-Accept on the authentication port (and
            // over RadSec), Accounting-Response on the accounting port. Not
            // an authentication: not counted in `requests` nor `accepts`.
            Code::StatusServer => {
                let code = match origin.port {
                    Port::Acct => Code::AccountingResponse,
                    Port::Auth | Port::Radsec => Code::AccessAccept,
                };
                let reply = self.status_server(*origin, packet, client, code, now);
                return self.answered(key, client, reply, now);
            }
            Code::AccountingRequest => Next::Accounting,
            _ => match packet.attr(dict::USER_PASSWORD) {
                Some(hidden) if packet.attr(dict::EAP_MESSAGE).is_none() => {
                    let user_name = user_name(packet);
                    match self.pap_inline(*origin, packet, client, hidden, &user_name, now) {
                        PapStep::Done(reply) => return self.answered(key, client, reply, now),
                        PapStep::Store(password) => Next::PapStore(password),
                    }
                }
                _ => Next::Access,
            },
        };
        Inline::NeedsTask(Pending {
            admitted,
            key,
            tls,
            next,
        })
    }

    fn answered(
        &self,
        key: Option<Tracked>,
        client: &NasClient,
        reply: Option<Arc<[u8]>>,
        now: Instant,
    ) -> Inline<'static> {
        match self.finish(key, client, reply, now) {
            Some(bytes) => Inline::Answered(bytes),
            None => Inline::Dropped,
        }
    }

    /// The rest of a request the synchronous half handed over, in a task.
    /// `unix_now` is the wall clock in Unix seconds (accounting records).
    pub async fn resume(&self, pending: OwnedPending, unix_now: i64) -> Option<Arc<[u8]>> {
        let OwnedPending {
            client,
            origin,
            datagram,
            key,
            tls,
            next,
            now,
        } = pending;
        // The view over the same bytes admission checked: a length walk,
        // not admission again (no client lookup, no authenticator).
        let Ok(packet) = Packet::new_checked(&datagram[..]) else {
            self.forget(&key);
            return None;
        };
        let admitted = Admitted {
            client,
            packet,
            origin,
        };
        self.resume_admitted(admitted, key, &tls, next, now, unix_now)
            .await
    }

    pub(super) async fn resume_pending(
        &self,
        pending: Pending<'_>,
        now: Instant,
        unix_now: i64,
    ) -> Option<Arc<[u8]>> {
        let Pending {
            admitted,
            key,
            tls,
            next,
        } = pending;
        self.resume_admitted(admitted, key, &tls, next, now, unix_now)
            .await
    }

    async fn resume_admitted(
        &self,
        admitted: Admitted<'_>,
        key: Option<Tracked>,
        tls: &EapTls,
        next: Next,
        now: Instant,
        unix_now: i64,
    ) -> Option<Arc<[u8]>> {
        let Admitted {
            client,
            packet,
            origin,
        } = admitted;
        let reply = match next {
            Next::Accounting => {
                self.accounting_request(origin, &packet, &client, now, unix_now)
                    .await
            }
            Next::PapStore(password) => {
                let user_name = user_name(&packet);
                self.pap_store(origin, &packet, &client, &password, &user_name, now)
                    .await
            }
            Next::Access => {
                self.access_request(origin, &packet, &client, tls, now)
                    .await
            }
        };
        self.finish(key, &client, reply, now)
    }
}

/// User-Name as the access service reads it (lossy UTF-8, empty when absent).
fn user_name(packet: &Packet<&[u8]>) -> String {
    packet
        .attr(dict::USER_NAME)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}
