//! [`WatchService`]: the watch commands as functions over the stores.

use std::fmt;
use std::sync::Arc;

use crate::domain::{AuditEntry, ChatRef, HistorySample, Target, Timestamp, UserRef, Watch};
use crate::history::{HistoryReader, Rollup, Tier};
use crate::policy::PolicyViolation;
use crate::ports::{AuditLog, Clock, HistoryStore, StoreError, WatchStore};

use super::WatchConfig;
use super::tracker::{TargetState, TargetTracker};
use super::uptime::{self, UptimeReport, UptimeWindow};

/// The longest player name a watch accepts, in characters.
pub const MAX_PLAYER_NAME_LEN: usize = 32;

/// Why a watch command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The chat already watches the most servers it may.
    #[error("this chat already watches {max} servers; unwatch one first")]
    LimitReached {
        /// The limit ([`WatchConfig::max_watches_per_chat`]).
        max: usize,
    },
    /// More player names than a watch may follow.
    #[error("a watch follows at most {max} players")]
    TooManyPlayers {
        /// The limit ([`WatchConfig::max_players_per_watch`]).
        max: usize,
    },
    /// Not a player name (1 to 32 letters, digits, `_`, `.`, `*`, `-` and single
    /// spaces between them).
    #[error("{0:?} is not a player name")]
    BadPlayerName(String),
    /// The address is refused by the target policy.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The store failed.
    #[error("watch store failed")]
    Store(#[from] StoreError),
}

/// What [`WatchService::watch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new watch.
    Added,
    /// The chat already watched the server; its player list was replaced.
    Updated,
}

/// One line of `/watches`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSummary {
    /// The watch.
    pub watch: Watch,
    /// Up, down or unknown, from the recent history with the debounce applied.
    pub state: TargetState,
    /// Uptime over the last 24 hours.
    pub day: UptimeWindow,
    /// The newest sample: when, and whether the server answered.
    pub last_sample: Option<(Timestamp, bool)>,
}

/// The watch commands: `/watch`, `/unwatch`, `/watches`, `/uptime` (and the samples
/// a chart is drawn from). Polling is the [`Scheduler`](super::Scheduler)'s job.
pub struct WatchService {
    watches: Arc<dyn WatchStore>,
    history: Arc<dyn HistoryStore>,
    clock: Arc<dyn Clock>,
    audit: Option<Arc<dyn AuditLog>>,
    config: WatchConfig,
}

impl fmt::Debug for WatchService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl WatchService {
    /// A service over the watch and history stores, with time from `clock`.
    #[must_use]
    pub fn new(
        watches: Arc<dyn WatchStore>,
        history: Arc<dyn HistoryStore>,
        clock: Arc<dyn Clock>,
        config: WatchConfig,
    ) -> Self {
        Self {
            watches,
            history,
            clock,
            audit: None,
            config: config.normalized(),
        }
    }

    /// Also record every watch and unwatch in `audit` (`watch add <target>`,
    /// `watch remove <target>`). A failing audit log is logged, not an error.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The settings.
    #[must_use]
    pub const fn config(&self) -> &WatchConfig {
        &self.config
    }

    /// Watch `target` in `chat` (asked by `actor`), reporting joins and leaves of
    /// `players` (empty: none). Watching a server again replaces its player list and
    /// does not count against the limit. Permission checks (e.g. Discord's Manage
    /// Guild) are the bot's.
    ///
    /// # Errors
    /// [`WatchError::Policy`] for a refused IP literal, [`WatchError::TooManyPlayers`],
    /// [`WatchError::BadPlayerName`], [`WatchError::LimitReached`] (checked before the
    /// write; two concurrent adds may pass it together), [`WatchError::Store`].
    pub async fn watch(
        &self,
        chat: &ChatRef,
        actor: &UserRef,
        target: &Target,
        players: &[String],
    ) -> Result<AddOutcome, WatchError> {
        if let Some(ip) = target.address().host.ip() {
            self.config.policy.check(ip)?;
        }
        let players = clean_players(players, self.config.max_players_per_watch)?;
        let existing = self.watches.watches_of(chat).await?;
        let key = target.key();
        let already = existing.iter().any(|w| w.target.key() == key);
        if !already && existing.len() >= self.config.max_watches_per_chat {
            return Err(WatchError::LimitReached {
                max: self.config.max_watches_per_chat,
            });
        }
        let now = self.clock.now();
        let created_at = existing
            .iter()
            .find(|w| w.target.key() == key)
            .map_or(now, |w| w.created_at);
        let watch = Watch {
            chat: chat.clone(),
            target: target.clone(),
            created_at,
            players,
        };
        let new = self.watches.add_watch(&watch).await?;
        self.audit(chat, actor, format!("watch add {target}"), now)
            .await;
        Ok(if new {
            AddOutcome::Added
        } else {
            AddOutcome::Updated
        })
    }

