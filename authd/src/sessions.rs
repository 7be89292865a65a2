//! The EAP session table: conversations in progress, keyed by the RADIUS
//! State attribute (RFC 2865 §5.24).
//!
//! An attacker can open as many half-done conversations as it can send
//! Access-Requests, so the table is bounded: when full, the conversation that
//! has been idle longest is evicted. Idle conversations expire after a
//! configurable time (default 30 s). The table is split into shards so that
//! the worker threads rarely contend on one lock; a session being worked on is
//! taken out of the table (no lock is held during TLS work) and put back under
//! the same State when the reply is built.
//!
//! Time is an input (`now`), so the table is tested with a virtual clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The RADIUS State value that names one conversation.
pub type StateKey = [u8; 16];

const SHARDS: usize = 16;

struct Entry<S> {
    value: S,
    last_used: Instant,
    seq: u64,
}

struct Shard<S> {
    map: HashMap<StateKey, Entry<S>>,
    /// Insertion order (oldest first). An item whose `seq` no longer matches
    /// the entry in `map` is stale (the session was taken and re-inserted) and
    /// is skipped.
    order: VecDeque<(StateKey, u64)>,
    next_seq: u64,
}

impl<S> Shard<S> {
    fn new() -> Self {
        Shard {
            map: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Drop stale order items at the front so that the front, if any, names a
    /// live entry.
    fn trim_front(&mut self) {
        while let Some((key, seq)) = self.order.front() {
            match self.map.get(key) {
                Some(e) if e.seq == *seq => return,
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }

    /// Keep the order queue from growing without bound when sessions are
    /// taken and re-inserted many times.
    fn compact_if_needed(&mut self) {
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, seq)| map.get(k).is_some_and(|e| e.seq == *seq));
        }
    }
}

/// What an insert or a sweep removed, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub evicted: usize,
    pub expired: usize,
}

/// Bounded, sharded table of sessions with idle expiry.
pub struct SessionTable<S> {
    shards: Vec<Mutex<Shard<S>>>,
    per_shard_capacity: usize,
    idle_timeout: Duration,
}

impl<S> SessionTable<S> {
    /// `capacity` is the total number of sessions kept (at least one per shard).
    pub fn new(capacity: usize, idle_timeout: Duration) -> Self {
        let per_shard_capacity = capacity.div_ceil(SHARDS).max(1);
        SessionTable {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            per_shard_capacity,
            idle_timeout,
        }
    }

