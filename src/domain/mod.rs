//! Domain types: validated on construction, no I/O.

mod email;
mod member;
mod states;

pub use email::{EmailAddress, EmailError};
pub use member::{Language, Member, MemberStatus, split_list};
pub use states::{ForwardState, MailKind, MailLanguage, ReplyDirection, RequestStatus};
