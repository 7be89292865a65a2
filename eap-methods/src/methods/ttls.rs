//! EAP-TTLS (type 21, RFC 5281), server and peer halves.
