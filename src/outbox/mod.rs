//! The outbox: every mail the relay sends is rendered and written to the
//! database in the transaction of the state change that causes it
//! (`store::outbox::enqueue`), then sent by a [`Sender`] over SMTP or into a
//! Maildir.

mod message;
mod sender;
mod smtp;
mod transport;
pub mod wakeup;

pub use message::{AutoSubmitted, OutgoingMail, RenderError, header_safe, lettre_address};
pub use sender::{Clock, DrainReport, RetryPolicy, SEND_CONCURRENCY, Sender};
pub use transport::{MaildirWriter, SendError, Transport};
