//! The client certificate chain verification cache.
//!
//! [`CachingVerifier`] wraps the client verifier `build_server_tls` builds
//! (webpki, with the CRL explainer when CRLs are loaded) and remembers the
//! chains it accepted, so that a station authenticating again with the
//! same chain (a full handshake, or the check of a resumed session's
//! certificate) costs a SHA-256 over the chain and a table lookup instead
//! of path building, signature checks and CRL lookups.
//!
//! * Key: SHA-256 over the verifier's generation and the exact chain as
//!   presented, leaf first, each certificate prefixed with its length. A
//!   chain differing in any octet, one intermediate more or less, or the
//!   same certificates in another order, is another key.
//! * Generation: every verifier object has its own, and its own table.
//!   A reload (SIGHUP: CA set or CRLs read again) builds a new verifier, so
//!   nothing verified against the old CA set or CRLs is ever answered
//!   from the cache.
//! * Lifetime: an entry answers only while `now` (the time rustls passes
//!   to the verifier, or the handler's clock for a resumed session; the
//!   cache reads no clock) lies between the latest notBefore and the
//!   earliest notAfter of every certificate presented, and before the
//!   earliest nextUpdate of the CRLs loaded (RFC 5280 §5.1.2.5: past it,
//!   the CRL no longer vouches; the chain is then verified again and
//!   `[tls] crl_expired` decides, uncached).
//! * Failures are never cached: a refused chain is verified again every
//!   time, with the same error and the same explanation logged as without
//!   the cache. Caching refusals would save nothing an honest peer needs,
//!   and would let any sender of garbage occupy the table.
//! * Bounded: at most [`CAPACITY`] entries, the oldest insertion evicted
//!   first. A sender of many distinct valid chains can only churn the
//!   table (each insertion costs it a full verification first), never grow
//!   it.
//! * CertificateVerify (`verify_tls12_signature`,
//!   `verify_tls13_signature`) is delegated unchanged and checked on every
//!   handshake: the cache vouches for the chain, never for possession of
//!   the leaf's key.
//!
//! Each entry also holds what authorization reads from the leaf
//! ([`LeafFacts`]: issuer, serial, the names `[policy] identity` may
//! choose), so an authentication does not parse the leaf again: the
//! handler gets it with [`CachingVerifier::lookup`] (after a full
//! handshake) or [`CachingVerifier::verify_chain`] (a resumed session).
//! The key is a hash of what the peer sent, not a secret, so comparing
//! keys in variable time leaks nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::*;
use crate::certs::LeafFacts;
use crate::metrics::verify_cache::ChainCacheCounters;

/// Entries kept per verifier.
pub const CAPACITY: usize = 4096;

/// The generation of the next verifier built.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// SHA-256 of a generation and a chain.
type ChainKey = [u8; 32];

/// A chain the inner verifier accepted, and its leaf as read then.
#[derive(Debug)]
pub struct VerifiedChain {
    /// The generation of the verifier that accepted it.
    pub generation: u64,
    /// Unix seconds: answered from the cache from this time (the latest
    /// notBefore of the chain)...
    valid_from: u64,
    /// ...until before this one (the earliest notAfter, or CRL
    /// nextUpdate).
    valid_until: u64,
    /// The leaf, or why it does not parse (webpki accepted it, but the
    /// policy cannot read a name from it).
    pub leaf: Result<LeafFacts, String>,
}

impl VerifiedChain {
    fn answers_at(&self, now: u64) -> bool {
        self.valid_from <= now && now < self.valid_until
    }
}

#[derive(Default)]
struct Table {
    entries: HashMap<ChainKey, (u64, Arc<VerifiedChain>)>,
    /// Insertion order: (key, insertion number). A key whose entry was
    /// replaced since is skipped when its old place comes up.
    order: VecDeque<(ChainKey, u64)>,
    inserted: u64,
}

impl Table {
    fn get(&self, key: &ChainKey) -> Option<&Arc<VerifiedChain>> {
        self.entries.get(key).map(|(_, e)| e)
    }

    fn insert(&mut self, key: ChainKey, entry: Arc<VerifiedChain>) {
        while self.order.len() >= CAPACITY {
            let Some((old, n)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old).is_some_and(|(m, _)| *m == n) {
                self.entries.remove(&old);
            }
        }
        self.inserted += 1;
        self.entries.insert(key, (self.inserted, entry));
        self.order.push_back((key, self.inserted));
    }

    fn remove(&mut self, key: &ChainKey) {
        self.entries.remove(key);
    }
}

/// Counters of the cache, for metrics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Chains answered from the cache.
    pub hits: u64,
    /// Chains verified by the inner verifier (accepted or refused).
    pub misses: u64,
}

/// The client verifier with the chain verification cache (see the module
/// documentation).
pub struct CachingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    generation: u64,
    /// The earliest nextUpdate of the CRLs loaded, Unix seconds.
    crl_horizon: Option<u64>,
    table: Mutex<Table>,
    /// Shared with the verifiers this one replaces and its successors
    /// (`metrics/verify_cache.rs`): a reload keeps counting.
    counters: Arc<ChainCacheCounters>,
}

