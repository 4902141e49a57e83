// SPDX-License-Identifier: GPL-2.0

//! AEAD transforms of the kernel crypto API, and in-place encryption and
//! decryption of an skb laid out as `[aad][tag][payload]`, completing
//! synchronously or asynchronously through one path.

use super::bindings;
use super::skb::SkBuff;
use core::ffi::c_void;
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::{self, NonNull};
use kernel::error::{from_err_ptr, to_result};
use kernel::prelude::*;

/// The AEAD tag length, the only one used.
pub(crate) const TAG_LEN: usize = 16;
/// The IV (nonce) length, the only one accepted.
pub(crate) const IV_LEN: usize = 12;

/// An AEAD transform with its key set (`struct crypto_aead`).
///
/// # Invariants
///
/// `tfm` is a live transform owned by this object, keyed, with a 16-byte
/// tag and a 12-byte IV; after creation it is only used for requests,
/// which the crypto API allows from any number of threads at once.
pub(crate) struct Aead {
    tfm: NonNull<bindings::crypto_aead>,
}

// SAFETY: requests on a keyed transform may be issued from any thread; the
// transform is freed once, by `Drop`.
unsafe impl Send for Aead {}
// SAFETY: as for `Send`: shared use is request submission only.
unsafe impl Sync for Aead {}

impl Aead {
    /// Allocates transform `name` (e.g. `gcm(aes)`) and sets `key`.
    pub(crate) fn new(name: &CStr, key: &[u8]) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; the call returns a transform
        // or an error pointer.
        let tfm = from_err_ptr(unsafe { bindings::crypto_alloc_aead(name.as_char_ptr(), 0, 0) })?;
        let tfm = NonNull::new(tfm).ok_or(ENOMEM)?;
        // INVARIANT: owned from here; freed by `Drop` on the error paths.
        let aead = Self { tfm };
        // SAFETY: the transform is live and not shared yet.
        to_result(unsafe {
            bindings::crypto_aead_setkey(tfm.as_ptr(), key.as_ptr(), key.len() as u32)
        })?;
        // SAFETY: as above.
        to_result(unsafe { bindings::crypto_aead_setauthsize(tfm.as_ptr(), TAG_LEN as u32) })?;
        // SAFETY: as above.
        if unsafe { bindings::ovpn_compat_crypto_aead_ivsize(tfm.as_ptr()) } as usize != IV_LEN {
            return Err(EINVAL);
        }
        Ok(aead)
    }
}

impl Drop for Aead {
    fn drop(&mut self) {
        // SAFETY: owned and no longer used: every request holds a
        // reference to its `Aead`'s owner until it completes.
        unsafe { bindings::ovpn_compat_crypto_free_aead(self.tfm.as_ptr()) };
    }
}

/// The direction of an AEAD operation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Seal: the payload is encrypted and the tag written.
    Encrypt,
    /// Open: the tag is checked and the payload decrypted.
    Decrypt,
}

/// One AEAD operation on a packet, and what happens when it is done.
pub(crate) trait AeadJob: Send + Sized + 'static {
    /// The transform to use.  The job keeps it alive until completion.
    fn aead(&self) -> &Aead;

    /// Called once with the packet and the result (`EBADMSG` when
    /// authentication failed), in softirq context or with BHs disabled.
    fn complete(self, skb: SkBuff, result: Result);
}

/// The driver's part of a request allocation, after the crypto API's.
#[repr(C)]
struct Ctx<J> {
    job: J,
    skb: *mut bindings::sk_buff,
    iv: [u8; IV_LEN],
}

/// Bytes of the request allocation after the crypto API's part.
fn extra_len<J>(nsg: usize) -> usize {
    let sg_off = size_of::<Ctx<J>>().next_multiple_of(align_of::<bindings::scatterlist>());
    sg_off + nsg * size_of::<bindings::scatterlist>()
}

/// Runs `job` on `skb`, whose first `aad_len` bytes are the associated
/// data, followed by the 16-byte tag and the payload, encrypting or
/// decrypting the payload in place.  `job.complete` is always called,
/// possibly before this returns.
pub(crate) fn run<J: AeadJob>(
    job: J,
    dir: Direction,
    mut skb: SkBuff,
    aad_len: usize,
    iv: [u8; IV_LEN],
) {
    if let Err(e) = prepare_and_submit(&job, dir, &mut skb, aad_len, iv) {
        job.complete(skb, Err(e));
        return;
    }
    // Submitted: the request owns the job and the skb now.
    core::mem::forget(job);
    core::mem::forget(skb);
}

