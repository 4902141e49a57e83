// SPDX-License-Identifier: GPL-2.0

//! TCP sockets that carry a tunnel: OpenVPN's length-prefixed frames on a
//! connection userspace passed in.  The kernel's stream parser cuts the
//! stream into frames; the driver takes the data frames, and every other
//! frame goes back to userspace on the same socket, prefix included, as a
//! byte stream.  What the driver sends and what userspace writes go out
//! whole, one frame after the other, never interleaved.
//!
//! Taking the socket over replaces its data-ready, write-space,
//! state-change and error-report callbacks and five operations of its
//! proto (`recvmsg`, `sendmsg`, `sock_is_readable`, `release_cb`, and
//! `close`, which lets the driver end the tunnel and give the socket back
//! before TCP closes it); the C side also refuses `disconnect` and a ULP
//! while the socket is taken over.  Giving it back restores them all, so
//! that it is a plain TCP socket again.
//!
//! The driver's frames go out from the context that produced them
//! (transmit or crypto completion) when no process owns the socket, under
//! its spinlock as TCP's own receive path does; when one does, they wait
//! in a queue that the owner's `release_sock` sends (`release_cb`).  A
//! socket without room sends the rest from a work item once TCP reports
//! room again.

use super::bindings;
use super::netdev::{with_bh_disabled, NetDevice};
use super::rcu::GpCookie;
use super::skb::{SkBuff, SkbQueue};
use super::socket::SockRef;
use super::wq;
use crate::proto::tcp as framing;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use kernel::ffi::{c_int, c_long};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::rcu;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

/// Frames waiting in one direction (to the socket, or to userspace) at
/// most; more are dropped.
const QUEUE_MAX: usize = 1024;

/// Frames from userspace (OpenVPN's control channel) waiting for the
/// socket at most; beyond that its writes get `EAGAIN`.
const CTL_QUEUE_MAX: usize = 64;

/// Times in a row the work item requeues itself when TCP found no memory
/// even with sleeping allocations; after that, the next frame sent (a
/// packet, or at the latest a keepalive ping) retries.
const NOMEM_RETRIES: u32 = 8;

/// Why a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpFailure {
    /// The stream does not hold OpenVPN frames.
    Framing,
    /// Sending failed.
    Send,
    /// The remote closed or reset the connection.
    Closed,
}

/// What the driver does with a tunnel's TCP socket.
pub(crate) struct TcpHandler {
    /// A frame arrived (its length prefix removed).  Returning it hands it
    /// to userspace.  Runs with BHs disabled.
    pub(crate) recv: fn(&TcpSock, SkBuff) -> Option<SkBuff>,
    /// The connection failed or ended.  Called once per socket, in any
    /// context (softirq included).
    pub(crate) failed: fn(&TcpSock, TcpFailure),
    /// Userspace is closing the socket (its last descriptor): the tunnel
    /// must be given back before this returns, or TCP's close runs with
    /// the module's hooks in place.  Process context, socket unlocked.
    pub(crate) closing: fn(&Arc<TcpSock>),
}

/// How far a push got.
enum Pushed {
    /// Everything queued went out.
    Done,
    /// The socket is full; its write-space callback resumes.
    Full,
    /// TCP could not allocate memory although the socket had room.
    NoMemory,
    /// The socket is being given back: nothing is sent any more (what is
    /// queued goes with it).
    Detached,
}

/// The frame being sent, and how many of its bytes went out.
struct Partial {
    skb: Option<SkBuff>,
    sent: usize,
}

/// A TCP socket serving one peer of a device.
///
/// # Invariants
///
/// - `partial` is only accessed with the socket locked: owned by the
///   caller (`lock_sock`, or the owner's `release_cb`), or not owned with
///   its spinlock held (`ovpn_compat_tcp_lock_unowned`); the two exclude
///   each other.
/// - `strp` and `saved` are initialised while the socket is attached
///   (`attached`), which only [`TcpTunnel`] changes.
#[pin_data]
pub(crate) struct TcpSock {
    sock: SockRef,
    dev: ARef<NetDevice>,
    peer_id: u32,
    handler: &'static TcpHandler,
    #[pin]
    strp: Opaque<bindings::strparser>,
    #[pin]
    saved: Opaque<bindings::ovpn_compat_tcp_saved>,
    /// Frames for userspace.
    #[pin]
    user_q: SkbQueue,
    /// Bytes in `user_q`: at most the socket's receive buffer, as if TCP
    /// held them (the remote chooses them).
    user_bytes: AtomicUsize,
    /// Frames for the socket.
    #[pin]
    tx_q: SkbQueue,
    /// Frames userspace wrote, for the socket: they go before `tx_q`'s,
    /// after a half-sent frame.
    #[pin]
    ctl_q: SkbQueue,
    partial: UnsafeCell<Partial>,
    attached: AtomicBool,
    failed: AtomicBool,
    /// Set when the socket had no room for what is pending.
    blocked: AtomicBool,
    /// The work item's requeues in a row for want of memory.
    nomem_retries: AtomicU32,
    #[pin]
    tx_work: Work<TcpSock>,
}

