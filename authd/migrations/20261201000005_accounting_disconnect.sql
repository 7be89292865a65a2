-- authd store, version 5: accounting sessions (RFC 2866, RFC 2869) and the
-- Disconnect-Request queue (RFC 5176). Same rules as version 1: types and
-- syntax both SQLite and PostgreSQL accept, times as Unix seconds, no
-- auto-increment columns.

-- One row per accounting session, in the spirit of FreeRADIUS's radacct.
-- session_key is the unique session key: lowercase hex of SHA-256 over the
-- NAS client name, Acct-Session-Id, Calling-Station-Id and NAS-Port-Id (else
-- NAS-Port), each length-prefixed, so a retransmission with a new Identifier
-- or a new Acct-Delay-Time lands on the same row. Counters are 64-bit
-- (Acct-Input-Gigawords * 2^32 + Acct-Input-Octets, RFC 2869 section 5.1),
-- clamped to the largest BIGINT. stop_time NULL: the session is online.
-- class is the Class attribute (RFC 2865 section 5.25) as the NAS echoed it:
-- the text when it is printable UTF-8, else 'hex:' and its hex. When the
-- Class is one authd issued in the Access-Accept, auth_user, auth_method and
-- auth_serial hold what it names: the user authd authorized (the
-- certificate's identity or the mapped inner identity), the EAP method or
-- 'pap', and the client certificate's serial (EAP-TLS). They tie the
-- accounting to the authentication, also when User-Name differs, and name
-- the sessions to disconnect when that user is disabled or deleted or that
-- certificate revoked.
CREATE TABLE acct_sessions (
    session_key            TEXT PRIMARY KEY,
    acct_session_id        TEXT NOT NULL,
    acct_multi_session_id  TEXT,
    user_name              TEXT NOT NULL,
    nas_name               TEXT NOT NULL,
    nas_address            TEXT NOT NULL,
    nas_ip_address         TEXT,
    nas_identifier         TEXT,
    nas_port               BIGINT,
    nas_port_id            TEXT,
    called_station_id      TEXT,
    calling_station_id     TEXT,
    framed_ip_address      TEXT,
    class                  TEXT,
    auth_user              TEXT,
    auth_method            TEXT,
    auth_serial            TEXT,
    start_time             BIGINT,
    last_update            BIGINT NOT NULL,
    stop_time              BIGINT,
    session_time           BIGINT NOT NULL DEFAULT 0,
    input_octets           BIGINT NOT NULL DEFAULT 0,
    output_octets          BIGINT NOT NULL DEFAULT 0,
    input_packets          BIGINT NOT NULL DEFAULT 0,
    output_packets         BIGINT NOT NULL DEFAULT 0,
    terminate_cause        BIGINT,
    interim_interval       BIGINT,
    created_at             BIGINT NOT NULL,
    -- The latest Disconnect-Request for this session and its answer:
    -- 'ack', 'nak' (with the Error-Cause, RFC 5176 section 3.6, if any) or
    -- 'timeout' (no answer after every retry).
    disconnect_status      TEXT CHECK (disconnect_status IN ('ack', 'nak', 'timeout')),
    disconnect_error_cause BIGINT,
    disconnect_at          BIGINT
);

CREATE INDEX acct_sessions_user_name ON acct_sessions (user_name);
CREATE INDEX acct_sessions_auth_user ON acct_sessions (auth_user);
CREATE INDEX acct_sessions_auth_serial ON acct_sessions (auth_serial);
CREATE INDEX acct_sessions_nas_open ON acct_sessions (nas_name, stop_time);
CREATE INDEX acct_sessions_open_last_update ON acct_sessions (stop_time, last_update);

-- Disconnect-Requests to send: written in the same transaction as the change
-- that asks for them (a user disabled or deleted, a certificate revoked, an
-- admin's `authd session disconnect`), then claimed by exactly one running
-- server (UPDATE ... WHERE state = 'pending', or a claim older than the
-- claim timeout), which sends, retries and records the answer here and on
-- the session. id is a random 128-bit value in hex.
CREATE TABLE disconnect_requests (
    id           TEXT PRIMARY KEY,
    session_key  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'ack', 'nak', 'timeout')),
    claimed_by   TEXT,
    claimed_at   BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    finished_at  BIGINT,
    error_cause  BIGINT
);

CREATE INDEX disconnect_requests_state ON disconnect_requests (state, requested_at);
CREATE INDEX disconnect_requests_session_key ON disconnect_requests (session_key);

-- The Dynamic Authorization port of a NAS client kept in the store
-- (RFC 5176 section 2.1; NULL: the default 3799).
ALTER TABLE nas_clients ADD COLUMN das_port BIGINT CHECK (das_port > 0 AND das_port <= 65535);
