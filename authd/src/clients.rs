//! NAS clients: who may talk to the server, and with which shared secret.
//!
//! A packet's source address is matched against every client's address or
//! CIDR; the most specific (longest prefix) wins, so a `/32` for one access
//! point can override a `/24` for the rest of its subnet.

use std::net::IpAddr;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::cidr::IpNet;

/// One NAS client as the server uses it.
pub struct NasClient {
    pub name: String,
    pub net: IpNet,
    pub secret: Zeroizing<Vec<u8>>,
    pub require_message_authenticator: bool,
}

impl std::fmt::Debug for NasClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NasClient")
            .field("name", &self.name)
            .field("net", &self.net.to_string())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The set of clients, looked up by source address.
#[derive(Debug, Default)]
pub struct NasClients {
    clients: Vec<Arc<NasClient>>,
}

impl NasClients {
    pub fn new(mut clients: Vec<NasClient>) -> Self {
        // Longest prefix first, so the first match is the most specific.
        clients.sort_by_key(|c| std::cmp::Reverse(c.net.prefix_len()));
        NasClients {
            clients: clients.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn lookup(&self, ip: IpAddr) -> Option<Arc<NasClient>> {
        self.clients.iter().find(|c| c.net.contains(ip)).cloned()
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<NasClient>> {
        self.clients.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, net: &str) -> NasClient {
        NasClient {
            name: name.into(),
            net: net.parse().unwrap(),
            secret: Zeroizing::new(b"s".to_vec()),
            require_message_authenticator: true,
        }
    }

    #[test]
    fn most_specific_match_wins() {
        let c = NasClients::new(vec![
            client("subnet", "10.0.0.0/24"),
            client("one", "10.0.0.7/32"),
        ]);
        assert_eq!(c.lookup("10.0.0.7".parse().unwrap()).unwrap().name, "one");
        assert_eq!(
            c.lookup("10.0.0.8".parse().unwrap()).unwrap().name,
            "subnet"
        );
        assert!(c.lookup("10.0.1.1".parse().unwrap()).is_none());
    }

    #[test]
    fn debug_never_shows_secret() {
        let c = client("ap", "127.0.0.1/32");
        let text = format!("{c:?}");
        assert!(text.contains("redacted"));
        assert!(!text.contains("secret: [115]"));
    }
}
