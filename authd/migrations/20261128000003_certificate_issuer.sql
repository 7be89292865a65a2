-- authd store, version 3.

-- A serial number is unique only per issuer (RFC 5280 section 4.1.2.2):
-- certificates are keyed by issuer and serial, so that a certificate of a CA
-- other than authd's can be recorded (and revoked) beside one of authd's
-- with the same serial. issuer is lowercase hex of SHA-256 over the DER of
-- the certificate's issuer Name (RFC 5280 section 4.1.2.4), issuer_name its
-- text (e.g. 'CN=Example CA'). Rows recorded before this version keep
-- issuer '' (issued by authd's CA, issuer not recorded): they are found by
-- serial alone, as before.
CREATE TABLE certificates_v3 (
    issuer      TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    serial      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    revoked_at  BIGINT,
    reason      TEXT,
    PRIMARY KEY (issuer, serial)
);

INSERT INTO certificates_v3
    (issuer, issuer_name, serial, subject, user_name, issued_at, not_after, revoked_at, reason)
SELECT '', '', serial, subject, user_name, issued_at, not_after, revoked_at, reason
FROM certificates;

DROP TABLE certificates;

ALTER TABLE certificates_v3 RENAME TO certificates;

CREATE INDEX certificates_user_name ON certificates (user_name);
CREATE INDEX certificates_serial ON certificates (serial);
