-- Portal sessions (identity/session.rs). The cookie carries a random id; the row is keyed by its
-- SHA-256, so a reader of the database cannot turn a row back into a cookie. `csrf` is the token
-- that writes made with the cookie must send back in `X-Harbor-CSRF-Token`. A session ends at
-- `expires_at`, which each use moves forward (idle timeout) up to `max_until` (absolute limit).
CREATE TABLE sessions (
    id_hash     TEXT NOT NULL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    client      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    max_until   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
