//! The counters of the client certificate chain verification cache
//! (`tls/verify_cache.rs`), one set per listener that verifies client
//! certificates: EAP-TLS (the handler's verifier) and RadSec (the
//! listener's own, built from `[radsec]`'s CA).
//!
//! A reload (SIGHUP) builds a new verifier with an empty table, so that
//! nothing verified against the old CA set or CRLs is answered from the
//! cache. The counters are not the verifier's: they belong to
//! [`super::Metrics`], and every verifier of a listener (the one a reload
//! replaced, still finishing the handshakes it started, and its
//! successor) counts into the same [`ChainCacheCounters`]. Lookups keep
//! counting across reloads; the entries gauge is what the verifiers alive
//! hold, and falls when a reload drops the old table.
//!
//! Cardinality: `listener` and `result` take the program's fixed values.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::exposition::{Exposition, Kind};

/// What one listener's verifiers counted.
#[derive(Debug, Default)]
pub struct ChainCacheCounters {
    /// Chains answered from the cache.
    hits: AtomicU64,
    /// Chains the inner verifier verified and accepted.
    accepted: AtomicU64,
    /// Chains the inner verifier verified and refused (never cached).
    refused: AtomicU64,
    /// Entries held now by every verifier alive that counts here.
    entries: AtomicU64,
}

/// A reading of [`ChainCacheCounters`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ChainCacheReading {
    pub hits: u64,
    /// Verified and accepted (`result="miss"`).
    pub misses: u64,
    /// Verified and refused (`result="refused"`).
    pub refused: u64,
    pub entries: u64,
}

impl ChainCacheCounters {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Relaxed);
    }

    /// A chain verified by the inner verifier: accepted or refused.
    pub fn verified(&self, accepted: bool) {
        let c = if accepted {
            &self.accepted
        } else {
            &self.refused
        };
        c.fetch_add(1, Relaxed);
    }

    /// One verifier's table went from `before` to `after` entries. Each
    /// verifier reports its own changes under its table's lock and
    /// removes what it held when dropped, so the sum never goes below
    /// zero.
    pub fn entries_changed(&self, before: usize, after: usize) {
        if after > before {
            self.entries.fetch_add((after - before) as u64, Relaxed);
        } else if before > after {
            self.entries.fetch_sub((before - after) as u64, Relaxed);
        }
    }

    pub fn read(&self) -> ChainCacheReading {
        ChainCacheReading {
            hits: self.hits.load(Relaxed),
            misses: self.accepted.load(Relaxed),
            refused: self.refused.load(Relaxed),
            entries: self.entries.load(Relaxed),
        }
    }
}

/// The counters of both listeners, held by [`super::Metrics`].
#[derive(Debug, Default)]
pub struct ChainCacheMetrics {
    /// EAP-TLS (and the check of a resumed session's certificate).
    pub eap: Arc<ChainCacheCounters>,
    /// RadSec client certificates.
    pub radsec: Arc<ChainCacheCounters>,
}

const LOOKUPS: &str = "authd_tls_chain_cache_lookups_total";
const ENTRIES: &str = "authd_tls_chain_cache_entries";

impl ChainCacheMetrics {
    /// The `authd_tls_chain_cache_*` families, both listeners rendered (at
    /// zero) whether or not they run.
    pub fn render(&self, e: &mut Exposition) {
        let listeners = [("eap", self.eap.read()), ("radsec", self.radsec.read())];
        e.family(
            LOOKUPS,
            Kind::Counter,
            "Client certificate chains checked by the chain verification cache, by listener and result: hit (answered from the cache), miss (verified, accepted and cached), refused (verified and refused, never cached). Kept across reloads.",
        );
        for (listener, r) in listeners {
            for (result, n) in [("hit", r.hits), ("miss", r.misses), ("refused", r.refused)] {
                e.int(LOOKUPS, &[("listener", listener), ("result", result)], n);
            }
        }
        e.family(
            ENTRIES,
            Kind::Gauge,
            "Verified chains held by the chain verification cache now, by listener. A reload (SIGHUP) starts an empty table, so this falls (to 0) then.",
        );
        for (listener, r) in listeners {
            e.int(ENTRIES, &[("listener", listener)], r.entries);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(m: &ChainCacheMetrics) -> String {
        let mut e = Exposition::default();
        m.render(&mut e);
        e.finish()
    }

    #[test]
    fn renders_at_zero_then_counts_by_listener() {
        let m = ChainCacheMetrics::default();
        let text = render(&m);
        assert!(text.contains("# TYPE authd_tls_chain_cache_lookups_total counter"));
        assert!(text.contains("# TYPE authd_tls_chain_cache_entries gauge"));
        for l in ["eap", "radsec"] {
            for r in ["hit", "miss", "refused"] {
                let line = format!(
                    "authd_tls_chain_cache_lookups_total{{listener=\"{l}\",result=\"{r}\"}} 0"
                );
                assert!(text.contains(&line), "{line} in\n{text}");
            }
            assert!(text.contains(&format!(
                "authd_tls_chain_cache_entries{{listener=\"{l}\"}} 0"
            )));
        }
        m.eap.hit();
        m.eap.hit();
        m.eap.verified(true);
        m.radsec.verified(false);
        m.eap.entries_changed(0, 1);
        let text = render(&m);
        assert!(text.contains("lookups_total{listener=\"eap\",result=\"hit\"} 2"));
        assert!(text.contains("lookups_total{listener=\"eap\",result=\"miss\"} 1"));
        assert!(text.contains("lookups_total{listener=\"eap\",result=\"refused\"} 0"));
        assert!(text.contains("lookups_total{listener=\"radsec\",result=\"refused\"} 1"));
        assert!(text.contains("lookups_total{listener=\"radsec\",result=\"hit\"} 0"));
        assert!(text.contains("authd_tls_chain_cache_entries{listener=\"eap\"} 1"));
        m.eap.entries_changed(1, 0);
        assert_eq!(m.eap.read().entries, 0);
    }
}
