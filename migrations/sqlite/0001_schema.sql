-- circle-relay schema (SQLite). The PostgreSQL twin is migrations/postgres/0001_schema.sql;
-- keep the two in step. Times are UNIX seconds (INTEGER), flags are 0/1 integers:
-- sqlx's Any driver carries neither booleans nor timestamps across both backends.

-- The member directory. `email_key` is the lowercased address, the real key.
CREATE TABLE members (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email_key     TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    skills        TEXT    NOT NULL DEFAULT '',   -- ';'-joined
    bio           TEXT    NOT NULL DEFAULT '',
    languages     TEXT    NOT NULL DEFAULT '',   -- ';'-joined, first = mail language
    region        TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'left')),
    paused_until  TEXT,                          -- YYYY-MM-DD, when a pause ends by itself
    hard_bounces  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX members_status ON members (status);

-- The inbound ledger: every message taken from the inbox, exactly once.
-- (mailbox, uidvalidity, uid) is the natural key for IMAP; a Maildir uses its
-- unique file name as `uid_text` with uidvalidity 0.
CREATE TABLE inbound_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox       TEXT    NOT NULL,
    uidvalidity   INTEGER NOT NULL,
    uid           TEXT    NOT NULL,
    message_id    TEXT,
    from_addr     TEXT,
    subject       TEXT,
    kind          TEXT    NOT NULL,   -- request | reply | command | auto_reply | bounce | loop | unreadable
    outcome       TEXT    NOT NULL,   -- processed | failed
    error         TEXT,
    size_bytes    INTEGER NOT NULL,
    raw           BLOB,               -- kept for audit; NULL when over the size limit
    received_at   INTEGER NOT NULL,
    moved_at      INTEGER,            -- set once the message left the inbox folder
    UNIQUE (mailbox, uidvalidity, uid)
);
CREATE INDEX inbound_message_id ON inbound_messages (message_id);
CREATE INDEX inbound_unmoved ON inbound_messages (mailbox, moved_at);

-- Per-mailbox reader state (IMAP UIDVALIDITY and the highest UID seen).
CREATE TABLE mailbox_state (
    mailbox       TEXT    PRIMARY KEY,
    uidvalidity   INTEGER NOT NULL,
    last_uid      INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- A request written to the circle address.
CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    inbound_id      INTEGER REFERENCES inbound_messages (id),
    requester_email TEXT    NOT NULL,
    requester_name  TEXT    NOT NULL DEFAULT '',
    requester_member_id INTEGER REFERENCES members (id),
    subject         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL DEFAULT '',
    language        TEXT    NOT NULL DEFAULT '',
    message_id      TEXT,               -- the request's own Message-ID, for threading
    token           TEXT    UNIQUE,     -- the requester's thread (acknowledgement, close)
    ack_message_id  TEXT,               -- our acknowledgement's Message-ID (replies to it close/answer)
    status          TEXT    NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'filled', 'closed', 'unmatched', 'exhausted')),
    wave            INTEGER NOT NULL DEFAULT 0,
    wave_due_at     INTEGER,            -- when the current wave times out
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    closed_at       INTEGER
);
CREATE INDEX requests_status ON requests (status, wave_due_at);
CREATE INDEX requests_created ON requests (created_at);

-- One forward of a request to one member: the candidate, its wave and answer.
CREATE TABLE forwards (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id    INTEGER NOT NULL REFERENCES requests (id),
    member_id     INTEGER NOT NULL REFERENCES members (id),
    wave          INTEGER NOT NULL,
    rank          INTEGER NOT NULL,
    score         REAL    NOT NULL,
    reasons       TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    token         TEXT    NOT NULL UNIQUE,       -- the member's thread with the relay
    requester_token TEXT  NOT NULL UNIQUE,       -- the requester's side of questions about this forward
    message_id    TEXT    NOT NULL UNIQUE,
    state         TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'accepted', 'declined', 'expired', 'cancelled', 'filled')),
    created_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    UNIQUE (request_id, member_id)
);
CREATE INDEX forwards_member_created ON forwards (member_id, created_at);

-- Replies: answers to forwards, questions and their relayed answers, auto-replies.
CREATE TABLE replies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    inbound_id    INTEGER NOT NULL REFERENCES inbound_messages (id),
    request_id    INTEGER REFERENCES requests (id),
    forward_id    INTEGER REFERENCES forwards (id),
    from_email    TEXT    NOT NULL,
    direction     TEXT    NOT NULL,   -- member_to_requester | requester_to_member | to_relay
    intent        TEXT    NOT NULL,   -- accept | decline | question | close | auto | followup | other
    body          TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX replies_request ON replies (request_id);

-- An introduction made when a member accepted.
CREATE TABLE introductions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id        INTEGER NOT NULL REFERENCES requests (id),
    forward_id        INTEGER NOT NULL UNIQUE REFERENCES forwards (id),
    member_id         INTEGER NOT NULL REFERENCES members (id),
    created_at        INTEGER NOT NULL,
    followup_due_at   INTEGER NOT NULL,
    followup_sent_at  INTEGER,
    outcome           TEXT CHECK (outcome IN ('yes', 'no', 'other')),
    outcome_text      TEXT,
    outcome_at        INTEGER
);
CREATE INDEX introductions_followup ON introductions (followup_sent_at, followup_due_at);

-- Delivery failures reported back to us (DSN), tied to a member when we can.
CREATE TABLE bounces (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    inbound_id    INTEGER NOT NULL REFERENCES inbound_messages (id),
    member_id     INTEGER REFERENCES members (id),
    recipient     TEXT    NOT NULL,
    severity      TEXT    NOT NULL CHECK (severity IN ('hard', 'soft', 'policy', 'delay')),
    status_code   TEXT,
    diagnostic    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX bounces_member ON bounces (member_id, created_at);

-- The transactional outbox: each mail written with the state change that causes it.
-- `idempotency_key` (e.g. "forward:12:34") makes queuing the same mail twice a no-op.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    to_email        TEXT    NOT NULL,
    message_id      TEXT    NOT NULL UNIQUE,   -- stable, so a rare resend can be deduplicated
    subject         TEXT    NOT NULL,
    message         BLOB    NOT NULL,          -- the complete RFC 5322 message
    request_id      INTEGER REFERENCES requests (id),
    member_id       INTEGER REFERENCES members (id),
    status          TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'held')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient_sent ON outbox (to_email, sent_at);

-- One digest per member per week; a week's run is recorded so a restart never sends twice.
CREATE TABLE digests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    week          TEXT    NOT NULL,       -- ISO week, e.g. 2026-W48
    member_id     INTEGER NOT NULL REFERENCES members (id),
    outbox_id     INTEGER REFERENCES outbox (id),
    created_at    INTEGER NOT NULL,
    UNIQUE (week, member_id)
);
CREATE TABLE digest_runs (
    week          TEXT    PRIMARY KEY,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER
);

-- Leases for work only one daemon may do at a time (reading an inbox, the scheduler).
CREATE TABLE leases (
    name          TEXT    PRIMARY KEY,
    holder        TEXT    NOT NULL,
    expires_at    INTEGER NOT NULL
);