    /// Stop watching `target` in `chat`. `true` if it was watched.
    ///
    /// # Errors
    /// [`WatchError::Store`].
    pub async fn unwatch(
        &self,
        chat: &ChatRef,
        actor: &UserRef,
        target: &Target,
    ) -> Result<bool, WatchError> {
        let removed = self.watches.remove_watch(chat, target).await?;
        if removed {
            self.audit(
                chat,
                actor,
                format!("watch remove {target}"),
                self.clock.now(),
            )
            .await;
        }
        Ok(removed)
    }

    /// Move every watch of `from` to `to` (a Telegram group upgraded to a
    /// supergroup gets a new chat id), merging into a watch `to` already has of the
    /// same server ([`move_chat`]). The per-chat limit is not applied: it is the
    /// same chat (a chat that watched servers under both ids may end above it; it
    /// can unwatch). Returns how many moved.
    ///
    /// # Errors
    /// [`WatchError::Store`] (watches moved before the failure stay moved).
    pub async fn move_chat(&self, from: &ChatRef, to: &ChatRef) -> Result<usize, WatchError> {
        Ok(move_chat(
            self.watches.as_ref(),
            from,
            to,
            self.config.max_players_per_watch,
        )
        .await?
        .len())
    }

    /// The chat's watches with their state and 24 h uptime, ordered by target key.
    /// A target whose history cannot be read is listed with an unknown state.
    ///
    /// # Errors
    /// [`WatchError::Store`] when the watch list cannot be read.
    pub async fn watches(&self, chat: &ChatRef) -> Result<Vec<WatchSummary>, WatchError> {
        let now = self.clock.now();
        let lookback = self.config.state_lookback.max(uptime::DAY);
        let mut out = Vec::new();
        for watch in self.watches.watches_of(chat).await? {
            let samples = match self
                .reader()
                .samples(&watch.target, now.minus(lookback), just_after(now))
                .await
            {
                Ok(samples) => samples,
                Err(error) => {
                    tracing::warn!(
                        target = %watch.target,
                        error = &error as &dyn std::error::Error,
                        "history unreadable; listed without state"
                    );
                    Vec::new()
                }
            };
            let mut tracker = TargetTracker::new(self.config.down_after);
            tracker.replay(&samples);
            out.push(WatchSummary {
                state: tracker.state(),
                day: uptime::window_uptime(&samples, now, uptime::DAY, self.config.interval),
                last_sample: samples.last().map(|s| (s.at, s.online)),
                watch,
            });
        }
        Ok(out)
    }