// SAFETY: the queues have their own locks, `partial` is used with the
// socket locked only, the stream parser and saved callbacks are used by the
// C side under the socket's locks; the rest is immutable or atomic.
unsafe impl Send for TcpSock {}
// SAFETY: as for `Send`.
unsafe impl Sync for TcpSock {}

impl_has_work! {
    impl HasWork<Self> for TcpSock { self.tx_work }
}

impl WorkItem for TcpSock {
    type Pointer = Arc<TcpSock>;

    fn run(this: Arc<TcpSock>) {
        let sk = this.sock.sk();
        // SAFETY: the sock is live while `this` holds it.
        unsafe { bindings::ovpn_compat_lock_sock(sk) };
        let r = if this.attached.load(Ordering::Relaxed) {
            // Process context: TCP may sleep for memory here, so that a
            // send that failed for want of atomic memory goes through.
            // SAFETY: the socket is locked by this process and attached,
            // which covers `sleeping` and `push_locked` alike.
            unsafe { this.sleeping(|| this.push_locked()) }
        } else {
            Ok(Pushed::Detached)
        };
        // SAFETY: locked above.
        unsafe { bindings::release_sock(sk) };
        match r {
            Err(_) => this.fail(TcpFailure::Send),
            Ok(Pushed::NoMemory) => {
                if this.nomem_retries.fetch_add(1, Ordering::Relaxed) < NOMEM_RETRIES {
                    this.kick();
                }
            }
            Ok(_) => this.nomem_retries.store(0, Ordering::Relaxed),
        }
    }
}

impl TcpSock {
    /// A TCP socket for peer `peer_id` of `dev`, not attached yet.
    pub(crate) fn new(
        sock: SockRef,
        dev: ARef<NetDevice>,
        peer_id: u32,
        handler: &'static TcpHandler,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(TcpSock {
                sock,
                dev,
                peer_id,
                handler,
                strp: Opaque::uninit(),
                saved: Opaque::uninit(),
                user_q <- SkbQueue::new(),
                user_bytes: AtomicUsize::new(0),
                tx_q <- SkbQueue::new(),
                ctl_q <- SkbQueue::new(),
                partial: UnsafeCell::new(Partial { skb: None, sent: 0 }),
                attached: AtomicBool::new(false),
                failed: AtomicBool::new(false),
                blocked: AtomicBool::new(false),
                nomem_retries: AtomicU32::new(0),
                tx_work <- new_work!("ovpn_dco::tcp_tx"),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The device the socket serves.
    pub(crate) fn dev(&self) -> &NetDevice {
        &self.dev
    }

    /// The id of the peer the socket carries.
    pub(crate) fn peer_id(&self) -> u32 {
        self.peer_id
    }

    /// The socket.
    pub(crate) fn socket(&self) -> &SockRef {
        &self.sock
    }

    /// Reports the end of the connection to the driver, once.
    fn fail(&self, why: TcpFailure) {
        if !self.failed.swap(true, Ordering::Relaxed) {
            (self.handler.failed)(self, why);
        }
    }

    /// Sends `skb` (an OpenVPN packet) as one frame, now if no process
    /// owns the socket, else when its owner releases it.  Callable from
    /// softirq context.
    pub(crate) fn send(self: &Arc<Self>, mut skb: SkBuff) -> Result {
        if !self.attached.load(Ordering::Relaxed) {
            return Err(ENOTCONN);
        }
        if self.tx_q.len() >= QUEUE_MAX {
            return Err(ENOBUFS);
        }
        let prefix = framing::prefix(skb.len()).ok_or(EMSGSIZE)?;
        skb.push(framing::PREFIX_LEN)?.copy_from_slice(&prefix);
        self.tx_q.push(skb);
        let sk = self.sock.sk();
        // SAFETY: the sock is live while `self` holds it (`SockRef`).
        if !unsafe { bindings::ovpn_compat_tcp_lock_unowned(sk) } {
            // The owner's `release_sock` sends it (`release_cb`).
            return Ok(());
        }
        // SAFETY: the spinlock is held and no process owns the socket,
        // which is what `push_locked` needs.
        let r = unsafe { self.push_locked() };
        // SAFETY: locked above.
        unsafe { bindings::ovpn_compat_tcp_unlock_unowned(sk) };
        match r {
            // Given back meanwhile; the queue is purged with it.
            Ok(Pushed::Detached) => Err(ENOTCONN),
            r => {
                self.after_atomic_push(r);
                Ok(())
            }
        }
    }

    /// Deals with the outcome of a push from atomic context.
    fn after_atomic_push(&self, r: Result<Pushed>) {
        match r {
            Err(_) => self.fail(TcpFailure::Send),
            Ok(pushed) => self.kick_if_no_memory(&pushed),
        }
    }

    /// Hands a push that ran out of memory to the work, which retries
    /// allowed to sleep: nothing else would resume it (no write-space
    /// callback comes for a socket with room).
    fn kick_if_no_memory(&self, pushed: &Pushed) {
        if matches!(pushed, Pushed::NoMemory) {
            arc_of(self).kick();
        }
    }

    /// Runs `f` with the socket's allocations allowed to sleep, then makes
    /// them atomic again (as the driver's sends from softirq need).
    ///
    /// # Safety
    ///
    /// The socket must be owned by the caller (`lock_sock`), which runs in
    /// process context, for the whole call, and not given back yet (its
    /// `saved` set by the attach).
    unsafe fn sleeping<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: per the contract; `saved` is set while attached.
        unsafe { bindings::ovpn_compat_tcp_may_sleep(self.sock.sk(), self.saved.get(), true) };
        let r = f();
        // SAFETY: as above.
        unsafe { bindings::ovpn_compat_tcp_may_sleep(self.sock.sk(), self.saved.get(), false) };
        r
    }

