//! Duplicate detection (RFC 5080 §2.2.2).
//!
//! A NAS retransmits an Access-Request it got no answer to with the same
//! source address and port, Identifier and Request Authenticator. Such a
//! retransmission must get the very reply the original got, and must never
//! advance the EAP conversation a second time. The cache remembers, per
//! request, either that it is still being worked on (a retransmission then is
//! dropped: the reply is on its way) or the reply bytes, for a bounded time and
//! a bounded number of entries.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::admission::{Origin, Transport};

const SHARDS: usize = 8;

/// What identifies one request on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKey {
    /// The source; a TLS origin names its connection.
    pub origin: Origin,
    pub identifier: u8,
    pub authenticator: [u8; 16],
}

/// One `write` of every field packed into a buffer, instead of the derived
/// impl's dozen small writes (discriminants, length prefixes, each address
/// part): SipHash is kept (the authenticator is the sender's choice, the
/// table must not be open to collision floods), but the table is consulted
/// on every request. Equal keys pack to equal bytes, as `Hash` requires.
impl Hash for RequestKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 64];
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            buf[n..n + bytes.len()].copy_from_slice(bytes);
            n += bytes.len();
        };
        match self.origin.transport {
            Transport::Udp => put(&[0]),
            Transport::Tls {
                connection,
                radius_1_1,
            } => {
                put(&[1 + u8::from(radius_1_1)]);
                put(&connection.to_be_bytes());
            }
        }
        match self.origin.peer {
            SocketAddr::V4(a) => {
                put(&[4]);
                put(&a.ip().octets());
                put(&a.port().to_be_bytes());
            }
            SocketAddr::V6(a) => {
                put(&[6]);
                put(&a.ip().octets());
                put(&a.port().to_be_bytes());
                put(&a.flowinfo().to_be_bytes());
                put(&a.scope_id().to_be_bytes());
            }
        }
        put(&[self.origin.port as u8, self.identifier]);
        put(&self.authenticator);
        // At most 1 + 8 + 1 + 16 + 2 + 4 + 4 + 2 + 16 = 54 octets.
        state.write(&buf[..n]);
    }
}

#[derive(Clone)]
enum Slot {
    InProgress,
    Done(Arc<[u8]>),
}

struct Entry {
    slot: Slot,
    at: Instant,
}

struct Shard {
    map: HashMap<RequestKey, Entry>,
    order: VecDeque<(RequestKey, Instant)>,
}

/// What to do with an incoming request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// First time seen: process it, then call `complete` or `forget`.
    New,
    /// Being processed right now: drop the copy.
    InProgress,
    /// Answered before: send these bytes again.
    Replay(Arc<[u8]>),
}

pub struct DuplicateCache {
    shards: Vec<Mutex<Shard>>,
    per_shard_capacity: usize,
    lifetime: Duration,
}

