//! RADIUS over TLS (RadSec, RFC 6614): the TCP listener, the TLS
//! handshake, and one task per connection feeding the same request path as
//! UDP (ARCHITECTURE.md, "RadSec").
//!
//! - TLS 1.2 and 1.3 with mutual authentication: a client certificate is
//!   required and verified against `[radsec] ca` (default `[tls] ca`, CRLs
//!   included) by the same verifier set-up as EAP-TLS
//!   ([`crate::tls::build_server_tls`]). An untrusted certificate fails the
//!   handshake; a trusted one that names no `[[client]]`
//!   ([`identity::RadsecClients::identify`]) is closed right after it. Both
//!   are logged with the reason and counted.
//! - Packets are cut from the stream by `radius_proto::stream` and go to
//!   [`crate::handler::AuthHandler::handle_stream`] with an
//!   [`Origin`](crate::admission::Origin) of
//!   [`Transport::Tls`](crate::admission::Transport::Tls): the shared
//!   secret is "radsec" (RFC 6614 §2.3), duplicates are detected per
//!   connection (a TLS client does not retransmit on the same connection,
//!   RFC 6614 §2.5), and replies are written in whatever order they are
//!   ready.
//! - Limits: `max_connections` in all (handshakes included), and
//!   `max_connections_per_client`; a handshake within
//!   `handshake_timeout_secs`; a connection without a request for
//!   `idle_timeout_secs` is closed; at most 256 requests outstanding per
//!   connection, one per Identifier (RFC 6613 §2.6.5); a malformed packet,
//!   a bad authenticator or a client that disappeared on reload closes the
//!   connection (RFC 6613 §2.6.4).
//! - Memory: every request in progress holds
//!   [`RADSEC_REQUEST_CHARGE`](crate::config::RADSEC_REQUEST_CHARGE)
//!   octets of one budget shared by all connections (`[radsec]
//!   max_buffered_bytes`) until its reply is written; a connection that
//!   finds it spent stops reading (TCP backpressure) and waits its turn
//!   (first come, first served: each connection waits for one request at
//!   a time, so a busy connection cannot starve the others). What a
//!   connection holds besides is fixed (buffers of the reader, the framer
//!   and rustls; README "RadSec", memory).
//! - RADIUS/1.1 (RFC 9765) when ALPN selects "radius/1.1" ([`alpn_protocols`],
//!   `[radsec] radius_1_1`): TLS 1.3 only, no MD5; the connection's
//!   [`Origin`](crate::admission::Origin) says so to every stage.
//! - SIGHUP rebuilds the TLS acceptor (certificates, CA, CRLs) and the
//!   client table ([`Radsec::reload`]); open connections keep theirs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::Config;
use crate::config::Radius11Mode;
use crate::handler::AuthHandler;
use crate::metrics::RateLimitedLog;

mod conn;
pub mod identity;

pub use identity::RadsecClients;

/// Limits of the listener, from `[radsec]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

impl Limits {
    fn from_config(config: &Config) -> Limits {
        let r = &config.radsec;
        Limits {
            handshake_timeout: Duration::from_secs(r.handshake_timeout_secs),
            idle_timeout: Duration::from_secs(r.idle_timeout_secs),
            max_connections: r.max_connections,
            max_connections_per_client: r.max_connections_per_client,
        }
    }
}

pub use crate::metrics::radsec::RadsecMetrics;
use crate::metrics::radsec::Refused;