    /// Makes the sending work run (unless it is queued already).
    fn kick(self: &Arc<Self>) {
        if let Some(q) = wq::queue() {
            // Already queued: it will see the new frame.
            let _ = q.enqueue(self.clone());
        }
    }

    /// Sends the partly sent frame, then the queued ones, until the socket
    /// has no more room (the write-space callback resumes then) or memory
    /// ran out.  Sends nothing once the socket is being given back:
    /// `attached` is cleared with the socket locked, so it is stable here.
    ///
    /// # Safety
    ///
    /// The socket must be locked (see the invariant of `partial`).
    unsafe fn push_locked(&self) -> Result<Pushed> {
        if !self.attached.load(Ordering::Relaxed) {
            return Ok(Pushed::Detached);
        }
        let sk = self.sock.sk();
        // SAFETY: the socket is locked, which gives exclusive access
        // (invariant).
        let part = unsafe { &mut *self.partial.get() };
        self.blocked.store(false, Ordering::Relaxed);
        loop {
            if part.skb.is_none() {
                let Some(next) = self.ctl_q.pop().or_else(|| self.tx_q.pop()) else {
                    return Ok(Pushed::Done);
                };
                part.skb = Some(next);
                part.sent = 0;
            }
            let Some(skb) = part.skb.as_ref() else {
                return Ok(Pushed::Done);
            };
            let left = skb.len() - part.sent;
            // Another frame waiting: TCP may hold this one back to fill a
            // segment (the last frame of the batch pushes them all).
            let more = !self.ctl_q.is_empty() || !self.tx_q.is_empty();
            // SAFETY: the socket is locked and the skb valid; this sends
            // `left` bytes from `sent` without blocking.
            let r = unsafe {
                bindings::ovpn_compat_tcp_send_frame(
                    sk,
                    skb.as_ptr(),
                    part.sent as c_int,
                    left as c_int,
                    more,
                )
            };
            if r == 0 || r == -(bindings::EAGAIN as c_int) {
                // No room: the write-space callback resumes.  With room,
                // TCP ran out of memory, and no callback will come.
                self.blocked.store(true, Ordering::Relaxed);
                // SAFETY: the socket is locked.
                return Ok(if unsafe { bindings::ovpn_compat_tcp_has_room(sk) } {
                    Pushed::NoMemory
                } else {
                    Pushed::Full
                });
            }
            if r < 0 {
                part.skb = None;
                return Err(Error::from_errno(r));
            }
            part.sent += r as usize;
            if left == 0 || part.sent >= skb.len() {
                if let Some(done) = part.skb.take() {
                    done.consume();
                }
            }
        }
    }

    /// Hands a frame (its prefix just pulled) to userspace.
    fn to_user(&self, mut skb: SkBuff) {
        skb.unpull(framing::PREFIX_LEN);
        let len = skb.len();
        // SAFETY: the socket is live while `self` holds it.
        let room = unsafe { bindings::ovpn_compat_sk_rcvbuf(self.sock.sk()) };
        let queued = self.user_bytes.load(Ordering::Relaxed);
        // One frame always fits, so that a large one is not stuck.
        if self.user_q.len() >= QUEUE_MAX || (queued > 0 && queued + len > room) {
            return;
        }
        self.user_bytes.fetch_add(len, Ordering::Relaxed);
        self.user_q.push(skb);
        // SAFETY: attached, so `saved` holds the socket's own data-ready
        // callback, which wakes the readers.
        unsafe {
            if let Some(ready) = (*self.saved.get()).data_ready {
                ready(self.sock.sk());
            }
        }
    }
}

