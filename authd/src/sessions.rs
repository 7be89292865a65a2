//! The EAP session table: conversations in progress, keyed by the RADIUS
//! State attribute (RFC 2865 §5.24).
//!
//! An attacker can open as many half-done conversations as it can send
//! Access-Requests, so the table has two bounds: a number of conversations
//! and a byte budget (each entry is charged the size its caller estimates,
//! see [`CONVERSATION_BASE_COST`]). Idle conversations expire after a
//! configurable time (default 30 s).
//!
//! Each conversation belongs to the NAS client that started it. When a bound
//! is reached, the conversation evicted is the longest-idle one of the
//! client holding the most (by count when the count bound is reached, by
//! bytes when the byte budget is), counting the new conversation as its
//! owner's; on a tie the inserting client loses its own. The largest holder
//! always holds at least its fair share (the bound divided by the number of
//! clients with conversations in progress), so a client within its fair
//! share never loses a conversation to another client's new one: one NAS,
//! or one station spoofing MAC addresses behind it, only evicts its own.
//! A client alone may use the whole table.
//!
//! The table is split into shards so that the worker threads rarely contend
//! on one lock; each shard enforces its part of both bounds (States are
//! random, so every client's conversations spread evenly over the shards).
//! A session being worked on is taken out of the table (no lock is held
//! during TLS work) and put back under the same State when the reply is
//! built.
//!
//! Time is an input (`now`), so the table is tested with a virtual clock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The RADIUS State value that names one conversation.
pub type StateKey = [u8; 16];

const SHARDS: usize = 16;

/// What one EAP-TLS conversation in progress costs besides the bytes its
/// caller knows about (reassembly): the TLS state, the outgoing flight, the
/// table entry. Measured with `fourway-sim load --half-open` (BENCHMARKS.md:
/// 13.0 KiB with TLS 1.3, 10.9 KiB with TLS 1.2 per conversation, from the
/// server's resident memory), rounded up.
pub const CONVERSATION_BASE_COST: usize = 16 * 1024;

/// Octets the EAP-TLS reassembly buffer holds after `eap` (an EAP-Response
/// from the peer), given what it held before: a fragment with the M flag
/// (RFC 5216 §3.1) adds its length, anything else completes or abandons the
/// message. An over-estimate by the EAP and EAP-TLS headers.
pub fn reassembly_octets(before: usize, eap: &[u8]) -> usize {
    const EAP_TYPE_TLS: u8 = 13;
    const FLAG_M: u8 = 0x40;
    match (eap.get(4), eap.get(5)) {
        (Some(&EAP_TYPE_TLS), Some(flags)) if flags & FLAG_M != 0 => {
            before.saturating_add(eap.len())
        }
        _ => 0,
    }
}

/// The bounds of a [`SessionTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Conversations kept at most (rounded up to a multiple of the shards).
    pub max_sessions: usize,
    /// Bytes charged for all conversations at most.
    pub max_bytes: usize,
    pub idle_timeout: Duration,
}

struct Entry<S> {
    value: S,
    owner: Arc<str>,
    size: usize,
    last_used: Instant,
    seq: u64,
}

/// What one NAS client holds in a shard.
#[derive(Default)]
struct Holding {
    count: usize,
    bytes: usize,
    /// This client's entries, oldest first (stale items skipped, as in
    /// [`Shard::order`]).
    order: VecDeque<(StateKey, u64)>,
}

struct Shard<S> {
    map: HashMap<StateKey, Entry<S>>,
    /// Insertion order (oldest first). An item whose `seq` no longer matches
    /// the entry in `map` is stale (the session was taken and re-inserted) and
    /// is skipped.
    order: VecDeque<(StateKey, u64)>,
    /// Per NAS client; a client with nothing in the shard has no item.
    holdings: HashMap<Arc<str>, Holding>,
    /// Conversations checked out and being worked on right now: their
    /// token and when they were checked out (a leaked mark is swept like an
    /// idle conversation). At most one per conversation in the table.
    busy: HashMap<StateKey, (u64, Instant)>,
    bytes: usize,
    next_seq: u64,
}

