//! PAP (RFC 2865 section 5.2): an Access-Request with User-Name and
//! User-Password, checked against the user's Argon2id hash in the store.
//!
//! Argon2id is slow on purpose (tens of milliseconds, 19 MiB), which is
//! right for a stolen database and wrong for a NAS that re-authenticates
//! the same users all day (MAC authentication, captive portals). So a
//! password that verified is remembered in memory as a keyed tag,
//! HMAC-SHA-256 under a random key of this process, never as the password:
//! the next request with the same user and password costs one HMAC. A tag
//! lives at most `ttl`, and all of them are dropped as soon as the store's
//! change generation moves (any audited change: password, user disabled,
//! group, certificate), which servers poll every [`CHANGES_POLL_INTERVAL`].
//! Failures are never cached, and the cache is bounded.
//!
//! Argon2id runs on the blocking pool, at most [`MAX_CONCURRENT_HASHES`] at
//! once: a flood of wrong passwords costs bounded CPU and memory. A check
//! that misses the cache waits in a bounded [`WaitingRoom`] (store read,
//! then Argon2id): past its capacity a request is dropped at once
//! (`pap_queue_full`), and one not started within its deadline is dropped
//! (`pap_deadline`; the NAS has retransmitted by then). So PAP holds at
//! most the room's capacity of the server's in-flight datagrams, however
//! many wrong passwords arrive, and EAP keeps the rest. The store is read
//! through a circuit [`Breaker`]: a store that is down is answered
//! `store_unavailable` at once instead of after a timeout per request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use tokio::sync::Semaphore;

use crate::gencache::GenerationCache;
#[cfg(test)]
use crate::gencache::UNKNOWN_GENERATION;
use crate::policy::{Accept, Decision};
use crate::store::Store;
use crate::store::breaker::{Breaker, BreakerError};

/// How often servers read the store's change generation.
pub const CHANGES_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Argon2id verifications running at once.
pub const MAX_CONCURRENT_HASHES: usize = 4;

/// A bounded set of seats for the PAP checks that need the store and
/// Argon2id, each with a deadline counted from the request's arrival.
/// Sans-IO: the caller passes the time.
#[derive(Debug)]
pub struct WaitingRoom {
    capacity: usize,
    max_wait: Duration,
    taken: AtomicUsize,
}

/// One admitted check; its seat is given back on drop.
#[derive(Debug)]
pub struct Seat<'a> {
    room: &'a WaitingRoom,
    deadline: Instant,
}

impl WaitingRoom {
    pub fn new(capacity: usize, max_wait: Duration) -> WaitingRoom {
        WaitingRoom {
            capacity: capacity.max(1),
            max_wait,
            taken: AtomicUsize::new(0),
        }
    }

    /// A seat for a request that arrived at `arrived`, if one is free.
    pub fn try_enter(&self, arrived: Instant) -> Option<Seat<'_>> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .ok()?;
        Some(Seat {
            room: self,
            deadline: arrived + self.max_wait,
        })
    }

    /// Seats taken now.
    pub fn occupied(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }
}

impl Seat<'_> {
    /// When the check must have started its Argon2id run.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    pub fn is_late(&self, now: Instant) -> bool {
        now >= self.deadline
    }
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        self.room.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A password that verified: its keyed tag and what the store granted.
#[derive(Clone)]
struct Verified {
    tag: [u8; 32],
    accept: Accept,
}

/// Passwords that verified recently, as keyed tags.
pub struct PasswordCache {
    key: hmac::Key,
    /// By user name, under the store's change generation, for the TTL.
    entries: GenerationCache<String, Verified>,
    hashing: Semaphore,
    /// Checks admitted past the cache (store read and Argon2id).
    room: WaitingRoom,
    /// In front of the store reads.
    breaker: Arc<Breaker>,
    /// The Argon2id hash of a random password, verified when the user is
    /// unknown or has no password so that such a request costs as much as
    /// a wrong password (no user enumeration by timing).
    decoy: String,
    /// Argon2id working memory, reused (one per concurrent check).
    memory: Mutex<Vec<Vec<argon2::Block>>>,
}