/// The socket's [`TcpSock`], read in the read-side section of `_g` (or
/// with the socket locked, which keeps it attached).
///
/// # Safety
///
/// `sk` must be a live socket.  While its proto is one of the module's
/// copies (what the C helper checks), a set user data is the [`TcpSock`]
/// that [`TcpTunnel`] attached: listen children cannot exist (no
/// disconnect, NOCOPY) and no ULP can be stacked while attached.
unsafe fn sock_of<'a>(sk: *mut bindings::sock, _g: &'a rcu::Guard) -> Option<&'a TcpSock> {
    // SAFETY: per the contract; the user data of an attached socket is a
    // `TcpSock` kept alive until a grace period after detaching, and the
    // guard's section began before that.
    unsafe {
        bindings::ovpn_compat_tcp_user_data(sk)
            .cast::<TcpSock>()
            .as_ref()
    }
}

/// The [`TcpSock`] of a stream parser.
///
/// # Safety
///
/// `strp` must be the `strp` field of a live, attached [`TcpSock`]; the
/// returned reference must not outlive the callback it is used in.
unsafe fn sock_of_strp<'a>(strp: *mut bindings::strparser) -> &'a TcpSock {
    let off = core::mem::offset_of!(TcpSock, strp);
    // SAFETY: per the contract, `strp` is at offset `off` of a `TcpSock`
    // (`Opaque` is transparent).
    unsafe { &*strp.cast::<u8>().sub(off).cast::<TcpSock>() }
}

/// Whether `skb` is a segment of a TCP connection that carries a tunnel of
/// `dev` (its outer packet): sent into `dev` it would loop, on the lock
/// it is being sent under.  (A tunnel of another device may run inside
/// `dev`'s: nested tunnels.)
pub(crate) fn is_own_outer_segment(skb: &SkBuff, dev: &NetDevice) -> bool {
    // SAFETY: the skb is valid.
    let sk = unsafe { bindings::ovpn_compat_skb_full_sock(skb.as_ptr()) };
    if sk.is_null() {
        return false;
    }
    let g = rcu::read_lock();
    // SAFETY: the skb holds its socket, a full one.
    unsafe { sock_of(sk, &g) }.is_some_and(|ts| core::ptr::eq(ts.dev(), dev))
}

/// An `Arc` of an attached socket's [`TcpSock`].
fn arc_of(ts: &TcpSock) -> Arc<TcpSock> {
    // SAFETY: an attached `TcpSock` lives in an `Arc` whose reference the
    // socket's user data owns (`TcpTunnel` invariant), so `ts` came from
    // `Arc::into_raw` and is alive.
    let b = unsafe { ArcBorrow::from_raw(ts) };
    b.into()
}

/// The socket's data-ready callback: feeds the stream parser.
///
/// # Safety
///
/// Called by the TCP stack with a live socket that we took over.
unsafe extern "C" fn data_ready(sk: *mut bindings::sock) {
    let g = rcu::read_lock();
    // SAFETY: the TCP stack calls this with a live socket of ours.
    if let Some(ts) = unsafe { sock_of(sk, &g) } {
        // SAFETY: the parser of an attached socket is initialised.
        unsafe { bindings::strp_data_ready(ts.strp.get()) };
    }
}

/// The socket's write-space callback: wakes the writers, resumes sending.
///
/// # Safety
///
/// As for [`data_ready`].
unsafe extern "C" fn write_space(sk: *mut bindings::sock) {
    let g = rcu::read_lock();
    // SAFETY: as for `data_ready`.
    let Some(ts) = (unsafe { sock_of(sk, &g) }) else {
        return;
    };
    // SAFETY: `saved` holds the socket's own callbacks while attached.
    unsafe {
        if let Some(f) = (*ts.saved.get()).write_space {
            f(sk);
        }
    }
    // What did not fit may go now.
    let queued = !ts.ctl_q.is_empty() || !ts.tx_q.is_empty();
    if queued || ts.blocked.load(Ordering::Relaxed) {
        arc_of(ts).kick();
    }
}

/// A socket callback that may tell the end of the connection: runs the
/// socket's own callback (`own` picks it from `saved`), then ends the
/// connection for the driver if it is closed or failed.
///
/// # Safety
///
/// As for [`data_ready`].
unsafe fn own_then_check_end(
    sk: *mut bindings::sock,
    own: fn(&bindings::ovpn_compat_tcp_saved) -> Option<unsafe extern "C" fn(*mut bindings::sock)>,
) {
    let g = rcu::read_lock();
    // SAFETY: as for `data_ready`.
    let Some(ts) = (unsafe { sock_of(sk, &g) }) else {
        return;
    };
    // SAFETY: `saved` holds the socket's own callbacks while attached.
    if let Some(f) = own(unsafe { &*ts.saved.get() }) {
        // SAFETY: the socket's own callback, called as TCP would.
        unsafe { f(sk) };
    }
    // SAFETY: the socket is live.
    if unsafe { bindings::ovpn_compat_tcp_closed(sk) } {
        ts.fail(TcpFailure::Closed);
    }
}

