//! Waiting on a source the task polls again and again without asking it
//! anew each time.
//!
//! Polling a socket or a channel registers the task's waker with it, and
//! asking after every event (or every request) would do that each time.
//! Instead the source holds a waker of the watch's own, which notes that
//! the source signalled and then wakes the task; until it does, there is
//! nothing new to look at.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};

use tokio::sync::watch;

pub struct Watch {
    signal: Arc<Signal>,
    waker: Waker,
    /// The task the signal wakes (a copy of `Signal::task`, read unlocked).
    task: Waker,
}

struct Signal {
    /// The source signalled, or may not hold the watch's waker: look.
    look: AtomicBool,
    task: Mutex<Waker>,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.look.store(true, Ordering::Release);
        self.task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .wake_by_ref();
    }
}

impl Watch {
    pub fn new() -> Watch {
        let signal = Arc::new(Signal {
            look: AtomicBool::new(true),
            task: Mutex::new(Waker::noop().clone()),
        });
        Watch {
            waker: Waker::from(signal.clone()),
            signal,
            task: Waker::noop().clone(),
        }
    }

    /// True when the source may have news for the task polling with `cx`.
    pub fn needs_look(&mut self, cx: &Context<'_>) -> bool {
        if !self.task.will_wake(cx.waker()) {
            self.task.clone_from(cx.waker());
            *self
                .signal
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = self.task.clone();
            self.disarm();
        }
        self.signal.look.load(Ordering::Acquire)
    }

    /// The waker to poll the source with; until it signals, no news.
    pub fn arm(&mut self) -> &Waker {
        self.signal.look.store(false, Ordering::Release);
        &self.waker
    }

    /// Something else polls the source, with another waker.
    pub fn disarm(&mut self) {
        self.signal.look.store(true, Ordering::Release);
    }
}

/// Ready once the proxy is stopping, and from then on. Made once for a
/// connection, and watched: waiting between requests with a `changed()`
/// each time would join the channel's waiters and leave them again.
pub struct StopWait {
    /// `None` once the stop has come.
    wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    watch: Watch,
}

impl StopWait {
    pub fn new(mut stop: watch::Receiver<bool>) -> StopWait {
        let wait = async move {
            // A closed channel means the proxy is gone: stopping as well.
            let _ = stop.wait_for(|stopping| *stopping).await;
        };
        StopWait {
            wait: Some(Box::pin(wait)),
            watch: Watch::new(),
        }
    }
}

impl Future for StopWait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(wait) = this.wait.as_mut() else {
            return Poll::Ready(());
        };
        if !this.watch.needs_look(cx) {
            return Poll::Pending;
        }
        let mut watched = Context::from_waker(this.watch.arm());
        ready!(wait.as_mut().poll(&mut watched));
        this.wait = None;
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Counts its wakes.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn stop_wait_is_pending_until_the_stop_then_ready_for_good() {
        let (stop, receiver) = watch::channel(false);
        let mut stopping = StopWait::new(receiver);
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..3 {
            assert!(Pin::new(&mut stopping).poll(&mut cx).is_pending());
        }
        stop.send_replace(true);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "the task was not woken"
        );
        for _ in 0..3 {
            assert!(Pin::new(&mut stopping).poll(&mut cx).is_ready());
        }
    }

    #[tokio::test]
    async fn stop_wait_is_ready_when_the_proxy_is_gone() {
        let (stop, receiver) = watch::channel(false);
        let mut stopping = StopWait::new(receiver);
        drop(stop);
        poll_fn(|cx| Pin::new(&mut stopping).poll(cx)).await;
    }

    #[test]
    fn a_new_task_is_woken_instead_of_the_last() {
        let (stop, receiver) = watch::channel(false);
        let mut stopping = StopWait::new(receiver);
        let first = Arc::new(Counter(AtomicUsize::new(0)));
        let second = Arc::new(Counter(AtomicUsize::new(0)));
        for counter in [&first, &second] {
            let waker = Waker::from(counter.clone());
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut stopping).poll(&mut cx).is_pending());
        }
        stop.send_replace(true);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }
}
