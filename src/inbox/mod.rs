//! Reading the circle inbox (IMAP with IDLE, or a local Maildir) exactly once.
