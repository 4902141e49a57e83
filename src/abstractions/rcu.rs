// SPDX-License-Identifier: GPL-2.0

//! RCU-protected pointers: lock-free readers, writers that publish a new
//! value and free the old one after a grace period (`call_rcu`).
//!
//! Writers of one [`RcuPtr`] may run concurrently: every value is swapped
//! out exactly once and then freed exactly once.  Keeping writers
//! *logically* ordered (e.g. two slots swapped together) is the caller's
//! business and needs no `unsafe`.

use super::bindings;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::alloc::Flags;
use kernel::prelude::*;
use kernel::sync::rcu::Guard;
use kernel::types::Opaque;

/// `RcuBox` frees queued with `call_rcu` and not finished: a value freed
/// in a callback may queue more (a peer dropped with its table bucket
/// drops its own boxes), which one `rcu_barrier` does not wait for.
static PENDING_FREES: AtomicUsize = AtomicUsize::new(0);

/// The heap node behind an RCU value: its `rcu_head`, then the value.
#[repr(C)]
struct Node<T> {
    head: Opaque<bindings::callback_head>,
    value: T,
}

/// A value on the heap that RCU readers may be looking at.  It only gives
/// shared access; dropping it frees it after a grace period, so a reader
/// that found it before it was unpublished can keep using it until its
/// read-side section ends.
///
/// `T` is dropped from an RCU callback (softirq context): its `Drop` must
/// not sleep.
///
/// # Invariants
///
/// `node` comes from `KBox::into_raw` and is owned by this object.
pub(crate) struct RcuBox<T: Send + Sync + 'static> {
    node: NonNull<Node<T>>,
    _p: PhantomData<T>,
}

// SAFETY: the box owns a `T`, which is `Send`; it is freed on another CPU.
unsafe impl<T: Send + Sync + 'static> Send for RcuBox<T> {}
// SAFETY: only shared access to the `T` is given out; `T: Sync`.
unsafe impl<T: Send + Sync + 'static> Sync for RcuBox<T> {}

impl<T: Send + Sync + 'static> RcuBox<T> {
    /// Moves `value` to the heap.
    pub(crate) fn new(value: T, flags: Flags) -> Result<Self> {
        let b = KBox::new(
            Node {
                head: Opaque::uninit(),
                value,
            },
            flags,
        )?;
        // INVARIANT: the node is from `KBox::into_raw`.
        Ok(Self {
            node: NonNull::from(KBox::leak(b)),
            _p: PhantomData,
        })
    }

    fn into_raw(self) -> *mut Node<T> {
        let p = self.node.as_ptr();
        core::mem::forget(self);
        p
    }

    /// The RCU callback that frees a node.
    ///
    /// # Safety
    ///
    /// `head` must be the `head` of a `Node<T>` passed to `call_rcu` by
    /// `RcuBox::drop`.
    unsafe extern "C" fn free(head: *mut bindings::callback_head) {
        // `head` is the first field of the `repr(C)` node.
        let node = head.cast::<Node<T>>();
        // SAFETY: per the contract the node came from `KBox::into_raw` and
        // a grace period passed since it was unpublished: no reader is
        // left, and nothing else owns it.
        drop(unsafe { KBox::from_raw(node) });
        PENDING_FREES.fetch_sub(1, Ordering::Release);
    }
}

impl<T: Send + Sync + 'static> Deref for RcuBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the node is owned by this object and alive (invariant).
        unsafe { &self.node.as_ref().value }
    }
}

impl<T: Send + Sync + 'static> Drop for RcuBox<T> {
    fn drop(&mut self) {
        let node = self.node.as_ptr();
        PENDING_FREES.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `node` is valid and owned; after a grace period the
        // callback frees it, and nothing uses it in between (the box is
        // being dropped).
        unsafe { bindings::call_rcu((*node).head.get(), Some(Self::free)) };
    }
}

/// A pointer to an [`RcuBox`] value, or nothing, that readers load under
/// the RCU read lock without other synchronisation.
///
/// # Invariants
///
/// `ptr` is null or owns a node from [`RcuBox::into_raw`]; a node taken out
/// of it is freed only through [`RcuBox`]'s `Drop` (after a grace period).
pub(crate) struct RcuPtr<T: Send + Sync + 'static> {
    ptr: AtomicPtr<Node<T>>,
}

impl<T: Send + Sync + 'static> RcuPtr<T> {
    /// An empty pointer.
    pub(crate) const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The current value, valid for the read-side section of `_guard`.
    pub(crate) fn get<'g>(&self, _guard: &'g Guard) -> Option<&'g T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a published node is freed only after a grace period
        // that starts after it was unpublished; the guard proves that this
        // read-side section started before that, so the node outlives
        // `'g`.  `Acquire` pairs with the `Release` of `replace`, so the
        // value is fully initialised.
        unsafe { p.as_ref().map(|n| &n.value) }
    }

    /// Publishes `new` and returns the previous value, which readers may
    /// still be using: it is freed after a grace period when dropped.
    pub(crate) fn replace(&self, new: Option<RcuBox<T>>) -> Option<RcuBox<T>> {
        let new = new.map_or(ptr::null_mut(), RcuBox::into_raw);
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // INVARIANT: the swap handed the old node to exactly this caller,
        // which gives it back to an `RcuBox`.
        NonNull::new(old).map(|node| RcuBox {
            node,
            _p: PhantomData,
        })
    }

    /// Publishes a new value, dropping the old one after a grace period.
    pub(crate) fn set(&self, value: T, flags: Flags) -> Result {
        self.replace(Some(RcuBox::new(value, flags)?));
        Ok(())
    }

    /// Unpublishes the value (freed after a grace period).
    pub(crate) fn clear(&self) {
        self.replace(None);
    }
}

impl<T: Send + Sync + 'static> Default for RcuPtr<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + Sync + 'static> Drop for RcuPtr<T> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A point in time of RCU: [`GpCookie::wait`] returns once a full grace
/// period has passed since it was taken, at once if one has already
/// (several objects unpublished together then cost one grace period).
#[derive(Clone, Copy)]
pub(crate) struct GpCookie(kernel::ffi::c_ulong);

impl GpCookie {
    /// Now.
    pub(crate) fn now() -> Self {
        // SAFETY: no precondition.
        Self(unsafe { bindings::ovpn_compat_rcu_cookie() })
    }

    /// Waits until a grace period has passed since the cookie was taken.
    /// Process context.
    pub(crate) fn wait(self) {
        // SAFETY: a cookie from `ovpn_compat_rcu_cookie`.
        unsafe { bindings::ovpn_compat_rcu_wait(self.0) };
    }
}

/// Waits, when dropped, until every pending RCU callback has run,
/// including those that callbacks queued: the module's last field, so that
/// no callback (module code) is left when the module's memory goes.
pub(crate) struct BarrierOnDrop;

impl Drop for BarrierOnDrop {
    fn drop(&mut self) {
        // Each barrier waits for the callbacks queued before it, which
        // may have queued more.
        while PENDING_FREES.load(Ordering::Acquire) != 0 {
            // SAFETY: process context (module exit); no precondition.
            unsafe { bindings::rcu_barrier() };
        }
        // The last callback may still be returning from its decrement.
        // SAFETY: as above.
        unsafe { bindings::rcu_barrier() };
    }
}
