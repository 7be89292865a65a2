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
    /// Drop a request with Proxy-State but no Message-Authenticator even
    /// where Message-Authenticator is not required (BlastRADIUS).
    pub limit_proxy_state: bool,
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

/// Shared secrets this long or shorter draw a warning at start: the secret
/// keys every authenticator and the MS-MPPE key hiding, and one captured
/// request and response let an attacker test guesses offline. RFC 2865
/// section 3 prefers at least 16 octets.
pub const SHORT_SECRET_LEN: usize = 8;

impl NasClient {
    /// Whether the shared secret is [`SHORT_SECRET_LEN`] bytes or fewer.
    pub fn has_short_secret(&self) -> bool {
        self.secret.len() <= SHORT_SECRET_LEN
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

    /// One warning per client whose shared secret is short, naming the
    /// client (never the secret or its length).
    pub fn warn_short_secrets(&self) {
        for c in self.clients.iter().filter(|c| c.has_short_secret()) {
            tracing::warn!(
                client = %c.name,
                "shared secret of {SHORT_SECRET_LEN} characters or fewer: guessable offline from one captured packet; use 16 or more random characters (RFC 2865 section 3)"
            );
        }
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
            limit_proxy_state: true,
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
        let mut c = client("ap", "127.0.0.1/32");
        c.secret = Zeroizing::new(b"hunter2-long-secret".to_vec());
        let text = format!("{c:?}");
        assert!(
            text.contains("redacted") && text.contains("\"ap\""),
            "{text}"
        );
        assert!(text.contains("127.0.0.1/32"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        // Nor as the bytes a derived Debug of the Vec would print.
        assert!(!text.contains("104, 117"), "{text}");
        let all = format!("{:?}", NasClients::new(vec![c]));
        assert!(!all.contains("hunter2") && all.contains("\"ap\""), "{all}");
    }

    #[test]
    fn short_secrets_are_told() {
        let mut c = client("ap", "127.0.0.1/32");
        for (secret, short) in [
            (&b"s"[..], true),
            (b"12345678", true),
            (b"123456789", false),
            (b"a-much-longer-shared-secret", false),
        ] {
            c.secret = Zeroizing::new(secret.to_vec());
            assert_eq!(c.has_short_secret(), short, "{}", secret.len());
        }
    }
}
