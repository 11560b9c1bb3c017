//! Domain types: validated on construction, no I/O.

mod email;
mod member;

pub use email::{EmailAddress, EmailError};
pub use member::{Language, Member, MemberStatus, split_list};
