//! What the store said, cached while its change generation stays the same.
//!
//! Every audited change in the store bumps its change generation, which the
//! server polls every second. The policy (users, certificates) and PAP
//! (verified passwords) keep their answers here: an entry counts only under
//! the generation it was read in, the whole cache empties when the
//! generation moves, and nothing is cached while the generation is unknown
//! (before the first poll or after a failed one). Bounded: when full,
//! expired entries go first, then the oldest eighth, so that the scan a
//! full cache costs is paid once per `max_entries / 8` insertions, not on
//! every one (a deployment with more active users than the bound keeps the
//! cache full). An optional TTL bounds how long an entry serves even when
//! nothing changes.
//!
//! Time is an input, so the cache is tested with a virtual clock.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// The generation before the first poll or after a failed one: nothing is
/// cached then.
pub const UNKNOWN_GENERATION: i64 = i64::MIN;

struct Cached<V> {
    generation: i64,
    stored_at: Instant,
    value: V,
}

/// A bounded map of store answers tagged with the store's change
/// generation.
pub struct GenerationCache<K, V> {
    generation: AtomicI64,
    entries: Mutex<HashMap<K, Cached<V>>>,
    max_entries: usize,
    ttl: Option<Duration>,
}

impl<K, V> std::fmt::Debug for GenerationCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither keys nor values: they may name users or hold tags.
        f.debug_struct("GenerationCache")
            .field("generation", &self.generation.load(Ordering::Acquire))
            .field("entries", &crate::sync::lock(&self.entries).len())
            .field("max_entries", &self.max_entries)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> GenerationCache<K, V> {
    /// At most `max_entries` (at least one), each serving for `ttl` if
    /// given.
    pub fn new(max_entries: usize, ttl: Option<Duration>) -> Self {
        GenerationCache {
            generation: AtomicI64::new(UNKNOWN_GENERATION),
            entries: Mutex::new(HashMap::new()),
            max_entries: max_entries.max(1),
            ttl,
        }
    }

    /// The generation entries are read under now; pass it to
    /// [`GenerationCache::put`] with what the store answered.
    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The store's change generation is now `generation`. Returns whether
    /// it moved (everything cached dropped).
    pub fn set_generation(&self, generation: i64) -> bool {
        if self.generation.swap(generation, Ordering::AcqRel) == generation {
            return false;
        }
        crate::sync::lock(&self.entries).clear();
        true
    }

    /// The generation could not be read: drop everything and cache nothing
    /// until it can.
    pub fn generation_unknown(&self) {
        self.set_generation(UNKNOWN_GENERATION);
    }

    fn fresh(&self, c: &Cached<V>, generation: i64, now: Instant) -> bool {
        c.generation == generation
            && self
                .ttl
                .is_none_or(|ttl| now.saturating_duration_since(c.stored_at) < ttl)
    }

    /// The cached answer for `key`, if it was read under the current
    /// generation (and within the TTL).
    pub fn get<Q>(&self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let generation = self.generation();
        if generation == UNKNOWN_GENERATION {
            return None;
        }
        let entries = crate::sync::lock(&self.entries);
        let c = entries.get(key)?;
        self.fresh(c, generation, now).then(|| c.value.clone())
    }

    /// Caches `value`, read from the store under `generation`, unless the
    /// generation is unknown or moved meanwhile.
    pub fn put(&self, key: K, generation: i64, value: V, now: Instant) {
        if generation == UNKNOWN_GENERATION || generation != self.generation() {
            return;
        }
        let mut entries = crate::sync::lock(&self.entries);
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, c| self.fresh(c, generation, now));
            if entries.len() >= self.max_entries {
                self.evict_oldest(&mut entries);
            }
        }
        entries.insert(
            key,
            Cached {
                generation,
                stored_at: now,
                value,
            },
        );
    }

    /// Removes the oldest eighth of a full map (at least one entry): one
    /// O(n) pass that frees room for the next `max_entries / 8` keys.
    fn evict_oldest(&self, entries: &mut HashMap<K, Cached<V>>) {
        let mut ages: Vec<Instant> = entries.values().map(|c| c.stored_at).collect();
        let n = (self.max_entries / 8).clamp(1, ages.len());
        // The n-th oldest time: everything stored before it goes, then
        // entries stored exactly at it until n are gone.
        let (_, &mut cut, _) = ages.select_nth_unstable(n - 1);
        let mut at_cut = n - entries.values().filter(|c| c.stored_at < cut).count();
        entries.retain(|_, c| {
            if c.stored_at < cut {
                false
            } else if c.stored_at == cut && at_cut > 0 {
                at_cut -= 1;
                false
            } else {
                true
            }
        });
    }

    /// Drops entries past the TTL.
    pub fn sweep(&self, now: Instant) {
        let generation = self.generation();
        crate::sync::lock(&self.entries).retain(|_, c| self.fresh(c, generation, now));
    }

    /// Entries held (fresh or not).
    pub fn len(&self) -> usize {
        crate::sync::lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_cached_while_the_generation_is_unknown() {
        let c: GenerationCache<String, u32> = GenerationCache::new(8, None);
        let now = Instant::now();
        c.put("a".into(), c.generation(), 1, now);
        assert_eq!(c.get("a", now), None);
        assert!(c.is_empty());
        // Control: once known, the same put is served.
        c.set_generation(5);
        c.put("a".into(), c.generation(), 1, now);
        assert_eq!(c.get("a", now), Some(1));
    }

    #[test]
    fn a_moved_generation_drops_everything_and_refuses_late_answers() {
        let c: GenerationCache<String, u32> = GenerationCache::new(8, None);
        let now = Instant::now();
        assert!(c.set_generation(1));
        assert!(!c.set_generation(1), "same generation: nothing moved");
        let read_under = c.generation();
        c.put("a".into(), read_under, 1, now);
        assert_eq!(c.get("a", now), Some(1));
        // A read that started before the change must not be cached after.
        let stale = c.generation();
        assert!(c.set_generation(2));
        assert_eq!(c.get("a", now), None);
        c.put("b".into(), stale, 2, now);
        assert_eq!(c.get("b", now), None);
        c.generation_unknown();
        c.put("c".into(), c.generation(), 3, now);
        assert_eq!(c.get("c", now), None);
    }

    #[test]
    fn ttl_and_bound() {
        let c: GenerationCache<String, u32> =
            GenerationCache::new(2, Some(Duration::from_secs(10)));
        let t0 = Instant::now();
        c.set_generation(1);
        c.put("a".into(), 1, 1, t0);
        c.put("b".into(), 1, 2, t0 + Duration::from_secs(1));
        assert_eq!(c.get("a", t0 + Duration::from_secs(9)), Some(1));
        assert_eq!(
            c.get("a", t0 + Duration::from_secs(10)),
            None,
            "past the TTL"
        );
        // Full: the oldest goes ("a"), the newer stays.
        c.put("c".into(), 1, 3, t0 + Duration::from_secs(2));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a", t0 + Duration::from_secs(2)), None);
        assert_eq!(c.get("b", t0 + Duration::from_secs(2)), Some(2));
        assert_eq!(c.get("c", t0 + Duration::from_secs(2)), Some(3));
        // Replacing a key held does not evict another.
        c.put("c".into(), 1, 4, t0 + Duration::from_secs(3));
        assert_eq!(c.get("b", t0 + Duration::from_secs(3)), Some(2));
        c.sweep(t0 + Duration::from_secs(12));
        assert_eq!(c.len(), 1, "b expired, c fresh");
    }

    /// A full cache evicts its oldest eighth at once: the bound holds, the
    /// newest entries stay, and the next insertions find room without
    /// evicting again.
    #[test]
    fn a_full_cache_evicts_the_oldest_eighth() {
        let c: GenerationCache<u32, u32> = GenerationCache::new(64, None);
        let t0 = Instant::now();
        c.set_generation(1);
        let at = |i: u32| t0 + Duration::from_millis(u64::from(i));
        for i in 0..64 {
            c.put(i, 1, i, at(i));
        }
        assert_eq!(c.len(), 64);
        c.put(64, 1, 64, at(64));
        // 8 oldest gone (0..8), the new one in.
        assert_eq!(c.len(), 57);
        for i in 0..8 {
            assert_eq!(c.get(&i, at(64)), None, "{i}");
        }
        for i in 8..=64 {
            assert_eq!(c.get(&i, at(64)), Some(i), "{i}");
        }
        // Room for seven more without another eviction.
        for i in 65..72 {
            c.put(i, 1, i, at(i));
        }
        assert_eq!(c.len(), 64);
        assert_eq!(c.get(&8, at(72)), Some(8));
        // Entries stored at the same instant: exactly an eighth goes.
        let same: GenerationCache<u32, u32> = GenerationCache::new(16, None);
        same.set_generation(1);
        for i in 0..17 {
            same.put(i, 1, i, t0);
        }
        assert_eq!(same.len(), 15, "16 - 2 + 1");
        assert_eq!(same.get(&16, t0), Some(16));
    }
}
