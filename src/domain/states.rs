//! The states and kinds the relay stores as text, as enums: the compiler
//! lists every place a new one must be handled. Each maps to the exact word
//! in the database (and, for mail kinds, the template name); the store
//! decodes them once when it reads a row, and an unknown word is an error
//! that names the row.

use serde::{Deserialize, Serialize};

/// Declares an enum whose variants are stored as fixed words.
macro_rules! stored_words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The word stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            /// The value a stored word stands for; None for an unknown word.
            pub fn from_word(word: &str) -> Option<Self> {
                match word {
                    $($word => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// The store's own stored words (`holds`) are declared the same way.
pub(crate) use stored_words;

stored_words! {
    /// `requests.status`.
    RequestStatus {
        /// Forwarded; waiting for a member to accept.
        Open => "open",
        /// As many members accepted as the circle wants.
        Filled => "filled",
        /// The requester closed it.
        Closed => "closed",
        /// Nobody fitted: forwarded to nobody.
        Unmatched => "unmatched",
        /// Every wave ran out without an accept.
        Exhausted => "exhausted",
    }
}

impl RequestStatus {
    /// Whether the request is over (`closed_at` is set).
    pub fn is_final(self) -> bool {
        self != Self::Open
    }
}

stored_words! {
    /// `forwards.state`.
    ForwardState {
        /// Sent; no answer yet.
        Pending => "pending",
        Accepted => "accepted",
        Declined => "declined",
        /// The wave's time ran out without an answer.
        Expired => "expired",
        /// The requester closed the request first.
        Cancelled => "cancelled",
        /// Enough other members accepted first.
        Filled => "filled",
    }
}

impl ForwardState {
    /// Whether the member may still accept (a late accept after a decline or
    /// expiry is honoured while the request is open).
    pub fn may_accept(self) -> bool {
        matches!(self, Self::Pending | Self::Declined | Self::Expired)
    }
}

stored_words! {
    /// `replies.direction`: who wrote to whom through the relay.
    ReplyDirection {
        MemberToRequester => "member_to_requester",
        RequesterToMember => "requester_to_member",
        /// The requester wrote to the relay's own thread.
        ToRelay => "to_relay",
    }
}

stored_words! {
    /// What a mail the relay sends is: `outbox.kind`, and the name of its
    /// template in `templates/{ja,en}/KIND.txt`. A new kind is one variant
    /// here and one template per language (a test checks both exist).
    MailKind {
        /// A request, to a member who may fit.
        Forward => "forward",
        /// To the requester: the request was forwarded.
        Ack => "ack",
        /// To the requester: nobody fits.
        NoMatch => "no_match",
        /// To a member who accepted after the request was filled or closed.
        AlreadyFilled => "already_filled",
        IntroRequester => "intro_requester",
        IntroMember => "intro_member",
        /// To the other members once the request is filled.
        Filled => "filled",
        /// A member's question, to the requester.
        Question => "question",
        /// The requester's answer, to the member.
        Answer => "answer",
        /// The request was closed (to the requester and the pending members).
        Closed => "closed",
        /// To someone who answered a thread that is not theirs.
        NotYourForward => "not_your_forward",
        NobodyAvailable => "nobody_available",
        AdminAlert => "admin_alert",
        AdminBounce => "admin_bounce",
        /// To each admin: a request is held for approval (issue 14).
        HoldNotice => "hold_notice",
        /// To a requester whose held request an admin rejected.
        HoldRejected => "hold_rejected",
        /// To each admin, daily: what was held, refused or kept as spam.
        ModerationSummary => "moderation_summary",
        Digest => "digest",
        Followup => "followup",
        FollowupThanks => "followup_thanks",
        CommandHelp => "command_help",
        CommandPaused => "command_paused",
        CommandProfile => "command_profile",
        CommandResumed => "command_resumed",
        CommandUnsubscribed => "command_unsubscribed",
        /// To an admin who asked the web console for a sign-in link (issue 17).
        WebLogin => "web_login",
    }
}

/// The language a mail is written in (the templates exist in these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailLanguage {
    Ja,
    En,
}

impl MailLanguage {
    pub const ALL: &'static [Self] = &[Self::Ja, Self::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    /// The language a stored word stands for; None for an unknown word.
    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

impl std::fmt::Display for MailLanguage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_its_value() {
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::from_word(s.as_str()), Some(*s));
        }
        for s in ForwardState::ALL {
            assert_eq!(ForwardState::from_word(s.as_str()), Some(*s));
        }
        for s in MailKind::ALL {
            assert_eq!(MailKind::from_word(s.as_str()), Some(*s));
        }
        for s in ReplyDirection::ALL {
            assert_eq!(ReplyDirection::from_word(s.as_str()), Some(*s));
        }
        for s in MailLanguage::ALL {
            assert_eq!(MailLanguage::from_word(s.as_str()), Some(*s));
        }
        assert_eq!(RequestStatus::from_word("Open"), None);
        assert_eq!(ForwardState::from_word(""), None);
    }
}