/// The socket's state-change callback: notices the end of the connection.
///
/// # Safety
///
/// As for [`data_ready`].
unsafe extern "C" fn state_change(sk: *mut bindings::sock) {
    // SAFETY: per the contract.
    unsafe { own_then_check_end(sk, |s| s.state_change) };
}

/// The socket's error-report callback: an error ends the connection too
/// (a reset reports through here before the state changes).
///
/// # Safety
///
/// As for [`data_ready`].
unsafe extern "C" fn error_report(sk: *mut bindings::sock) {
    // SAFETY: per the contract.
    unsafe { own_then_check_end(sk, |s| s.error_report) };
}

/// The stream parser's framing callback: the length of the frame at the
/// start of the message, prefix included; 0 while incomplete.
///
/// # Safety
///
/// Called by the stream parser with an skb holding its message state.
unsafe extern "C" fn parse_msg(
    _strp: *mut bindings::strparser,
    skb: *mut bindings::sk_buff,
) -> c_int {
    let (mut off, mut len) = (0, 0);
    // SAFETY: the parser hands us a valid skb with its message control
    // block.
    unsafe { bindings::ovpn_compat_strp_msg(skb, &mut off, &mut len) };
    // SAFETY: as above.
    let avail = unsafe { bindings::ovpn_compat_skb_len(skb) } as c_int - off;
    let mut prefix = [0u8; framing::PREFIX_LEN];
    if avail >= framing::PREFIX_LEN as c_int {
        // SAFETY: the skb has `PREFIX_LEN` bytes at `off`.
        let r = unsafe {
            bindings::skb_copy_bits(
                skb,
                off,
                prefix.as_mut_ptr().cast(),
                framing::PREFIX_LEN as c_int,
            )
        };
        if r < 0 {
            return r;
        }
    }
    let seen = if avail >= framing::PREFIX_LEN as c_int {
        &prefix[..]
    } else {
        &prefix[..0]
    };
    match framing::parse(seen) {
        Ok(f) => f.total_len() as c_int,
        Err(_) => EINVAL.to_errno(),
    }
}

/// The stream parser's delivery callback: one whole frame.
///
/// # Safety
///
/// Called by the stream parser of an attached [`TcpSock`], which hands
/// over the skb.
unsafe extern "C" fn rcv_msg(strp: *mut bindings::strparser, skb: *mut bindings::sk_buff) {
    // SAFETY: the parser only runs for attached sockets (stopped before
    // detaching completes).
    let ts = unsafe { sock_of_strp(strp) };
    // SAFETY: the parser hands the skb over.
    let Some(mut skb) = (unsafe { SkBuff::from_raw(skb) }) else {
        return;
    };
    let (mut off, mut len) = (0, 0);
    // SAFETY: the skb carries the parser's message control block.
    unsafe { bindings::ovpn_compat_strp_msg(skb.as_ptr(), &mut off, &mut len) };
    if skb.window(off as usize, len as usize).is_err()
        || !skb.may_pull(framing::PREFIX_LEN)
        || skb.pull(framing::PREFIX_LEN).is_err()
    {
        // Out of memory for this frame; the stream goes on.
        return;
    }
    // The parser may run from its work item, in process context.
    with_bh_disabled(|| {
        if let Some(skb) = (ts.handler.recv)(ts, skb) {
            ts.to_user(skb);
        }
    });
}

/// The stream parser's error callback: the stream is broken.
///
/// # Safety
///
/// Called by the stream parser of an attached [`TcpSock`].
unsafe extern "C" fn abort_parser(strp: *mut bindings::strparser, _err: c_int) {
    // SAFETY: as for `rcv_msg`.
    let ts = unsafe { sock_of_strp(strp) };
    ts.fail(TcpFailure::Framing);
}

/// Looks up the [`TcpSock`] of a socket the caller has locked.
///
/// # Safety
///
/// `sk` must be live and locked by the caller; the reference must not be
/// used after unlocking.
unsafe fn locked_sock_of<'a>(sk: *mut bindings::sock) -> Option<&'a TcpSock> {
    let g = rcu::read_lock();
    // SAFETY: `sk` is live (the contract of `sock_of`).
    let ts = unsafe { sock_of(sk, &g) }.map(core::ptr::from_ref::<TcpSock>);
    drop(g);
    // SAFETY: detaching clears the user data with the socket locked and
    // frees the `TcpSock` only later, so it stays valid while the caller
    // holds the lock.
    ts.map(|t| unsafe { &*t })
}

/// A caller inside one of the socket operations or hooks that may sleep
/// (TCP's, and a UDP socket's `encap_destroy`), counted so that the
/// module's exit waits for it (`quiesce`).
pub(crate) struct InFlight;

impl InFlight {
    /// Counts the caller in until the value is dropped.
    pub(crate) fn enter() -> Self {
        // SAFETY: no precondition; paired with the exit in `drop`.
        unsafe { bindings::ovpn_compat_tcp_op_enter() };
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // SAFETY: pairs with the enter of `InFlight::enter`.
        unsafe { bindings::ovpn_compat_tcp_op_exit() };
    }
}