fn is_live<S>(map: &HashMap<StateKey, Entry<S>>, key: &StateKey, seq: u64) -> bool {
    map.get(key).is_some_and(|e| e.seq == seq)
}

/// Drop stale items at the front of `order` so that the front, if any,
/// names a live entry.
fn trim_front<S>(map: &HashMap<StateKey, Entry<S>>, order: &mut VecDeque<(StateKey, u64)>) {
    while let Some((key, seq)) = order.front() {
        if is_live(map, key, *seq) {
            return;
        }
        order.pop_front();
    }
}

/// Keep an order queue from growing without bound when sessions are taken
/// and re-inserted many times.
fn compact<S>(
    map: &HashMap<StateKey, Entry<S>>,
    order: &mut VecDeque<(StateKey, u64)>,
    live: usize,
) {
    if order.len() > 2 * live + 64 {
        order.retain(|(k, seq)| is_live(map, k, *seq));
    }
}

impl<S> Shard<S> {
    fn new() -> Self {
        Shard {
            map: HashMap::new(),
            order: VecDeque::new(),
            holdings: HashMap::new(),
            busy: HashMap::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// Remove `key` and release what its owner was charged.
    fn remove(&mut self, key: &StateKey) -> Option<Entry<S>> {
        let e = self.map.remove(key)?;
        self.bytes -= e.size;
        if let Some(h) = self.holdings.get_mut(&*e.owner) {
            h.count -= 1;
            h.bytes -= e.size;
            if h.count == 0 {
                self.holdings.remove(&*e.owner);
            }
        }
        Some(e)
    }

    /// The longest-idle live entry of `owner`.
    fn oldest_of(&mut self, owner: &str) -> Option<StateKey> {
        let h = self.holdings.get_mut(owner)?;
        trim_front(&self.map, &mut h.order);
        h.order.front().map(|(k, _)| *k)
    }

    /// The client to evict from when a bound is reached: the one holding
    /// the most by `measure` once the new entry (`extra`, of `inserting`)
    /// is counted; `inserting` on a tie.
    fn largest_holder(
        &self,
        inserting: &str,
        extra: usize,
        measure: fn(&Holding) -> usize,
    ) -> Option<Arc<str>> {
        let own = self.holdings.get(inserting).map_or(0, measure) + extra;
        let other = self
            .holdings
            .iter()
            .filter(|(o, _)| &***o != inserting)
            .max_by_key(|(_, h)| measure(h));
        match other {
            Some((o, h)) if measure(h) > own => Some(o.clone()),
            _ => self
                .holdings
                .get_key_value(inserting)
                .map(|(o, _)| o.clone()),
        }
    }
}

/// What [`SessionTable::check_out`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum CheckOut<S> {
    /// The session, taken out; release the token when done with it.
    Found(S, u64),
    /// Another request is working on it right now.
    Busy,
    /// No such State, or it expired.
    Unknown,
}

/// What an insert or a sweep removed, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Evicted because the number of conversations reached its bound.
    pub evicted_full: usize,
    /// Evicted because the byte budget was reached.
    pub evicted_memory: usize,
    /// Of the evicted, those that belonged to another client than the
    /// inserting one (it was holding more than its share).
    pub evicted_other_client: usize,
    /// Found idle past the timeout.
    pub expired: usize,
    /// The new conversation alone is larger than the shard's part of the
    /// byte budget: not kept.
    pub refused: bool,
}

impl Removed {
    pub fn evicted(&self) -> usize {
        self.evicted_full + self.evicted_memory
    }
}

/// Bounded, sharded table of sessions with idle expiry and per-client
/// shares.
pub struct SessionTable<S> {
    shards: Vec<Mutex<Shard<S>>>,
    per_shard_capacity: usize,
    per_shard_bytes: usize,
    idle_timeout: Duration,
}

