//! Duplicate detection (RFC 5080 §2.2.2).
//!
//! A NAS retransmits an Access-Request it got no answer to with the same
//! source address and port, Identifier and Request Authenticator. Such a
//! retransmission must get the very reply the original got, and must never
//! advance the EAP conversation a second time. The cache remembers, per
//! request, either that it is still being worked on (a retransmission then is
//! dropped: the reply is on its way) or the reply bytes, for a bounded time and
//! a bounded number of entries.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hashbrown::HashTable;

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

/// A request the cache marked in progress, with the hash of its key, so
/// that completing or forgetting it hashes nothing again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    key: RequestKey,
    hash: u64,
}

impl Tracked {
    pub fn key(&self) -> &RequestKey {
        &self.key
    }
}

#[derive(Clone)]
enum Slot {
    InProgress,
    Done(Arc<[u8]>),
}

/// One request, in arrival order in its shard's ring.
struct Record {
    key: RequestKey,
    hash: u64,
    slot: Slot,
    at: Instant,
}

/// A shard: the records in arrival order, and an index from key to record.
///
/// The index is a table of record numbers (four octets a bucket), not of
/// records: at its steady state of one insertion and one eviction per
/// request, the table stays small enough for the cache (about 160 KB a
/// shard at the default capacity) while the records, written at the back
/// and evicted from the front, are touched in order. The table is
/// allocated once at twice the shard's capacity and so never more than
/// half full: an erased slot then mostly goes back to empty rather than to
/// a tombstone, and when tombstones do run out its room it rehashes in
/// place, without allocating. (A `HashMap` of the records themselves
/// reallocated itself over and over at that steady state, faulting in
/// fresh pages each time; and even allocated once, a table of the records
/// is several megabytes whose probes missed the cache: a fifth of the CPU
/// of a PAP answer.)
struct Shard {
    /// Record numbers (wrapping) of live entries, hashed by their key.
    index: HashTable<u32>,
    /// Records, oldest first; `ring[0]` is record number `first`. Records
    /// of forgotten entries stay until they reach the front.
    ring: VecDeque<Record>,
    first: u32,
}

/// Where record `number` sits in a ring whose front is record `first`.
fn position(first: u32, number: u32) -> usize {
    number.wrapping_sub(first) as usize
}

impl Shard {
    fn record(&self, number: u32) -> &Record {
        &self.ring[position(self.first, number)]
    }

    fn record_mut(&mut self, number: u32) -> &mut Record {
        let at = position(self.first, number);
        &mut self.ring[at]
    }

    /// Appends a record for a key the index does not hold.
    fn push(&mut self, key: RequestKey, hash: u64, slot: Slot, now: Instant) {
        let number = self.first.wrapping_add(self.ring.len() as u32);
        self.ring.push_back(Record {
            key,
            hash,
            slot,
            at: now,
        });
        let Shard { index, ring, first } = self;
        index.insert_unique(hash, number, |&n| ring[position(*first, n)].hash);
    }

    /// The index entry of `key`, if any.
    fn find(&self, key: &RequestKey, hash: u64) -> Option<u32> {
        self.index
            .find(hash, |&n| self.record(n).key == *key)
            .copied()
    }
}

/// What to do with an incoming request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// First time seen: process it, then call `complete` or `forget`.
    New(Tracked),
    /// Being processed right now: drop the copy.
    InProgress,
    /// Answered before: send these bytes again.
    Replay(Arc<[u8]>),
}

/// The shards' indexes are hash tables of their own (`hashbrown`'s
/// `HashTable`, the table behind std's `HashMap`): the key is hashed once
/// per request, not again for the completion and for each eviction, and
/// the table holds record numbers rather than records (see [`Shard`]).
pub struct DuplicateCache {
    shards: Vec<Mutex<Shard>>,
    per_shard_capacity: usize,
    lifetime: Duration,
    hasher: RandomState,
}

