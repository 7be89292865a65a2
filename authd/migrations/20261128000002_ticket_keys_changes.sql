-- authd store, version 2.

-- Keys that encrypt TLS session tickets (RFC 5077, RFC 8446 section 4.6.1),
-- shared by every authd instance on this database so that a ticket one
-- instance issued resumes on another. Servers create them ahead of use and
-- delete them once expired (see authd/src/tickets.rs): a key encrypts from
-- not_before and decrypts until not_after, Unix seconds. secret is 32
-- octets, hex. generation is unique, so instances racing to rotate agree on
-- one key per generation.
CREATE TABLE tls_ticket_keys (
    generation BIGINT PRIMARY KEY,
    secret     TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after  BIGINT NOT NULL CHECK (not_after > not_before)
);

-- Bumped with every audited change (users, groups, certificates, clients):
-- servers poll it to drop what they cache about users.
INSERT INTO counters (name, value) VALUES ('changes', 0);
