//! What the metrics endpoint reads of the handler: the NAS client table
//! (each entry holds its counters), the conversations in progress and the
//! store's health. Reads only; nothing here is on the request path.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::AuthHandler;
use crate::clients::NasClients;

/// The store as the request path sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreHealth {
    /// A `[database]` is configured.
    pub configured: bool,
    /// The circuit breaker refuses reads now (repeated failures or
    /// timeouts; `store/breaker.rs`).
    pub breaker_open: bool,
    /// The last poll of the change generation worked (false with no store).
    pub changes_readable: bool,
}

impl AuthHandler {
    /// The NAS client table in use now.
    pub fn clients(&self) -> Arc<NasClients> {
        self.live().0
    }

    pub fn store_health(&self, now: Instant) -> StoreHealth {
        let configured = self.policy.store().is_some();
        StoreHealth {
            configured,
            breaker_open: configured && self.policy.breaker().is_some_and(|b| b.is_open(now)),
            changes_readable: configured
                && self.metrics.store_changes_readable.load(Ordering::Relaxed),
        }
    }
}

/// The end-to-end tests' exposition checker, written apart from the
/// writer in `metrics/exposition.rs`.
#[cfg(test)]
#[path = "../../../tests/common/prom.rs"]
mod prom;

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::time::SystemTime;

    use radius_proto::{Code, PacketBuilder, dict};

    use super::*;
    use crate::config::Config;
    use crate::metrics::render::{Process, render};
    use crate::policy::Policy;

    use super::prom;

    const SECRET: &[u8] = b"a-long-test-secret";
    /// A client name with every character the format escapes.
    const ODD_NAME: &str = "ap \"one\" \\ east\nwing";

    fn handler(dir: &Path) -> AuthHandler {
        let (pki, _) = crate::pki::ensure_dev_pki(&dir.join("pki"), "alice").unwrap();
        let text = format!(
            "[tls]\ncertificate = {:?}\nprivate_key = {:?}\nca = {:?}\n\
             [[client]]\nname = {}\naddress = \"192.0.2.1/32\"\nsecret = \"a-long-test-secret\"\n\
             [[client]]\nname = \"quiet\"\naddress = \"192.0.2.2/32\"\nsecret = \"a-long-test-secret\"\n",
            pki.server_cert,
            pki.server_key,
            pki.ca_cert,
            toml::Value::String(ODD_NAME.into()),
        );
        let config = Config::parse(&text, Path::new("test.toml")).unwrap();
        AuthHandler::new(
            crate::server::nas_clients(&config),
            crate::server::eap_config(&config, None).unwrap(),
            Policy::new(),
            crate::server::settings(&config),
        )
    }

    fn identity_request() -> Vec<u8> {
        let mut b = PacketBuilder::new(Code::AccessRequest, 1);
        b.add(dict::USER_NAME, b"alice").unwrap();
        b.add_eap_message(&[2, 0, 0, 10, 1, b'a', b'l', b'i', b'c', b'e']);
        let mut authenticator = [0u8; 16];
        rand::fill(&mut authenticator);
        b.encode_request(authenticator, SECRET).unwrap()
    }

    #[test]
    fn scrape_escapes_client_names_and_never_names_unknown_peers() {
        let dir = std::env::temp_dir().join(format!("authd-observe-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let h = handler(&dir);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let now = Instant::now();
        let from: SocketAddr = "192.0.2.1:50000".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.77:50000".parse().unwrap();
        let req = identity_request();
        let reply = rt
            .block_on(h.handle_auth(from, &req, now))
            .expect("challenge");
        assert_eq!(reply[0], 11);
        assert!(rt.block_on(h.handle_auth(stranger, &req, now)).is_none());
        // A retransmission: answered from the duplicate cache, counted as
        // a request and a response again.
        assert!(rt.block_on(h.handle_auth(from, &req, now)).is_some());

        // A reload with the same names keeps the counters.
        let again = NasClients::new(
            h.clients()
                .iter()
                .map(|c| crate::clients::NasClient {
                    name: c.name.clone(),
                    net: c.net,
                    secret: c.secret.clone(),
                    require_message_authenticator: true,
                    limit_proxy_state: true,
                    counters: Default::default(),
                })
                .collect(),
        );
        h.reload_clients(again);

        let process = Process {
            started: SystemTime::now(),
        };
        let text = render(&h, process, now);
        let samples = prom::check(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let client = |code| [("client", ODD_NAME), ("code", code)];
        let v = |name, labels: &[(&str, &str)]| prom::value(&samples, name, labels);
        assert_eq!(
            v("authd_requests_total", &client("Access-Request")),
            Some(2.0)
        );
        assert_eq!(
            v("authd_responses_total", &client("Access-Challenge")),
            Some(2.0)
        );
        assert_eq!(
            v("authd_responses_total", &client("Access-Accept")),
            Some(0.0)
        );
        assert_eq!(
            v("authd_duplicates_total", &[("outcome", "replayed")]),
            Some(1.0)
        );
        assert_eq!(
            v("authd_drops_total", &[("reason", "unknown_client")]),
            Some(1.0)
        );
        assert_eq!(v("authd_eap_conversations", &[]), Some(1.0));
        // A client that never spoke has no series; no peer address appears.
        assert!(!text.contains("quiet"), "{text}");
        assert!(!text.contains("198.51.100"), "{text}");
        assert!(
            text.contains(r#"client="ap \"one\" \\ east\nwing""#),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
