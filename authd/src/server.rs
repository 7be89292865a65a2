//! The tokio edge: UDP sockets, one task per datagram that has to wait
//! (the rest is answered in the receive loop), timers and signals.
//! All protocol decisions are made in [`crate::handler`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use eap_methods::server::ServerConfig as EapServerConfig;
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::admission::{Origin, Port};
use crate::clients::NasClients;
use crate::config::Config;
use crate::credkey::CredentialKey;
use crate::handler::{AuthHandler, EapTls, Inline, Settings};
use crate::policy::Policy;
use crate::store::{CLIENT_REFRESH_INTERVAL, ClientEntry, ClientSync, Store, StoreError};
use crate::tickets::TicketKeyring;

/// Largest RADIUS packet (RFC 2865 §3), plus one byte to notice longer ones.
const MAX_DATAGRAM: usize = 4096 + 1;
/// Datagrams being processed at once; past this, new ones are dropped and
/// counted rather than queued without bound.
const MAX_IN_FLIGHT: usize = 8192;
/// Receive tasks per socket. One: tokio wakes every task waiting on a
/// socket when it turns readable, so a second reader was woken for each
/// datagram only to find nothing (WouldBlock) and park again, and the two
/// runnable tasks made the waking worker unpark the other one too: a
/// wake-up tax paid per datagram at low load. TLS work still runs on
/// every core: it is in the spawned per-request tasks, which idle workers
/// steal; what the reader itself does inline (admission, duplicates,
/// Status-Server, cached PAP) costs microseconds.
const RECEIVERS: usize = 1;
/// How often open accounting sessions are checked for staleness.
const ACCOUNTING_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot bind {what} socket {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS configuration: {0}")]
    Tls(#[from] crate::tls::TlsSetupError),
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("no [[client]] configured: nobody could talk to this server")]
    NoClients,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Radsec(#[from] crate::radsec::RadsecError),
}

/// Build the NAS client table from the configuration (the entries the
/// store's client sync takes, with no store clients).
pub fn nas_clients(config: &Config) -> NasClients {
    crate::store::merge_clients(&config_client_entries(config), &[])
}

/// Build the EAP server configuration (TLS) from the configuration, with
/// session tickets sealed by `tickets`.
pub fn eap_config(
    config: &Config,
    tickets: Option<&Arc<TicketKeyring>>,
) -> Result<EapTls, ServerError> {
    eap_config_counted(config, tickets, Arc::default())
}

/// [`eap_config`] with a client certificate verifier counting into
/// `counters` (the handler's: a reload keeps counting).
pub fn eap_config_counted(
    config: &Config,
    tickets: Option<&Arc<TicketKeyring>>,
    counters: Arc<crate::metrics::verify_cache::ChainCacheCounters>,
) -> Result<EapTls, ServerError> {
    use crate::config::EapMethod;
    use crate::tickets::TicketMethod;
    let tls = crate::tls::build_server_tls_counted(&config.tls, tickets, counters)?;
    let mut eap = EapServerConfig::new(tls.config);
    eap.max_tls_message_len = config.eap.max_tls_message_len;
    eap.methods = config.eap.methods.iter().map(|m| m.eap_type()).collect();
    let offered = |m| config.eap.methods.contains(&m);
    if offered(EapMethod::Peap) {
        eap.peap = Some(crate::tls::build_tunnel_tls(
            &config.tls,
            tickets,
            TicketMethod::Peap,
        )?);
    }
    if offered(EapMethod::Ttls) {
        eap.ttls = Some(crate::tls::build_tunnel_tls(
            &config.tls,
            tickets,
            TicketMethod::Ttls,
        )?);
    }
    Ok(EapTls {
        eap: Arc::new(eap),
        verifier: tls.verifier,
    })
}

pub fn settings(config: &Config) -> Settings {
    Settings {
        fragment_size: config.eap.fragment_size,
        inner_names: config.eap.inner_names(),
        session_idle_timeout: Duration::from_secs(config.eap.session_idle_timeout_secs),
        max_sessions: config.eap.max_sessions,
        max_sessions_memory: config.eap.max_sessions_memory,
        duplicate_cache_lifetime: Duration::from_secs(config.radius.duplicate_cache_secs),
        duplicate_cache_entries: config.radius.duplicate_cache_entries,
        pap_enabled: config.pap.enabled,
        pap_cache_ttl: Duration::from_secs(config.pap.cache_secs),
        pap_cache_entries: config.pap.cache_entries,
        pap_max_waiting: config.pap.max_waiting,
        pap_max_wait: Duration::from_millis(config.pap.max_wait_ms),
        store_breaker: crate::store::breaker::BreakerSettings {
            failures: config.store_breaker.failures,
            open_for: Duration::from_secs(config.store_breaker.open_secs),
            timeout: Duration::from_millis(config.store_breaker.timeout_ms),
        },
    }
}

/// A bound, ready server.
pub struct Server {
    handler: Arc<AuthHandler>,
    auth: Arc<UdpSocket>,
    /// The accounting socket, with a store and `[listen] acct`.
    acct: Option<Arc<UdpSocket>>,
    accounting: crate::config::AccountingConfig,
    config_path: Option<PathBuf>,
    /// NAS clients from the store, polled while running; `None` without a store.
    client_sync: Option<Arc<ClientSync>>,
    /// TLS ticket keys (from the store if any), when resumption is on.
    tickets: Option<Arc<TicketKeyring>>,
    store: Option<Store>,
    /// The Prometheus endpoint (`[metrics] listen`), when configured.
    metrics: Option<tokio::net::TcpListener>,
    started: std::time::SystemTime,
    /// The RADIUS/TLS listener, with `[listen] radsec`.
    radsec: Option<crate::radsec::Radsec>,
    /// Sends the store's queued Disconnect-Requests; `None` without a store.
    das: Option<crate::das::worker::Worker>,
}

/// The store with the credential key of `db` loaded, or created on first
/// start. A key that cannot be used does not stop the server: EAP-TLS and
/// PAP work on, and MS-CHAPv2 finds no credential for anyone (an error
/// says so at start, and the key file can be fixed before a restart).
async fn with_credential_key(store: Store, db: &crate::config::DatabaseConfig) -> Store {
    let Some(path) = &db.credential_key else {
        warn!("no credential key configured: no user has an MS-CHAPv2 credential");
        return store;
    };
    let store = match CredentialKey::load_or_create(path) {
        Ok((key, created)) => {
            info!(
                credential_key = %path.display(),
                created,
                "credential key loaded (encrypts the NT hashes of MS-CHAPv2)"
            );
            store.with_credential_key(key)
        }
        Err(e) => {
            error!(
                "{e}: MS-CHAPv2 finds no credential for any user until this is \
                 fixed and authd restarted (EAP-TLS and PAP are not affected)"
            );
            store
        }
    };
    if store.credential_key().is_some() {
        match store.nt_hashes_under_other_keys().await {
            Ok(0) => {}
            Ok(n) => warn!(
                users = n,
                "NT hashes in the store were encrypted under another credential key: \
                 MS-CHAPv2 fails for these users (was the key file replaced? restore it, \
                 or set their passwords again)"
            ),
            Err(e) => warn!("cannot check the NT hashes in the store: {e}"),
        }
    }
    store
}

/// The configuration file's clients, as the store's client sync takes them.
fn config_client_entries(config: &Config) -> Vec<ClientEntry> {
    config
        .clients
        .iter()
        .filter(|c| !c.is_radsec())
        .map(ClientEntry::from_config)
        .collect()
}

impl Server {
    /// Check the configuration, load certificates, and bind the sockets.
    pub async fn bind(
        config: &Config,
        config_path: Option<PathBuf>,
    ) -> Result<Server, ServerError> {
        // With a [database], users are authorized against the store and its
        // NAS clients join the configuration file's (the store wins on a
        // conflict); without one, everyone with a valid certificate is let in.
        let (clients, policy, client_sync) = match &config.database {
            Some(db) => {
                let store =
                    Store::connect_with(&db.url, config.accounting.sqlite_synchronous).await?;
                info!(database = store.url(), "store connected");
                let store = with_credential_key(store, db).await;
                let sync = Arc::new(ClientSync::new(
                    store.clone(),
                    config_client_entries(config),
                ));
                let clients = match sync.refresh().await? {
                    Some(table) => table,
                    None => sync.current(),
                };
                (
                    clients,
                    Policy::with_store(store).identity_source(config.tls.peer_identity),
                    Some(sync),
                )
            }
            None => (
                nas_clients(config),
                Policy::new().identity_source(config.tls.peer_identity),
                None,
            ),
        };
        if clients.is_empty() {
            return Err(ServerError::NoClients);
        }
        clients.warn_short_secrets();
        let store = policy.store().cloned();
        let tickets = match config.tls.ticket_schedule() {
            Some(schedule) => {
                let ring = TicketKeyring::new(schedule);
                ring.refresh(store.as_ref()).await?;
                info!(
                    lifetime_secs = schedule.lifetime,
                    key_rotation_secs = schedule.rotation,
                    shared = store.is_some(),
                    "TLS session resumption on (tickets)"
                );
                Some(ring)
            }
            None => None,
        };
        let eap = eap_config(config, tickets.as_ref())?;
        let handler = Arc::new(AuthHandler::new(clients, eap, policy, settings(config)));
        handler.poll_store_changes().await;
        if handler.pap_enabled() {
            info!(
                cache_secs = config.pap.cache_secs,
                "PAP on (User-Password against the store)"
            );
        }
        // Before the RADIUS socket: once authd logs that it listens for
        // requests, the metrics endpoint is bound too.
        let metrics =
            match config.metrics.listen {
                Some(addr) => Some(crate::metrics_http::bind(addr).await.map_err(|source| {
                    ServerError::Bind {
                        what: "metrics",
                        addr,
                        source,
                    }
                })?),
                None => None,
            };
        let auth = bind_udp("authentication", config.listen.auth).await?;
        let acct = match config.listen.acct {
            Some(addr) if store.is_some() => {
                let sock = bind_udp("accounting", addr).await?;
                info!(
                    sqlite_synchronous = ?config.accounting.sqlite_synchronous,
                    stale_after_intervals = config.accounting.stale_after_intervals,
                    interim_interval_secs = config.accounting.interim_interval_secs,
                    "accounting recorded in the store"
                );
                Some(sock)
            }
            Some(addr) => {
                // RFC 2866 §4.1: an Accounting-Response acknowledges a
                // request that was recorded. Without a store nothing can
                // be, so the port stays closed and the NAS's accounting
                // server shows as down rather than silently losing records.
                warn!(
                    address = %addr,
                    "[listen] acct is set but there is no [database] to record accounting in: not listening on the accounting port"
                );
                None
            }
            None => None,
        };
        let radsec = crate::radsec::Radsec::bind(config, handler.clone()).await?;
        let das = match &store {
            Some(s) => {
                Some(crate::das::worker::Worker::bind(s.clone(), config, handler.clone()).await?)
            }
            None => None,
        };
        Ok(Server {
            handler,
            auth,
            acct,
            accounting: config.accounting.clone(),
            config_path,
            client_sync,
            tickets,
            store,
            metrics,
            started: std::time::SystemTime::now(),
            radsec,
            das,
        })
    }

    pub fn auth_addr(&self) -> std::io::Result<SocketAddr> {
        self.auth.local_addr()
    }

    /// The accounting socket's address, when accounting is served.
    pub fn acct_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.acct.as_ref().map(|s| s.local_addr())
    }

    /// The metrics endpoint's address, when it listens.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The RadSec listener's address, when it is on.
    pub fn radsec_addr(&self) -> Option<SocketAddr> {
        self.radsec.as_ref().and_then(|r| r.local_addr().ok())
    }

    pub fn handler(&self) -> Arc<AuthHandler> {
        self.handler.clone()
    }

    /// Serve until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut tasks = JoinSet::new();
        let sockets = std::iter::once((self.auth.clone(), Port::Auth))
            .chain(self.acct.clone().map(|s| (s, Port::Acct)));
        for (sock, port) in sockets {
            for _ in 0..RECEIVERS {
                tasks.spawn(receive_loop(
                    sock.clone(),
                    port,
                    self.handler.clone(),
                    limit.clone(),
                    shutdown.clone(),
                ));
            }
        }
        // Accounting comes on the accounting port or over RadSec.
        let accounting = self.acct.is_some() || self.radsec.is_some();
        if accounting && self.store.is_some() && self.accounting.stale_after_intervals > 0 {
            let handler = self.handler.clone();
            let a = self.accounting.clone();
            tasks.spawn(every(
                ACCOUNTING_SWEEP_INTERVAL,
                shutdown.clone(),
                move || {
                    let handler = handler.clone();
                    let a = a.clone();
                    async move {
                        let now = crate::store::unix_seconds(SystemTime::now());
                        handler
                            .sweep_accounting(now, a.stale_after_intervals, a.interim_interval_secs)
                            .await
                    }
                },
            ));
        }
        tasks.spawn(housekeeping(self.handler.clone(), shutdown.clone()));
        if let Some(listener) = self.metrics.take() {
            let (handler, started) = (self.handler.clone(), self.started);
            tasks.spawn(crate::metrics_http::serve(
                listener,
                handler,
                started,
                shutdown.clone(),
            ));
        }
        if let Some(sync) = &self.client_sync {
            let handler = self.handler.clone();
            tasks.spawn(crate::store::run_client_refresh(
                sync.clone(),
                CLIENT_REFRESH_INTERVAL,
                move |table| {
                    handler.reload_clients(table);
                    std::future::ready(())
                },
                shutdown.clone(),
            ));
        }
        if self.store.is_some() {
            let handler = self.handler.clone();
            tasks.spawn(every(
                crate::pap::CHANGES_POLL_INTERVAL,
                shutdown.clone(),
                move || {
                    let handler = handler.clone();
                    async move { handler.poll_store_changes().await }
                },
            ));
        }
        if let Some(ring) = &self.tickets {
            // A store that cannot be read keeps the keys held; tickets stop
            // being issued once none covers a full lifetime, and full
            // handshakes go on.
            let (ring, store) = (ring.clone(), self.store.clone());
            tasks.spawn(every(
                crate::tickets::REFRESH_INTERVAL,
                shutdown.clone(),
                move || {
                    let (ring, store) = (ring.clone(), store.clone());
                    async move {
                        if let Err(e) = ring.refresh(store.as_ref()).await {
                            warn!("cannot refresh TLS ticket keys from the store: {e}");
                        }
                    }
                },
            ));
        }
        let radsec_reload = self.radsec.as_ref().map(|r| r.reloader());
        if let Some(radsec) = self.radsec {
            tasks.spawn(radsec.run(shutdown.clone()));
        }
        let das_reload = self.das.as_ref().map(|w| w.reloader());
        if let Some(worker) = self.das.take() {
            tasks.spawn(worker.run(shutdown.clone()));
        }
        tasks.spawn(reload_on_sighup(
            self.handler.clone(),
            self.config_path.clone(),
            self.client_sync.clone(),
            self.tickets.clone(),
            radsec_reload,
            das_reload,
            shutdown.clone(),
        ));
        while let Some(res) = tasks.join_next().await {
            if let Err(e) = res {
                error!("server task failed: {e}");
                shutdown.cancel();
            }
        }
        info!(summary = %self.handler.metrics.summary(), "stopped");
    }
}