/// Waits, when dropped, until no task can be inside the operations and
/// callbacks of a socket this module took over: the module's field after
/// the link type's registration, whose teardown gives every socket back.
pub(crate) struct QuiesceOnDrop;

impl Drop for QuiesceOnDrop {
    fn drop(&mut self) {
        // SAFETY: process context (module exit); no precondition.
        unsafe { bindings::ovpn_compat_tcp_quiesce() };
    }
}

/// The socket's original proto (from before the takeover).
///
/// # Safety
///
/// `sk` must be live.
unsafe fn orig_prot(sk: *mut bindings::sock) -> &'static bindings::proto {
    // SAFETY: protos are static objects of the kernel or of this module.
    unsafe { &*bindings::ovpn_compat_tcp_orig_prot(sk) }
}

/// `close` of an attached socket: userspace closed its last descriptor.
/// The driver gives the socket back first, then TCP's own close runs.
///
/// # Safety
///
/// Called by the socket layer with a live, unlocked socket being released.
unsafe extern "C" fn close(sk: *mut bindings::sock, timeout: c_long) {
    let _f = InFlight::enter();
    let ts = {
        let g = rcu::read_lock();
        // SAFETY: the socket is live.
        unsafe { sock_of(sk, &g) }.map(arc_of)
    };
    if let Some(ts) = ts {
        (ts.handler.closing)(&ts);
    }
    // SAFETY: the socket is live; TCP's own close, called as the socket
    // layer would (a linger may sleep: counted by `_f`).
    if let Some(f) = unsafe { orig_prot(sk) }.close {
        // SAFETY: as above.
        unsafe { f(sk, timeout) };
    }
}

/// `recvmsg` of an attached socket: what the driver handed to userspace,
/// as a byte stream.  Reads never block (`EAGAIN` when nothing waits:
/// userspace polls); `MSG_PEEK` is refused, `MSG_ERRQUEUE` reads the
/// socket's error queue.
///
/// # Safety
///
/// Called by the socket layer with a live socket and the caller's message.
unsafe extern "C" fn recvmsg(
    sk: *mut bindings::sock,
    msg: *mut bindings::msghdr,
    len: usize,
    flags: c_int,
) -> c_int {
    let _op = InFlight::enter();
    if flags & bindings::MSG_ERRQUEUE as c_int != 0 {
        // The socket's error queue, untouched by the takeover.
        // SAFETY: the arguments are the caller's.
        return unsafe {
            match orig_prot(sk).recvmsg {
                Some(f) => f(sk, msg, len, flags),
                None => -(bindings::EOPNOTSUPP as c_int),
            }
        };
    }
    if flags & bindings::MSG_PEEK as c_int != 0 {
        return -(bindings::EOPNOTSUPP as c_int);
    }
    // SAFETY: called by the socket layer with a live socket.
    unsafe { bindings::ovpn_compat_lock_sock(sk) };
    // SAFETY: locked above.
    let Some(ts) = (unsafe { locked_sock_of(sk) }) else {
        // SAFETY: locked above.
        unsafe { bindings::release_sock(sk) };
        // Given back meanwhile: a plain TCP read.
        // SAFETY: the arguments are the caller's.
        return unsafe {
            match orig_prot(sk).recvmsg {
                Some(f) => f(sk, msg, len, flags),
                None => -(bindings::EOPNOTSUPP as c_int),
            }
        };
    };
    let mut copied = 0usize;
    let mut err = 0;
    while copied < len {
        let Some(mut skb) = ts.user_q.pop() else {
            break;
        };
        let n = skb.len().min(len - copied);
        // SAFETY: `msg` is the caller's; the skb has `n` bytes.
        let r = unsafe { bindings::ovpn_compat_skb_copy_to_msg(skb.as_ptr(), 0, msg, n as c_int) };
        if r < 0 {
            err = r;
            ts.user_q.push_front(skb);
            break;
        }
        copied += n;
        if n < skb.len() {
            // The rest is for the next read.
            let rest = skb.len() - n;
            if skb.window(n, rest).is_ok() {
                ts.user_bytes.fetch_sub(n, Ordering::Relaxed);
                ts.user_q.push_front(skb);
            } else {
                ts.user_bytes.fetch_sub(n + rest, Ordering::Relaxed);
            }
            break;
        }
        ts.user_bytes.fetch_sub(n, Ordering::Relaxed);
        skb.consume();
    }
    let ret = if copied > 0 {
        copied as c_int
    } else if err < 0 {
        err
    } else {
        // SAFETY: the socket is live and locked.
        let (e, shut) = unsafe {
            (
                bindings::ovpn_compat_sock_error(sk),
                bindings::ovpn_compat_tcp_rcv_shutdown(sk),
            )
        };
        match e {
            0 if shut => 0,
            0 => -(bindings::EAGAIN as c_int),
            e => e,
        }
    };
    // SAFETY: locked above.
    unsafe { bindings::release_sock(sk) };
    ret
}