impl<S> SessionTable<S> {
    pub fn new(limits: Limits) -> Self {
        SessionTable {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            per_shard_capacity: limits.max_sessions.div_ceil(SHARDS).max(1),
            per_shard_bytes: (limits.max_bytes / SHARDS).max(1),
            idle_timeout: limits.idle_timeout,
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

    /// Insert (or re-insert) the session `key` of NAS client `owner`,
    /// charged `size` bytes. Returns what was evicted or found expired to
    /// make room, and whether the session itself was refused.
    pub fn insert(
        &self,
        key: StateKey,
        owner: &str,
        size: usize,
        value: S,
        now: Instant,
    ) -> Removed {
        let mut removed = Removed::default();
        let mut shard = self.shard(&key);
        shard.remove(&key);
        if size > self.per_shard_bytes {
            removed.refused = true;
            return removed;
        }
        removed.expired += self.expire_front(&mut shard, now);
        loop {
            let full = shard.map.len() >= self.per_shard_capacity;
            let over_budget = shard.bytes + size > self.per_shard_bytes;
            let victim_owner = if full {
                shard.largest_holder(owner, 1, |h| h.count)
            } else if over_budget {
                shard.largest_holder(owner, size, |h| h.bytes)
            } else {
                break;
            };
            let Some(victim) = victim_owner.and_then(|o| shard.oldest_of(&o)) else {
                // Nothing left to evict (cannot happen while a bound is
                // reached, since that needs entries): keep the bound.
                removed.refused = true;
                return removed;
            };
            if let Some(e) = shard.remove(&victim) {
                if now.saturating_duration_since(e.last_used) >= self.idle_timeout {
                    removed.expired += 1;
                } else {
                    if full {
                        removed.evicted_full += 1;
                    } else {
                        removed.evicted_memory += 1;
                    }
                    if &*e.owner != owner {
                        removed.evicted_other_client += 1;
                    }
                }
            }
        }
        let seq = shard.next_seq;
        shard.next_seq += 1;
        let owner: Arc<str> = match shard.holdings.get_key_value(owner) {
            Some((o, _)) => o.clone(),
            None => Arc::from(owner),
        };
        shard.map.insert(
            key,
            Entry {
                value,
                owner: owner.clone(),
                size,
                last_used: now,
                seq,
            },
        );
        shard.order.push_back((key, seq));
        shard.bytes += size;
        let shard = &mut *shard;
        let h = shard.holdings.entry(owner).or_default();
        h.count += 1;
        h.bytes += size;
        h.order.push_back((key, seq));
        compact(&shard.map, &mut h.order, h.count);
        compact(&shard.map, &mut shard.order, shard.map.len());
        removed
    }

    /// Remove the expired entries at the front of the shard's order.
    fn expire_front(&self, shard: &mut Shard<S>, now: Instant) -> usize {
        let mut expired = 0;
        loop {
            trim_front(&shard.map, &mut shard.order);
            let Some((key, _)) = shard.order.front().copied() else {
                break;
            };
            let idle = shard
                .map
                .get(&key)
                .map(|e| now.saturating_duration_since(e.last_used));
            match idle {
                Some(idle) if idle >= self.idle_timeout => {
                    shard.remove(&key);
                    shard.order.pop_front();
                    expired += 1;
                }
                _ => break,
            }
        }
        expired
    }

    /// Take a session out of the table to work on it, and mark its State
    /// busy until [`SessionTable::release`] with the returned token, so that
    /// a second request naming it meanwhile is told apart from one naming
    /// an unknown State.
    pub fn check_out(&self, key: &StateKey, now: Instant) -> CheckOut<S> {
        let mut shard = self.shard(key);
        let Some(entry) = shard.remove(key) else {
            return match shard.busy.get(key) {
                Some(_) => CheckOut::Busy,
                None => CheckOut::Unknown,
            };
        };
        if now.saturating_duration_since(entry.last_used) >= self.idle_timeout {
            return CheckOut::Unknown;
        }
        let token = shard.next_seq;
        shard.next_seq += 1;
        shard.busy.insert(*key, (token, now));
        CheckOut::Found(entry.value, token)
    }

    /// Clears the busy mark [`SessionTable::check_out`] set, unless a later
    /// check-out (the session was put back and taken again) owns it now.
    pub fn release(&self, key: &StateKey, token: u64) {
        let mut shard = self.shard(key);
        if shard.busy.get(key).is_some_and(|(t, _)| *t == token) {
            shard.busy.remove(key);
        }
    }

    /// Take a session out of the table to work on it. An expired session is
    /// removed and `None` is returned.
    pub fn take(&self, key: &StateKey, now: Instant) -> Option<S> {
        let mut shard = self.shard(key);
        let entry = shard.remove(key)?;
        if now.saturating_duration_since(entry.last_used) >= self.idle_timeout {
            return None;
        }
        Some(entry.value)
    }

    /// Remove every session idle for longer than the timeout.
    pub fn sweep(&self, now: Instant) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut shard = crate::sync::lock(shard);
                let timeout = self.idle_timeout;
                shard
                    .busy
                    .retain(|_, (_, since)| now.saturating_duration_since(*since) < timeout);
                self.expire_front(&mut shard, now)
            })
            .sum()
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

