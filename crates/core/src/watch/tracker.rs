//! The per-target state machine: up/down with debounce, and player join/leave diffs.
//!
//! Pure: observations come in with their time, changes come out. The
//! [`Scheduler`](super::Scheduler) keeps one [`TargetTracker`] per watched target.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::domain::{HistorySample, PlayerList, PlayerSource, Timestamp};

/// Whether a target is up or down, as far as the tracker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Not observed yet (or only failures fewer than the debounce count).
    Unknown,
    /// Answering. `since` is when it came back, `None` when it was up from the first
    /// observation (so the start is not known).
    Up {
        /// When it came back, if seen.
        since: Option<Timestamp>,
    },
    /// Not answering for at least the debounce count of polls. `since` is the time of
    /// the first failed poll of the outage, `None` when it was down from the first
    /// observation.
    Down {
        /// When the outage began, if seen.
        since: Option<Timestamp>,
    },
}

impl TargetState {
    /// Whether the state is [`TargetState::Up`].
    #[must_use]
    pub const fn is_up(self) -> bool {
        matches!(self, Self::Up { .. })
    }

    /// Whether the state is [`TargetState::Down`].
    #[must_use]
    pub const fn is_down(self) -> bool {
        matches!(self, Self::Down { .. })
    }
}

/// Who is on a server, as far as one poll can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerView {
    /// The names seen.
    pub names: Vec<String>,
    /// Whether the names are everyone online: a Query list, or a status sample at
    /// least as long as the online count. An incomplete sample (vanilla servers show
    /// at most 12, chosen at random) can only tell who *is* on, never who left.
    pub complete: bool,
}

impl PlayerView {
    /// What a player list can tell. `None` when it has no names at all (count only).
    #[must_use]
    pub fn from_list(list: &PlayerList) -> Option<Self> {
        let complete = match list.source {
            PlayerSource::Query => true,
            PlayerSource::Sample => list
                .online
                .is_some_and(|n| usize::try_from(n).is_ok_and(|n| n <= list.names.len())),
            PlayerSource::CountOnly => return None,
        };
        if list.names.is_empty() && !complete {
            return None;
        }
        Some(Self {
            names: list.names.clone(),
            complete,
        })
    }
}

/// One poll's result, as the tracker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// When the server was asked.
    pub at: Timestamp,
    /// Whether it answered.
    pub online: bool,
    /// Who is on, when known (only looked up for targets with watched players).
    pub players: Option<PlayerView>,
}

/// What changed with one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Down after the debounce count of failed polls.
    WentDown {
        /// The first failed poll of the outage.
        outage_start: Timestamp,
        /// How long it had been up before, if known.
        up_for: Option<Duration>,
    },
    /// Answering again.
    CameBack {
        /// When the outage began, if known.
        outage_start: Option<Timestamp>,
        /// When it answered again.
        at: Timestamp,
        /// How long it was down, if known.
        down_for: Option<Duration>,
    },
    /// A watched player appeared (name as the server spelled it).
    Joined(String),
    /// A watched player is gone (name as last seen).
    Left(String),
}

/// Up/down state with debounce and the player baseline of one target.
///
/// - Up → Down after `down_after` consecutive failed polls (one lost ping is not an
///   outage); the outage starts at the first of them.
/// - Down → Up after one successful poll.
/// - A first observation sets the state without a change; so does a replay of history.
/// - Player diffs only concern watched names (case-insensitive) and need a baseline:
///   the first list after a (re)start or an outage sets it silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetTracker {
    down_after: NonZeroU32,
    state: TargetState,
    failures: u32,
    first_failure: Option<Timestamp>,
    last_at: Option<Timestamp>,
    /// Lowercase name → name as the server spelled it. `None`: no baseline.
    players: Option<BTreeMap<String, String>>,
}

impl TargetTracker {
    /// A tracker that knows nothing yet and calls a target down after `down_after`
    /// consecutive failures.
    #[must_use]
    pub const fn new(down_after: NonZeroU32) -> Self {
        Self {
            down_after,
            state: TargetState::Unknown,
            failures: 0,
            first_failure: None,
            last_at: None,
            players: None,
        }
    }