/// `sendmsg` of an attached socket: userspace writes whole frames, which
/// go out between the driver's, never inside one.  A write is taken
/// whole (its byte count returned) even while a frame of the driver's is
/// half sent: it waits in `ctl_q` and goes next.  `EAGAIN` only when
/// `CTL_QUEUE_MAX` frames wait already.  (OpenVPN drops a control packet
/// whose write fails with `EAGAIN`, and its socket polls writable while
/// TCP has room, so refusing writes here would cost it retransmissions.)
///
/// # Safety
///
/// As for [`recvmsg`].
unsafe extern "C" fn sendmsg(
    sk: *mut bindings::sock,
    msg: *mut bindings::msghdr,
    len: usize,
) -> c_int {
    let _op = InFlight::enter();
    // SAFETY: called by the socket layer with a live socket.
    unsafe { bindings::ovpn_compat_lock_sock(sk) };
    // SAFETY: locked above.
    let Some(ts) = (unsafe { locked_sock_of(sk) }) else {
        // SAFETY: locked above.
        unsafe { bindings::release_sock(sk) };
        // SAFETY: the arguments are the caller's.
        return unsafe {
            match orig_prot(sk).sendmsg {
                Some(f) => f(sk, msg, len),
                None => -(bindings::EOPNOTSUPP as c_int),
            }
        };
    };
    let ret = if len > framing::PREFIX_LEN + framing::MAX_PACKET_LEN {
        -(bindings::EMSGSIZE as c_int)
    } else if len == 0 {
        // Nothing to send, as for TCP; an empty frame in the queue would
        // stall the stream behind it.
        0
    } else if ts.ctl_q.len() >= CTL_QUEUE_MAX {
        -(bindings::EAGAIN as c_int)
    } else {
        // The caller's process context: allocations may sleep.
        // SAFETY: locked above, by the calling process; the user data was
        // found under our proto, so the socket is not given back yet, and
        // cannot be while we hold the lock.
        unsafe { ts.sleeping(|| user_frame(ts, sk, msg, len)) }
    };
    // SAFETY: locked above.
    unsafe { bindings::release_sock(sk) };
    ret
}

/// Queues `len` bytes of `msg` from userspace as one frame and sends what
/// the socket takes; the byte count or an errno.
///
/// # Safety
///
/// The socket must be locked by the caller (in process context) and
/// attached to `ts`; `msg` is the caller's message of at least `len`
/// bytes.
unsafe fn user_frame(
    ts: &TcpSock,
    sk: *mut bindings::sock,
    msg: *mut bindings::msghdr,
    len: usize,
) -> c_int {
    let mut err = 0;
    // SAFETY: copies `len` bytes from the caller's message.
    let skb = unsafe { bindings::ovpn_compat_skb_from_msg(sk, msg, len, &mut err) };
    // SAFETY: a new skb is ours.
    let Some(skb) = (unsafe { SkBuff::from_raw(skb) }) else {
        return err;
    };
    ts.ctl_q.push(skb);
    // SAFETY: the socket is locked.
    match unsafe { ts.push_locked() } {
        Ok(Pushed::Detached) => ENOTCONN.to_errno(),
        Err(e) => {
            // The connection is broken for the driver's frames too.
            ts.fail(TcpFailure::Send);
            e.to_errno()
        }
        Ok(pushed) => {
            // The frame is queued: taken, even if it waits for the work.
            ts.kick_if_no_memory(&pushed);
            len as c_int
        }
    }
}

/// `sock_is_readable` of an attached socket (for `poll`).
///
/// # Safety
///
/// Called by the socket layer with a live socket.
unsafe extern "C" fn sock_is_readable(sk: *mut bindings::sock) -> bool {
    let g = rcu::read_lock();
    // SAFETY: called with a live socket.
    match unsafe { sock_of(sk, &g) } {
        Some(ts) => !ts.user_q.is_empty(),
        None => false,
    }
}

/// `release_cb` of an attached socket: its owner is releasing it (from
/// `release_sock`, with its spinlock held and BHs disabled); the frames
/// queued meanwhile go out, then TCP's own deferred work runs.
///
/// # Safety
///
/// Called by the socket layer with a live socket its caller owns.
unsafe extern "C" fn release_cb(sk: *mut bindings::sock) {
    // SAFETY: the caller owns the socket, so it is locked.
    if let Some(ts) = unsafe { locked_sock_of(sk) } {
        // SAFETY: owned by the caller, whose release this is.
        ts.after_atomic_push(unsafe { ts.push_locked() });
    }
    // SAFETY: the socket is live.
    unsafe { bindings::ovpn_compat_tcp_orig_release_cb(sk) };
}

/// The callbacks of the sockets taken over.
struct Ops(bindings::ovpn_compat_tcp_ops);

// SAFETY: a table of function pointers, never written after build time.
unsafe impl Sync for Ops {}