    fn reader(&self) -> HistoryReader<'_> {
        HistoryReader::new(self.history.as_ref())
    }

    /// Uptime of `target` over 24 h (raw samples), 7 d (5-minute buckets), 30 d and
    /// 90 d (hourly) and a year (daily), and its last outages (stored as events),
    /// from the history (any server with history: a watch in another chat counts
    /// too). No range reads more than about 2,200 stored entries.
    ///
    /// # Errors
    /// [`WatchError::Store`].
    pub async fn uptime(&self, target: &Target) -> Result<UptimeReport, WatchError> {
        let now = self.clock.now();
        let reader = self.reader();
        let Some(head) = reader.head(target).await? else {
            return Ok(UptimeReport {
                day: UptimeWindow::empty(uptime::DAY),
                week: UptimeWindow::empty(uptime::WEEK),
                month: UptimeWindow::empty(uptime::MONTH),
                quarter: UptimeWindow::empty(uptime::QUARTER),
                year: UptimeWindow::empty(uptime::YEAR),
                outages: Vec::new(),
                last_sample: None,
                samples: 0,
            });
        };
        let spans = [
            uptime::DAY,
            uptime::WEEK,
            uptime::MONTH,
            uptime::QUARTER,
            uptime::YEAR,
        ];
        let mut windows = spans.map(UptimeWindow::empty);
        let mut samples = 0;
        for (window, span) in windows.iter_mut().zip(spans) {
            let tier = self.config.history.tier_for(span);
            let range = reader
                .uptime_with(target, tier, span, now, Some(&head))
                .await?;
            samples = range.samples;
            *window = range.window();
        }
        let outages = reader
            .outages_with(
                target,
                now.minus(uptime::YEAR),
                now,
                self.config.down_after.get(),
                self.config.max_outages,
                Some(&head),
            )
            .await?
            .into_iter()
            .map(|o| uptime::Outage {
                start: o.start,
                end: o.end,
                duration: o.end.unwrap_or(now).since(o.start),
                cause: o.cause,
            })
            .collect();
        let [day, week, month, quarter, year] = windows;
        Ok(UptimeReport {
            day,
            week,
            month,
            quarter,
            year,
            outages,
            last_sample: head.last_sample(),
            samples: usize::try_from(samples).unwrap_or(usize::MAX),
        })
    }

    /// The raw samples of `target` over the last `span` (at most the raw window),
    /// oldest first.
    ///
    /// # Errors
    /// [`WatchError::Store`].
    pub async fn history(
        &self,
        target: &Target,
        span: std::time::Duration,
    ) -> Result<Vec<HistorySample>, WatchError> {
        let now = self.clock.now();
        Ok(self
            .reader()
            .samples(target, now.minus(span), just_after(now))
            .await?)
    }

    /// The buckets of `target` over the last `span`, from `step`'s tier when given
    /// (the tier that fits the span otherwise), oldest first, the open bucket
    /// included: what `GET /v1/history` serves.
    ///
    /// # Errors
    /// [`WatchError::Store`].
    pub async fn series(
        &self,
        target: &Target,
        span: std::time::Duration,
        step: Option<Tier>,
    ) -> Result<(Tier, Vec<Rollup>), WatchError> {
        let now = self.clock.now();
        let tier = step.unwrap_or_else(|| self.config.history.tier_for(span));
        let since = Timestamp(tier.align(now.minus(span).0));
        let points = self
            .reader()
            .rollups(target, tier, since, just_after(now))
            .await?;
        Ok((tier, points))
    }

    /// What `/graph address [range]` draws: the samples of `target` covering `range`
    /// (from the start of its first bucket), with the target's display name and now.
    /// Hand it to a [`ChartRenderer`](crate::ports::ChartRenderer) (on a blocking pool).
    ///
    /// # Errors
    /// [`WatchError::Store`].
    pub async fn chart(
        &self,
        target: &Target,
        range: crate::chart::ChartRange,
    ) -> Result<crate::chart::ChartRequest, WatchError> {
        let now = self.clock.now();
        // The first bucket starts up to one bucket before `now - span`.
        let since = now.minus(range.span().saturating_add(range.bucket()));
        let tier = self.config.history.tier_for(range.span());
        let since = Timestamp(tier.align(since.0));
        let points = self
            .reader()
            .rollups(target, tier, since, just_after(now))
            .await?;
        Ok(crate::chart::ChartRequest {
            name: target.to_string(),
            range,
            now,
            points,
        })
    }

    async fn audit(&self, chat: &ChatRef, actor: &UserRef, action: String, at: Timestamp) {
        let Some(audit) = &self.audit else { return };
        let entry = AuditEntry {
            scope: chat.clone(),
            actor: actor.clone(),
            action,
            at,
        };
        if let Err(error) = audit.append_audit(&entry).await {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                action = %entry.action,
                "audit log failed"
            );
        }
    }
}

/// Just after `t`: the end bound of a history query that includes samples at `t`.
fn just_after(t: Timestamp) -> Timestamp {
    t.plus(std::time::Duration::from_millis(1))
}

/// Player names trimmed, checked and deduplicated case-insensitively (as a watch
/// keeps them).
pub(crate) fn clean_players(players: &[String], max: usize) -> Result<Vec<String>, WatchError> {
    let mut out: Vec<String> = Vec::new();
    for name in players {
        let name = name.trim();
        if !is_player_name(name) {
            return Err(WatchError::BadPlayerName(crate::chat::quote_input(name)));
        }
        if !out.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            out.push(name.to_owned());
        }
    }
    if out.len() > max {
        return Err(WatchError::TooManyPlayers { max });
    }
    Ok(out)
}

