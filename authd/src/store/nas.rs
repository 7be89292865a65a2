//! NAS clients from the configuration file and from the store, merged into
//! the table the server looks clients up in (RFC 2865 section 3: the shared
//! secret is chosen by the request's source address).
//!
//! The store wins on conflict: a store client replaces a configuration
//! client with the same name or the same network. Networks that only
//! overlap both stay; the longest prefix wins at lookup time.
//!
//! Servers poll the store's clients generation (one single-row query) every
//! [`CLIENT_REFRESH_INTERVAL`] and rebuild the table when it changed, so a
//! client added or removed with the admin CLI is in use within about two
//! seconds on every server sharing the database, without a restart.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use radius_proto::SharedSecret;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::{Store, StoreError};
use crate::cidr::IpNet;
use crate::clients::{NasClient, NasClients};
use crate::config::ClientConfig;

/// How often servers look for NAS client changes in the store.
pub const CLIENT_REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// One NAS client, from either source.
#[derive(Clone)]
pub struct ClientEntry {
    pub name: String,
    pub net: IpNet,
    /// Keyed once when the entry is read: every merge of the table clones
    /// it rather than keying the HMAC of every client again.
    pub secret: SharedSecret,
    pub require_message_authenticator: bool,
    /// See [`NasClient::limit_proxy_state`]; always on for store clients.
    pub limit_proxy_state: bool,
}

impl std::fmt::Debug for ClientEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientEntry")
            .field("name", &self.name)
            .field("net", &self.net.to_string())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl ClientEntry {
    /// The entry for a `[[client]]` of the configuration file.
    pub fn from_config(c: &ClientConfig) -> ClientEntry {
        ClientEntry {
            name: c.name.clone(),
            net: c.address,
            secret: SharedSecret::new(c.secret.expose()),
            require_message_authenticator: c.require_message_authenticator,
            limit_proxy_state: c.limit_proxy_state,
        }
    }

    fn to_nas_client(&self) -> NasClient {
        NasClient {
            name: self.name.clone(),
            net: self.net,
            secret: self.secret.clone(),
            require_message_authenticator: self.require_message_authenticator,
            limit_proxy_state: self.limit_proxy_state,
            counters: Default::default(),
        }
    }
}

/// The Dynamic Authorization port of a NAS client whose `das_port` is
/// not set (RFC 5176 section 2.1: UDP port 3799).
pub const DEFAULT_DAS_PORT: u16 = 3799;

/// Where and how to send a NAS client Disconnect-Requests.
pub struct DasEndpoint {
    pub secret: Zeroizing<Vec<u8>>,
    pub das_port: u16,
}

impl Store {
    /// The shared secret and DAS port of the store's NAS client `name`
    /// (`das_port` NULL: [`DEFAULT_DAS_PORT`]), or `None` if the store has
    /// no such client.
    pub async fn das_endpoint(&self, name: &str) -> Result<Option<DasEndpoint>, StoreError> {
        const SQL: &str = "SELECT secret, das_port FROM nas_clients WHERE name = $1";
        let row: Option<(String, Option<i64>)> = match &self.pool {
            super::Pool::Sqlite(p) => sqlx::query_as(SQL).bind(name).fetch_optional(p).await?,
            super::Pool::Postgres(p) => sqlx::query_as(SQL).bind(name).fetch_optional(p).await?,
        };
        Ok(row.map(|(secret, port)| DasEndpoint {
            secret: Zeroizing::new(secret.into_bytes()),
            das_port: das_port_or_default(port),
        }))
    }

    /// Sets the DAS port of the store's NAS client `name` (`authd client
    /// add --das-port`). Servers read it for each Disconnect-Request, so
    /// it takes effect at the next one.
    pub async fn set_client_das_port(&self, name: &str, das_port: u16) -> Result<(), StoreError> {
        if das_port == 0 {
            return Err(StoreError::invalid("das_port", "must not be 0"));
        }
        const SQL: &str = "UPDATE nas_clients SET das_port = $1 WHERE name = $2";
        let port = i64::from(das_port);
        let done = match &self.pool {
            super::Pool::Sqlite(p) => sqlx::query(SQL)
                .bind(port)
                .bind(name)
                .execute(p)
                .await?
                .rows_affected(),
            super::Pool::Postgres(p) => sqlx::query(SQL)
                .bind(port)
                .bind(name)
                .execute(p)
                .await?
                .rows_affected(),
        };
        if done == 0 {
            return Err(StoreError::NotFound {
                kind: "client",
                name: name.to_owned(),
            });
        }
        Ok(())
    }
}

/// A stored `das_port`: NULL, 0 or out of range is [`DEFAULT_DAS_PORT`].
pub(super) fn das_port_or_default(port: Option<i64>) -> u16 {
    port.and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_DAS_PORT)
}

/// The client table from configuration and store entries; a store entry
/// replaces every configuration entry with its name or its network.
///
/// Both lists may hold a hundred thousand clients: the store's names and
/// networks are sets, so the merge is linear, not one scan of the store
/// per configuration entry.
pub fn merge_clients(config: &[ClientEntry], store: &[ClientEntry]) -> NasClients {
    let names: HashSet<&str> = store.iter().map(|s| s.name.as_str()).collect();
    let nets: HashSet<IpNet> = store.iter().map(|s| s.net).collect();
    let mut out: Vec<NasClient> = config
        .iter()
        .filter(|c| !names.contains(c.name.as_str()) && !nets.contains(&c.net))
        .map(ClientEntry::to_nas_client)
        .collect();
    out.extend(store.iter().map(ClientEntry::to_nas_client));
    NasClients::new(out)
}

struct SyncState {
    config: Vec<ClientEntry>,
    store: Vec<ClientEntry>,
    generation: Option<i64>,
}