impl std::fmt::Debug for CachingVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingVerifier")
            .field("generation", &self.generation)
            .field("crl_horizon", &self.crl_horizon)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl CachingVerifier {
    /// Wraps `inner`, a verifier whose CRLs have `crl_next_updates` (Unix
    /// seconds, one per CRL that has a nextUpdate), in a new generation,
    /// counting into counters of its own.
    pub fn new(
        inner: Arc<dyn ClientCertVerifier>,
        crl_next_updates: impl IntoIterator<Item = i64>,
    ) -> CachingVerifier {
        Self::counted(inner, crl_next_updates, Arc::default())
    }

    /// [`CachingVerifier::new`], counting hits, misses, refusals and
    /// entries into `counters` (a listener's, kept across reloads).
    pub fn counted(
        inner: Arc<dyn ClientCertVerifier>,
        crl_next_updates: impl IntoIterator<Item = i64>,
        counters: Arc<ChainCacheCounters>,
    ) -> CachingVerifier {
        CachingVerifier {
            inner,
            generation: NEXT_GENERATION.fetch_add(1, Relaxed),
            crl_horizon: crl_next_updates
                .into_iter()
                .map(|t| u64::try_from(t).unwrap_or(0))
                .min(),
            table: Mutex::new(Table::default()),
            counters,
        }
    }

    /// The counters this verifier counts into.
    pub fn counters(&self) -> &Arc<ChainCacheCounters> {
        &self.counters
    }

    /// This verifier's generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Hits and misses so far, of every verifier sharing its counters.
    pub fn stats(&self) -> CacheStats {
        let r = self.counters.read();
        CacheStats {
            hits: r.hits,
            misses: r.misses + r.refused,
        }
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table
        // inconsistent in a way that matters: keep using it.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key<'a>(&self, chain: impl Iterator<Item = &'a [u8]>) -> ChainKey {
        let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        h.update(&self.generation.to_be_bytes());
        for der in chain {
            // A certificate longer than 4 GiB cannot come through TLS
            // (24-bit lengths); saturate rather than wrap.
            h.update(&u32::try_from(der.len()).unwrap_or(u32::MAX).to_be_bytes());
            h.update(der);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(h.finish().as_ref());
        key
    }

    /// The entry for `chain` (leaf first) if one answers at `now`, without
    /// verifying anything: after a full handshake, the entry its
    /// verification just left. Counts no hit or miss.
    pub fn lookup(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<Arc<VerifiedChain>> {
        let key = self.key(chain.iter().map(|c| c.as_ref()));
        let table = self.lock();
        table
            .get(&key)
            .filter(|e| e.answers_at(now.as_secs()))
            .cloned()
    }

    /// Verifies `chain` (leaf first) at `now`: from the cache when an
    /// entry answers, else with the inner verifier (and, if it accepts,
    /// the entry is kept).
    pub fn verify_chain(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Arc<VerifiedChain>, rustls::Error> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err(rustls::Error::NoCertificatesPresented);
        };
        self.verify_parts(leaf, intermediates, now)
    }

    fn verify_parts(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<Arc<VerifiedChain>, rustls::Error> {
        let key = self
            .key(std::iter::once(leaf.as_ref()).chain(intermediates.iter().map(|c| c.as_ref())));
        let secs = now.as_secs();
        {
            let mut table = self.lock();
            match table.get(&key) {
                Some(e) if e.answers_at(secs) => {
                    self.counters.hit();
                    return Ok(e.clone());
                }
                Some(_) => {
                    let before = table.entries.len();
                    table.remove(&key);
                    self.counters.entries_changed(before, table.entries.len());
                }
                None => {}
            }
        }
        // Not under the lock: verification is the expensive part, and
        // two handshakes of the same chain at once both verify.
        let verified = self.inner.verify_client_cert(leaf, intermediates, now);
        self.counters.verified(verified.is_ok());
        verified?;
        let entry = Arc::new(self.entry(leaf, intermediates));
        if entry.answers_at(secs) {
            let mut table = self.lock();
            let before = table.entries.len();
            table.insert(key, entry.clone());
            self.counters.entries_changed(before, table.entries.len());
        }
        Ok(entry)
    }

    /// The entry of a chain the inner verifier just accepted. A
    /// certificate x509-parser cannot read leaves the entry with an empty
    /// lifetime: used once, never cached.
    fn entry(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> VerifiedChain {
        let mut valid_from = 0u64;
        let mut valid_until = self.crl_horizon.unwrap_or(u64::MAX);
        let mut leaf_facts = Err("client certificate does not parse".to_owned());
        for (i, der) in std::iter::once(leaf).chain(intermediates).enumerate() {
            match X509Certificate::from_der(der) {
                Ok((_, cert)) => {
                    let validity = cert.validity();
                    let secs = |t: i64| u64::try_from(t).unwrap_or(0);
                    valid_from = valid_from.max(secs(validity.not_before.timestamp()));
                    valid_until = valid_until.min(secs(validity.not_after.timestamp()));
                    if i == 0 {
                        leaf_facts = Ok(LeafFacts::of(&cert));
                    }
                }
                Err(e) => {
                    valid_until = 0;
                    if i == 0 {
                        leaf_facts = Err(format!("client certificate does not parse: {e}"));
                    }
                }
            }
        }
        VerifiedChain {
            generation: self.generation,
            valid_from,
            valid_until,
            leaf: leaf_facts,
        }
    }
}

impl Drop for CachingVerifier {
    /// What this verifier held leaves the shared entries gauge with it.
    fn drop(&mut self) {
        let held = self.lock().entries.len();
        self.counters.entries_changed(held, 0);
    }
}

impl ClientCertVerifier for CachingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.verify_parts(end_entity, intermediates, now)
            .map(|_| ClientCertVerified::assertion())
    }

    /// Proof of possession of the leaf's key: never cached.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    /// Proof of possession of the leaf's key: never cached.
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

#[cfg(test)]
mod tests;
