//! The tokio edge of the Disconnect client: one UDP socket, the store's
//! queue, the wake-ups, and the timers of [`DasClient`].
//!
//! A server with a store runs one worker. It sweeps the queue when woken
//! ([`super::wake`]) and every [`SAFETY_POLL`]: for each claimable row it
//! tries the claim (one UPDATE that only one server can win, see
//! [`Store::claim_disconnect`]); the winner sends, retransmits, and records
//! the answer on the row and on the session. A server that dies while
//! sending leaves a claim that another takes over after
//! [`CLAIM_TIMEOUT_SECS`] (longer than the whole retransmission schedule).
//!
//! The Disconnect-Request goes to the session's `nas_address` (the source
//! of its accounting, so a NAS client that is a CIDR range works) at the
//! NAS client's `das_port`, with its secret: the store's client of that
//! name (read for every request, so `authd client add --das-port` takes
//! effect at once), else the configuration file's, which SIGHUP's reload
//! replaces ([`DasReload`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use zeroize::Zeroizing;

use super::{DasClient, DasResult, Finished, Request, SessionId, StartError, error_cause_name};
use crate::config::ClientConfig;
use crate::logsafe::escaped;
use crate::metrics::{KeyedRateLimit, Metrics};
use crate::store::disconnect::{DisconnectJob, DisconnectOutcome};
use crate::store::{Store, StoreError, unix_seconds};

/// The slow sweep for anything a wake-up missed.
pub const SAFETY_POLL: Duration = Duration::from_secs(10);
/// A claim older than this is taken over by another server.
pub const CLAIM_TIMEOUT_SECS: i64 = 60;
/// Rows read per sweep.
const SWEEP_LIMIT: i64 = 256;

/// A configuration file's NAS client, as the worker needs it.
#[derive(Clone)]
pub struct ConfigEndpoint {
    name: String,
    secret: Zeroizing<Vec<u8>>,
    das_port: u16,
}

impl ConfigEndpoint {
    pub fn from_config(c: &ClientConfig) -> ConfigEndpoint {
        ConfigEndpoint {
            name: c.name.clone(),
            secret: Zeroizing::new(c.secret.expose().to_vec()),
            das_port: c.das_port,
        }
    }
}

/// What the worker needs of the server: where to count its results, and
/// a way to drop what the server cached about users and certificates. The
/// server's handler, or bare [`Metrics`] in tests.
pub trait Counters: Send + Sync + 'static {
    fn metrics(&self) -> &Metrics;

    /// Reads the store's change generation now (see
    /// `AuthHandler::poll_store_changes`), rather than at the next
    /// one-second poll.
    fn store_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

impl Counters for Metrics {
    fn metrics(&self) -> &Metrics {
        self
    }
}

impl Counters for crate::handler::AuthHandler {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn store_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.poll_store_changes())
    }
}

/// What the worker remembers of a request in flight, for its log line.
struct InFlight {
    user: String,
    nas_name: String,
}

/// The Disconnect worker of one server.
pub struct Worker {
    store: Store,
    me: String,
    socket: UdpSocket,
    client: DasClient,
    counters: Arc<dyn Counters>,
    config: watch::Receiver<Arc<Vec<ConfigEndpoint>>>,
    reload: DasReload,
    wake: Arc<Notify>,
    in_flight: HashMap<String, InFlight>,
    ignored_log: KeyedRateLimit<&'static str>,
}

impl Worker {
    /// The server's worker: its socket on an ephemeral port of the
    /// authentication address (the source NASes see for authd), the
    /// configuration file's clients.
    pub async fn bind(
        store: Store,
        config: &crate::config::Config,
        counters: Arc<dyn Counters>,
    ) -> Result<Worker, crate::server::ServerError> {
        let addr = SocketAddr::new(config.listen.auth.ip(), 0);
        let socket =
            UdpSocket::bind(addr)
                .await
                .map_err(|source| crate::server::ServerError::Bind {
                    what: "Disconnect",
                    addr,
                    source,
                })?;
        Ok(Worker::new(store, socket, counters, endpoints(config)))
    }

    /// A worker sending from `socket`.
    pub fn new(
        store: Store,
        socket: UdpSocket,
        counters: Arc<dyn Counters>,
        config: Vec<ConfigEndpoint>,
    ) -> Worker {
        let me = format!(
            "{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 6]>())
        );
        let (tx, config) = watch::channel(Arc::new(config));
        Worker {
            store,
            me,
            socket,
            client: DasClient::new(),
            counters,
            config,
            reload: DasReload(Arc::new(tx)),
            wake: Arc::new(Notify::new()),
            in_flight: HashMap::new(),
            ignored_log: KeyedRateLimit::new(10, Duration::from_secs(1), 16),
        }
    }

