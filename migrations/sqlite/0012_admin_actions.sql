-- What an admin did by hand (outbox release/retry/discard, inbox reprocess),
-- who and when, so `requests show` can tell the whole story.
CREATE TABLE admin_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action      TEXT    NOT NULL,       -- e.g. outbox_release, outbox_retry, outbox_discard, inbox_reprocess
    actor       TEXT    NOT NULL,       -- the OS user (and host) who ran the command
    outbox_id   INTEGER REFERENCES outbox (id),
    inbound_id  INTEGER,
    request_id  INTEGER REFERENCES requests (id),
    detail      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX admin_actions_request ON admin_actions (request_id);