async fn bind_udp(what: &'static str, addr: SocketAddr) -> Result<Arc<UdpSocket>, ServerError> {
    let sock = UdpSocket::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { what, addr, source })?;
    let local = sock.local_addr().unwrap_or(addr);
    info!(address = %local, "listening for RADIUS {what} requests");
    Ok(Arc::new(sock))
}

async fn receive_loop(
    sock: Arc<UdpSocket>,
    port: Port,
    handler: Arc<AuthHandler>,
    limit: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = sock.recv_from(&mut buf) => r,
        };
        let (len, from) = match received {
            Ok(r) => r,
            Err(e) => {
                // ICMP port unreachable from a vanished NAS shows up here on
                // some systems: not fatal.
                debug!("recv_from: {e}");
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            handler.metrics.drop_reason("overloaded");
            continue;
        };
        let now = Instant::now();
        // Duplicates, Status-Server and PAP from the cache are answered
        // here, without a task (handler/inline.rs); the rest is handed
        // over already admitted.
        let pending = match handler.try_serve_inline(Origin::udp_to(from, port), &buf[..len], now) {
            Inline::Answered(reply) => {
                send(&sock, &reply, from).await;
                continue;
            }
            Inline::Dropped => continue,
            Inline::NeedsTask(pending) => pending.into_owned(now),
        };
        let sock = sock.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let unix_now = crate::store::unix_seconds(SystemTime::now());
            if let Some(reply) = handler.resume(pending, unix_now).await {
                send(&sock, &reply, from).await;
            }
            drop(permit);
        });
    }
}

