//! Duplicate detection (RFC 5080 §2.2.2).
//!
//! A NAS retransmits an Access-Request it got no answer to with the same
//! source address and port, Identifier and Request Authenticator. Such a
//! retransmission must get the very reply the original got, and must never
//! advance the EAP conversation a second time. The cache remembers, per
//! request, either that it is still being worked on (a retransmission then is
//! dropped: the reply is on its way) or the reply bytes, for a bounded time and
//! a bounded number of entries.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::admission::Origin;

const SHARDS: usize = 8;

/// What identifies one request on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestKey {
    /// The source; a TLS origin names its connection.
    pub origin: Origin,
    pub identifier: u8,
    pub authenticator: [u8; 16],
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

    fn purge(&self, shard: &mut Shard, now: Instant) {
        while let Some((k, at)) = shard.order.front().copied() {
            let expired = now.saturating_duration_since(at) >= self.lifetime;
            if !expired && shard.map.len() < self.per_shard_capacity {
                break;
            }
            shard.order.pop_front();
            if shard.map.get(&k).is_some_and(|e| e.at == at) {
                shard.map.remove(&k);
            }
        }
    }

    /// Look a request up; a new one is marked in progress.
    pub fn check(&self, key: RequestKey, now: Instant) -> Lookup {
        let mut shard = self.shard(&key);
        self.purge(&mut shard, now);
        if let Some(e) = shard.map.get(&key) {
            return match &e.slot {
                Slot::InProgress => Lookup::InProgress,
                Slot::Done(bytes) => Lookup::Replay(bytes.clone()),
            };
        }
        shard.map.insert(
            key,
            Entry {
                slot: Slot::InProgress,
                at: now,
            },
        );
        shard.order.push_back((key, now));
        Lookup::New
    }

    /// Remember the reply sent for a request.
    pub fn complete(&self, key: RequestKey, reply: Arc<[u8]>, now: Instant) {
        let mut shard = self.shard(&key);
        shard.map.insert(
            key,
            Entry {
                slot: Slot::Done(reply),
                at: now,
            },
        );
        shard.order.push_back((key, now));
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
