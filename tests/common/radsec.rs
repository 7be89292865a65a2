//! The RadSec tests' shared pieces: [`RadsecServer`], authd with a RadSec
//! listener, its PKI and the NAS certificate of its RadSec client, stopped
//! on drop; the command line of `fourway-sim` speaking RadSec to it; and a
//! raw RadSec client, rustls over a blocking `TcpStream`, with the framing
//! helpers the tests read and build packets with.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::{
    Creds, PasswordMethod, PasswordPeer, Server, TempDir, TestPki, TlsChoice, run_eapol_test,
    write_eapol_conf, write_password_eapol_conf,
};
use authd::config::{ClientConfig, Config, Radius11Mode, Secret};
use authd::pki::{CertificateAuthority, KeyKind};
use radius_proto::{Code, Packet};
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, RootCertStore, StreamOwned, SupportedProtocolVersion};

pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A `[[client]]` identified by its certificate's name, connecting from
/// `address`; its secret is the fixed "radsec" (RFC 6614 section 2.3).
pub fn radsec_client(name: &str, address: &str, certificate_name: &str) -> ClientConfig {
    ClientConfig {
        name: name.into(),
        address: address.parse().unwrap(),
        secret: Secret::new("radsec").unwrap(),
        require_message_authenticator: true,
        limit_proxy_state: true,
        certificate_name: Some(certificate_name.into()),
        das_port: authd::das::default_das_port(),
    }
}

/// A TCP port free on loopback right now (bound and released).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TLS connection to 127.0.0.1:`port` trusting `ca`, authenticated with
/// `cert`/`key`, offering `alpn` over `versions` (None: rustls's safe
/// defaults), handshake completed; the handshake's error as text when it
/// fails. Reads time out after 10 s.
pub fn connect_tls(
    ca: &Path,
    (cert, key): (&Path, &Path),
    port: u16,
    versions: Option<&[&'static SupportedProtocolVersion]>,
    alpn: &[&[u8]],
) -> Result<Tls, String> {
    let mut roots = RootCertStore::empty();
    for c in authd::tls::load_certificates(ca).unwrap() {
        roots.add(c).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(authd::tls::crypto_provider());
    let builder = match versions {
        Some(v) => builder.with_protocol_versions(v),
        None => builder.with_safe_default_protocol_versions(),
    }
    .unwrap();
    let mut config = builder
        .with_root_certificates(roots)
        .with_client_auth_cert(
            authd::tls::load_certificates(cert).unwrap(),
            authd::tls::load_private_key(key).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let conn = ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
        .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    tls.flush().map_err(|e| e.to_string())?;
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| e.to_string())?;
    }
    Ok(tls)
}

/// One RADIUS packet from the stream, or `None` once it closed or stayed
/// silent past the read timeout.
pub fn read_packet(tls: &mut Tls) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    tls.read_exact(&mut head).ok()?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut p = head.to_vec();
    p.resize(len, 0);
    tls.read_exact(&mut p[4..]).ok()?;
    Some(p)
}

/// Sends a classic (RADIUS/1.0) `request` over `tls` and returns the
/// reply, once its Identifier is the request's and its Response
/// Authenticator verifies with "radsec" (RFC 6614 §2.3).
pub fn classic_exchange(tls: &mut Tls, request: &[u8]) -> Vec<u8> {
    tls.write_all(request).unwrap();
    let reply = read_packet(tls).expect("an answer");
    let req = Packet::new_checked(request).unwrap();
    let p = Packet::new_checked(&reply[..]).unwrap();
    assert_eq!(p.identifier(), req.identifier());
    radius_proto::verify_response(&p, req.authenticator(), b"radsec").expect("reply verifies");
    reply
}

