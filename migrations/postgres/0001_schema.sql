-- circle-relay schema (PostgreSQL). The SQLite twin is migrations/sqlite/0001_schema.sql;
-- keep the two in step. Times are UNIX seconds (INTEGER), flags are 0/1 integers:
-- sqlx's Any driver carries neither booleans nor timestamps across both backends.

-- The member directory. `email_key` is the lowercased address, the real key.
CREATE TABLE members (
    id            BIGSERIAL PRIMARY KEY,
    email_key     TEXT    NOT NULL UNIQUE,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    skills        TEXT    NOT NULL DEFAULT '',   -- ';'-joined
    bio           TEXT    NOT NULL DEFAULT '',
    languages     TEXT    NOT NULL DEFAULT '',   -- ';'-joined, first = mail language
    region        TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'left')),
    paused_until  TEXT,                          -- YYYY-MM-DD, when a pause ends by itself
    hard_bounces  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX members_status ON members (status);

-- The inbound ledger: every message taken from the inbox, exactly once.
-- (mailbox, uidvalidity, uid) is the natural key for IMAP; a Maildir uses its
-- unique file name as `uid_text` with uidvalidity 0.
CREATE TABLE inbound_messages (
    id            BIGSERIAL PRIMARY KEY,
    mailbox       TEXT    NOT NULL,
    uidvalidity   BIGINT NOT NULL,
    uid           TEXT    NOT NULL,
    message_id    TEXT,
    from_addr     TEXT,
    subject       TEXT,
    kind          TEXT    NOT NULL,   -- request | reply | command | auto_reply | bounce | loop | unreadable
    outcome       TEXT    NOT NULL,   -- processed | failed
    error         TEXT,
    size_bytes    BIGINT NOT NULL,
    raw           BYTEA,               -- kept for audit; NULL when over the size limit
    received_at   BIGINT NOT NULL,
    moved_at      BIGINT,            -- set once the message left the inbox folder
    UNIQUE (mailbox, uidvalidity, uid)
);
CREATE INDEX inbound_message_id ON inbound_messages (message_id);
CREATE INDEX inbound_unmoved ON inbound_messages (mailbox, moved_at);

-- Per-mailbox reader state (IMAP UIDVALIDITY and the highest UID seen).
CREATE TABLE mailbox_state (
    mailbox       TEXT    PRIMARY KEY,
    uidvalidity   BIGINT NOT NULL,
    last_uid      BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- A request written to the circle address.
CREATE TABLE requests (
    id              BIGSERIAL PRIMARY KEY,
    inbound_id      BIGINT REFERENCES inbound_messages (id),
    requester_email TEXT    NOT NULL,
    requester_name  TEXT    NOT NULL DEFAULT '',
    requester_member_id BIGINT REFERENCES members (id),
    subject         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL DEFAULT '',
    language        TEXT    NOT NULL DEFAULT '',
    message_id      TEXT,               -- the request's own Message-ID, for threading
    token           TEXT    UNIQUE,     -- the requester's thread (acknowledgement, close)
    ack_message_id  TEXT,               -- our acknowledgement's Message-ID (replies to it close/answer)
    status          TEXT    NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'filled', 'closed', 'unmatched', 'exhausted')),
    wave            BIGINT NOT NULL DEFAULT 0,
    wave_due_at     BIGINT,            -- when the current wave times out
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    closed_at       BIGINT
);
CREATE INDEX requests_status ON requests (status, wave_due_at);
CREATE INDEX requests_created ON requests (created_at);

