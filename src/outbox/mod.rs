//! The outbox: every mail the relay sends, queued in the database and drained.
