//! `[metrics]`: the Prometheus scrape endpoint.
//!
//! Off unless configured: a configuration file without `[metrics]` (or
//! with `[metrics]` and no `listen`) opens no TCP port, so upgrading authd
//! never starts listening somewhere the operator did not ask for. The
//! embedded development default turns it on at [`DEFAULT_LISTEN`], on
//! loopback.
//!
//! The port, 18130, is outside the range the Prometheus project allocates
//! to exporters (9100-9999, fully allocated, so any choice there collides
//! with some exporter), away from RADIUS (1812, 1813) and from the ports
//! FreeRADIUS's example sites listen on (18120 inner-tunnel, 18121
//! status).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The address the embedded default scrapes on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:18130";

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// TCP address of the `GET /metrics` endpoint; absent: no endpoint.
    /// The endpoint has no authentication: keep it on loopback or a
    /// management network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

impl MetricsConfig {
    /// No endpoint (what an absent `[metrics]` means).
    pub fn is_off(&self) -> bool {
        self.listen.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_listen_is_set() {
        let none: MetricsConfig = toml::from_str("").unwrap();
        assert_eq!(none.listen, None);
        let on: MetricsConfig = toml::from_str("listen = \"127.0.0.1:18130\"").unwrap();
        assert_eq!(on.listen, Some(DEFAULT_LISTEN.parse().unwrap()));
        assert!(toml::from_str::<MetricsConfig>("port = 1").is_err());
    }
}
