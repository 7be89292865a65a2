//! TLS session tickets for EAP-TLS resumption (RFC 5216 section 2.1.3,
//! RFC 9190 section 2.1.2), with keys shared through the store.
//!
//! rustls asks a [`ProducesTickets`] to seal and open the session state it
//! puts in tickets (TLS 1.2 SessionTicket, RFC 5077; TLS 1.3
//! NewSessionTicket, RFC 8446 section 4.6.1). Ours seals with AES-256-GCM
//! under a key taken from a [`TicketKeyring`]. With a store, the keyring's
//! keys live in the `tls_ticket_keys` table, so every authd instance on one
//! database opens the tickets any of them sealed.
//!
//! Key schedule. A key of generation `g` encrypts from its `not_before`
//! until the next generation's `not_before` (one `rotation` later), and
//! decrypts until its `not_after`, which leaves every ticket it sealed its
//! full `lifetime`. A server creates the next key `PUBLISH_LEAD` before it
//! is due, so all instances (refreshing every `REFRESH_INTERVAL`) hold it
//! before anyone encrypts with it. Generations are unique in the table:
//! instances racing to rotate agree on one key. Expired keys are deleted.
//! Without a store the same schedule runs in memory.
//!
//! A ticket: version (1) | generation (8) | issued at, Unix seconds (8) |
//! nonce (12) | AES-256-GCM(state) with tag (16). The header and the EAP
//! method the ticket was issued for are authenticated data: a ticket is
//! refused by another EAP method, after `lifetime`, or once its key
//! expired. What a resumed session proves is still authorized as a full
//! handshake is (see `crate::handler`): a ticket never bypasses the store.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rustls::server::ProducesTickets;
use zeroize::Zeroizing;

use crate::store::{Store, StoreError, TicketKeyRecord};

/// How often servers read the ticket keys from the store.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// How long before it encrypts a new key is stored: every instance has
/// read it by then.
const PUBLISH_LEAD: i64 = 3 * REFRESH_INTERVAL.as_secs() as i64;
/// Clock difference between instances tolerated on a ticket's issue time.
const CLOCK_SKEW: i64 = 60;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 8 + 8;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;

/// The EAP methods a ticket can be bound to (RFC 3748 Type values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketMethod {
    /// EAP-TLS (13).
    EapTls,
    /// PEAP (25).
    Peap,
    /// EAP-TTLS (21).
    Ttls,
}

impl TicketMethod {
    fn eap_type(self) -> u8 {
        match self {
            TicketMethod::EapTls => 13,
            TicketMethod::Ttls => 21,
            TicketMethod::Peap => 25,
        }
    }
}

pub use crate::config::TicketSchedule;

impl TicketSchedule {
    /// How long a key decrypts after it starts encrypting.
    fn key_span(&self) -> i64 {
        i64::from(self.rotation) + PUBLISH_LEAD + i64::from(self.lifetime)
    }

    /// The key to add to `keys` (those valid at `now`) so that one is
    /// always ready to encrypt, or `None` if none is due yet.
    pub fn next_key(&self, keys: &[TicketKeyRecord], now: i64) -> Option<(i64, i64, i64)> {
        let newest = keys
            .iter()
            .filter(|k| k.not_after > now)
            .max_by_key(|k| k.generation);
        let (generation, not_before) = match newest {
            // First key (or every key expired): usable at once.
            None => (now, now),
            Some(k) if now >= k.not_before + i64::from(self.rotation) - PUBLISH_LEAD => (
                k.generation + 1,
                (k.not_before + i64::from(self.rotation)).max(now + PUBLISH_LEAD),
            ),
            Some(_) => return None,
        };
        Some((generation, not_before, not_before + self.key_span()))
    }
}

struct SealingKey {
    generation: i64,
    not_before: i64,
    not_after: i64,
    key: LessSafeKey,
}

/// The ticket keys a server holds, replaced on every refresh.
pub struct TicketKeyring {
    schedule: TicketSchedule,
    keys: RwLock<Vec<SealingKey>>,
    /// The records behind `keys`, kept for the in-memory schedule.
    records: RwLock<Vec<TicketKeyRecord>>,
}

