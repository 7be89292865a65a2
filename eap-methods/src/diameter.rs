//! Diameter AVPs as EAP-TTLS carries them (RFC 5281 §10, RFC 6733 §4.1).