-- One forward of a request to one member: the candidate, its wave and answer.
CREATE TABLE forwards (
    id            BIGSERIAL PRIMARY KEY,
    request_id    BIGINT NOT NULL REFERENCES requests (id),
    member_id     BIGINT NOT NULL REFERENCES members (id),
    wave          BIGINT NOT NULL,
    rank          BIGINT NOT NULL,
    score         DOUBLE PRECISION    NOT NULL,
    reasons       TEXT    NOT NULL DEFAULT '[]',   -- JSON array of strings
    token         TEXT    NOT NULL UNIQUE,       -- the member's thread with the relay
    requester_token TEXT  NOT NULL UNIQUE,       -- the requester's side of questions about this forward
    message_id    TEXT    NOT NULL UNIQUE,
    state         TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'accepted', 'declined', 'expired', 'cancelled', 'filled')),
    created_at    BIGINT NOT NULL,
    answered_at   BIGINT,
    UNIQUE (request_id, member_id)
);
CREATE INDEX forwards_member_created ON forwards (member_id, created_at);

-- Replies: answers to forwards, questions and their relayed answers, auto-replies.
CREATE TABLE replies (
    id            BIGSERIAL PRIMARY KEY,
    inbound_id    BIGINT NOT NULL REFERENCES inbound_messages (id),
    request_id    BIGINT REFERENCES requests (id),
    forward_id    BIGINT REFERENCES forwards (id),
    from_email    TEXT    NOT NULL,
    direction     TEXT    NOT NULL,   -- member_to_requester | requester_to_member | to_relay
    intent        TEXT    NOT NULL,   -- accept | decline | question | close | auto | followup | other
    body          TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX replies_request ON replies (request_id);

-- An introduction made when a member accepted.
CREATE TABLE introductions (
    id                BIGSERIAL PRIMARY KEY,
    request_id        BIGINT NOT NULL REFERENCES requests (id),
    forward_id        BIGINT NOT NULL UNIQUE REFERENCES forwards (id),
    member_id         BIGINT NOT NULL REFERENCES members (id),
    created_at        BIGINT NOT NULL,
    followup_due_at   BIGINT NOT NULL,
    followup_sent_at  BIGINT,
    outcome           TEXT CHECK (outcome IN ('yes', 'no', 'other')),
    outcome_text      TEXT,
    outcome_at        BIGINT
);
CREATE INDEX introductions_followup ON introductions (followup_sent_at, followup_due_at);

-- Delivery failures reported back to us (DSN), tied to a member when we can.
CREATE TABLE bounces (
    id            BIGSERIAL PRIMARY KEY,
    inbound_id    BIGINT NOT NULL REFERENCES inbound_messages (id),
    member_id     BIGINT REFERENCES members (id),
    recipient     TEXT    NOT NULL,
    severity      TEXT    NOT NULL CHECK (severity IN ('hard', 'soft', 'policy', 'delay')),
    status_code   TEXT,
    diagnostic    TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX bounces_member ON bounces (member_id, created_at);

-- The transactional outbox: each mail written with the state change that causes it.
-- `idempotency_key` (e.g. "forward:12:34") makes queuing the same mail twice a no-op.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    idempotency_key TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    to_email        TEXT    NOT NULL,
    message_id      TEXT    NOT NULL UNIQUE,   -- stable, so a rare resend can be deduplicated
    subject         TEXT    NOT NULL,
    message         BYTEA    NOT NULL,          -- the complete RFC 5322 message
    request_id      BIGINT REFERENCES requests (id),
    member_id       BIGINT REFERENCES members (id),
    status          TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'held')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient_sent ON outbox (to_email, sent_at);

-- One digest per member per week; a week's run is recorded so a restart never sends twice.
CREATE TABLE digests (
    id            BIGSERIAL PRIMARY KEY,
    week          TEXT    NOT NULL,       -- ISO week, e.g. 2026-W48
    member_id     BIGINT NOT NULL REFERENCES members (id),
    outbox_id     BIGINT REFERENCES outbox (id),
    created_at    BIGINT NOT NULL,
    UNIQUE (week, member_id)
);
CREATE TABLE digest_runs (
    week          TEXT    PRIMARY KEY,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT
);

-- Leases for work only one daemon may do at a time (reading an inbox, the scheduler).
CREATE TABLE leases (
    name          TEXT    PRIMARY KEY,
    holder        TEXT    NOT NULL,
    expires_at    BIGINT NOT NULL
);