impl std::fmt::Debug for TicketKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketKeyring")
            .field("schedule", &self.schedule)
            .field("keys", &self.read_keys().len())
            .finish()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl TicketKeyring {
    /// An empty keyring: tickets can be sealed once a refresh installed a key.
    pub fn new(schedule: TicketSchedule) -> Arc<TicketKeyring> {
        Arc::new(TicketKeyring {
            schedule,
            keys: RwLock::new(Vec::new()),
            records: RwLock::new(Vec::new()),
        })
    }

    pub fn schedule(&self) -> TicketSchedule {
        self.schedule
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, Vec<SealingKey>> {
        crate::sync::read(&self.keys)
    }

    /// Replaces the keys with `records` (those valid at `now`).
    pub fn install(&self, records: Vec<TicketKeyRecord>, now: i64) {
        let mut keys: Vec<SealingKey> = records
            .iter()
            .filter(|r| r.not_after > now && r.secret.len() == KEY_LEN)
            .filter_map(|r| {
                let unbound = UnboundKey::new(&AES_256_GCM, &r.secret).ok()?;
                Some(SealingKey {
                    generation: r.generation,
                    not_before: r.not_before,
                    not_after: r.not_after,
                    key: LessSafeKey::new(unbound),
                })
            })
            .collect();
        keys.sort_by_key(|k| k.generation);
        *crate::sync::write(&self.keys) = keys;
        *crate::sync::write(&self.records) = records;
    }

    /// Number of keys held (decrypting or encrypting).
    pub fn len(&self) -> usize {
        self.read_keys().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the keys from `store`, adds the next one when it is due, and
    /// installs them.
    pub async fn refresh_from_store(&self, store: &Store) -> Result<(), StoreError> {
        let now = unix_now();
        let mut records = store.ticket_keys(now).await?;
        if let Some(key) = self.new_key(&records, now) {
            if store.add_ticket_key(&key, now).await? {
                tracing::info!(
                    generation = key.generation,
                    not_before = key.not_before,
                    "new TLS ticket key stored"
                );
            }
            records = store.ticket_keys(now).await?;
        }
        self.install(records, now);
        Ok(())
    }

    /// Refreshes from `store`, or in memory without one.
    pub async fn refresh(&self, store: Option<&Store>) -> Result<(), StoreError> {
        match store {
            Some(store) => self.refresh_from_store(store).await,
            None => {
                self.refresh_local();
                Ok(())
            }
        }
    }

    /// The same schedule without a store: keys live in this process only.
    pub fn refresh_local(&self) {
        let now = unix_now();
        let mut records: Vec<TicketKeyRecord> = crate::sync::read(&self.records)
            .iter()
            .filter(|r| r.not_after > now)
            .cloned()
            .collect();
        if let Some(key) = self.new_key(&records, now) {
            records.push(key);
        }
        self.install(records, now);
    }

    fn new_key(&self, records: &[TicketKeyRecord], now: i64) -> Option<TicketKeyRecord> {
        let (generation, not_before, not_after) = self.schedule.next_key(records, now)?;
        let mut secret = Zeroizing::new(vec![0u8; KEY_LEN]);
        rand::fill(&mut secret[..]);
        Some(TicketKeyRecord {
            generation,
            secret,
            not_before,
            not_after,
        })
    }

    /// Seals `plain` for `method` at `now`, with the newest key already
    /// encrypting whose span still covers a full ticket lifetime.
    fn seal(&self, method: TicketMethod, plain: &[u8], now: i64) -> Option<Vec<u8>> {
        let keys = self.read_keys();
        let key = keys.iter().rev().find(|k| {
            k.not_before <= now && now + i64::from(self.schedule.lifetime) <= k.not_after
        })?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plain.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&key.generation.to_be_bytes());
        out.extend_from_slice(&now.to_be_bytes());
        out.extend_from_slice(&nonce);
        let aad = aad(method, &out[..HEADER_LEN]);
        let mut body = plain.to_vec();
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .ok()?;
        out.extend_from_slice(&body);
        Some(out)
    }

    /// Opens a ticket `method` sealed, or `None`: wrong length, version,
    /// unknown or expired key, too old, other method, tampered.
    fn open(&self, method: TicketMethod, ticket: &[u8], now: i64) -> Option<Vec<u8>> {
        if ticket.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || ticket[0] != VERSION {
            return None;
        }
        let (header, rest) = ticket.split_at(HEADER_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let generation = i64::from_be_bytes(header[1..9].try_into().ok()?);
        let issued = i64::from_be_bytes(header[9..17].try_into().ok()?);
        if issued > now + CLOCK_SKEW
            || now.saturating_sub(issued) > i64::from(self.schedule.lifetime)
        {
            return None;
        }
        let keys = self.read_keys();
        let key = keys
            .iter()
            .find(|k| k.generation == generation && k.not_after > now)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = sealed.to_vec();
        let plain_len = key
            .key
            .open_in_place(nonce, Aad::from(aad(method, header)), &mut body)
            .ok()?
            .len();
        body.truncate(plain_len);
        Some(body)
    }
}

/// Authenticated data: a label, the EAP method, and the ticket header.
fn aad(method: TicketMethod, header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + 1 + header.len());
    aad.extend_from_slice(b"authd ticket");
    aad.push(method.eap_type());
    aad.extend_from_slice(header);
    aad
}

/// The [`ProducesTickets`] rustls calls for one EAP method.
#[derive(Debug)]
pub struct Ticketer {
    ring: Arc<TicketKeyring>,
    method: TicketMethod,
}

impl Ticketer {
    pub fn new(ring: Arc<TicketKeyring>, method: TicketMethod) -> Arc<Ticketer> {
        Arc::new(Ticketer { ring, method })
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.ring.schedule.lifetime
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.ring.seal(self.method, plain, unix_now())
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.ring.open(self.method, cipher, unix_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: TicketSchedule = TicketSchedule {
        lifetime: 3600,
        rotation: 600,
    };

    fn record(generation: i64, not_before: i64, not_after: i64, fill: u8) -> TicketKeyRecord {
        TicketKeyRecord {
            generation,
            secret: Zeroizing::new(vec![fill; KEY_LEN]),
            not_before,
            not_after,
        }
    }

    fn ring_with(records: Vec<TicketKeyRecord>, now: i64) -> Arc<TicketKeyring> {
        let ring = TicketKeyring::new(SCHEDULE);
        ring.install(records, now);
        ring
    }

    const T0: i64 = 1_800_000_000;

    #[test]
    fn first_key_is_usable_at_once() {
        let (g, nb, na) = SCHEDULE.next_key(&[], T0).unwrap();
        assert_eq!((g, nb), (T0, T0));
        assert_eq!(na, T0 + 600 + PUBLISH_LEAD + 3600);
    }

    #[test]
    fn next_key_is_published_ahead_of_use() {
        let keys = [record(7, T0, T0 + SCHEDULE.key_span(), 1)];
        assert_eq!(SCHEDULE.next_key(&keys, T0 + 600 - PUBLISH_LEAD - 1), None);
        let (g, nb, _) = SCHEDULE.next_key(&keys, T0 + 600 - PUBLISH_LEAD).unwrap();
        assert_eq!((g, nb), (8, T0 + 600));
        // A server that was down past the rotation still publishes ahead.
        let (g, nb, _) = SCHEDULE.next_key(&keys, T0 + 900).unwrap();
        assert_eq!((g, nb), (8, T0 + 900 + PUBLISH_LEAD));
        // Every key expired: start again, usable at once.
        let late = T0 + SCHEDULE.key_span();
        assert_eq!(SCHEDULE.next_key(&keys, late).unwrap().1, late);
    }

    #[test]
    fn round_trip_and_method_binding() {
        let ring = ring_with(vec![record(1, T0, T0 + SCHEDULE.key_span(), 9)], T0);
        let ticket = ring
            .seal(TicketMethod::EapTls, b"session state", T0)
            .unwrap();
        assert_eq!(
            ring.open(TicketMethod::EapTls, &ticket, T0 + 5).as_deref(),
            Some(&b"session state"[..])
        );
        // Not across EAP methods.
        assert_eq!(ring.open(TicketMethod::Peap, &ticket, T0 + 5), None);
        assert_eq!(ring.open(TicketMethod::Ttls, &ticket, T0 + 5), None);
    }

    #[test]
    fn another_instance_with_the_same_keys_opens_it() {
        let keys = vec![record(1, T0, T0 + SCHEDULE.key_span(), 9)];
        let a = ring_with(keys.clone(), T0);
        let b = ring_with(keys, T0);
        let ticket = a.seal(TicketMethod::EapTls, b"state", T0).unwrap();
        assert!(b.open(TicketMethod::EapTls, &ticket, T0 + 1).is_some());
        // A keyring with another secret under the same generation refuses.
        let c = ring_with(vec![record(1, T0, T0 + SCHEDULE.key_span(), 8)], T0);
        assert_eq!(c.open(TicketMethod::EapTls, &ticket, T0 + 1), None);
    }

    #[test]
    fn tampering_age_and_expiry_are_refused() {
        let ring = ring_with(vec![record(1, T0, T0 + SCHEDULE.key_span(), 9)], T0);
        let ticket = ring.seal(TicketMethod::EapTls, b"state", T0).unwrap();
        for i in 0..ticket.len() {
            let mut t = ticket.clone();
            t[i] ^= 0x01;
            assert_eq!(ring.open(TicketMethod::EapTls, &t, T0), None, "byte {i}");
        }
        for len in 0..ticket.len() {
            assert_eq!(ring.open(TicketMethod::EapTls, &ticket[..len], T0), None);
        }
        // Older than its lifetime.
        assert_eq!(ring.open(TicketMethod::EapTls, &ticket, T0 + 3601), None);
        assert!(
            ring.open(TicketMethod::EapTls, &ticket, T0 + 3600)
                .is_some()
        );
        // Issued in the future (beyond clock skew).
        let future = ring.seal(TicketMethod::EapTls, b"s", T0 + 100).unwrap();
        assert_eq!(ring.open(TicketMethod::EapTls, &future, T0), None);
        // Key gone.
        let other = ring_with(vec![record(2, T0, T0 + SCHEDULE.key_span(), 9)], T0);
        assert_eq!(other.open(TicketMethod::EapTls, &ticket, T0), None);
    }

    #[test]
    fn seals_with_the_newest_active_key_only() {
        let span = SCHEDULE.key_span();
        let ring = ring_with(
            vec![
                record(1, T0, T0 + span, 1),
                // Published ahead, not yet encrypting.
                record(2, T0 + 600, T0 + 600 + span, 2),
            ],
            T0,
        );
        let t = ring.seal(TicketMethod::EapTls, b"s", T0 + 599).unwrap();
        assert_eq!(i64::from_be_bytes(t[1..9].try_into().unwrap()), 1);
        let t = ring.seal(TicketMethod::EapTls, b"s", T0 + 600).unwrap();
        assert_eq!(i64::from_be_bytes(t[1..9].try_into().unwrap()), 2);
        // A key whose span no longer covers a whole lifetime does not seal.
        let old = ring_with(vec![record(1, T0, T0 + span, 1)], T0);
        assert!(
            old.seal(TicketMethod::EapTls, b"s", T0 + span - 3600)
                .is_some()
        );
        assert_eq!(old.seal(TicketMethod::EapTls, b"s", T0 + span - 3599), None);
        // No key: no ticket (rustls sends none; full handshakes go on).
        assert_eq!(
            TicketKeyring::new(SCHEDULE).seal(TicketMethod::EapTls, b"s", T0),
            None
        );
    }

    #[test]
    fn local_refresh_rotates_in_memory() {
        let ring = TicketKeyring::new(SCHEDULE);
        ring.refresh_local();
        assert_eq!(ring.len(), 1);
        let t = ring.seal(TicketMethod::EapTls, b"s", unix_now()).unwrap();
        ring.refresh_local();
        assert_eq!(ring.len(), 1, "no second key before it is due");
        assert!(ring.open(TicketMethod::EapTls, &t, unix_now()).is_some());
    }
}