impl std::fmt::Debug for PasswordCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordCache")
            .field("cache", &self.entries)
            .finish_non_exhaustive()
    }
}

/// What the PAP check concluded.
#[derive(Debug)]
pub enum PapOutcome {
    /// Password right and the user may connect (from the cache or the store).
    Accept {
        accept: Accept,
        cached: bool,
    },
    Reject {
        label: &'static str,
        why: String,
    },
    /// Not answered (shed load): the NAS retransmits or fails over.
    Drop {
        label: &'static str,
        why: String,
    },
}

impl PasswordCache {
    pub fn new(ttl: Duration, max_entries: usize) -> PasswordCache {
        Self::with_limits(
            ttl,
            max_entries,
            WaitingRoom::new(256, Duration::from_secs(2)),
            Arc::new(Breaker::new(crate::store::breaker::BreakerSettings {
                failures: 5,
                open_for: Duration::from_secs(10),
                timeout: Duration::from_secs(1),
            })),
        )
    }

    /// As [`PasswordCache::new`], with the waiting room and the store's
    /// breaker given.
    pub fn with_limits(
        ttl: Duration,
        max_entries: usize,
        room: WaitingRoom,
        breaker: Arc<Breaker>,
    ) -> PasswordCache {
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        let cache = PasswordCache {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            entries: GenerationCache::new(max_entries, Some(ttl)),
            hashing: Semaphore::new(MAX_CONCURRENT_HASHES),
            room,
            breaker,
            decoy: decoy_hash(),
            memory: Mutex::new(Vec::new()),
        };
        zeroize::Zeroize::zeroize(&mut key);
        cache
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The store's change generation is now `generation`: if it moved,
    /// forget every entry.
    pub fn set_generation(&self, generation: i64) {
        self.entries.set_generation(generation);
    }

    fn tag(&self, user: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// The cached decision for `user` with `password`, if one is fresh:
    /// one HMAC, no store, no wait (the receive loop answers such a PAP
    /// request inline, `handler/inline.rs`).
    pub fn lookup(&self, user: &str, password: &[u8], now: Instant) -> Option<Accept> {
        let tag = self.tag(user, password);
        let v = self.entries.get(user, now)?;
        let same = aws_lc_rs::constant_time::verify_slices_are_equal(&v.tag, &tag).is_ok();
        same.then_some(v.accept)
    }

    /// The store's change generation could not be read: forget everything
    /// and cache nothing until it can.
    pub fn generation_unknown(&self) {
        self.entries.generation_unknown();
    }

    /// Remembers a password that verified under `generation` (nothing if
    /// the store changed meanwhile or the generation is unknown).
    fn remember(
        &self,
        user: &str,
        password: &[u8],
        generation: i64,
        accept: &Accept,
        now: Instant,
    ) {
        let verified = Verified {
            tag: self.tag(user, password),
            accept: accept.clone(),
        };
        self.entries.put(user.to_owned(), generation, verified, now);
    }

    /// Drops entries older than the TTL.
    pub fn sweep(&self, now: Instant) {
        self.entries.sweep(now);
    }

    /// Checks `password` for `user`: from the cache when it verified
    /// recently and nothing changed since, else against the store's hash.
    pub async fn check(
        &self,
        store: &Store,
        user: &str,
        password: &[u8],
        now: Instant,
    ) -> PapOutcome {
        if let Some(accept) = self.lookup(user, password, now) {
            return PapOutcome::Accept {
                accept,
                cached: true,
            };
        }
        let Some(seat) = self.room.try_enter(now) else {
            return PapOutcome::Drop {
                label: "pap_queue_full",
                why: format!(
                    "{} PAP checks already waiting for the store or Argon2id",
                    self.room.capacity
                ),
            };
        };
        let generation = self.entries.generation();
        let found = match self
            .breaker
            .call(now, store.password_authorization(user))
            .await
        {
            Ok(found) => found,
            Err(e @ BreakerError::Open) => {
                return PapOutcome::Reject {
                    label: "store_unavailable",
                    why: e.to_string(),
                };
            }
            Err(e) => {
                return PapOutcome::Reject {
                    label: "store_unavailable",
                    why: format!("cannot read the store: {e}"),
                };
            }
        };
        enum Known {
            User(crate::store::Authorization),
            WithoutPassword,
            Unknown,
        }
        let (hash, known) = match found {
            Some((Some(hash), a)) => (hash, Known::User(a)),
            Some((None, _)) => (self.decoy.clone(), Known::WithoutPassword),
            None => (self.decoy.clone(), Known::Unknown),
        };
        let deadline = tokio::time::Instant::from_std(seat.deadline());
        let _permit = match tokio::time::timeout_at(deadline, self.hashing.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => {
                return PapOutcome::Reject {
                    label: "internal",
                    why: "password hashing unavailable".into(),
                };
            }
            Err(_) => {
                return PapOutcome::Drop {
                    label: "pap_deadline",
                    why: "waited past the PAP deadline for Argon2id".into(),
                };
            }
        };
        let candidate = zeroize::Zeroizing::new(password.to_vec());
        // One of at most MAX_CONCURRENT_HASHES buffers, kept for the next
        // check (see `verify_password_in`).
        let mut memory = crate::sync::lock(&self.memory).pop().unwrap_or_default();
        let (verified, memory) = tokio::task::spawn_blocking(move || {
            let ok = crate::store::verify_password_in(&hash, &candidate, &mut memory);
            (ok, memory)
        })
        .await
        .unwrap_or((false, Vec::new()));
        crate::sync::lock(&self.memory).push(memory);
        let authorization = match known {
            Known::User(a) => a,
            Known::WithoutPassword => {
                return PapOutcome::Reject {
                    label: "no_password",
                    why: format!("user {user:?} has no password set"),
                };
            }
            Known::Unknown => {
                return PapOutcome::Reject {
                    label: "unknown_user",
                    why: format!("user {user:?} is not in the store"),
                };
            }
        };
        if !verified {
            return PapOutcome::Reject {
                label: "wrong_password",
                why: format!("wrong password for user {user:?}"),
            };
        }
        if !authorization.enabled {
            return PapOutcome::Reject {
                label: "user_disabled",
                why: format!("user {user:?} is disabled"),
            };
        }
        let accept = Accept {
            user_name: user.to_owned(),
            vlan: authorization.vlan,
            session_timeout: authorization.session_timeout,
        };
        self.remember(user, password, generation, &accept, now);
        PapOutcome::Accept {
            accept,
            cached: false,
        }
    }
}

/// The Argon2id hash of 32 random octets (hex): no password matches it.
fn decoy_hash() -> String {
    let mut random = [0u8; 32];
    rand::fill(&mut random);
    let password = zeroize::Zeroizing::new(hex::encode(random));
    crate::store::hash_password(&password).unwrap_or_default()
}

impl From<PapOutcome> for Decision {
    fn from(o: PapOutcome) -> Decision {
        match o {
            PapOutcome::Accept { accept, .. } => Decision::Accept(accept),
            PapOutcome::Reject { label, why } | PapOutcome::Drop { label, why } => {
                Decision::Reject { label, why }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(user: &str) -> Accept {
        Accept {
            user_name: user.into(),
            vlan: Some("10".into()),
            session_timeout: None,
        }
    }

    #[test]
    fn decoy_hash_is_a_real_hash_no_password_matches() {
        let c = PasswordCache::new(Duration::from_secs(60), 8);
        assert!(c.decoy.starts_with("$argon2id$"), "{}", c.decoy);
        assert!(!crate::store::verify_password(&c.decoy, ""));
        assert!(!crate::store::verify_password(&c.decoy, "password"));
    }

    #[test]
    fn cached_only_for_the_same_password_generation_and_time() {
        let c = PasswordCache::new(Duration::from_secs(60), 8);
        let t0 = Instant::now();
        c.set_generation(5);
        c.remember("alice", b"right", 5, &accept("alice"), t0);
        assert_eq!(c.lookup("alice", b"right", t0), Some(accept("alice")));
        assert_eq!(c.lookup("alice", b"wrong", t0), None);
        assert_eq!(c.lookup("bob", b"right", t0), None);
        // Expired.
        assert_eq!(
            c.lookup("alice", b"right", t0 + Duration::from_secs(60)),
            None
        );
        // The store changed: everything is forgotten.
        c.set_generation(6);
        assert_eq!(c.lookup("alice", b"right", t0), None);
        assert!(c.is_empty());
        // Verified under an older generation: not cached.
        c.remember("alice", b"right", 5, &accept("alice"), t0);
        assert!(c.is_empty());
        // Generation unknown (store unreadable): nothing cached.
        c.generation_unknown();
        c.remember("alice", b"right", UNKNOWN_GENERATION, &accept("alice"), t0);
        assert!(c.is_empty());
    }

    #[test]
    fn tags_separate_user_and_password() {
        let c = PasswordCache::new(Duration::from_secs(60), 8);
        assert_ne!(c.tag("ab", b"c"), c.tag("a", b"bc"));
        // A second cache (another process) has another key.
        let d = PasswordCache::new(Duration::from_secs(60), 8);
        assert_ne!(c.tag("a", b"b"), d.tag("a", b"b"));
    }

    #[test]
    fn waiting_room_is_bounded_and_gives_seats_back() {
        let room = WaitingRoom::new(2, Duration::from_secs(2));
        let t0 = Instant::now();
        let a = room.try_enter(t0).expect("first seat");
        let b = room.try_enter(t0).expect("second seat");
        assert!(room.try_enter(t0).is_none(), "full");
        assert_eq!(room.occupied(), 2);
        drop(a);
        let c = room
            .try_enter(t0 + Duration::from_secs(1))
            .expect("a seat freed");
        assert!(room.try_enter(t0).is_none());
        drop((b, c));
        assert_eq!(room.occupied(), 0);
    }

    #[test]
    fn seat_deadline_counts_from_arrival() {
        let room = WaitingRoom::new(8, Duration::from_millis(1500));
        let t0 = Instant::now();
        let seat = room.try_enter(t0).unwrap();
        assert_eq!(seat.deadline(), t0 + Duration::from_millis(1500));
        assert!(!seat.is_late(t0 + Duration::from_millis(1499)));
        assert!(seat.is_late(t0 + Duration::from_millis(1500)));
    }

    #[tokio::test]
    async fn a_check_waiting_for_argon2id_past_its_deadline_is_dropped() {
        // The shape of `check` after the store read: a seat, then the
        // hashing semaphore until the seat's deadline.
        let room = WaitingRoom::new(8, Duration::from_millis(50));
        let hashing = Semaphore::new(1);
        let busy = hashing.acquire().await.unwrap();
        let seat = room.try_enter(Instant::now()).unwrap();
        let deadline = tokio::time::Instant::from_std(seat.deadline());
        let waited = tokio::time::timeout_at(deadline, hashing.acquire()).await;
        assert!(waited.is_err(), "the permit is held: past the deadline");
        drop(busy);
        let seat = room.try_enter(Instant::now()).unwrap();
        let deadline = tokio::time::Instant::from_std(seat.deadline());
        let waited = tokio::time::timeout_at(deadline, hashing.acquire()).await;
        assert!(waited.is_ok(), "free permit: in time");
    }

    #[test]
    fn bounded() {
        let c = PasswordCache::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        c.set_generation(1);
        for (i, u) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.remember(u, b"p", 1, &accept(u), t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(c.len(), 3);
        // The oldest went first.
        assert_eq!(c.lookup("a", b"p", t0), None);
        assert!(c.lookup("e", b"p", t0).is_some());
    }
}
