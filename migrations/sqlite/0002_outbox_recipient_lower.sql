-- The per-address hourly cap compares addresses case-insensitively; without
-- this index every send scanned the whole outbox.
CREATE INDEX outbox_recipient_lower ON outbox (LOWER(to_email), status, sent_at);