/// A RADIUS/1.1 request laid out by hand (RFC 9765 §4): Reserved-1 zero,
/// the Token, twelve zero octets, then `attrs`.
pub fn v11_request(code: Code, token: [u8; 4], attrs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut p = vec![u8::from(code), 0, 0, 0];
    p.extend_from_slice(&token);
    p.extend_from_slice(&[0; 12]);
    for (t, v) in attrs {
        p.push(*t);
        p.push(v.len() as u8 + 2);
        p.extend_from_slice(v);
    }
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}

/// The name in a [`RadsecServer`]'s NAS certificate, which its `[[client]]`
/// expects, unless [`RadsecBuilder::client`] says otherwise.
pub const NAS_NAME: &str = "nas.test";

/// A configuration edit, applied after the RadSec listener and client.
type Edit = Box<dyn FnOnce(&mut Config)>;

/// What [`RadsecServer::builder`] starts: authd with `[listen] radsec` on
/// a free loopback port and one `[[client]]` named by its certificate.
pub struct RadsecBuilder {
    label: String,
    client: String,
    certificate_name: String,
    store: bool,
    users: Vec<(String, Option<String>)>,
    eap_tls_user: bool,
    edits: Vec<Edit>,
}

impl RadsecBuilder {
    /// The `[[client]]` `name`, and the certificate name it expects (the
    /// CN of [`RadsecServer::nas`]). Default: "nas", [`NAS_NAME`].
    pub fn client(mut self, name: &str, certificate_name: &str) -> Self {
        self.client = name.into();
        self.certificate_name = certificate_name.into();
        self
    }

    /// `[radsec] radius_1_1` (RFC 9765 §3).
    pub fn radius_1_1(self, mode: Radius11Mode) -> Self {
        self.config(move |c| c.radsec.radius_1_1 = mode)
    }

    /// A SQLite store, as [`super::write_store_config`] writes it.
    pub fn store(mut self) -> Self {
        self.store = true;
        self
    }

    /// A user added to the store before authd starts: with `password`, a
    /// password user; without, an EAP-TLS user. Implies [`Self::store`].
    pub fn user(mut self, name: &str, password: Option<&str>) -> Self {
        self.store = true;
        self.users
            .push((name.into(), password.map(|p| format!("{p}\n"))));
        self
    }

    /// The PKI's good EAP-TLS user (`pki.good`) in the store.
    pub fn eap_tls_user(mut self) -> Self {
        self.store = true;
        self.eap_tls_user = true;
        self
    }

    /// Any further change to the configuration.
    pub fn config(mut self, edit: impl FnOnce(&mut Config) + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Makes the PKI and the NAS certificate, writes the configuration,
    /// adds the users, starts authd and waits until it logs that it
    /// listens for RADIUS over TLS.
    pub fn start(self) -> RadsecServer {
        let dir = TempDir::new(&self.label);
        let pki = TestPki::create(dir.path());
        let nas = issue_client_cert(&pki, &self.certificate_name);
        let port = super::free_udp_port();
        let radsec = free_tcp_port();
        let client = radsec_client(&self.client, "127.0.0.1/32", &self.certificate_name);
        let edits = self.edits;
        let edit = move |c: &mut Config| {
            c.listen.radsec = Some(format!("127.0.0.1:{radsec}").parse().unwrap());
            c.clients.push(client);
            for edit in edits {
                edit(c);
            }
        };
        let config = if self.store {
            super::write_store_config(dir.path(), &pki, port, edit)
        } else {
            let path = super::write_config(dir.path(), &pki, port);
            let mut config = Config::load(&path).unwrap();
            edit(&mut config);
            std::fs::write(&path, config.to_toml()).unwrap();
            Config::load(&path).expect("generated config parses");
            path
        };
        for (name, password) in &self.users {
            let args = match password {
                Some(_) => vec!["user", "add", name, "--password"],
                None => vec!["user", "add", name],
            };
            super::admin_cli(&config, &args, password.as_deref().unwrap_or(""));
        }
        if self.eap_tls_user {
            super::admin_cli(&config, &["user", "add", &pki.good.name], "");
        }
        let server = Server::spawn(config.clone(), port);
        server.expect_log("listening for RADIUS over TLS");
        RadsecServer {
            server,
            dir,
            pki,
            config,
            radsec,
            nas,
        }
    }
}

/// authd with a RadSec listener, its PKI and the NAS certificate of its
/// RadSec client; authd is stopped when this is dropped, before its
/// directory is removed.
pub struct RadsecServer {
    pub server: Server,
    pub dir: TempDir,
    pub pki: TestPki,
    /// The configuration file.
    pub config: PathBuf,
    /// The RadSec (TCP) port on 127.0.0.1.
    pub radsec: u16,
    /// The certificate the `[[client]]` expects.
    pub nas: Creds,
}

impl RadsecServer {
    /// A builder for the test directory `label`.
    pub fn builder(label: &str) -> RadsecBuilder {
        RadsecBuilder {
            label: label.into(),
            client: "nas".into(),
            certificate_name: NAS_NAME.into(),
            store: false,
            users: Vec::new(),
            eap_tls_user: false,
            edits: Vec::new(),
        }
    }

