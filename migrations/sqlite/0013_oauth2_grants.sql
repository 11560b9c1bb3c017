-- OAuth2 refresh tokens that the identity provider rotated (issue 16): the
-- newest one of each grant, so a restart or a replica uses it. A chain
-- belongs to the refresh token configured when it started (its SHA-256 in
-- configured_sha256); a different configured token is a new grant and wins.
-- Times are UNIX seconds.
CREATE TABLE oauth2_grants (
    grant_key TEXT PRIMARY KEY,
    configured_sha256 TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