impl DuplicateCache {
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        let per_shard_capacity = capacity.div_ceil(SHARDS).max(1);
        DuplicateCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        index: HashTable::with_capacity(2 * per_shard_capacity),
                        ring: VecDeque::with_capacity(per_shard_capacity + 1),
                        first: 0,
                    })
                })
                .collect(),
            per_shard_capacity,
            lifetime,
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, Shard> {
        // Bits the tables do not use: they index buckets with the low bits
        // and tag them with the top seven.
        let idx = (hash >> 32) as usize % SHARDS;
        crate::sync::lock(&self.shards[idx])
    }

    /// Drops the records past their lifetime and, when `make_room`, the
    /// oldest while the ring is full (records of forgotten entries count:
    /// the ring, not only the index, is bounded).
    fn purge(&self, shard: &mut Shard, now: Instant, make_room: bool) {
        while let Some(front) = shard.ring.front() {
            let expired = now.saturating_duration_since(front.at) >= self.lifetime;
            let full = make_room && shard.ring.len() >= self.per_shard_capacity;
            if !expired && !full {
                break;
            }
            let hash = front.hash;
            let number = shard.first;
            // The index names this record only if its entry is still live
            // (not forgotten, nor made anew by `complete`).
            if let Ok(e) = shard.index.find_entry(hash, |&n| n == number) {
                e.remove();
            }
            shard.ring.pop_front();
            shard.first = shard.first.wrapping_add(1);
        }
    }

    /// Look a request up; a new one is marked in progress. One hash for the
    /// lookup, the insertion and what follows.
    pub fn check(&self, key: RequestKey, now: Instant) -> Lookup {
        let hash = self.hasher.hash_one(key);
        let mut shard = self.shard(hash);
        self.purge(&mut shard, now, false);
        match shard.find(&key, hash) {
            Some(n) => match &shard.record(n).slot {
                Slot::InProgress => Lookup::InProgress,
                Slot::Done(bytes) => Lookup::Replay(bytes.clone()),
            },
            None => {
                self.purge(&mut shard, now, true);
                shard.push(key, hash, Slot::InProgress, now);
                Lookup::New(Tracked { key, hash })
            }
        }
    }

    /// Remember the reply sent for a request. The entry keeps the time the
    /// request arrived: the reply is kept for the lifetime counted from
    /// then (RFC 5080 §2.2.2 leaves the time to the server), so the entry
    /// needs no second record. An entry evicted meanwhile (a full shard, or
    /// a request slower than the lifetime) is made anew.
    pub fn complete(&self, tracked: Tracked, reply: Arc<[u8]>, now: Instant) {
        let Tracked { key, hash } = tracked;
        let mut shard = self.shard(hash);
        match shard.find(&key, hash) {
            Some(n) => shard.record_mut(n).slot = Slot::Done(reply),
            None => {
                self.purge(&mut shard, now, true);
                shard.push(key, hash, Slot::Done(reply), now);
            }
        }
    }

    /// The request was dropped without a reply: a retransmission may be
    /// processed afresh.
    pub fn forget(&self, tracked: &Tracked) {
        let mut shard = self.shard(tracked.hash);
        let Shard { index, ring, first } = &mut *shard;
        if let Ok(e) = index.find_entry(tracked.hash, |&n| {
            ring[position(*first, n)].key == tracked.key
        }) {
            e.remove();
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| crate::sync::lock(s).index.len())
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

    /// Checks a key expected to be new; its ticket.
    fn new(c: &DuplicateCache, k: RequestKey, now: Instant) -> Tracked {
        match c.check(k, now) {
            Lookup::New(t) => {
                assert_eq!(t.key(), &k);
                t
            }
            other => panic!("{k:?}: {other:?}, not New"),
        }
    }

    #[test]
    fn new_then_in_progress_then_replay() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        let t = new(&c, key(1, 1), now);
        assert_eq!(c.check(key(1, 1), now), Lookup::InProgress);
        let reply: Arc<[u8]> = Arc::from(&b"reply"[..]);
        c.complete(t, reply.clone(), now);
        assert_eq!(c.check(key(1, 1), now), Lookup::Replay(reply));
        // Another identifier or authenticator is another request.
        new(&c, key(2, 1), now);
        new(&c, key(1, 2), now);
    }

    #[test]
    fn entries_expire() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        let t = new(&c, key(1, 1), now);
        c.complete(t, Arc::from(&b"r"[..]), now);
        new(&c, key(1, 1), now + Duration::from_secs(11));
    }

    #[test]
    fn a_reply_lives_from_the_arrival_of_its_request() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        let t = new(&c, key(1, 1), now);
        let reply: Arc<[u8]> = Arc::from(&b"r"[..]);
        c.complete(t, reply.clone(), now + Duration::from_secs(4));
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(9)),
            Lookup::Replay(reply)
        );
        new(&c, key(1, 1), now + Duration::from_secs(10));
    }

    /// A key other than `of` in the same shard as `of`.
    fn shard_mate(c: &DuplicateCache, of: RequestKey) -> RequestKey {
        let shard = |k: RequestKey| (c.hasher.hash_one(k) >> 32) as usize % SHARDS;
        (0..=255u8)
            .map(|id| key(id, 7))
            .find(|k| shard(*k) == shard(of))
            .expect("256 keys over 8 shards")
    }

    #[test]
    fn a_reply_evicted_while_in_progress_is_kept_anew() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        let t = new(&c, key(1, 1), now);
        let mate = shard_mate(&c, key(1, 1));
        // Slower than the lifetime: the in-progress entry is purged by the
        // next request of its shard, and the reply is then remembered from
        // its own time.
        new(&c, mate, now + Duration::from_secs(11));
        assert_eq!(c.len(), 1, "key(1, 1) purged");
        let reply: Arc<[u8]> = Arc::from(&b"r"[..]);
        c.complete(t, reply.clone(), now + Duration::from_secs(12));
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(21)),
            Lookup::Replay(reply)
        );
        // The mate, from +11 s, expired at +21 s.
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_stale_record_does_not_evict_the_entry_made_again() {
        let c = DuplicateCache::new(100, Duration::from_secs(10));
        let now = Instant::now();
        let t = new(&c, key(1, 1), now);
        c.forget(&t);
        // The same request again, 5 s later: a second record.
        let t = new(&c, key(1, 1), now + Duration::from_secs(5));
        let reply: Arc<[u8]> = Arc::from(&b"r"[..]);
        c.complete(t, reply.clone(), now + Duration::from_secs(5));
        // The first record expires at +10 s; the entry, from +5 s, lives
        // on until +15 s.
        assert_eq!(
            c.check(key(1, 1), now + Duration::from_secs(11)),
            Lookup::Replay(reply)
        );
        new(&c, key(1, 1), now + Duration::from_secs(15));
    }

    #[test]
    fn record_numbers_wrap() {
        let c = DuplicateCache::new(SHARDS * 4, Duration::from_secs(3600));
        for s in &c.shards {
            crate::sync::lock(s).first = u32::MAX - 2;
        }
        let now = Instant::now();
        let reply: Arc<[u8]> = Arc::from(&b"r"[..]);
        // Four records a shard: ten keys of one shard pass the wrap, and
        // each eviction takes the oldest.
        let first = key(0, 9);
        let mut mates = vec![first];
        while mates.len() < 10 {
            let last = *mates.last().unwrap();
            let shard = |k: RequestKey| (c.hasher.hash_one(k) >> 32) as usize % SHARDS;
            let next = (last.identifier + 1..=255)
                .map(|id| key(id, 9))
                .find(|k| shard(*k) == shard(first))
                .expect("keys of one shard");
            mates.push(next);
        }
        for (i, k) in mates.iter().enumerate() {
            let t = new(&c, *k, now);
            c.complete(t, reply.clone(), now);
            assert_eq!(c.check(*k, now), Lookup::Replay(reply.clone()), "{i}");
        }
        // The four newest are kept, the one before them was evicted.
        for k in &mates[6..] {
            assert_eq!(c.check(*k, now), Lookup::Replay(reply.clone()), "{k:?}");
        }
        assert_eq!(c.len(), 4);
        new(&c, mates[5], now);
        assert_eq!(c.len(), 4);
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
        new(&c, base, now);
        for o in &others {
            new(&c, *o, now);
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
        let t = new(&c, key(1, 1), now);
        c.forget(&t);
        new(&c, key(1, 1), now);
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
