//! Routing updates to their handler: one at a time and in order within a chat
//! (per user for inline queries), every chat in parallel, nothing ever waiting for
//! another chat's handler.
//!
//! teloxide's own `Dispatcher` routes the same way, but while it cleans up idle
//! per-chat workers it may await one that has just taken an update and not yet
//! marked itself busy — and so stop taking updates for as long as that handler
//! runs. An answer waits for its turn in the pacer up to its deadline (30 s): in a
//! storm of commands that stalled every other chat for up to that long, and their
//! answers then went stale.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{Stream, StreamExt as _};
use teloxide::types::Update;
use tokio::task::JoinSet;

/// Whose updates are handled in order: the chat's, else the sender's (inline
/// queries), else none (handled at once).
#[must_use]
pub fn key(update: &Update) -> Option<i64> {
    update
        .chat()
        .map(|c| c.id.0)
        .or_else(|| update.from().and_then(|f| i64::try_from(f.id.0).ok()))
}

/// Updates waiting behind the one being handled, per key; a key is present while
/// its worker runs.
type Waiting = Arc<Mutex<HashMap<i64, VecDeque<Update>>>>;

/// Handle every update of `updates` with `handle` until the stream ends, then wait
/// for the handlers still running. Updates with the same [`key`] are handled one
/// after another in the order they came; the others at the same time.
///
/// `handle` is expected not to panic (the bot's catches its own panics); a panic
/// ends only that key's worker, whose waiting updates are then dropped with a log
/// line.
pub async fn dispatch<S, H, F>(updates: S, handle: H)
where
    S: Stream<Item = Update>,
    H: Fn(Update) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let waiting: Waiting = Arc::default();
    let mut running = JoinSet::new();
    let mut updates = std::pin::pin!(updates);
    while let Some(update) = updates.next().await {
        while let Some(done) = running.try_join_next() {
            report(done);
        }
        let Some(key) = key(&update) else {
            running.spawn(handle(update));
            continue;
        };
        {
            let mut map = waiting.lock().unwrap_or_else(PoisonError::into_inner);
            match map.entry(key) {
                // Its worker is running: it takes this one when it is done.
                Entry::Occupied(mut queue) => {
                    queue.get_mut().push_back(update);
                    continue;
                }
                Entry::Vacant(slot) => {
                    slot.insert(VecDeque::new());
                }
            }
        }
        let waiting = Arc::clone(&waiting);
        let handle = handle.clone();
        running.spawn(async move {
            // Removes the key (and what waits) if the worker ends by a panic.
            let mut guard = Worker {
                key,
                waiting: &waiting,
                armed: true,
            };
            let mut next = Some(update);
            while let Some(update) = next {
                handle(update).await;
                let mut map = waiting.lock().unwrap_or_else(PoisonError::into_inner);
                next = map.get_mut(&key).and_then(VecDeque::pop_front);
                if next.is_none() {
                    // Under the same lock as the look: an update that comes now
                    // finds no worker and starts one.
                    map.remove(&key);
                    guard.armed = false;
                }
            }
        });
    }
    while let Some(done) = running.join_next().await {
        report(done);
    }
}

/// A key's worker: its entry goes when the worker does.
struct Worker<'a> {
    key: i64,
    waiting: &'a Waiting,
    /// Still to remove (the worker did not end normally).
    armed: bool,
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let left = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key)
            .map_or(0, |q| q.len());
        if left > 0 {
            tracing::error!(
                chat = self.key,
                dropped = left,
                "update handler failed; the chat's waiting updates are dropped"
            );
        }
    }
}

fn report(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!(error = %e, "update handler panicked");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn message(update_id: i32, chat: i64, text: &str) -> Update {
        // From text, as the Bot API's answers are read (teloxide's `Update` does not
        // read from a `Value`).
        let json = serde_json::json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "chat": {"id": chat, "type": "private", "first_name": "A"},
                "from": {"id": chat, "is_bot": false, "first_name": "A"},
                "text": text,
            }
        });
        let update: Update = serde_json::from_str(&json.to_string()).expect("an update");
        assert_eq!(key(&update), Some(chat), "{update:?}");
        update
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_chat_holds_back_only_itself_and_each_chat_keeps_its_order() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let seen: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let handler = {
            let seen = Arc::clone(&seen);
            let done = Arc::clone(&done);
            move |u: Update| {
                let seen = Arc::clone(&seen);
                let done = Arc::clone(&done);
                async move {
                    let chat = key(&u).expect("a chat");
                    let text = match &u.kind {
                        teloxide::types::UpdateKind::Message(m) => {
                            m.text().unwrap_or_default().to_owned()
                        }
                        _ => String::new(),
                    };
                    if text == "slow" {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    seen.lock().expect("lock").push((chat, text));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        };
        let task = tokio::spawn(dispatch(tokio_stream_of(rx), handler));
        tx.send(message(1, 1, "slow")).expect("send");
        tx.send(message(2, 1, "after-slow")).expect("send");
        for i in 0..100 {
            tx.send(message(3 + i, 2 + i64::from(i), "fast"))
                .expect("send");
        }
        // Every other chat is handled while chat 1 waits.
        tokio::time::timeout(Duration::from_millis(400), async {
            while done.load(Ordering::SeqCst) < 100 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the other chats are not held back by the slow one");
        drop(tx);
        task.await.expect("dispatch ends when the updates do");
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 102);
        let chat1: Vec<&str> = seen
            .iter()
            .filter(|(c, _)| *c == 1)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(chat1, ["slow", "after-slow"]);
    }

    fn tokio_stream_of(
        mut rx: tokio::sync::mpsc::UnboundedReceiver<Update>,
    ) -> impl Stream<Item = Update> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