async fn send(sock: &UdpSocket, reply: &[u8], to: SocketAddr) {
    if let Err(e) = sock.send_to(reply, to).await {
        warn!(peer = %to, "send_to: {e}");
    }
}

/// Runs `task` every `period` until `stop` (a late tick is delayed, never
/// followed by a burst of catch-up runs).
async fn every<F, Fut>(period: Duration, stop: CancellationToken, mut task: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        task().await;
    }
}

async fn housekeeping(handler: Arc<AuthHandler>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        handler.sweep(Instant::now());
        n += 1;
        if n.is_multiple_of(60) {
            debug!(sessions = handler.sessions_in_progress(), summary = %handler.metrics.summary(), "stats");
        }
    }
}

async fn reload_on_sighup(
    handler: Arc<AuthHandler>,
    config_path: Option<PathBuf>,
    client_sync: Option<Arc<ClientSync>>,
    tickets: Option<Arc<TicketKeyring>>,
    radsec: Option<crate::radsec::RadsecReload>,
    das: Option<crate::das::worker::DasReload>,
    shutdown: CancellationToken,
) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        warn!("cannot install SIGHUP handler: reload disabled");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hup.recv() => {}
        }
        let Some(path) = &config_path else {
            info!("SIGHUP: running on the embedded default configuration, nothing to reload");
            continue;
        };
        match Config::load(path).map_err(ServerError::from).and_then(|c| {
            // Ticket keys and their schedule stay as the server started.
            let counters = handler.metrics.chain_cache.eap.clone();
            let eap = eap_config_counted(&c, tickets.as_ref(), counters)?;
            let clients = match &client_sync {
                // The store's clients stay; its database URL is not reloaded.
                Some(sync) => sync.set_config(config_client_entries(&c)),
                None => nas_clients(&c),
            };
            Ok((clients, eap, c))
        }) {
            Ok((clients, eap, c)) => {
                if let Some(radsec) = &radsec
                    && let Err(e) = radsec.reload(&c)
                {
                    error!(
                        "SIGHUP: RadSec reload failed, keeping its running certificates and clients: {e}"
                    );
                }
                info!(
                    clients = clients.len(),
                    "SIGHUP: configuration reloaded (clients, TLS)"
                );
                if let Some(das) = &das {
                    das.reload(&c);
                }
                handler.reload(clients, eap);
            }
            Err(e) => error!("SIGHUP: reload failed, keeping the running configuration: {e}"),
        }
    }
}