static OPS: Ops = Ops({
    // SAFETY: all-zero is a valid table (no callbacks); the ones we have
    // are set below, the rest take the kernel's defaults.
    let mut o: bindings::ovpn_compat_tcp_ops = unsafe { core::mem::zeroed() };
    o.strp.parse_msg = Some(parse_msg);
    o.strp.rcv_msg = Some(rcv_msg);
    o.strp.abort_parser = Some(abort_parser);
    o.data_ready = Some(data_ready);
    o.write_space = Some(write_space);
    o.state_change = Some(state_change);
    o.error_report = Some(error_report);
    o.recvmsg = Some(recvmsg);
    o.sendmsg = Some(sendmsg);
    o.sock_is_readable = Some(sock_is_readable);
    o.release_cb = Some(release_cb);
    o.close = Some(close);
    o
});

/// A TCP socket taken over for a peer.  Dropping it gives the socket back
/// (a plain TCP socket again, with what was queued for it dropped); it
/// must be dropped in process context.
///
/// # Invariants
///
/// Until `release` the socket is attached; its user data owns one
/// reference of `sock` (from `Arc::into_raw`), given back by `drop` a
/// grace period after detaching.
pub(crate) struct TcpTunnel {
    sock: Arc<TcpSock>,
    /// Set by `release`: when the socket was given back.
    released: Option<GpCookie>,
}

impl TcpTunnel {
    /// Takes `ts`'s socket over.  `ENOTCONN` if it is not an established
    /// connection, `EBUSY` if something else uses it already.
    pub(crate) fn attach(ts: Arc<TcpSock>) -> Result<Self> {
        let data = Arc::into_raw(ts.clone());
        ts.attached.store(true, Ordering::Relaxed);
        // SAFETY: the socket is live; `strp` and `saved` are ours to
        // initialise; the user data stays valid while attached (the
        // reference taken above).
        let ret = unsafe {
            bindings::ovpn_compat_tcp_attach(
                ts.sock.sk(),
                data.cast_mut().cast::<c_void>(),
                ts.strp.get(),
                ts.saved.get(),
                &OPS.0,
            )
        };
        if let Err(e) = kernel::error::to_result(ret) {
            ts.attached.store(false, Ordering::Relaxed);
            // SAFETY: not attached: the reference taken above is ours.
            drop(unsafe { Arc::from_raw(data) });
            return Err(e);
        }
        // INVARIANT: attached, the user data owning `data`.
        Ok(Self {
            sock: ts,
            released: None,
        })
    }

    /// The socket's state, shared with the peer that sends through it.
    pub(crate) fn sock(&self) -> &Arc<TcpSock> {
        &self.sock
    }
}

impl TcpTunnel {
    /// Whether [`Self::release`] ran.
    pub(crate) fn is_released(&self) -> bool {
        self.released.is_some()
    }

    /// The first half of giving the socket back: sending stops and the
    /// socket's callbacks and proto are restored; the rest waits for a
    /// grace period (`drop`), which tunnels released together share.
    /// Process context.
    pub(crate) fn release(&mut self) {
        if self.released.is_some() {
            return;
        }
        let ts = &*self.sock;
        let sk = ts.sock.sk();
        // SAFETY: the socket is live; sending stops with it locked, so
        // that no frame is half sent by the work once it is given back.
        unsafe {
            bindings::ovpn_compat_lock_sock(sk);
            ts.attached.store(false, Ordering::Relaxed);
            bindings::release_sock(sk);
        }
        // SAFETY: attached by us (invariant) with `OPS`; restores what is
        // still ours and waits for the parser's work.
        unsafe {
            bindings::ovpn_compat_tcp_detach(ts.sock.sk(), ts.strp.get(), ts.saved.get(), &OPS.0)
        };
        self.released = Some(GpCookie::now());
    }
}

impl Drop for TcpTunnel {
    fn drop(&mut self) {
        self.release();
        // Callbacks and senders that found the socket attached (all with
        // BHs disabled) end within a grace period after the release.
        if let Some(c) = self.released {
            c.wait();
        }
        let ts = &*self.sock;
        let sk = ts.sock.sk();
        // SAFETY: the socket is live and `saved` was set by the attach;
        // no sender of ours is left to need atomic allocations.
        unsafe { bindings::ovpn_compat_tcp_restore_alloc(sk, ts.saved.get()) };
        // SAFETY: the socket is live; nothing else uses `partial` once
        // detached, the lock only orders us after the last user.
        unsafe {
            bindings::ovpn_compat_lock_sock(sk);
            *ts.partial.get() = Partial { skb: None, sent: 0 };
            bindings::release_sock(sk);
        }
        ts.ctl_q.purge();
        ts.tx_q.purge();
        ts.user_q.purge();
        // SAFETY: the user data's reference (invariant), no longer
        // reachable by anyone after the grace period.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(&self.sock)) });
    }
}
