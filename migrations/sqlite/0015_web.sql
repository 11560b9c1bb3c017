-- The web console (issue 17). Sessions live here so replicas share them; only
-- hashes of session tokens and sign-in codes are stored.
CREATE TABLE web_sessions (
    token_hash  TEXT    PRIMARY KEY,    -- SHA-256 of the cookie's value, hex
    admin       TEXT    NOT NULL,       -- the admin's address, lower case
    csrf        TEXT    NOT NULL,       -- the form token of this session
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- One-time sign-in codes mailed to an admin; also what rate limits count.
CREATE TABLE web_login_codes (
    code_hash   TEXT    PRIMARY KEY,    -- SHA-256 of the code, hex
    admin       TEXT    NOT NULL,       -- the address asked for, lower case
    client      TEXT    NOT NULL,       -- who asked (the proxy's X-Forwarded-For or the peer)
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX web_login_codes_admin ON web_login_codes (admin, created_at);
CREATE INDEX web_login_codes_client ON web_login_codes (client, created_at);

-- The overview page counts this week's forwards and introductions by date.
CREATE INDEX forwards_created ON forwards (created_at);
CREATE INDEX introductions_created ON introductions (created_at);
-- Weekly requests and unmatched ones from the index alone (the 12-week chart).
CREATE INDEX requests_created_status ON requests (created_at, status);
