//! Domain types: validated on construction, no I/O.

mod email;
pub mod human_time;
mod member;
mod states;

pub use email::{EmailAddress, EmailError};
pub use member::{Language, Member, MemberStatus, TimeZoneName, split_list};
pub(crate) use states::stored_words;
pub use states::{ForwardState, MailKind, MailLanguage, ReplyDirection, RequestStatus};
