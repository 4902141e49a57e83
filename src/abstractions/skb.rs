// SPDX-License-Identifier: GPL-2.0

//! Socket buffers.

use super::bindings;
use core::ptr::NonNull;

/// An owned socket buffer (`struct sk_buff`).
///
/// Dropping it frees the buffer (counted as a drop by the kernel's drop
/// monitor); handing it on consumes it.
///
/// # Invariants
///
/// `ptr` points to a valid `sk_buff` that this object owns exclusively.
pub(crate) struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: an owned skb may be passed between threads; the kernel does so.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// Takes ownership of a raw skb.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid skb whose ownership is transferred to the
    /// returned object.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Option<Self> {
        // INVARIANT: valid and owned per the function's contract.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own the skb; it is not used again.
        unsafe { bindings::ovpn_compat_kfree_skb(self.ptr.as_ptr()) };
    }
}