    /// Bytes charged for the sessions currently held.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| crate::sync::lock(s).bytes).sum()
    }

    /// Sessions and bytes held by NAS client `owner`.
    pub fn holding(&self, owner: &str) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(n, b), s| {
            let s = crate::sync::lock(s);
            let h = s.holdings.get(owner);
            (n + h.map_or(0, |h| h.count), b + h.map_or(0, |h| h.bytes))
        })
    }

    /// The largest number of sessions the table keeps.
    pub fn capacity(&self) -> usize {
        self.per_shard_capacity * SHARDS
    }

    /// The largest number of bytes the table charges.
    pub fn max_bytes(&self) -> usize {
        self.per_shard_bytes * SHARDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "nas-a";
    const B: &str = "nas-b";
    const KIB: usize = 1024;

    fn key(shard: u8, n: u16) -> StateKey {
        let mut k = [0u8; 16];
        k[0] = shard;
        k[1..3].copy_from_slice(&n.to_be_bytes());
        k
    }

    fn table(max_sessions: usize, max_bytes: usize) -> SessionTable<u32> {
        SessionTable::new(Limits {
            max_sessions,
            max_bytes,
            idle_timeout: Duration::from_secs(30),
        })
    }

    /// A key spread over all shards, like the random State.
    fn spread(n: u32) -> StateKey {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&n.to_le_bytes());
        k
    }

    #[test]
    fn checked_out_state_is_busy_until_released() {
        let t = table(64, 1 << 20);
        let now = Instant::now();
        t.insert(key(1, 1), "ap", 100, 7, now);
        let CheckOut::Found(v, token) = t.check_out(&key(1, 1), now) else {
            panic!("the inserted session")
        };
        assert_eq!(v, 7);
        // Worked on: a second request naming it is told apart from an
        // unknown State.
        assert_eq!(t.check_out(&key(1, 1), now), CheckOut::Busy);
        assert_eq!(t.check_out(&key(2, 2), now), CheckOut::Unknown);
        // Put back, taken again by a later request, then the first
        // request's release must not clear the second's mark.
        t.insert(key(1, 1), "ap", 100, 8, now);
        let CheckOut::Found(_, second) = t.check_out(&key(1, 1), now) else {
            panic!()
        };
        t.release(&key(1, 1), token);
        assert_eq!(t.check_out(&key(1, 1), now), CheckOut::Busy);
        t.release(&key(1, 1), second);
        assert_eq!(t.check_out(&key(1, 1), now), CheckOut::Unknown);
        // A mark never released is swept like an idle conversation.
        t.insert(key(3, 3), "ap", 100, 9, now);
        assert!(matches!(t.check_out(&key(3, 3), now), CheckOut::Found(..)));
        t.sweep(now + Duration::from_secs(31));
        assert_eq!(t.check_out(&key(3, 3), now), CheckOut::Unknown);
    }

    #[test]
    fn take_returns_inserted_value_once() {
        let t = table(64, usize::MAX);
        let now = Instant::now();
        t.insert(key(1, 1), A, 1, 7, now);
        assert_eq!(t.take(&key(1, 1), now), Some(7));
        assert_eq!(t.take(&key(1, 1), now), None);
        assert_eq!(t.holding(A), (0, 0));
        assert_eq!(t.bytes(), 0);
    }

    #[test]
    fn idle_session_expires() {
        let t = table(64, usize::MAX);
        let now = Instant::now();
        t.insert(key(1, 1), A, 1, 1, now);
        t.insert(key(2, 1), A, 1, 2, now + Duration::from_secs(20));
        assert_eq!(t.take(&key(1, 1), now + Duration::from_secs(31)), None);
        // The second one is 11 s idle: still there.
        assert_eq!(t.take(&key(2, 1), now + Duration::from_secs(31)), Some(2));
    }

    #[test]
    fn sweep_removes_only_expired() {
        let t = table(1024, usize::MAX);
        let now = Instant::now();
        for i in 0..10 {
            t.insert(key(i, 0), A, 100, i as u32, now);
        }
        for i in 10..20 {
            t.insert(key(i, 0), B, 100, i as u32, now + Duration::from_secs(10));
        }
        assert_eq!(t.sweep(now + Duration::from_secs(35)), 10);
        assert_eq!(t.len(), 10);
        assert_eq!(t.holding(A), (0, 0));
        assert_eq!(t.holding(B), (10, 1000));
        assert_eq!(t.sweep(now + Duration::from_secs(45)), 10);
        assert!(t.is_empty());
        assert_eq!(t.bytes(), 0);
    }

    #[test]
    fn full_table_evicts_oldest_and_stays_bounded() {
        // 16 shards x 2 = capacity 32.
        let t = table(32, usize::MAX);
        let now = Instant::now();
        let mut evicted = 0;
        for n in 0..100u16 {
            let r = t.insert(
                key(3, n),
                A,
                1,
                n as u32,
                now + Duration::from_millis(n as u64),
            );
            evicted += r.evicted_full;
            assert_eq!(r.evicted_memory, 0);
            assert_eq!(r.evicted_other_client, 0);
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
        let t = table(32, usize::MAX);
        let now = Instant::now();
        t.insert(key(5, 1), A, 1, 1, now);
        t.insert(key(5, 2), A, 1, 2, now);
        // Work on session 1 and put it back: it is now the most recent.
        let v = t.take(&key(5, 1), now).unwrap();
        t.insert(key(5, 1), A, 1, v, now + Duration::from_secs(1));
        // A third session in the full shard evicts session 2, not session 1.
        let r = t.insert(key(5, 3), A, 1, 3, now + Duration::from_secs(2));
        assert_eq!(r.evicted(), 1);
        assert_eq!(t.take(&key(5, 2), now), None);
        assert_eq!(t.take(&key(5, 1), now), Some(1));
    }

    #[test]
    fn order_queues_do_not_grow_with_reinsertion() {
        let t = table(1024, usize::MAX);
        let now = Instant::now();
        t.insert(key(7, 1), A, 1, 0u32, now);
        for i in 0..10_000u32 {
            let v = t.take(&key(7, 1), now).unwrap();
            t.insert(key(7, 1), A, 1, v + i, now);
        }
        let shard = t.shard(&key(7, 1));
        assert!(shard.order.len() < 200, "order len {}", shard.order.len());
        let own = shard.holdings[A].order.len();
        assert!(own < 200, "client order len {own}");
    }

    #[test]
    fn a_flood_from_one_client_evicts_only_its_own() {
        let t = table(2_000, usize::MAX);
        let t0 = Instant::now();
        // Client B's conversations start first (the longest idle of all).
        for n in 0..100 {
            t.insert(spread(1_000_000 + n), B, 16 * KIB, n, t0);
        }
        let mut evicted = Removed::default();
        for n in 0..20_000u32 {
            let at = t0 + Duration::from_millis(1 + n as u64 / 1000);
            let r = t.insert(spread(n), A, 16 * KIB, n, at);
            evicted.evicted_full += r.evicted_full;
            evicted.evicted_other_client += r.evicted_other_client;
        }
        assert!(t.len() <= t.capacity());
        // The flood went past the table size, so it evicted...
        assert!(evicted.evicted_full >= 18_000, "{evicted:?}");
        // ...but only its own conversations.
        assert_eq!(evicted.evicted_other_client, 0, "{evicted:?}");
        assert_eq!(t.holding(B), (100, 100 * 16 * KIB));
        let later = t0 + Duration::from_secs(5);
        for n in 0..100 {
            assert_eq!(t.take(&spread(1_000_000 + n), later), Some(n));
        }
        // Positive control: without the owner rule (B's as A's), the oldest,
        // B's, would have gone first.
        let t = table(2_000, usize::MAX);
        for n in 0..100 {
            t.insert(spread(1_000_000 + n), A, 16 * KIB, n, t0);
        }
        for n in 0..20_000u32 {
            t.insert(spread(n), A, 16 * KIB, n, t0 + Duration::from_millis(1));
        }
        assert_eq!(t.take(&spread(1_000_000), t0), None);
    }

    #[test]
    fn a_new_client_takes_its_share_from_the_largest() {
        // One shard in use: capacity 4 per shard.
        let t = table(64, usize::MAX);
        let t0 = Instant::now();
        for n in 0..4 {
            t.insert(key(9, n), A, 1, n as u32, t0);
        }
        // B starts while A fills the shard: A's oldest goes.
        let r = t.insert(key(9, 100), B, 1, 100, t0 + Duration::from_secs(1));
        assert_eq!(r.evicted_full, 1);
        assert_eq!(r.evicted_other_client, 1);
        assert_eq!(t.take(&key(9, 0), t0), None);
        let r = t.insert(key(9, 101), B, 1, 101, t0 + Duration::from_secs(2));
        assert_eq!(r.evicted_other_client, 1);
        // Now two each: B's next one evicts B's own (tie: the inserter).
        let r = t.insert(key(9, 102), B, 1, 102, t0 + Duration::from_secs(3));
        assert_eq!((r.evicted_full, r.evicted_other_client), (1, 0));
        assert_eq!(t.take(&key(9, 100), t0), None);
        assert_eq!(t.take(&key(9, 101), t0), Some(101));
        assert_eq!(t.take(&key(9, 2), t0), Some(2));
    }

    #[test]
    fn byte_budget_is_enforced() {
        // 16 shards x 64 KiB = 1 MiB; every conversation costs 16 KiB.
        let t = table(65_536, 1024 * KIB);
        let t0 = Instant::now();
        let mut r = Removed::default();
        for n in 0..1_000u32 {
            let x = t.insert(spread(n), A, 16 * KIB, n, t0);
            r.evicted_memory += x.evicted_memory;
            r.evicted_full += x.evicted_full;
            assert!(
                t.bytes() <= t.max_bytes(),
                "{} > {}",
                t.bytes(),
                t.max_bytes()
            );
        }
        assert_eq!(r.evicted_full, 0);
        assert_eq!(t.len(), 64, "4 per shard");
        assert_eq!(r.evicted_memory, 1_000 - 64);
        assert_eq!(t.bytes(), 1024 * KIB);
        // A conversation that grows (reassembly) pushes older ones out.
        let k = spread(999);
        let v = t.take(&k, t0).expect("the newest is kept");
        let x = t.insert(k, A, 48 * KIB, v, t0);
        assert_eq!(x.evicted_memory, 2);
        assert!(t.bytes() <= t.max_bytes());
        // Larger than a shard's part of the budget: refused, nothing evicted.
        let x = t.insert(spread(5_000), A, 65 * KIB, 1, t0);
        assert!(x.refused);
        assert_eq!(x.evicted(), 0);
        assert_eq!(t.take(&spread(5_000), t0), None);
        // The count bound alone would have kept them all (positive control).
        let t = table(65_536, usize::MAX);
        for n in 0..1_000u32 {
            t.insert(spread(n), A, 16 * KIB, n, t0);
        }
        assert_eq!(t.len(), 1_000);
    }

    #[test]
    fn byte_budget_evicts_the_client_holding_the_most_bytes() {
        // One shard: 64 KiB.
        let t = table(65_536, 1024 * KIB);
        let t0 = Instant::now();
        t.insert(key(4, 1), B, 8 * KIB, 1, t0);
        t.insert(key(4, 2), A, 16 * KIB, 2, t0 + Duration::from_secs(1));
        t.insert(key(4, 3), A, 16 * KIB, 3, t0 + Duration::from_secs(2));
        t.insert(key(4, 4), A, 16 * KIB, 4, t0 + Duration::from_secs(3));
        // Full (56 of 64 KiB plus 16): A holds the most bytes; B's older
        // conversation survives.
        let r = t.insert(key(4, 5), A, 16 * KIB, 5, t0 + Duration::from_secs(4));
        assert_eq!((r.evicted_memory, r.evicted_other_client), (1, 0));
        assert_eq!(t.holding(B), (1, 8 * KIB));
        assert_eq!(t.take(&key(4, 2), t0), None);
        // B, holding less, inserting a big one, takes A's oldest.
        let r = t.insert(key(4, 6), B, 16 * KIB, 6, t0 + Duration::from_secs(5));
        assert_eq!((r.evicted_memory, r.evicted_other_client), (1, 1));
        assert_eq!(t.take(&key(4, 3), t0), None);
        assert_eq!(t.take(&key(4, 1), t0), Some(1));
    }

    #[test]
    fn evicting_an_expired_entry_counts_as_expired() {
        let t = table(32, usize::MAX);
        let t0 = Instant::now();
        t.insert(key(6, 1), B, 1, 1, t0);
        t.insert(key(6, 2), A, 1, 2, t0 + Duration::from_secs(29));
        let r = t.insert(key(6, 3), A, 1, 3, t0 + Duration::from_secs(31));
        assert_eq!(r.expired, 1);
        assert_eq!(r.evicted(), 0);
        assert_eq!(t.holding(B), (0, 0));
        assert_eq!(t.take(&key(6, 2), t0 + Duration::from_secs(31)), Some(2));
    }

    #[test]
    fn reassembly_octets_follow_the_more_fragments_flag() {
        // EAP-Response/EAP-TLS with L and M, 10 octets in all.
        let first = [2, 5, 0, 10, 13, 0xC0, 0, 0, 9, 0];
        assert_eq!(reassembly_octets(0, &first), 10);
        assert_eq!(reassembly_octets(10, &first), 20);
        // The last fragment (no M), an ACK, or another type: nothing held.
        assert_eq!(reassembly_octets(20, &[2, 6, 0, 7, 13, 0x00, 1]), 0);
        assert_eq!(reassembly_octets(20, &[2, 6, 0, 6, 1, 0x40]), 0);
        assert_eq!(reassembly_octets(20, &[2, 6]), 0);
    }
}