/// Whether `name` (already trimmed) is a player name a watch may follow: 1 to
/// [`MAX_PLAYER_NAME_LEN`] ASCII letters, digits, `_`, `.`, `*`, `-` and single
/// spaces between them.
///
/// Java names are 3 to 16 of `[A-Za-z0-9_]`; Xbox gamertags (Bedrock, and Bedrock
/// players on Java servers through Geyser/Floodgate) have letters, digits and inner
/// spaces, up to 15 characters for classic ones, with a prefix such as `.` or `*`
/// added by Floodgate. The limit is looser than both, for offline-mode servers and
/// proxies with their own prefixes; what it keeps out is anything that cannot be a
/// name on a server list: control and bidi characters, quotes, leading, trailing
/// or double spaces.
fn is_player_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=MAX_PLAYER_NAME_LEN).contains(&len)
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name.contains("  ")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '-' | ' '))
}

/// Move every watch the store holds for chat `from` to chat `to`; returns the
/// watches as written under `to`. Each is written there first, then removed from
/// `from`, so a failure in between leaves it in both (told twice) rather than in
/// neither. A watch `to` already has of the same server is merged, not overwritten:
/// the players of both (at most `max_players`, `to`'s first) and the earlier
/// creation time. Idempotent: a second call (the other service message, another
/// replica) finds nothing left under `from`; `from == to` moves nothing.
///
/// # Errors
/// [`StoreError`] of a read or a write (watches moved before it stay moved).
pub async fn move_chat(
    store: &dyn WatchStore,
    from: &ChatRef,
    to: &ChatRef,
    max_players: usize,
) -> Result<Vec<Watch>, StoreError> {
    if from == to {
        return Ok(Vec::new());
    }
    let moving = store.watches_of(from).await?;
    if moving.is_empty() {
        return Ok(Vec::new());
    }
    let existing = store.watches_of(to).await?;
    let mut moved = Vec::with_capacity(moving.len());
    for watch in moving {
        let merged = match existing
            .iter()
            .find(|w| w.target.key() == watch.target.key())
        {
            Some(there) => {
                let mut players = there.players.clone();
                for name in &watch.players {
                    if players.len() < max_players
                        && !players.iter().any(|p| p.eq_ignore_ascii_case(name))
                    {
                        players.push(name.clone());
                    }
                }
                Watch {
                    chat: to.clone(),
                    target: there.target.clone(),
                    created_at: there.created_at.min(watch.created_at),
                    players,
                }
            }
            None => Watch {
                chat: to.clone(),
                ..watch.clone()
            },
        };
        store.add_watch(&merged).await?;
        store.remove_watch(&watch.chat, &watch.target).await?;
        moved.push(merged);
    }
    tracing::info!(%from, %to, moved = moved.len(), "chat moved; its watches follow");
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_names_are_checked_and_deduplicated() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            clean_players(
                &names(&[" Notch ", "notch", "jeb_", "Steve Bedrock", ".floodgate"]),
                10
            )
            .expect("valid"),
            names(&["Notch", "jeb_", "Steve Bedrock", ".floodgate"])
        );
        assert!(matches!(
            clean_players(&names(&["a\u{202e}b"]), 10),
            Err(WatchError::BadPlayerName(_))
        ));
        assert!(matches!(
            clean_players(&names(&[""]), 10),
            Err(WatchError::BadPlayerName(_))
        ));
        assert!(matches!(
            clean_players(&names(&[&"x".repeat(33)]), 10),
            Err(WatchError::BadPlayerName(_))
        ));
        assert_eq!(
            clean_players(&names(&["Steve Smith", "A B C", "x"]), 10).expect("valid"),
            names(&["Steve Smith", "A B C", "x"])
        );
        for bad in [
            "Steve  Smith",
            "Steve\tSmith",
            "Steve\u{a0}Smith",
            "Steve\nSmith",
            "\"Steve\"",
            "a\u{7f}",
        ] {
            assert!(
                matches!(
                    clean_players(&names(&[bad]), 10),
                    Err(WatchError::BadPlayerName(_))
                ),
                "{bad:?}"
            );
        }
        assert!(is_player_name(&"x".repeat(MAX_PLAYER_NAME_LEN)));
        assert!(!is_player_name(" x") && !is_player_name("x ") && !is_player_name(""));
        assert!(matches!(
            clean_players(&names(&["a", "b", "c"]), 2),
            Err(WatchError::TooManyPlayers { max: 2 })
        ));
    }
}
