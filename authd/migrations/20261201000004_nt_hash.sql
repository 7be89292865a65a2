-- authd store, version 4.

-- The NT password hash (RFC 2759 section 8.3: MD4 of the UTF-16LE password)
-- that MS-CHAPv2 needs, inside PEAP and EAP-TTLS. It is password-equivalent
-- for MS-CHAPv2, so it is kept encrypted: AES-256-GCM under the credential
-- key, a file kept outside the database (see authd/src/credkey.rs), as text
-- 'v1:KEYID:HEX' (format version, key id, then hex of the 96-bit nonce, the
-- ciphertext and the tag; the user name is authenticated data, so a value
-- copied into another row does not decrypt). NULL: no NT hash (the password
-- was set with --no-mschap, or without a key, or there is no password); the
-- user can then use only the methods password_hash serves (PAP, TTLS-PAP).
-- Written together with password_hash, so a password change never leaves a
-- stale NT hash behind.
ALTER TABLE users ADD COLUMN nt_hash_encrypted TEXT;