    fn shard(&self, key: &StateKey) -> std::sync::MutexGuard<'_, Shard<S>> {
        // The State is random, so any byte spreads the load evenly.
        let idx = key[0] as usize % SHARDS;
        // A panic while holding the lock cannot leave a shard in a state
        // that breaks its invariants (each operation is a few map/queue
        // calls), so keep serving.
        crate::sync::lock(&self.shards[idx])
    }

    /// Insert (or re-insert) a session. Returns how many sessions were evicted
    /// or found expired to make room.
    pub fn insert(&self, key: StateKey, value: S, now: Instant) -> Removed {
        let mut removed = Removed::default();
        let mut shard = self.shard(&key);
        let seq = shard.next_seq;
        shard.next_seq += 1;
        shard.map.remove(&key);
        while shard.map.len() >= self.per_shard_capacity {
            shard.trim_front();
            let Some((old, _)) = shard.order.pop_front() else {
                break;
            };
            if let Some(e) = shard.map.remove(&old) {
                if now.saturating_duration_since(e.last_used) >= self.idle_timeout {
                    removed.expired += 1;
                } else {
                    removed.evicted += 1;
                }
            }
        }
        shard.map.insert(
            key,
            Entry {
                value,
                last_used: now,
                seq,
            },
        );
        shard.order.push_back((key, seq));
        shard.compact_if_needed();
        removed
    }

    /// Take a session out of the table to work on it. An expired session is
    /// removed and `None` is returned.
    pub fn take(&self, key: &StateKey, now: Instant) -> Option<S> {
        let mut shard = self.shard(key);
        let entry = shard.map.remove(key)?;
        if now.saturating_duration_since(entry.last_used) >= self.idle_timeout {
            return None;
        }
        Some(entry.value)
    }

    /// Remove every session idle for longer than the timeout.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut expired = 0;
        for shard in &self.shards {
            let mut shard = crate::sync::lock(shard);
            loop {
                shard.trim_front();
                let Some((key, _)) = shard.order.front().copied() else {
                    break;
                };
                let idle = shard
                    .map
                    .get(&key)
                    .map(|e| now.saturating_duration_since(e.last_used));
                match idle {
                    Some(idle) if idle >= self.idle_timeout => {
                        shard.map.remove(&key);
                        shard.order.pop_front();
                        expired += 1;
                    }
                    _ => break,
                }
            }
        }
        expired
    }

    /// Number of sessions currently held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| crate::sync::lock(s).map.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest number of sessions the table keeps.
    pub fn capacity(&self) -> usize {
        self.per_shard_capacity * SHARDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(shard: u8, n: u8) -> StateKey {
        let mut k = [0u8; 16];
        k[0] = shard;
        k[1] = n;
        k
    }

    #[test]
    fn take_returns_inserted_value_once() {
        let t = SessionTable::new(64, Duration::from_secs(30));
        let now = Instant::now();
        t.insert(key(1, 1), "a", now);
        assert_eq!(t.take(&key(1, 1), now), Some("a"));
        assert_eq!(t.take(&key(1, 1), now), None);
    }

    #[test]
    fn idle_session_expires() {
        let t = SessionTable::new(64, Duration::from_secs(30));
        let now = Instant::now();
        t.insert(key(1, 1), 1, now);
        t.insert(key(2, 1), 2, now + Duration::from_secs(20));
        assert_eq!(t.take(&key(1, 1), now + Duration::from_secs(31)), None);
        // The second one is 11 s idle: still there.
        assert_eq!(t.take(&key(2, 1), now + Duration::from_secs(31)), Some(2));
    }

    #[test]
    fn sweep_removes_only_expired() {
        let t = SessionTable::new(1024, Duration::from_secs(30));
        let now = Instant::now();
        for i in 0..10 {
            t.insert(key(i, 0), i, now);
        }
        for i in 10..20 {
            t.insert(key(i, 0), i, now + Duration::from_secs(10));
        }
        assert_eq!(t.sweep(now + Duration::from_secs(35)), 10);
        assert_eq!(t.len(), 10);
        assert_eq!(t.sweep(now + Duration::from_secs(45)), 10);
        assert!(t.is_empty());
    }

    #[test]
    fn full_table_evicts_oldest_and_stays_bounded() {
        // 16 shards x 2 = capacity 32.
        let t = SessionTable::new(32, Duration::from_secs(30));
        let now = Instant::now();
        let mut evicted = 0;
        for n in 0..100u8 {
            let r = t.insert(key(3, n), n, now + Duration::from_millis(n as u64));
            evicted += r.evicted;
        }
        assert_eq!(evicted, 98);
        assert!(t.len() <= t.capacity());
        // The two newest in shard 3 survive, the oldest are gone.
        assert_eq!(t.take(&key(3, 99), now), Some(99));
        assert_eq!(t.take(&key(3, 98), now), Some(98));
        assert_eq!(t.take(&key(3, 0), now), None);
    }

    #[test]
    fn reinserted_session_is_not_evicted_by_its_stale_order_entry() {
        let t = SessionTable::new(32, Duration::from_secs(30));
        let now = Instant::now();
        t.insert(key(5, 1), 1, now);
        t.insert(key(5, 2), 2, now);
        // Work on session 1 and put it back: it is now the most recent.
        let v = t.take(&key(5, 1), now).unwrap();
        t.insert(key(5, 1), v, now + Duration::from_secs(1));
        // A third session in the full shard evicts session 2, not session 1.
        let r = t.insert(key(5, 3), 3, now + Duration::from_secs(2));
        assert_eq!(r.evicted, 1);
        assert_eq!(t.take(&key(5, 2), now), None);
        assert_eq!(t.take(&key(5, 1), now), Some(1));
    }

    #[test]
    fn order_queue_does_not_grow_with_reinsertion() {
        let t = SessionTable::new(1024, Duration::from_secs(30));
        let now = Instant::now();
        t.insert(key(7, 1), 0u32, now);
        for i in 0..10_000u32 {
            let v = t.take(&key(7, 1), now).unwrap();
            t.insert(key(7, 1), v + i, now);
        }
        let shard = t.shard(&key(7, 1));
        assert!(shard.order.len() < 200, "order len {}", shard.order.len());
    }
}