/// Keeps the server's client table in step with the configuration file
/// and the store.
pub struct ClientSync {
    store: Store,
    state: Mutex<SyncState>,
}

impl ClientSync {
    /// A sync for `store`, with the configuration file's clients. Nothing
    /// is read yet: call [`ClientSync::refresh`].
    pub fn new(store: Store, config: Vec<ClientEntry>) -> ClientSync {
        ClientSync {
            store,
            state: Mutex::new(SyncState {
                config,
                store: Vec::new(),
                generation: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SyncState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Reads the store's clients if they changed since the last call (the
    /// first call always reads them) and returns the new merged table, or
    /// `None` when nothing changed.
    pub async fn refresh(&self) -> Result<Option<NasClients>, StoreError> {
        let seen = self.state().generation;
        let generation = self.store.clients_generation().await?;
        if seen == Some(generation) {
            return Ok(None);
        }
        let (generation, entries) = self.store.client_entries().await?;
        let mut state = self.state();
        state.store = entries;
        state.generation = Some(generation);
        Ok(Some(merge_clients(&state.config, &state.store)))
    }

    /// Replaces the configuration file's clients (on reload) and returns
    /// the merged table with the store's clients last read.
    pub fn set_config(&self, config: Vec<ClientEntry>) -> NasClients {
        let mut state = self.state();
        state.config = config;
        merge_clients(&state.config, &state.store)
    }

    /// The merged table as it stands.
    pub fn current(&self) -> NasClients {
        let state = self.state();
        merge_clients(&state.config, &state.store)
    }
}

/// Polls the store every `interval` and hands each changed client table to
/// `apply` (the server passes `AuthHandler::reload_clients`), until
/// `shutdown`. A failing store keeps the current table and is logged once
/// per outage.
pub async fn run_client_refresh<F, Fut>(
    sync: std::sync::Arc<ClientSync>,
    interval: Duration,
    apply: F,
    shutdown: CancellationToken,
) where
    F: Fn(NasClients) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sync.refresh().await {
            Ok(Some(table)) => {
                tracing::info!(
                    clients = table.len(),
                    "NAS clients changed in the store: reloaded"
                );
                apply(table).await;
                failing = false;
            }
            Ok(None) => {
                if failing {
                    tracing::info!("store reachable again");
                }
                failing = false;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(
                        "cannot refresh NAS clients from the store, keeping the current ones: {e}"
                    );
                }
                failing = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, net: &str, secret: &str) -> ClientEntry {
        ClientEntry {
            name: name.into(),
            net: net.parse().unwrap(),
            secret: SharedSecret::new(secret.as_bytes()),
            require_message_authenticator: true,
            limit_proxy_state: true,
        }
    }

    #[test]
    fn store_wins_on_name_or_address() {
        let config = [
            entry("ap1", "10.0.0.1", "config-1"),
            entry("ap2", "10.0.0.2", "config-2"),
            entry("lab", "10.1.0.0/16", "config-lab"),
        ];
        let store = [
            entry("ap1", "10.0.0.9", "store-1"),
            entry("other", "10.0.0.2", "store-2"),
        ];
        let t = merge_clients(&config, &store);
        assert_eq!(t.len(), 3);
        let ip = |s: &str| s.parse().unwrap();
        // Same name: the store's ap1 at its own address; the config's is gone.
        assert!(t.lookup(ip("10.0.0.1")).is_none());
        assert_eq!(
            t.lookup(ip("10.0.0.9")).unwrap().secret.as_bytes(),
            b"store-1"
        );
        // Same address: the store's client.
        let c = t.lookup(ip("10.0.0.2")).unwrap();
        assert_eq!(c.name, "other");
        assert_eq!(c.secret.as_bytes(), b"store-2");
        // No conflict: the config's client stays.
        assert_eq!(t.lookup(ip("10.1.2.3")).unwrap().name, "lab");
    }

    /// The set-based merge agrees with the definition (a configuration
    /// entry stays unless a store entry has its name or its network) over
    /// large lists with conflicts of both kinds.
    #[test]
    fn merge_matches_the_definition_at_scale() {
        let net = |i: u32| format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        let config: Vec<ClientEntry> = (0..5_000u32)
            .map(|i| entry(&format!("c{i}"), &net(i), "config"))
            .collect();
        // Every 7th store entry takes a configuration name, every 11th a
        // configuration address; the rest are new.
        let store: Vec<ClientEntry> = (0..5_000u32)
            .map(|i| {
                let name = if i % 7 == 0 {
                    format!("c{i}")
                } else {
                    format!("s{i}")
                };
                let addr = if i % 11 == 0 {
                    net(i + 3)
                } else {
                    net(100_000 + i)
                };
                entry(&name, &addr, "store")
            })
            .collect();
        let table = merge_clients(&config, &store);
        let mut want: Vec<String> = config
            .iter()
            .filter(|c| !store.iter().any(|s| s.name == c.name || s.net == c.net))
            .chain(store.iter())
            .map(|c| format!("{} {}", c.name, c.net))
            .collect();
        let mut got: Vec<String> = table
            .iter()
            .map(|c| format!("{} {}", c.name, c.net))
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        // Both kinds of conflict happened, and untouched entries stayed.
        assert!(
            table.len() < 9_500 && table.len() > 8_000,
            "{}",
            table.len()
        );
        let ip = |s: String| s.parse().unwrap();
        assert_eq!(
            table.lookup(ip(net(3))).unwrap().secret.as_bytes(),
            b"store"
        );
        assert_eq!(
            table.lookup(ip(net(1))).unwrap().secret.as_bytes(),
            b"config"
        );
    }

    #[test]
    fn debug_hides_secret() {
        let e = entry("ap", "10.0.0.1", "hunter2");
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
