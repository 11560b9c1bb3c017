//! Helpers for the inbox tests, the end-to-end tests and the benchmarks: they
//! talk to the real mail stack of `deploy/mailstack/up.sh` (SMTP 10025, IMAP
//! 10143), never to a fake. One file per subject; everything is re-exported
//! here, so a test names it `support::…`.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod courier;
pub mod cyrus;
mod daemon;
mod imap;
mod imap_server;
mod mailbox;
pub mod mailutils;
mod smtp;
mod stack;

// A test binary uses what it needs of these; the rest is not unused code.
#[allow(unused_imports)]
pub use daemon::*;
#[allow(unused_imports)]
pub use imap::*;
#[allow(unused_imports)]
pub use imap_server::{ImapCircle, server_circle_config};
#[allow(unused_imports)]
pub use mailbox::*;
#[allow(unused_imports)]
pub use smtp::*;
#[allow(unused_imports)]
pub use stack::*;
