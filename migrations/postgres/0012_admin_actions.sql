-- What an admin did by hand (outbox release/retry/discard, inbox reprocess),
-- who and when, so `requests show` can tell the whole story.
CREATE TABLE admin_actions (
    id          BIGSERIAL PRIMARY KEY,
    action      TEXT    NOT NULL,       -- e.g. outbox_release, outbox_retry, outbox_discard, inbox_reprocess
    actor       TEXT    NOT NULL,       -- the OS user (and host) who ran the command
    outbox_id   BIGINT REFERENCES outbox (id),
    inbound_id  BIGINT,
    request_id  BIGINT REFERENCES requests (id),
    detail      TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL
);
CREATE INDEX admin_actions_request ON admin_actions (request_id);

-- Mail queued by any process wakes every daemon's sender at once: the
-- notification is delivered when the queuing transaction commits (and once
-- per transaction, however many rows it queued). SQLite has no such thing;
-- there the daemon checks PRAGMA data_version every second.
CREATE FUNCTION circle_relay_outbox_queued() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('circle_relay_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER outbox_queued_notify
    AFTER INSERT OR UPDATE OF status ON outbox
    FOR EACH ROW WHEN (NEW.status = 'queued')
    EXECUTE FUNCTION circle_relay_outbox_queued();