    /// The current state.
    #[must_use]
    pub const fn state(&self) -> TargetState {
        self.state
    }

    /// The time of the last observation applied (observed or replayed).
    #[must_use]
    pub const fn last_at(&self) -> Option<Timestamp> {
        self.last_at
    }

    /// Consecutive failed polls not yet called an outage (0 when down or up and
    /// answering).
    #[must_use]
    pub const fn pending_failures(&self) -> u32 {
        self.failures
    }

    /// Apply one poll. `watched` are the player names any chat watches on this target
    /// (case-insensitive). Returns what changed, in order: a transition first, then
    /// joins, then leaves.
    pub fn observe(&mut self, obs: &Observation, watched: &[String]) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(change) = self.apply_online(obs.at, obs.online) {
            changes.push(change);
        }
        if obs.online
            && let Some(view) = &obs.players
        {
            self.diff_players(view, watched, &mut changes);
        }
        changes
    }

    /// Replay stored samples (oldest first) without reporting changes, e.g. polls that
    /// another replica made. Samples not newer than the last applied one are skipped.
    /// The player baseline is dropped: names are not in the history.
    pub fn replay(&mut self, samples: &[HistorySample]) {
        for sample in samples {
            if self.last_at.is_some_and(|last| sample.at <= last) {
                continue;
            }
            let _ = self.apply_online(sample.at, sample.online);
        }
        self.players = None;
    }

    fn apply_online(&mut self, at: Timestamp, online: bool) -> Option<Change> {
        self.last_at = Some(at);
        if online {
            self.failures = 0;
            self.first_failure = None;
            match self.state {
                TargetState::Up { .. } => None,
                TargetState::Unknown => {
                    self.state = TargetState::Up { since: None };
                    None
                }
                TargetState::Down { since } => {
                    self.state = TargetState::Up { since: Some(at) };
                    Some(Change::CameBack {
                        outage_start: since,
                        at,
                        down_for: since.map(|s| at.since(s)),
                    })
                }
            }
        } else {
            if self.state.is_down() {
                return None;
            }
            self.failures = self.failures.saturating_add(1);
            let start = *self.first_failure.get_or_insert(at);
            if self.failures < self.down_after.get() {
                return None;
            }
            self.failures = 0;
            self.first_failure = None;
            self.players = None;
            let previous = self.state;
            // Down from the very first observations: the outage start is not known.
            self.state = TargetState::Down {
                since: (previous != TargetState::Unknown).then_some(start),
            };
            match previous {
                TargetState::Up { since } => Some(Change::WentDown {
                    outage_start: start,
                    up_for: since.map(|s| start.since(s)),
                }),
                _ => None,
            }
        }
    }

    fn diff_players(&mut self, view: &PlayerView, watched: &[String], out: &mut Vec<Change>) {
        let current: BTreeMap<String, String> = view
            .names
            .iter()
            .map(|n| (player_key(n), n.clone()))
            .collect();
        let Some(baseline) = self.players.as_mut() else {
            self.players = Some(current);
            return;
        };
        let is_watched = |key: &str| watched.iter().any(|w| player_key(w) == key);
        for (lower, name) in &current {
            if !baseline.contains_key(lower) && is_watched(lower) {
                out.push(Change::Joined(name.clone()));
            }
        }
        if view.complete {
            for (lower, name) in baseline.iter() {
                if !current.contains_key(lower) && is_watched(lower) {
                    out.push(Change::Left(name.clone()));
                }
            }
            *baseline = current;
        } else {
            baseline.extend(current);
        }
    }
}