    /// This server's name in `claimed_by`.
    pub fn instance(&self) -> &str {
        &self.me
    }

    /// Replaces the configuration file's clients of a running worker.
    pub fn reloader(&self) -> DasReload {
        self.reload.clone()
    }

    /// Wakes the worker (a sweep of the queue at once).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs until `shutdown`, with the wake-up listener of the store's
    /// backend.
    pub async fn run(mut self, shutdown: CancellationToken) {
        tokio::spawn(super::wake::run(
            self.store.clone(),
            self.wake.clone(),
            shutdown.clone(),
        ));
        info!(instance = %self.me, "Disconnect worker started");
        let mut buf = vec![0u8; 4097];
        let mut sweep = true;
        let mut poll = tokio::time::interval(SAFETY_POLL);
        loop {
            if sweep {
                if let Err(e) = self.sweep().await {
                    warn!("cannot read the Disconnect-Request queue: {e}");
                }
                sweep = false;
            }
            let deadline = self.client.next_deadline();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => sweep = true,
                _ = poll.tick() => sweep = true,
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.datagram(from, &buf[..n]).await,
                    Err(e) => warn!("Disconnect socket: {e}"),
                },
                _ = sleep_until(deadline) => self.timers().await,
            }
        }
    }

    /// Claims and starts every claimable request.
    ///
    /// First the server's cache of users and certificates is refreshed: a
    /// station the NAS drops re-authenticates at once (wpa_supplicant
    /// within milliseconds, by session resumption), and must meet the
    /// disabled user or the revoked certificate, not the cached answer of
    /// the last one-second poll. Every server is woken, so every server
    /// refreshes, whichever one sends.
    async fn sweep(&mut self) -> Result<(), StoreError> {
        self.counters.store_changed().await;
        let now = unix_seconds(SystemTime::now());
        let ids = self
            .store
            .claimable_disconnects(now, CLAIM_TIMEOUT_SECS, SWEEP_LIMIT)
            .await?;
        for id in ids {
            if self.in_flight.contains_key(&id)
                || self.client.outstanding() >= super::MAX_OUTSTANDING
            {
                continue;
            }
            let now = unix_seconds(SystemTime::now());
            let Some(job) = self
                .store
                .claim_disconnect(&id, &self.me, now, CLAIM_TIMEOUT_SECS)
                .await?
            else {
                continue;
            };
            self.start(job).await;
        }
        Ok(())
    }

    async fn start(&mut self, job: DisconnectJob) {
        let req = match self.request(&job).await {
            Ok(r) => r,
            Err(why) => {
                self.give_up(&job, &why).await;
                return;
            }
        };
        let now = SystemTime::now();
        let event_timestamp = u32::try_from(unix_seconds(now)).unwrap_or(u32::MAX);
        match self.client.start(req, Instant::now(), event_timestamp) {
            Ok(t) => {
                self.in_flight.insert(
                    job.id.clone(),
                    InFlight {
                        user: job.user_name.clone(),
                        nas_name: job.nas_name.clone(),
                    },
                );
                self.send(t.to, &t.bytes).await;
            }
            Err(StartError::Busy) => {
                // Back to the queue for a later sweep (this server's or
                // another's), when an Identifier to that NAS is free.
                if let Err(e) = self.store.release_disconnect(&job.id, &self.me).await {
                    warn!(request = %job.id, "cannot hand a Disconnect-Request back: {e}; retried after the claim timeout");
                }
            }
            Err(StartError::Build(e)) => self.give_up(&job, &e.to_string()).await,
        }
    }

    /// The request for `job`: where to send it and with which secret.
    async fn request(&self, job: &DisconnectJob) -> Result<Request, String> {
        let ip: IpAddr = job.nas_address.parse().map_err(|_| {
            format!(
                "NAS address {:?} of the session is not an IP address",
                job.nas_address
            )
        })?;
        let (secret, das_port) = match self.store.das_endpoint(&job.nas_name).await {
            Ok(Some(e)) => (e.secret, e.das_port),
            Ok(None) => match self.config.borrow().iter().find(|c| c.name == job.nas_name) {
                Some(c) => (c.secret.clone(), c.das_port),
                None => return Err("no NAS client of that name".into()),
            },
            Err(e) => return Err(format!("cannot read the NAS client: {e}")),
        };
        if das_port == 0 {
            return Err("das_port is 0".into());
        }
        Ok(Request {
            id: job.id.clone(),
            nas: SocketAddr::new(ip, das_port),
            secret,
            session: SessionId {
                user_name: job.user_name.clone(),
                acct_session_id: job.acct_session_id.clone(),
                calling_station_id: job.calling_station_id.clone().filter(|c| !c.is_empty()),
                nas_ip_address: job
                    .nas_ip_address
                    .as_deref()
                    .and_then(|a| a.parse::<Ipv4Addr>().ok()),
            },
        })
    }

    /// A request that cannot be sent: recorded as `timeout` (nothing
    /// answered), counted and logged as `error`.
    async fn give_up(&mut self, job: &DisconnectJob, why: &str) {
        self.counters.metrics().disconnect_result("error");
        warn!(
            user = %escaped(&job.user_name),
            nas = %escaped(&job.nas_name),
            request = %job.id,
            result = "error",
            "Disconnect-Request not sent: {why}"
        );
        let outcome = DisconnectOutcome {
            state: "timeout",
            error_cause: None,
        };
        let now = unix_seconds(SystemTime::now());
        if let Err(e) = self
            .store
            .finish_disconnect(&job.id, &self.me, outcome, now)
            .await
        {
            warn!(request = %job.id, "cannot record the Disconnect result: {e}");
        }
    }

    async fn send(&self, to: SocketAddr, bytes: &[u8]) {
        if let Err(e) = self.socket.send_to(bytes, to).await {
            warn!(nas = %to, "cannot send a Disconnect-Request: {e}");
        }
    }

    async fn datagram(&mut self, from: SocketAddr, bytes: &[u8]) {
        match self.client.handle_datagram(from, bytes) {
            Ok(f) => self.finished(f).await,
            Err(why) => {
                self.counters.metrics().drop_reason(why.label());
                if let Some(suppressed) = self.ignored_log.allow(why.label(), Instant::now()) {
                    warn!(from = %from, reason = why.label(), suppressed, "Disconnect answer ignored");
                }
            }
        }
    }

    async fn timers(&mut self) {
        let (sends, done) = self.client.poll(Instant::now());
        for t in sends {
            self.send(t.to, &t.bytes).await;
        }
        for f in done {
            self.finished(f).await;
        }
    }

    async fn finished(&mut self, f: Finished) {
        let info = self.in_flight.remove(&f.id);
        let (user, nas_name) = info
            .as_ref()
            .map(|i| (i.user.as_str(), i.nas_name.as_str()))
            .unwrap_or(("", ""));
        self.counters.metrics().disconnect_result(f.result.label());
        let cause = f.result.error_cause();
        let cause_name = cause.map(error_cause_name).unwrap_or("");
        info!(
            user = %escaped(user),
            nas = %escaped(nas_name),
            address = %f.nas,
            request = %f.id,
            result = f.result.label(),
            error_cause = cause.map(i64::from).unwrap_or(0),
            error_cause_name = cause_name,
            transmissions = f.transmissions,
            "Disconnect-Request {}",
            match f.result {
                DasResult::Ack => "acknowledged",
                DasResult::Nak { .. } => "refused",
                DasResult::Timeout => "unanswered",
            }
        );
        let outcome = DisconnectOutcome {
            state: f.result.label(),
            error_cause: cause,
        };
        let now = unix_seconds(SystemTime::now());
        match self
            .store
            .finish_disconnect(&f.id, &self.me, outcome, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                warn!(request = %f.id, "Disconnect result not recorded: another server took the request over")
            }
            Err(e) => warn!(request = %f.id, "cannot record the Disconnect result: {e}"),
        }
    }
}

/// The configuration file's clients as the worker keeps them.
fn endpoints(config: &crate::config::Config) -> Vec<ConfigEndpoint> {
    config
        .clients
        .iter()
        .map(ConfigEndpoint::from_config)
        .collect()
}

/// Hands a reloaded configuration's NAS clients (secret, `das_port`) to a
/// running worker: requests started after it use them; requests in flight
/// keep the secret they were signed with.
#[derive(Clone)]
pub struct DasReload(Arc<watch::Sender<Arc<Vec<ConfigEndpoint>>>>);

impl DasReload {
    pub fn reload(&self, config: &crate::config::Config) {
        self.0.send_replace(Arc::new(endpoints(config)));
    }

    /// The `das_port` the worker would use for configuration client
    /// `name`, if it has one of that name.
    pub fn das_port(&self, name: &str) -> Option<u16> {
        self.0
            .borrow()
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.das_port)
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
