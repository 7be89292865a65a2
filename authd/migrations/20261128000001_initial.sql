-- authd store, version 1. One schema for SQLite and PostgreSQL: only types
-- and syntax both accept (TEXT, BIGINT, BOOLEAN, CHECK, REFERENCES), times as
-- Unix seconds, no auto-increment columns.

-- Groups carry the RADIUS attributes their members get by default:
-- Tunnel-Private-Group-Id (RFC 3580 section 3.31) and Session-Timeout
-- (RFC 2865 section 5.27).
CREATE TABLE groups (
    name            TEXT PRIMARY KEY,
    vlan            TEXT,
    session_timeout BIGINT CHECK (session_timeout > 0 AND session_timeout <= 4294967295),
    created_at      BIGINT NOT NULL
);

-- Users, named as their certificates name them. A user's VLAN and
-- Session-Timeout override the group's. password_hash is an Argon2id PHC
-- string (RFC 9106) for the password methods; EAP-TLS does not use it.
CREATE TABLE users (
    name            TEXT PRIMARY KEY,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    group_name      TEXT REFERENCES groups (name),
    vlan            TEXT,
    session_timeout BIGINT CHECK (session_timeout > 0 AND session_timeout <= 4294967295),
    password_hash   TEXT,
    created_at      BIGINT NOT NULL
);

CREATE INDEX users_group_name ON users (group_name);

-- RADIUS clients (RFC 2865 section 3): source network and shared secret. The
-- secret is stored as it is: the server needs it to compute authenticators.
CREATE TABLE nas_clients (
    name                          TEXT PRIMARY KEY,
    address                       TEXT NOT NULL UNIQUE,
    secret                        TEXT NOT NULL CHECK (secret <> ''),
    require_message_authenticator BOOLEAN NOT NULL DEFAULT TRUE,
    created_at                    BIGINT NOT NULL
);

-- Certificates issued to users. serial is lowercase hex of the serial
-- number's value (RFC 5280 section 4.1.2.2), without leading zero octets.
-- reason is an RFC 5280 section 5.3.1 CRLReason name.
CREATE TABLE certificates (
    serial     TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    not_after  BIGINT NOT NULL,
    revoked_at BIGINT,
    reason     TEXT
);

CREATE INDEX certificates_user_name ON certificates (user_name);

-- Counters that change when something servers must notice changes: the
-- 'clients' generation (servers poll it to reload NAS clients) and the
-- 'crl_number' of the last CRL (RFC 5280 section 5.2.3).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO counters (name, value) VALUES ('clients', 0);
INSERT INTO counters (name, value) VALUES ('crl_number', 0);

-- Every administrative change, time in microseconds since the Unix epoch.
-- Never holds a secret or a password.
CREATE TABLE audit_log (
    at_micros BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL
);

CREATE INDEX audit_log_at ON audit_log (at_micros);
