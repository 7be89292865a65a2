//! The RadSec checks of `authd check` (RFC 6614): the listener's
//! certificate, key and client CA as `authd serve` builds them, and the
//! `[[client]]` entries that name a certificate.
//!
//! A RadSec client without `[listen] radsec` is a warning, not an error:
//! authd starts and serves UDP, and `authd check` runs before every start
//! (`ExecStartPre`), so an error would take the UDP service down for a
//! listener that was perhaps left off on purpose while clients are staged.
//! The reverse, a listener no client may use, is a warning too: every
//! connection would be refused, but nothing else is harmed.

use std::path::Path;

use super::{Report, check_ca, check_server, parse_all, read_pem_certs};
use crate::config::Config;

/// Every RadSec finding of `config` at `now` (Unix seconds).
pub fn check_radsec(report: &mut Report, config: &Config, now: i64) {
    let clients: Vec<_> = config.clients.iter().filter(|c| c.is_radsec()).collect();
    let Some(addr) = config.listen.radsec else {
        if !clients.is_empty() {
            report.warn(
                "radsec",
                format!(
                    "{} [[client]] with certificate_name but no [listen] radsec: they cannot connect",
                    clients.len()
                ),
            );
        }
        return;
    };
    // The listener's files, when [radsec] names its own: the same checks
    // as [tls]'s (those were made already).
    let tls = config.radsec.tls(&config.tls);
    if tls.ca != config.tls.ca {
        check_ca_file(report, &tls.ca, now);
    }
    if tls.certificate != config.tls.certificate || tls.private_key != config.tls.private_key {
        let ca = read_pem_certs(&tls.ca).unwrap_or_default();
        let ca = parse_all(&ca).unwrap_or_default();
        check_server(report, &tls.certificate, &tls.private_key, &ca, now);
    }
    match crate::radsec::acceptor(config) {
        Ok(_) => report.ok(
            "radsec",
            format!("TLS listener on {addr} builds as `authd serve` builds it"),
        ),
        Err(e) => report.error("radsec", format!("TLS listener on {addr}: {e}")),
    }
    if clients.is_empty() {
        report.warn(
            "radsec",
            format!(
                "[listen] radsec = \"{addr}\" but no [[client]] has certificate_name: every RadSec connection will be refused"
            ),
        );
        return;
    }
    // `Config::load` refuses these already; a configuration built in code
    // reaches `check_config` without that.
    let mut bad = false;
    for (i, c) in clients.iter().enumerate() {
        let name = c.certificate_name.as_deref().unwrap_or_default();
        let shown = crate::logsafe::escape(&c.name);
        if name.trim().is_empty() {
            bad = true;
            report.error(
                "radsec",
                format!("client {shown}: certificate_name is empty"),
            );
        } else if let Some(prev) = clients[..i].iter().find(|p| {
            p.certificate_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        }) {
            bad = true;
            report.error(
                "radsec",
                format!(
                    "clients {} and {shown} have the same certificate_name {}: a certificate could only name one",
                    crate::logsafe::escape(&prev.name),
                    crate::logsafe::escape(name)
                ),
            );
        }
    }
    if !bad {
        report.ok(
            "radsec",
            format!(
                "{} RadSec client(s), each with its own certificate_name",
                clients.len()
            ),
        );
    }
}

fn check_ca_file(report: &mut Report, path: &Path, now: i64) {
    let ders = match read_pem_certs(path) {
        Ok(d) => d,
        Err(e) => return report.error("ca", e),
    };
    match parse_all(&ders) {
        Ok(ca) => check_ca(report, path, &ca, now),
        Err(i) => report.error(
            "ca",
            format!("{}: certificate {i} does not parse", path.display()),
        ),
    }
}