/// Errors setting the listener up.
#[derive(Debug, thiserror::Error)]
pub enum RadsecError {
    #[error("[radsec] TLS: {0}")]
    Tls(#[from] crate::tls::TlsSetupError),
    #[error("cannot bind the RadSec socket {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What a reload replaces.
struct Live {
    acceptor: TlsAcceptor,
    clients: Arc<RadsecClients>,
    radius_1_1: Radius11Mode,
}

/// State shared by the listener and its connections.
struct Shared {
    live: RwLock<Live>,
    handler: Arc<AuthHandler>,
    limits: Limits,
    /// One permit per open connection.
    connections: Arc<Semaphore>,
    /// Open connections per client name (entries removed at zero, so the
    /// map holds at most one entry per configured client).
    per_client: Mutex<HashMap<String, usize>>,
    next_connection: AtomicU64,
    /// The shared byte budget, in octets.
    budget: Arc<Semaphore>,
    /// Lines about refused connections, at most 10 a second.
    refusal_log: RateLimitedLog,
}

impl Shared {
    fn live(&self) -> (TlsAcceptor, Arc<RadsecClients>, Radius11Mode) {
        let live = crate::sync::read(&self.live);
        (live.acceptor.clone(), live.clients.clone(), live.radius_1_1)
    }

    fn clients(&self) -> Arc<RadsecClients> {
        crate::sync::read(&self.live).clients.clone()
    }

    fn metrics(&self) -> &RadsecMetrics {
        &self.handler.metrics.radsec
    }
}

/// The TLS acceptor of `[radsec]`: the server certificate and key, a
/// required client certificate from the RadSec CA(s), TLS 1.2 and 1.3.
pub fn acceptor(config: &Config) -> Result<TlsAcceptor, RadsecError> {
    acceptor_counted(config, Arc::default())
}

/// [`acceptor`] with a client certificate verifier counting into
/// `counters` (the listener's, kept across reloads).
pub fn acceptor_counted(
    config: &Config,
    counters: Arc<crate::metrics::verify_cache::ChainCacheCounters>,
) -> Result<TlsAcceptor, RadsecError> {
    let tls = config.radsec.tls(&config.tls);
    let built = crate::tls::build_server_tls_counted(&tls, None, counters)?;
    let mut server = (*built.config).clone();
    // Only EAP seals its own alert records; a RadSec connection's keys
    // stay inside rustls.
    server.enable_secret_extraction = false;
    // No session resumption (`RadsecConfig::tls` turns it off): RFC 9765
    // §3.5 wants a resumed radius/1.1 session held to radius/1.1, and
    // rustls resumes whatever ALPN the new ClientHello names. Without
    // resumption every connection negotiates ALPN afresh, which §3.5
    // allows; connections are long-lived, so nothing is lost.
    debug_assert!(!server.session_storage.can_cache() && server.send_tls13_tickets == 0);
    server.alpn_protocols = alpn_protocols(config.radsec.radius_1_1);
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// The ALPN protocol IDs offered in `mode`, in the server's order of
/// preference (rustls picks the first the client also offers). RFC 9765
/// §3.1 names "radius/1.0" (classic RadSec) and "radius/1.1". A client
/// whose ALPN list shares none of them gets the fatal alert
/// no_application_protocol from rustls (RFC 7301 §3.2, which RFC 9765
/// §3 invokes when no protocol is compatible): under `forbid`, a client
/// that offers only "radius/1.1". A client without ALPN is not refused by
/// the handshake; `require` closes it after ([`conn`]).
pub fn alpn_protocols(mode: Radius11Mode) -> Vec<Vec<u8>> {
    use radius_proto::v11::{ALPN_RADIUS_1_0, ALPN_RADIUS_1_1};
    match mode {
        Radius11Mode::Allow => vec![ALPN_RADIUS_1_1.to_vec(), ALPN_RADIUS_1_0.to_vec()],
        Radius11Mode::Require => vec![ALPN_RADIUS_1_1.to_vec()],
        Radius11Mode::Forbid => vec![ALPN_RADIUS_1_0.to_vec()],
    }
}

/// A bound RadSec listener.
pub struct Radsec {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Radsec {
    /// Builds the TLS set-up and binds `[listen] radsec`; `None` when it
    /// is not configured.
    pub async fn bind(
        config: &Config,
        handler: Arc<AuthHandler>,
    ) -> Result<Option<Radsec>, RadsecError> {
        let Some(addr) = config.listen.radsec else {
            return Ok(None);
        };
        let acceptor = acceptor_counted(config, handler.metrics.chain_cache.radsec.clone())?;
        let clients = RadsecClients::from_config_counted(config, &handler.metrics.radsec);
        if clients.is_empty() {
            warn!(
                "[listen] radsec is set but no [[client]] has certificate_name: every RadSec connection will be refused"
            );
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| RadsecError::Bind { addr, source })?;
        let limits = Limits::from_config(config);
        let budget = config.radsec.max_buffered_bytes;
        handler
            .metrics
            .radsec
            .budget_bytes
            .store(budget as u64, Ordering::Relaxed);
        info!(
            address = %listener.local_addr().unwrap_or(addr),
            clients = clients.len(),
            max_connections = limits.max_connections,
            max_buffered_bytes = budget,
            "listening for RADIUS over TLS (RadSec)"
        );
        Ok(Some(Radsec {
            listener,
            shared: Arc::new(Shared {
                live: RwLock::new(Live {
                    acceptor,
                    clients: Arc::new(clients),
                    radius_1_1: config.radsec.radius_1_1,
                }),
                handler,
                connections: Arc::new(Semaphore::new(limits.max_connections)),
                limits,
                per_client: Mutex::new(HashMap::new()),
                next_connection: AtomicU64::new(1),
                budget: Arc::new(Semaphore::new(budget)),
                refusal_log: RateLimitedLog::new(Duration::from_millis(100)),
            }),
        }))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that reloads this listener's certificates and clients.
    pub fn reloader(&self) -> RadsecReload {
        RadsecReload {
            shared: self.shared.clone(),
        }
    }

    /// Accepts connections until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                a = self.listener.accept() => a,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a little rather than spin.
                    warn!("RadSec accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = self.shared.connections.clone().try_acquire_owned() else {
                Self::refused(
                    &self.shared,
                    peer,
                    Refused::MaxConnections,
                    "max_connections reached",
                );
                continue;
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(conn::serve(
                self.shared.clone(),
                tcp,
                peer,
                permit,
                shutdown.clone(),
            ));
        }
        info!(summary = %self.shared.metrics().summary(), "RadSec listener stopped");
    }

    fn refused(shared: &Shared, peer: SocketAddr, reason: Refused, why: &str) {
        shared.metrics().refused(reason);
        if let Some(suppressed) = shared.refusal_log.allow(std::time::Instant::now()) {
            warn!(peer = %peer, suppressed, "RadSec connection refused: {why}");
        }
    }
}

/// Reloads a running listener (SIGHUP).
#[derive(Clone)]
pub struct RadsecReload {
    shared: Arc<Shared>,
}

impl RadsecReload {
    /// New connections use `config`'s certificates, CA and clients; on an
    /// error nothing changes.
    pub fn reload(&self, config: &Config) -> Result<(), RadsecError> {
        let counters = self.shared.handler.metrics.chain_cache.radsec.clone();
        let acceptor = acceptor_counted(config, counters)?;
        let clients = Arc::new(RadsecClients::from_config_counted(
            config,
            &self.shared.handler.metrics.radsec,
        ));
        let n = clients.len();
        *crate::sync::write(&self.shared.live) = Live {
            acceptor,
            clients,
            radius_1_1: config.radsec.radius_1_1,
        };
        info!(
            clients = n,
            "SIGHUP: RadSec certificates and clients reloaded"
        );
        Ok(())
    }

    /// The listener's counters.
    pub fn metrics(&self) -> &RadsecMetrics {
        self.shared.metrics()
    }
}
