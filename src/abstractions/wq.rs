// SPDX-License-Identifier: GPL-2.0

//! The module's own workqueue: work items of the module run there, and
//! destroying it at unload waits for every one of them.

use super::bindings;
use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::workqueue::{impl_has_work, new_work, Queue, Work, WorkItem};

/// The queue, set while the module is loaded.
static QUEUE: AtomicPtr<bindings::workqueue_struct> = AtomicPtr::new(ptr::null_mut());

/// Ownership of the module's workqueue; destroys it (after running what is
/// queued) when dropped.
///
/// # Invariants
///
/// While this object exists, `QUEUE` points to a live workqueue.  Every
/// caller of [`queue`] holds a reference to one of the module's devices
/// (or to a socket or peer of one) or runs on the queue itself, and the
/// module drops this object only after its devices are gone: so no caller
/// outside the queue can still hold the `&Queue` when it is destroyed, and
/// work that runs during the drain finds `QUEUE` cleared.
pub(crate) struct OwnedQueue(());

impl OwnedQueue {
    /// Allocates the module's workqueue.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: allocates a workqueue (or returns null).
        let q = unsafe { bindings::ovpn_compat_alloc_wq() };
        if q.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: set before the owner exists.
        QUEUE.store(q, Ordering::Release);
        Ok(Self(()))
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        let q = QUEUE.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `q` is the live queue (invariant); it drains and is
        // freed.  No caller outside the queue is left (invariant), and
        // work running during the drain sees `QUEUE` cleared.
        unsafe { bindings::destroy_workqueue(q) };
    }
}

/// The module's workqueue; `None` outside the module's lifetime.
pub(crate) fn queue() -> Option<&'static Queue> {
    let q = QUEUE.load(Ordering::Acquire);
    if q.is_null() {
        return None;
    }
    // SAFETY: a non-null `QUEUE` is live until `OwnedQueue` is dropped at
    // module exit, after the last user of the queue (the devices) is gone;
    // module code cannot run after that.
    Some(unsafe { Queue::from_raw(q.cast()) })
}

/// A one-shot job: `f` runs once, on the module's workqueue.
#[pin_data]
struct Job<F> {
    f: Cell<Option<F>>,
    #[pin]
    work: Work<Job<F>>,
}

impl_has_work! {
    impl{F} HasWork<Self> for Job<F> { self.work }
}

impl<F: FnOnce() + Send + 'static> WorkItem for Job<F> {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        if let Some(f) = this.f.take() {
            f();
        }
    }
}

/// Runs `f` once on the module's workqueue, in process context.  Callable
/// from any context (the job is allocated atomically).  `ENODEV` outside
/// the module's lifetime, `ENOMEM` when the job cannot be allocated; `f`
/// is dropped unrun then.
pub(crate) fn run_later<F: FnOnce() + Send + 'static>(f: F) -> Result {
    let q = queue().ok_or(ENODEV)?;
    let job = KBox::pin_init(
        pin_init!(Job {
            f: Cell::new(Some(f)),
            work <- new_work!("ovpn_dco::job"),
        }),
        GFP_ATOMIC,
    )?;
    q.enqueue(job);
    Ok(())
}