impl DuplicateCache {
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        DuplicateCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::new(),
                        order: VecDeque::new(),
                    })
                })
                .collect(),
            per_shard_capacity: capacity.div_ceil(SHARDS).max(1),
            lifetime,
        }
    }

    fn shard(&self, key: &RequestKey) -> std::sync::MutexGuard<'_, Shard> {
        // The Request Authenticator is random per request (RFC 2865 §3).
        let idx = key.authenticator[0] as usize % SHARDS;
        crate::sync::lock(&self.shards[idx])
    }

    /// Drops entries past their lifetime, and the oldest while the shard is
    /// full. `order` holds one record per entry (its arrival), plus stale
    /// ones of entries forgotten or replaced since, which are skipped.
    fn purge(&self, shard: &mut Shard, now: Instant) {
        while let Some((k, at)) = shard.order.front().copied() {
            let expired = now.saturating_duration_since(at) >= self.lifetime;
            if !expired && shard.map.len() < self.per_shard_capacity {
                break;
            }
            shard.order.pop_front();
            if let MapEntry::Occupied(e) = shard.map.entry(k)
                && e.get().at == at
            {
                e.remove();
            }
        }
    }

    /// Look a request up; a new one is marked in progress. One hash and
    /// probe for the lookup and the insertion together.
    pub fn check(&self, key: RequestKey, now: Instant) -> Lookup {
        let mut shard = self.shard(&key);
        self.purge(&mut shard, now);
        match shard.map.entry(key) {
            MapEntry::Occupied(e) => match &e.get().slot {
                Slot::InProgress => Lookup::InProgress,
                Slot::Done(bytes) => Lookup::Replay(bytes.clone()),
            },
            MapEntry::Vacant(v) => {
                v.insert(Entry {
                    slot: Slot::InProgress,
                    at: now,
                });
                shard.order.push_back((key, now));
                Lookup::New
            }
        }
    }

    /// Remember the reply sent for a request. The entry keeps the time the
    /// request arrived: the reply is kept for the lifetime counted from
    /// then (RFC 5080 §2.2.2 leaves the time to the server), so the entry
    /// needs no second record in `order`. An entry evicted meanwhile (a
    /// full shard, or a request slower than the lifetime) is made anew.
    pub fn complete(&self, key: RequestKey, reply: Arc<[u8]>, now: Instant) {
        let mut shard = self.shard(&key);
        match shard.map.entry(key) {
            MapEntry::Occupied(mut e) => e.get_mut().slot = Slot::Done(reply),
            MapEntry::Vacant(v) => {
                v.insert(Entry {
                    slot: Slot::Done(reply),
                    at: now,
                });
                shard.order.push_back((key, now));
            }
        }
        self.purge(&mut shard, now);
    }

    /// The request was dropped without a reply: a retransmission may be
    /// processed afresh.
    pub fn forget(&self, key: &RequestKey) {
        let mut shard = self.shard(key);
        shard.map.remove(key);
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| crate::sync::lock(s).map.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8, a0: u8) -> RequestKey {
        RequestKey {
            origin: Origin::udp("127.0.0.1:40000".parse().unwrap()),
            identifier: id,
            authenticator: [a0; 16],
        }
    }

    #[test]
    fn new_then_in_progress_then_replay() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        assert_eq!(c.check(key(1, 1), now), Lookup::New);
        assert_eq!(c.check(key(1, 1), now), Lookup::InProgress);
        let reply: Arc<[u8]> = Arc::from(&b"reply"[..]);
        c.complete(key(1, 1), reply.clone(), now);
        assert_eq!(c.check(key(1, 1), now), Lookup::Replay(reply));
        // Another identifier or authenticator is another request.
        assert_eq!(c.check(key(2, 1), now), Lookup::New);
        assert_eq!(c.check(key(1, 2), now), Lookup::New);
    }

    #[test]
    fn entries_expire() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        c.check(key(1, 1), now);
        c.complete(key(1, 1), Arc::from(&b"r"[..]), now);
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(11)),
            Lookup::New
        );
    }

    #[test]
    fn a_reply_lives_from_the_arrival_of_its_request() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        c.check(key(1, 1), now);
        let reply: Arc<[u8]> = Arc::from(&b"r"[..]);
        c.complete(key(1, 1), reply.clone(), now + Duration::from_secs(4));
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(9)),
            Lookup::Replay(reply)
        );
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(10)),
            Lookup::New
        );
    }

    #[test]
    fn a_reply_evicted_while_in_progress_is_kept_anew() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        c.check(key(1, 1), now);
        // Slower than the lifetime: the in-progress entry is purged by the
        // next request of its shard, and the reply is then remembered from
        // its own time.
        c.check(key(2, 1), now + Duration::from_secs(11));
        let reply: Arc<[u8]> = Arc::from(&b"r"[..]);
        c.complete(key(1, 1), reply.clone(), now + Duration::from_secs(12));
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(21)),
            Lookup::Replay(reply)
        );
        // key(2, 1), from +11 s, expired at +21 s.
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn keys_differing_in_any_field_are_different_requests() {
        use std::collections::hash_map::RandomState;
        use std::hash::BuildHasher;
        let base = key(1, 1);
        let mut others = vec![key(2, 1), key(1, 2)];
        let mut k = base;
        k.origin = Origin::udp("127.0.0.1:40001".parse().unwrap());
        others.push(k);
        k.origin = Origin::udp("[::1]:40000".parse().unwrap());
        others.push(k);
        k.origin = Origin::udp_to(
            "127.0.0.1:40000".parse().unwrap(),
            crate::admission::Port::Acct,
        );
        others.push(k);
        k.origin = Origin::tls("127.0.0.1:40000".parse().unwrap(), 7);
        others.push(k);
        k.origin = Origin::tls_with("127.0.0.1:40000".parse().unwrap(), 7, true);
        others.push(k);
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        assert_eq!(c.check(base, now), Lookup::New);
        for o in &others {
            assert_eq!(c.check(*o, now), Lookup::New, "{o:?}");
        }
        assert_eq!(c.check(base, now), Lookup::InProgress);
        // Equal keys hash equally (the packed bytes are the same).
        let s = RandomState::new();
        assert_eq!(s.hash_one(base), s.hash_one(key(1, 1)));
    }

    #[test]
    fn forget_allows_reprocessing() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        c.check(key(1, 1), now);
        c.forget(&key(1, 1));
        assert_eq!(c.check(key(1, 1), now), Lookup::New);
    }

    #[test]
    fn bounded() {
        let c = DuplicateCache::new(64, Duration::from_secs(3600));
        let now = Instant::now();
        for i in 0..=255u8 {
            for j in 0..40u8 {
                let mut k = key(j, i);
                k.authenticator[1] = j;
                c.check(k, now);
            }
        }
        assert!(c.len() <= 64, "len {}", c.len());
    }
}
