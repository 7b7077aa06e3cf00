//! The worker pool: a fixed number of threads taking jobs from one queue.
//!
//! Why not the `threadpool` crate: its idle workers wait on a mutex around the channel receiver,
//! one of them blocked in `recv` while holding it. Every job then wakes two threads (the one in
//! `recv`, and the next one taking over the receiver) and puts one back to sleep. On the request
//! path that was two of the ~7.5 context switches per proxied request. Here idle workers wait on
//! one condition variable and a job wakes exactly one of them.
//!
//! A job that panics is caught: the worker survives and takes the next job (the request the job
//! owned is dropped, and `tiny_http` answers a dropped request with 500 by itself).

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed pool of worker threads.
pub struct Workers {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Jobs being run right now.
    active: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A job runs outside the lock, so the state is never left half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Workers {
    /// Starts `threads` workers named `name`.
    pub fn new(threads: usize, name: &str) -> std::io::Result<Workers> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
        });
        for _ in 0..threads.max(1) {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || work(&shared))?;
        }
        Ok(Workers { shared })
    }

    /// Queues a job; one idle worker (if any) wakes up for it.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.shared.lock().jobs.push_back(Box::new(job));
        self.shared.work.notify_one();
    }

    /// Jobs waiting for a worker.
    pub fn queued_count(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Jobs being run.
    pub fn active_count(&self) -> usize {
        self.shared.lock().active
    }
}

fn work(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        let job = match state.jobs.pop_front() {
            Some(job) => job,
            None => {
                state = shared.work.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
        };
        state.active += 1;
        drop(state);
        let _ = catch_unwind(AssertUnwindSafe(job));
        state = shared.lock();
        state.active -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn wait_for(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn runs_every_job_and_counts_queue_and_active() {
        let pool = Workers::new(2, "test-worker").unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        for _ in 0..5 {
            let done = Arc::clone(&done);
            let gate = Arc::clone(&gate);
            pool.execute(move || {
                let (open, cv) = &*gate;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = cv.wait(open).unwrap();
                }
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        wait_for("two busy workers", || pool.active_count() == 2);
        assert_eq!(pool.queued_count(), 3);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        wait_for("all jobs", || done.load(Ordering::SeqCst) == 5);
        wait_for("idle pool", || pool.active_count() == 0);
        assert_eq!(pool.queued_count(), 0);
    }

    #[test]
    fn a_panicking_job_does_not_take_its_worker_down() {
        let pool = Workers::new(1, "test-worker").unwrap();
        pool.execute(|| panic!("job failed on purpose"));
        let done = Arc::new(AtomicUsize::new(0));
        let d = Arc::clone(&done);
        pool.execute(move || {
            d.fetch_add(1, Ordering::SeqCst);
        });
        wait_for("the job after the panic", || {
            done.load(Ordering::SeqCst) == 1
        });
    }
}
