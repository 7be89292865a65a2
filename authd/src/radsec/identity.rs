//! Which RadSec client a TLS connection is: the names in its verified
//! certificate against the `certificate_name` of each `[[client]]`.
//!
//! RFC 6614 §2.3 identifies the client by its certificate, not by its
//! source address: a subjectAltName of type dNSName when the certificate
//! has any, else the subject CN. Here every dNSName of the leaf is tried;
//! only a certificate without dNSName entries is named by its CN (an
//! attacker cannot pick a CN to sidestep a SAN the CA put there). Names
//! compare ASCII case-insensitively, as DNS names do. The client's
//! `address` must hold the TCP source address as well.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::clients::NasClient;
use crate::config::{Config, RADSEC_SECRET};

/// The RadSec clients of the configuration, by certificate name.
#[derive(Debug, Default)]
pub struct RadsecClients {
    by_name: HashMap<String, Arc<NasClient>>,
}

/// Why a certificate names no client; `Display` is the log sentence
/// (certificate names are peer strings: escaped).
#[derive(Debug, PartialEq, Eq)]
pub enum Unidentified {
    /// No certificate, or one that does not parse (the verifier accepted
    /// it, so this is not expected).
    NoCertificate,
    /// No `[[client]]` has any of these names.
    NoMatch { names: Vec<String> },
    /// The client named is fenced to other source addresses.
    Address { client: String, peer: IpAddr },
}

impl Unidentified {
    /// A stable label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            Unidentified::NoCertificate => "radsec_no_certificate",
            Unidentified::NoMatch { .. } => "radsec_unknown_certificate",
            Unidentified::Address { .. } => "radsec_address_not_allowed",
        }
    }
}

impl std::fmt::Display for Unidentified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unidentified::NoCertificate => write!(f, "no usable client certificate"),
            Unidentified::NoMatch { names } => {
                let shown: Vec<String> = names.iter().take(8).map(crate::logsafe::escape).collect();
                write!(
                    f,
                    "client certificate names [{}] match no [[client]] certificate_name",
                    shown.join(", ")
                )
            }
            Unidentified::Address { client, peer } => write!(
                f,
                "client certificate names [[client]] `{client}`, whose address does not hold {peer}"
            ),
        }
    }
}

/// The names a certificate is known by (RFC 6614 §2.3): its SAN dNSName
/// entries, or, without any, its subject CN. `None` if it does not parse.
pub fn certificate_names(der: &[u8]) -> Option<Vec<String>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(dns) = n {
                names.push((*dns).to_owned());
            }
        }
    }
    if names.is_empty()
        && let Some(cn) = crate::certs::common_name(cert.subject())
    {
        names.push(cn.to_owned());
    }
    Some(names)
}

impl RadsecClients {
    /// The `[[client]]` entries with `certificate_name`, each with the
    /// fixed secret "radsec" (RFC 6614 §2.3).
    pub fn from_config(config: &Config) -> RadsecClients {
        let by_name = config
            .clients
            .iter()
            .filter_map(|c| {
                let name = c.certificate_name.as_ref()?;
                Some((
                    name.to_ascii_lowercase(),
                    Arc::new(NasClient {
                        name: c.name.clone(),
                        net: c.address,
                        secret: radius_proto::SharedSecret::new(RADSEC_SECRET.as_bytes()),
                        require_message_authenticator: c.require_message_authenticator,
                        limit_proxy_state: c.limit_proxy_state,
                        counters: Default::default(),
                    }),
                ))
            })
            .collect();
        RadsecClients { by_name }
    }