/// Builds and submits the request.  On `Ok` the request owns copies of
/// `job` and `skb` (the caller forgets its own); on `Err` nothing was
/// submitted.
fn prepare_and_submit<J: AeadJob>(
    job: &J,
    dir: Direction,
    skb: &mut SkBuff,
    aad_len: usize,
    iv: [u8; IV_LEN],
) -> Result {
    let fixed = aad_len + TAG_LEN;
    if !skb.may_pull(fixed) {
        return Err(EINVAL);
    }
    let payload = skb.len() - fixed;
    // SAFETY: the skb is valid and owned.  A chain of skbs (a TCP frame
    // reassembled from many segments) becomes one buffer: copying it
    // member by member, and a scatterlist entry each, would cost the
    // sender's choice of segment count.
    to_result(unsafe { bindings::ovpn_compat_skb_flatten_chain(skb.as_ptr()) })?;
    let mut trailer: *mut bindings::sk_buff = ptr::null_mut();
    // SAFETY: the skb is valid and owned; this makes its data private and
    // writable, and returns the number of scatterlist entries it needs.
    let nfrags = unsafe { bindings::skb_cow_data(skb.as_ptr(), 0, &mut trailer) };
    to_result(nfrags)?;
    // skb_cow_data() may have reallocated the head: check the layout again.
    if skb.head().len() < fixed {
        return Err(EINVAL);
    }
    let nsg = nfrags as usize + 2;
    let tfm = job.aead().tfm.as_ptr();
    // SAFETY: `tfm` is live; this allocates the request and our context.
    let req = unsafe { bindings::ovpn_compat_aead_request_alloc(tfm, extra_len::<J>(nsg), true) };
    let req = NonNull::new(req).ok_or(ENOMEM)?;
    // SAFETY: the context area of a fresh request has `extra_len` bytes,
    // 8-byte aligned, which covers `Ctx<J>`'s alignment for every job
    // type used here (checked below) and the scatterlists after it.
    let ctx = unsafe { bindings::ovpn_compat_aead_request_ctx(req.as_ptr()) }.cast::<Ctx<J>>();
    const { assert!(align_of::<bindings::scatterlist>() <= 8) };
    if align_of::<Ctx<J>>() > 8 {
        // SAFETY: the request is ours and unused.
        unsafe { bindings::kfree_sensitive(req.as_ptr().cast()) };
        return Err(EINVAL);
    }
    let sg_off = size_of::<Ctx<J>>().next_multiple_of(align_of::<bindings::scatterlist>());
    // SAFETY: in bounds of the context area (see `extra_len`).
    let sg = unsafe { ctx.cast::<u8>().add(sg_off) }.cast::<bindings::scatterlist>();
    let data = skb.head().as_ptr();
    // SAFETY: `sg` has room for `nsg` entries; the buffers given to them
    // are the skb's linear head (`fixed` bytes, checked above) and its
    // payload, which stay valid and private while the request owns the
    // skb.
    unsafe {
        bindings::sg_init_table(sg, nsg as u32);
        bindings::ovpn_compat_sg_set_buf(sg, data.cast(), aad_len as u32);
        let n =
            bindings::skb_to_sgvec_nomark(skb.as_ptr(), sg.add(1), fixed as i32, payload as i32);
        if n < 0 || n as usize > nfrags as usize {
            bindings::kfree_sensitive(req.as_ptr().cast());
            return Err(EINVAL);
        }
        let tag = sg.add(n as usize + 1);
        bindings::ovpn_compat_sg_set_buf(tag, data.add(aad_len).cast(), TAG_LEN as u32);
        bindings::ovpn_compat_sg_mark_end(tag);
    }
    // SAFETY: `ctx` is valid for writes of a `Ctx<J>`; it now owns a copy
    // of the job and the skb pointer (the caller forgets its own on `Ok`).
    unsafe {
        ctx.write(Ctx {
            job: ptr::read(job),
            skb: skb.as_ptr(),
            iv,
        })
    };
    let cryptlen = match dir {
        Direction::Encrypt => payload,
        Direction::Decrypt => payload + TAG_LEN,
    };
    // SAFETY: the request, scatterlists and IV (inside `ctx`) live until
    // `finish` frees them; `done::<J>` gets the request back.
    let ret = unsafe {
        bindings::ovpn_compat_aead_request_setup(
            req.as_ptr(),
            sg,
            cryptlen as u32,
            (*ctx).iv.as_mut_ptr(),
            aad_len as u32,
            Some(done::<J>),
        );
        match dir {
            Direction::Encrypt => bindings::crypto_aead_encrypt(req.as_ptr()),
            Direction::Decrypt => bindings::crypto_aead_decrypt(req.as_ptr()),
        }
    };
    // Without MAY_BACKLOG only `EINPROGRESS` means queued; `EBUSY` and
    // `ENOSPC` are refusals, completed here like any other result.
    if ret != -(bindings::EINPROGRESS as i32) {
        // Completed synchronously; the callback will not run.
        // SAFETY: the request is complete and owned by us.
        unsafe { finish::<J>(req.as_ptr(), ret) };
    }
    Ok(())
}

/// Frees a completed request and hands the job its result.
///
/// # Safety
///
/// `req` must be a completed request built by `prepare_and_submit::<J>`,
/// not used afterwards.
unsafe fn finish<J: AeadJob>(req: *mut bindings::aead_request, err: i32) {
    // SAFETY: per the contract, the context holds a `Ctx<J>` that nobody
    // else reads any more; moving it out leaves the memory to be freed.
    let ctx = unsafe {
        ptr::read(bindings::ovpn_compat_aead_request_ctx(req).cast::<MaybeUninit<Ctx<J>>>())
            .assume_init()
    };
    // SAFETY: the request and everything in it are no longer used.
    unsafe { bindings::kfree_sensitive(req.cast()) };
    // SAFETY: the context owned the skb.
    let Some(skb) = (unsafe { SkBuff::from_raw(ctx.skb) }) else {
        return;
    };
    ctx.job.complete(skb, to_result(err));
}

/// The crypto API's completion callback.
///
/// # Safety
///
/// Called by the crypto API with the request given to
/// `aead_request_set_callback` (as `data`).
unsafe extern "C" fn done<J: AeadJob>(data: *mut c_void, err: i32) {
    if err == -(bindings::EINPROGRESS as i32) {
        // Only a backlogged request is told this, and none is (no
        // MAY_BACKLOG); the final call would follow.
        return;
    }
    // SAFETY: trivially safe; the completion path expects BHs off.
    unsafe { bindings::ovpn_compat_local_bh_disable() };
    // SAFETY: `data` is our request, now complete.
    unsafe { finish::<J>(data.cast(), err) };
    // SAFETY: pairs with the disable above.
    unsafe { bindings::ovpn_compat_local_bh_enable() };
}