/// What two player names are compared by: case-insensitively, and with Geyser/
/// Floodgate's spelling of Bedrock players undone — its name prefix (`.` or `*`) is
/// dropped and `_` counts as a space (its default `replace-spaces`), so a watch on
/// `Steve Smith` follows `.Steve_Smith` on a Java server that lets Bedrock players
/// in. (A Java name never has a space, so `_` as a space confuses no two Java
/// names.)
#[must_use]
pub fn player_key(name: &str) -> String {
    let name = name
        .strip_prefix(['.', '*'])
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name);
    name.to_lowercase().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn player_keys_match_bedrock_names_behind_geyser() {
        assert_eq!(player_key("Steve Smith"), player_key(".Steve_Smith"));
        assert_eq!(player_key("steve smith"), player_key("*STEVE_SMITH"));
        assert_eq!(player_key("Notch"), player_key("notch"));
        assert_ne!(player_key("Notch"), player_key("Notch2"));
        assert_eq!(player_key("."), ".");
        assert_eq!(player_key("jeb_"), "jeb ");
    }

    const T: u64 = 1_000_000;

    fn at(s: u64) -> Timestamp {
        Timestamp(T + s * 1000)
    }

    fn obs(s: u64, online: bool) -> Observation {
        Observation {
            at: at(s),
            online,
            players: None,
        }
    }

    fn with_players(s: u64, names: &[&str], complete: bool) -> Observation {
        Observation {
            at: at(s),
            online: true,
            players: Some(PlayerView {
                names: names.iter().map(|n| (*n).to_owned()).collect(),
                complete,
            }),
        }
    }

    fn two() -> TargetTracker {
        TargetTracker::new(NonZeroU32::new(2).expect("non-zero"))
    }

    #[test]
    fn one_lost_poll_is_not_an_outage_two_are() {
        let mut t = two();
        assert!(t.observe(&obs(0, true), &[]).is_empty());
        assert!(t.observe(&obs(60, false), &[]).is_empty());
        assert_eq!(t.pending_failures(), 1);
        assert!(t.observe(&obs(120, true), &[]).is_empty(), "one lost poll");
        assert!(t.state().is_up());
        assert!(t.observe(&obs(180, false), &[]).is_empty());
        assert_eq!(
            t.observe(&obs(240, false), &[]),
            vec![Change::WentDown {
                outage_start: at(180),
                up_for: None
            }]
        );
        assert!(t.observe(&obs(300, false), &[]).is_empty(), "once");
        assert_eq!(
            t.observe(&obs(360, true), &[]),
            vec![Change::CameBack {
                outage_start: Some(at(180)),
                at: at(360),
                down_for: Some(Duration::from_secs(180)),
            }]
        );
        assert!(t.observe(&obs(420, true), &[]).is_empty(), "once");
        t.observe(&obs(480, false), &[]);
        assert_eq!(
            t.observe(&obs(540, false), &[]),
            vec![Change::WentDown {
                outage_start: at(480),
                up_for: Some(Duration::from_secs(120)),
            }],
            "up since it came back at 360"
        );
    }

    #[test]
    fn down_from_the_start_is_silent_and_its_start_unknown() {
        let mut t = two();
        assert!(t.observe(&obs(0, false), &[]).is_empty());
        assert!(t.observe(&obs(60, false), &[]).is_empty());
        assert_eq!(t.state(), TargetState::Down { since: None });
        assert_eq!(
            t.observe(&obs(120, true), &[]),
            vec![Change::CameBack {
                outage_start: None,
                at: at(120),
                down_for: None
            }]
        );
    }

    #[test]
    fn debounce_of_one_reports_the_first_failure() {
        let mut t = TargetTracker::new(NonZeroU32::MIN);
        t.observe(&obs(0, true), &[]);
        assert_eq!(
            t.observe(&obs(60, false), &[]),
            vec![Change::WentDown {
                outage_start: at(60),
                up_for: None
            }]
        );
    }

    #[test]
    fn replay_sets_state_silently_and_skips_old_samples() {
        let target: crate::domain::Target = "a.example".parse().expect("valid");
        let sample = |s: u64, online: bool| HistorySample {
            target: target.clone(),
            at: at(s),
            online,
            players: None,
            latency_ms: None,
            cause: None,
        };
        let mut t = two();
        t.replay(&[
            sample(0, true),
            sample(60, false),
            sample(120, false),
            sample(180, true),
            sample(240, false),
        ]);
        assert_eq!(
            t.state(),
            TargetState::Up {
                since: Some(at(180))
            }
        );
        assert_eq!(t.pending_failures(), 1);
        // The next failure completes the debounce started in the history.
        assert_eq!(
            t.observe(&obs(300, false), &[]),
            vec![Change::WentDown {
                outage_start: at(240),
                up_for: Some(Duration::from_secs(60)),
            }]
        );
        // Replaying what was already applied changes nothing.
        let before = t.clone();
        t.replay(&[sample(240, true), sample(300, true)]);
        assert_eq!(t.state(), before.state());
    }

    #[test]
    fn player_diffs_for_watched_names_only() {
        let watched = vec!["alice".to_owned(), "Bob".to_owned()];
        let mut t = two();
        assert!(
            t.observe(&with_players(0, &["Alice", "carol"], true), &watched)
                .is_empty(),
            "the first list is the baseline"
        );
        assert_eq!(
            t.observe(&with_players(60, &["Alice", "bob", "dave"], true), &watched),
            vec![Change::Joined("bob".into())]
        );
        assert_eq!(
            t.observe(&with_players(120, &["carol"], true), &watched),
            vec![Change::Left("Alice".into()), Change::Left("bob".into())]
        );
    }

    #[test]
    fn incomplete_sample_reports_joins_but_never_leaves() {
        let watched = vec!["alice".to_owned()];
        let mut t = two();
        t.observe(&with_players(0, &["x"], false), &watched);
        assert_eq!(
            t.observe(&with_players(60, &["alice"], false), &watched),
            vec![Change::Joined("alice".into())]
        );
        assert!(
            t.observe(&with_players(120, &["y"], false), &watched)
                .is_empty(),
            "absent from a partial sample is not gone"
        );
        assert!(
            t.observe(&with_players(180, &["alice"], false), &watched)
                .is_empty(),
            "still in the baseline: no second join"
        );
        assert_eq!(
            t.observe(&with_players(240, &[], true), &watched),
            vec![Change::Left("alice".into())],
            "a complete list tells"
        );
    }

    #[test]
    fn an_outage_resets_the_player_baseline() {
        let watched = vec!["alice".to_owned()];
        let mut t = two();
        t.observe(&with_players(0, &["alice"], true), &watched);
        t.observe(&obs(60, false), &watched);
        t.observe(&obs(120, false), &watched);
        let back = t.observe(&with_players(180, &["alice"], true), &watched);
        assert_eq!(back.len(), 1, "only CameBack: {back:?}");
        assert!(matches!(back[0], Change::CameBack { .. }));
        assert_eq!(
            t.observe(&with_players(240, &[], true), &watched),
            vec![Change::Left("alice".into())]
        );
    }

    #[test]
    fn one_lost_poll_keeps_the_player_baseline() {
        let watched = vec!["alice".to_owned()];
        let mut t = two();
        t.observe(&with_players(0, &["alice"], true), &watched);
        t.observe(&obs(60, false), &watched);
        assert!(
            t.observe(&with_players(120, &["alice"], true), &watched)
                .is_empty()
        );
    }

    #[test]
    fn player_view_completeness() {
        let list = |source, online: Option<i64>, names: &[&str]| PlayerList {
            target: "a.example".parse().expect("valid"),
            source,
            online,
            max: Some(20),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            taken_at: Timestamp(0),
        };
        let q = PlayerView::from_list(&list(PlayerSource::Query, Some(5), &["a"])).expect("names");
        assert!(q.complete);
        let s = PlayerView::from_list(&list(PlayerSource::Sample, Some(2), &["a", "b"]))
            .expect("names");
        assert!(s.complete);
        let partial =
            PlayerView::from_list(&list(PlayerSource::Sample, Some(30), &["a"])).expect("names");
        assert!(!partial.complete);
        assert!(PlayerView::from_list(&list(PlayerSource::Sample, Some(3), &[])).is_none());
        assert!(PlayerView::from_list(&list(PlayerSource::CountOnly, Some(3), &[])).is_none());
        let empty =
            PlayerView::from_list(&list(PlayerSource::Sample, Some(0), &[])).expect("complete");
        assert!(empty.complete && empty.names.is_empty());
    }
}