/// Cancel `token` on SIGINT or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    warn!("cannot install SIGTERM handler: {e}");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => info!("SIGINT: shutting down"),
            _ = term.recv() => info!("SIGTERM: shutting down"),
        }
        token.cancel();
    });
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::config::DatabaseConfig;
    use crate::store::{NtCredential, UserAttributes};

    #[tokio::test]
    async fn credential_key_created_once_and_refused_when_readable() {
        let dir = std::env::temp_dir().join(format!("authd-server-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credential.key");
        let db = DatabaseConfig {
            url: crate::store::default_url(&dir),
            credential_key: Some(path.clone()),
        };
        let store = Store::connect(&db.url).await.unwrap();
        store
            .add_user("alice", &UserAttributes::default(), true)
            .await
            .unwrap();

        // First start: created, mode 0600; the next start reads the same key.
        let first = with_credential_key(store.clone(), &db).await;
        let id = first.credential_key().expect("key created").id();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = with_credential_key(store.clone(), &db).await;
        assert_eq!(again.credential_key().map(|k| k.id()), Some(id));
        assert!(
            first
                .set_password("alice", "clientPass", true)
                .await
                .unwrap()
        );
        assert!(matches!(
            again.nt_credential("alice").await.unwrap(),
            NtCredential::Hash(_)
        ));

        // A key file others can read: the server starts without it, and
        // MS-CHAPv2 finds no credential (PAP still works).
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = with_credential_key(store.clone(), &db).await;
        assert!(refused.credential_key().is_none());
        assert!(matches!(
            refused.nt_credential("alice").await.unwrap(),
            NtCredential::NoCredential
        ));
        assert!(
            refused
                .verify_password("alice", "clientPass")
                .await
                .unwrap()
        );

        // No path configured (a configuration built in code): no key.
        let none = with_credential_key(store.clone(), &DatabaseConfig::new(db.url.clone())).await;
        assert!(none.credential_key().is_none());
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
