//! How a running server hears at once that Disconnect-Requests were
//! queued, rather than at its next safety poll.
//!
//! - PostgreSQL: the enqueueing transaction runs `pg_notify('authd_disconnect')`
//!   (delivered at commit); each server holds a `LISTEN` connection
//!   ([`sqlx::postgres::PgListener`]), reconnecting when it drops (and
//!   sweeping the queue after every reconnect, for what it missed).
//! - SQLite: each server binds a Unix datagram socket in the directory
//!   beside the database file ([`crate::store::Store::wake_dir`]); the
//!   writer, after its commit, sends one byte to every socket there
//!   ([`wake_all`]) and removes sockets nobody listens on any more.
//!
//! A wake-up carries nothing: the server reads the queue, and the claim
//! decides who sends.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixDatagram;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::store::Store;
use crate::store::disconnect::NOTIFY_CHANNEL;

/// Longest path a Unix socket address holds (Linux `sun_path`, with its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// Sockets [`wake_all`] looks at in one directory.
const MAX_SOCKETS: usize = 1024;

/// Sends one byte to every wake socket in `dir`; removes those that
/// refuse (their server is gone). Never blocks: a full socket buffer means
/// that server has a wake-up pending already.
pub fn wake_all(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let Ok(sender) = StdUnixDatagram::unbound() else {
        return;
    };
    let _ = sender.set_nonblocking(true);
    for entry in entries.flatten().take(MAX_SOCKETS) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "sock") {
            continue;
        }
        match sender.send_to(b"!", &path) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
                ) =>
            {
                let _ = std::fs::remove_file(&path);
            }
            Err(e) => debug!(socket = %path.display(), "wake-up not sent: {e}"),
        }
    }
}

/// A bound wake socket; its file is removed on drop.
pub struct WakeSocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl WakeSocket {
    /// Binds a fresh socket in `dir` (created, mode 0700, if missing).
    pub fn bind(dir: &Path) -> io::Result<WakeSocket> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let name = format!(
            "{}-{}.sock",
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        let path = dir.join(name);
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("socket path longer than {MAX_SOCKET_PATH} bytes"),
            ));
        }
        let socket = UnixDatagram::bind(&path)?;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        Ok(WakeSocket { socket, path })
    }

    /// Waits for a wake-up.
    pub async fn recv(&self) -> io::Result<()> {
        let mut buf = [0u8; 16];
        self.socket.recv(&mut buf).await.map(|_| ())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WakeSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Calls `wake.notify_one()` whenever requests may have been queued, until
/// `shutdown`: on every notification, and after every (re)connection of
/// the PostgreSQL listener. Without a working mechanism it returns and the
/// safety poll remains.
pub async fn run(store: Store, wake: Arc<Notify>, shutdown: CancellationToken) {
    if let Some(pool) = store.pg_pool() {
        listen_postgres(pool, wake, shutdown).await;
    } else if let Some(dir) = store.wake_dir() {
        let socket = match WakeSocket::bind(&dir) {
            Ok(s) => s,
            Err(e) => {
                warn!(
                    dir = %dir.display(),
                    "cannot bind the Disconnect wake-up socket ({e}); queued Disconnect-Requests wait for the next poll"
                );
                return;
            }
        };
        debug!(socket = %socket.path().display(), "Disconnect wake-up socket bound");
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = socket.recv() => match r {
                    Ok(()) => wake.notify_one(),
                    Err(e) => {
                        warn!("Disconnect wake-up socket: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
            }
        }
    }
}

async fn listen_postgres(pool: sqlx::PgPool, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut failing = false;
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(NOTIFY_CHANNEL).await {
                Ok(()) => l,
                Err(e) => {
                    if !failing {
                        warn!("cannot LISTEN {NOTIFY_CHANNEL}: {e}; retrying");
                    }
                    failing = true;
                    if sleep_or_stop(&shutdown).await {
                        return;
                    }
                    continue;
                }
            },
            Err(e) => {
                if !failing {
                    warn!("cannot connect the {NOTIFY_CHANNEL} listener: {e}; retrying");
                }
                failing = true;
                if sleep_or_stop(&shutdown).await {
                    return;
                }
                continue;
            }
        };
        if failing {
            info!("{NOTIFY_CHANNEL} listener connected again");
        }
        // Whatever was queued while not listening.
        wake.notify_one();
        let lost = loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = listener.try_recv() => match r {
                    Ok(Some(_)) => wake.notify_one(),
                    // The connection dropped: connect and LISTEN again at
                    // once; the wake-up after that sweeps what was queued
                    // in between (its NOTIFY went to nobody).
                    Ok(None) => break true,
                    Err(e) => {
                        warn!("{NOTIFY_CHANNEL} listener: {e}; reconnecting");
                        failing = true;
                        break false;
                    }
                },
            }
        };
        drop(listener);
        if lost {
            debug!("{NOTIFY_CHANNEL} listener connection lost; reconnecting");
        } else if sleep_or_stop(&shutdown).await {
            return;
        }
    }
}

/// Sleeps a second; true if `shutdown` came first.
async fn sleep_or_stop(shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(Duration::from_secs(1)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_bound_sockets_and_removes_stale_ones() {
        let dir = std::env::temp_dir().join(format!(
            "authd-wake-{}",
            hex::encode(rand::random::<[u8; 4]>())
        ));
        let a = WakeSocket::bind(&dir).unwrap();
        let b = WakeSocket::bind(&dir).unwrap();
        // A stale socket: bound, then its server went away without cleanup.
        let stale = dir.join("1-dead.sock");
        drop(StdUnixDatagram::bind(&stale).unwrap());
        assert!(stale.exists());
        wake_all(&dir);
        tokio::time::timeout(Duration::from_secs(5), a.recv())
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), b.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(!stale.exists(), "stale socket removed");
        let path = a.path().to_owned();
        drop(a);
        assert!(!path.exists());
        drop(b);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