    /// The test CA, which issues further certificates.
    pub fn ca(&self) -> CertificateAuthority {
        test_ca(&self.pki)
    }

    /// A client certificate for `name` from the test CA, valid for a day.
    pub fn issue_client_cert(&self, name: &str) -> Creds {
        issue_client_cert(&self.pki, name)
    }

    /// A TLS connection with the NAS certificate, offering `alpn` over
    /// `versions` (None: rustls's defaults); see [`connect_tls`].
    pub fn connect(
        &self,
        versions: Option<&[&'static SupportedProtocolVersion]>,
        alpn: &[&[u8]],
    ) -> Result<Tls, String> {
        connect_tls(
            &self.pki.ca_cert,
            (&self.nas.cert, &self.nas.key),
            self.radsec,
            versions,
            alpn,
        )
    }

    /// `fourway-sim SUBCOMMAND` whose AP speaks RadSec to this server with
    /// `ap`'s certificate, and whose station is the PKI's good EAP-TLS user
    /// (two attempts of 2 s).
    pub fn fourway_sim(&self, subcommand: &str, ap: &Creds) -> Command {
        let mut cmd = Command::new(super::fourway_sim_binary());
        cmd.arg(subcommand)
            .arg("--radsec")
            .arg(format!("127.0.0.1:{}", self.radsec))
            .arg("--radsec-cert")
            .arg(&ap.cert)
            .arg("--radsec-key")
            .arg(&ap.key)
            .arg("--radsec-ca")
            .arg(&self.pki.ca_cert)
            .args(["--identity", &self.pki.good.name, "--cert"])
            .arg(&self.pki.good.cert)
            .arg("--key")
            .arg(&self.pki.good.key)
            .arg("--ca")
            .arg(&self.pki.ca_cert)
            .args(["--timeout", "2", "--attempts", "2"]);
        cmd
    }

    /// `fourway-sim run` over RadSec with `ap`'s certificate and `extra`
    /// arguments: whether it succeeded, and its stdout then stderr.
    pub fn run_fourway_sim(&self, ap: &Creds, extra: &[&str]) -> (bool, String) {
        let out = self
            .fourway_sim("run", ap)
            .args(extra)
            .output()
            .expect("run fourway-sim");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

/// The PEAP-MSCHAPv2 user of the tests through a RADIUS proxy
/// ([`RadsecServer::assert_accepted_through`]).
pub const PROXY_USER: &str = "bob";
/// [`PROXY_USER`]'s password.
pub const PROXY_PASSWORD: &str = "correct horse battery";

impl RadsecServer {
    /// eapol_test through a proxy that takes its requests on UDP `port`
    /// (secret `SECRET`) and forwards them to this server over RadSec:
    /// EAP-TLS as the PKI's good user over TLS 1.2 and over TLS 1.3, then
    /// PEAP-MSCHAPv2 as [`PROXY_USER`], each with `MPPE keys OK` (the keys
    /// survived both hops). `report(what, output)` explains a failure.
    pub fn assert_accepted_through(&self, port: u16, report: impl Fn(&str, &str) -> String) {
        for tls in [TlsChoice::Only12, TlsChoice::Only13] {
            let label = format!("tls-{tls:?}");
            let conf = write_eapol_conf(
                self.dir.path(),
                &label,
                &self.pki.good,
                &self.pki.ca_cert,
                tls,
            );
            let run = run_eapol_test(&conf, port, &[]);
            assert!(
                run.success() && run.contains("MPPE keys OK: 1  mismatch: 0"),
                "{}",
                report(&format!("EAP-TLS ({tls:?}), {:?}", run.status), &run.output)
            );
        }
        let conf = write_password_eapol_conf(
            self.dir.path(),
            "peap",
            &proxy_peer(PROXY_PASSWORD),
            &self.pki.ca_cert,
        );
        let run = run_eapol_test(&conf, port, &[]);
        assert!(
            run.success() && run.contains("MPPE keys OK: 1  mismatch: 0"),
            "{}",
            report(&format!("PEAP, {:?}", run.status), &run.output)
        );
    }

    /// PEAP as [`PROXY_USER`] with a wrong password through the proxy on
    /// UDP `port`: an Access-Reject and no keys, so what
    /// [`Self::assert_accepted_through`] saw was not the proxy answering
    /// by itself.
    pub fn assert_wrong_password_rejected_through(
        &self,
        port: u16,
        report: impl Fn(&str, &str) -> String,
    ) {
        let conf = write_password_eapol_conf(
            self.dir.path(),
            "peap-bad",
            &proxy_peer("not the password"),
            &self.pki.ca_cert,
        );
        let run = run_eapol_test(&conf, port, &[]);
        assert!(
            !run.contains("MPPE keys OK: 1") && run.contains("Access-Reject"),
            "{}",
            report("wrong password", &run.output)
        );
    }
}

/// [`PROXY_USER`] with `password`, PEAPv0 over TLS 1.3.
fn proxy_peer(password: &str) -> PasswordPeer<'_> {
    PasswordPeer {
        method: PasswordMethod::Peap,
        identity: PROXY_USER,
        anonymous: None,
        password,
        tls: TlsChoice::Only13,
    }
}

impl Drop for RadsecServer {
    fn drop(&mut self) {
        self.server.kill();
    }
}

/// fourway-sim's `station 1` line in `out`, once it shows the PMK matched
/// and the PTK, GTK and CCMP check went through; `ctx` explains a failure.
pub fn station_line<'a>(out: &'a str, ctx: &str) -> &'a str {
    let line = out
        .lines()
        .find(|l| l.starts_with("station 1 "))
        .unwrap_or_else(|| panic!("no `station 1` line: {ctx}"));
    for want in ["pmk=match", "ptk=installed", "gtk=installed", "ccmp=ok"] {
        assert!(line.split_whitespace().any(|w| w == want), "{want}: {ctx}");
    }
    line
}

/// The server closes `tls`: a read ends without a packet.
pub fn assert_closed(tls: &mut Tls) {
    assert_eq!(read_packet(tls), None, "the connection is still open");
}

fn test_ca(pki: &TestPki) -> CertificateAuthority {
    let key = pki.ca_cert.with_file_name("ca.key");
    CertificateAuthority::load(&pki.ca_cert, &key).unwrap()
}

fn issue_client_cert(pki: &TestPki, name: &str) -> Creds {
    let dir = pki.ca_cert.parent().unwrap();
    let creds = Creds {
        name: name.into(),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
    };
    test_ca(pki)
        .issue_client_for_days(name, KeyKind::EcdsaP256, 1)
        .unwrap()
        .write(&creds.cert, &creds.key)
        .unwrap();
    creds
}
