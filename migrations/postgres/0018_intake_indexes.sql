-- What every request's intake asks (issue 15): the requests one sender made
-- today (the per-sender limit), and each member's forwards of the week (the
-- fairness count), read from the index alone instead of every row since.
CREATE INDEX requests_sender_created ON requests (LOWER(requester_email), created_at);
CREATE INDEX forwards_created_member ON forwards (created_at, member_id);
