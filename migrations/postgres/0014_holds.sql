-- Mail held for an admin (issue 14): a non-member's request under
-- posting = "moderated", one refused under "members", a forged sender, a
-- sender over the daily limit, and spam. Each row waits for a decision (or
-- only for the admins' daily summary) and can be approved later.
CREATE TABLE holds (
    id              BIGSERIAL PRIMARY KEY,
    inbound_id      BIGINT  REFERENCES inbound_messages (id),
    reason          TEXT    NOT NULL
                    CHECK (reason IN ('non_member', 'refused', 'forged', 'rate', 'spam')),
    detail          TEXT    NOT NULL DEFAULT '',   -- why, for the admins
    state           TEXT    NOT NULL DEFAULT 'held'
                    CHECK (state IN ('held', 'approved', 'rejected', 'expired')),
    requester_email TEXT    NOT NULL,
    requester_name  TEXT    NOT NULL DEFAULT '',
    subject         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL DEFAULT '',
    message_id      TEXT,
    token           TEXT    UNIQUE,                -- the admins' approve/reject address
    request_id      BIGINT  REFERENCES requests (id),  -- set once approved
    decided_by      TEXT,                          -- an admin's address, or 'cli'
    created_at      BIGINT  NOT NULL,
    decided_at      BIGINT,
    summarized_at   BIGINT                         -- named in an admins' daily summary
);
CREATE INDEX holds_state ON holds (state, created_at);
CREATE INDEX holds_sender ON holds (LOWER(requester_email), created_at);
