-- The console's request timeline lists a request's mails (issue 17).
CREATE INDEX outbox_request ON outbox (request_id);
