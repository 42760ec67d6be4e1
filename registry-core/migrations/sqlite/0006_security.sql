-- The login throttle, shared by every node: one failure counter per key (an account and client
-- pair, an account, a client; see identity/throttle.rs).
CREATE TABLE login_failures (
    subject      TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL
);
CREATE INDEX login_failures_last ON login_failures(last_failure);
