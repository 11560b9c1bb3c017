//! Domain types: validated on construction, no I/O.

mod email;
pub mod human_time;
mod member;

pub use email::{EmailAddress, EmailError};
pub use member::{Language, Member, MemberStatus, split_list};
