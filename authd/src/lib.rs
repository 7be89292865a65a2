//! authd: a RADIUS server for WPA2/WPA3-Enterprise.
//!
//! The protocol work happens in the sans-IO crates `radius-proto` and
//! `eap-methods`; this crate is the edge: configuration, the UDP listeners,
//! the conversation table, the duplicate cache, the development PKI and the
//! command line. See ARCHITECTURE.md for the path of one request.

#![forbid(unsafe_code)]

pub mod accounting;
pub mod admin;
pub mod admission;
pub mod certs;
pub mod check;
pub mod cidr;
pub mod class;
pub mod clients;
pub mod config;
pub mod credkey;
pub mod das;
pub mod dedupe;
pub mod defaults;
pub mod gencache;
pub mod handler;
pub mod logsafe;
pub mod metrics;
pub mod metrics_http;
pub mod pap;
pub mod pki;
pub mod policy;
pub mod radsec;
pub mod reply;
pub mod server;
pub mod sessions;
pub mod store;
pub mod sync;
pub mod tickets;
pub mod tls;
