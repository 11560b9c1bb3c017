//! Flow 5: members look after themselves by email. A command changes only
//! the member whose address sent it (the From address is the key, so nobody
//! can pause or unsubscribe someone else), and is confirmed in the member's
//! language. Anyone who is not a member gets the help text and nothing else.

use crate::domain::MailKind;
use minijinja::{Value, context};

use super::{Queued, Recipient, Relay, RelayError, Thread, Tx};
use crate::domain::{EmailAddress, Member, MemberStatus};
use crate::store::circle::set_member_status;
use crate::store::member_by_key;
use crate::understand::Command;

#[derive(Debug, Clone)]
pub struct IncomingCommand {
    pub inbound_id: Option<i64>,
    pub from: EmailAddress,
    pub command: Command,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    Help,
    Paused {
        until: Option<String>,
    },
    Resumed,
    Profile,
    Unsubscribed,
    /// The sender is not in the directory (or has left): help text only.
    NotAMember,
}

impl Relay {
    pub async fn take_command(
        &self,
        tx: &mut Tx<'_>,
        cmd: &IncomingCommand,
    ) -> Result<CommandOutcome, RelayError> {
        let member = member_by_key(&mut **tx, cmd.from.key())
            .await?
            .filter(|m| m.status != MemberStatus::Left);
        let Some(member) = member else {
            tracing::info!(inbound_id = ?cmd.inbound_id, "command from a non-member; help sent");
            let to = Recipient {
                email: cmd.from.clone(),
                name: String::new(),
                language: self.default_language(),
                member_id: None,
            };
            self.confirm(tx, cmd, to, None, MailKind::CommandHelp, Value::from(()))
                .await?;
            return Ok(CommandOutcome::NotAMember);
        };
        let now = self.now();
        let (outcome, kind) = match &cmd.command {
            Command::Help => (CommandOutcome::Help, MailKind::CommandHelp),
            Command::Profile => (CommandOutcome::Profile, MailKind::CommandProfile),
            Command::Pause { until } => {
                let until = until.map(|d| d.to_string());
                set_member_status(tx, member.id, MemberStatus::Paused, until.as_deref(), now)
                    .await?;
                (CommandOutcome::Paused { until }, MailKind::CommandPaused)
            }
            Command::Resume => {
                set_member_status(tx, member.id, MemberStatus::Active, None, now).await?;
                (CommandOutcome::Resumed, MailKind::CommandResumed)
            }
            Command::Unsubscribe => {
                set_member_status(tx, member.id, MemberStatus::Left, None, now).await?;
                (CommandOutcome::Unsubscribed, MailKind::CommandUnsubscribed)
            }
        };
        tracing::info!(member_id = member.id, %kind, "member command taken");
        let until = match &outcome {
            CommandOutcome::Paused { until } => until.clone(),
            _ => None,
        };
        let vars = context! { member => profile_vars(&member), until => until };
        let to = Recipient::member(&member, self.default_language());
        self.confirm(tx, cmd, to, Some(member.id), kind, vars)
            .await?;
        Ok(outcome)
    }

    async fn confirm(
        &self,
        tx: &mut Tx<'_>,
        cmd: &IncomingCommand,
        to: Recipient,
        member_id: Option<i64>,
        kind: MailKind,
        vars: Value,
    ) -> Result<(), RelayError> {
        // One answer per inbound message (or Message-ID), never two.
        let msg = self.message_key(cmd.inbound_id, cmd.message_id.as_deref());
        let key = format!("command:{}:{msg}", to.email.key());
        let mid = self.message_id(&format!("cmd.{}", self.key.mint(&key)));
        let thread = Thread::answering(mid, cmd.message_id.clone());
        let mail = Queued::replied(kind, key, to, vars, thread).about(None, member_id);
        self.queue(tx, mail).await?;
        Ok(())
    }
}

/// The profile as the directory holds it.
fn profile_vars(m: &Member) -> Value {
    context! {
        name => m.name.clone(),
        email => m.email.as_str(),
        skills => m.skills.join("; "),
        bio => m.bio.clone(),
        languages => m.languages.iter().map(|l| l.as_str().to_string()).collect::<Vec<_>>().join("; "),
        region => m.region.clone(),
        status => m.status.as_str(),
        paused_until => m.paused_until.clone(),
        timezone => m.timezone_name(),
    }
}