    /// [`RadsecClients::from_config`], each client counting into its entry
    /// of `metrics`' RadSec client table (kept across reloads by name, so
    /// `/metrics` shows RadSec clients as it shows UDP ones).
    pub fn from_config_counted(
        config: &Config,
        metrics: &crate::metrics::radsec::RadsecMetrics,
    ) -> RadsecClients {
        let mut clients = RadsecClients::from_config(config);
        let counters = metrics.client_counters(clients.by_name.values().map(|c| c.name.as_str()));
        for client in clients.by_name.values_mut() {
            let Some(mine) = counters.get(client.name.as_str()).cloned() else {
                continue;
            };
            if let Some(c) = Arc::get_mut(client) {
                c.counters = mine;
            }
        }
        clients
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The client named `certificate_name` (as matched at the handshake).
    pub fn get(&self, certificate_name: &str) -> Option<Arc<NasClient>> {
        self.by_name
            .get(&certificate_name.to_ascii_lowercase())
            .cloned()
    }

    /// The client the leaf certificate `der` names, from `peer`, and the
    /// certificate name that matched.
    pub fn identify(
        &self,
        der: Option<&[u8]>,
        peer: IpAddr,
    ) -> Result<(String, Arc<NasClient>), Unidentified> {
        let names = der
            .and_then(certificate_names)
            .ok_or(Unidentified::NoCertificate)?;
        let Some((name, client)) = names
            .iter()
            .find_map(|n| self.get(n).map(|c| (n.clone(), c)))
        else {
            return Err(Unidentified::NoMatch { names });
        };
        if !client.net.contains(peer) {
            return Err(Unidentified::Address {
                client: client.name.clone(),
                peer,
            });
        }
        Ok((name, client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertificateAuthority, KeyKind};
    use std::path::Path;

    fn clients() -> RadsecClients {
        let config = Config::parse(
            "[tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nca = \"ca.pem\"\n\
             [[client]]\nname = \"proxy\"\naddress = \"127.0.0.0/8\"\ncertificate_name = \"Proxy.Example.org\"\n\
             [[client]]\nname = \"cn-only\"\naddress = \"0.0.0.0/0\"\ncertificate_name = \"nas-7\"\n\
             [[client]]\nname = \"udp\"\naddress = \"10.0.0.1\"\nsecret = \"s3cret-udp\"\n",
            Path::new("/etc/authd/authd.toml"),
        )
        .unwrap();
        RadsecClients::from_config(&config)
    }

    fn der(issued: &crate::pki::Issued) -> Vec<u8> {
        crate::certs::pem_certificate_der(&issued.cert_pem).unwrap()
    }

    fn lo() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn san_dns_names_the_client_and_its_secret_is_radsec() {
        let ca = CertificateAuthority::generate("RadSec test CA", 1).unwrap();
        let leaf = ca
            .issue_server(
                "something else",
                &["other.example".into(), "proxy.example.org".into()],
                1,
            )
            .unwrap();
        let c = clients();
        assert_eq!(c.len(), 2, "the UDP client is not a RadSec client");
        let (name, client) = c.identify(Some(&der(&leaf)), lo()).unwrap();
        assert_eq!(name, "proxy.example.org");
        assert_eq!(client.name, "proxy");
        assert_eq!(client.secret.as_bytes(), b"radsec");
        // The same certificate from outside the client's address fence.
        let far: IpAddr = "192.0.2.1".parse().unwrap();
        let e = c.identify(Some(&der(&leaf)), far).unwrap_err();
        assert_eq!(e.label(), "radsec_address_not_allowed");
        assert!(e.to_string().contains("`proxy`"), "{e}");
    }

    #[test]
    fn cn_counts_only_without_san_dns() {
        let ca = CertificateAuthority::generate("RadSec test CA", 1).unwrap();
        let c = clients();
        // A client certificate without dNSName: the CN names it.
        let cn_only = ca
            .issue_client_for_days("nas-7", KeyKind::EcdsaP256, 1)
            .unwrap();
        let (_, client) = c.identify(Some(&der(&cn_only)), lo()).unwrap();
        assert_eq!(client.name, "cn-only");
        // CN matches, but the SAN dNSName (which wins) does not.
        let san = ca
            .issue_server("nas-7", &["unknown.example".into()], 1)
            .unwrap();
        let e = c.identify(Some(&der(&san)), lo()).unwrap_err();
        assert_eq!(
            e,
            Unidentified::NoMatch {
                names: vec!["unknown.example".into()]
            }
        );
        assert!(e.to_string().contains("unknown.example"), "{e}");
        assert_eq!(
            c.identify(None, lo()).unwrap_err(),
            Unidentified::NoCertificate
        );
    }
}
