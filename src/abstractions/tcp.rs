// SPDX-License-Identifier: GPL-2.0

//! TCP connections taken over by the module: a connection userspace
//! passed in is bound to a stream parser, and what arrives, what userspace
//! reads and writes, and the socket's events go to a [`TcpUser`], the
//! driver code that gives the stream its meaning.  This layer knows no
//! protocol: it owns the takeover, the locking and the kernel's calls in.
//!
//! Taking the socket over replaces its data-ready, write-space,
//! state-change and error-report callbacks and five operations of its
//! proto (`recvmsg`, `sendmsg`, `sock_is_readable`, `release_cb`, and
//! `close`, which lets the user end the tunnel and give the socket back
//! before TCP closes it); the C side also refuses `disconnect` and a ULP
//! while the socket is taken over.  Giving it back restores them all, so
//! that it is a plain TCP socket again.
//!
//! The user reaches the socket only through a [`Locked`] token, which
//! exists only while this layer holds the socket's lock and the socket is
//! taken over; the per-socket state it needs under that lock lives in
//! [`TcpUser::Locked`], reachable only through the token.

use super::bindings;
use super::netdev::with_bh_disabled;
use super::rcu::GpCookie;
use super::skb::SkBuff;
use super::socket::SockRef;
use super::wq;
use core::any::TypeId;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::ffi::{c_int, c_long};
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

/// How the stream of a connection ended, as seen by its socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The remote closed or reset the connection, or it failed.
    Closed,
    /// The stream does not parse ([`TcpUser::msg_len`] refused it).
    Framing,
}

/// The driver side of a taken-over connection.
///
/// Every hook gets the connection; none may block unless it says so.
/// None may lock the socket of its connection ([`TcpConn::lock`],
/// [`TcpConn::try_lock_unowned`]): the hooks that run with it locked say
/// so, and locking it again deadlocks.
pub(crate) trait TcpUser: Sized + Send + Sync + 'static {
    /// State that only the holder of the socket's lock touches (through
    /// [`Locked::state`]); reset to its default when the socket is given
    /// back.
    type Locked: Default + Send;

    /// Bytes at the start of a message that tell its length.
    const HEADER_LEN: usize;

    /// The length of the message (header included) that starts with
    /// `head`: `HEADER_LEN` bytes, or none while fewer arrived (0 then
    /// asks for more).  An error breaks the stream
    /// ([`Ended::Framing`]).
    fn msg_len(head: &[u8]) -> Result<usize>;

    /// A whole message arrived (header included).  BHs disabled, the
    /// socket locked (its spinlock, or owned by the parser's work).
    fn recv(conn: &TcpConn<Self>, skb: SkBuff);

    /// The socket has room again (the socket's own callback ran already).
    /// Any context, the socket's spinlock maybe held.
    fn write_space(conn: &TcpConn<Self>);

    /// The stream ended.  May come more than once; any context, the
    /// socket's spinlock maybe held.
    fn ended(conn: &TcpConn<Self>, why: Ended);

    /// Userspace closes the socket (its last descriptor): the tunnel must
    /// be given back before this returns, or TCP's close runs with this
    /// layer's hooks in place.  Process context, socket not locked.
    fn closing(conn: &Arc<TcpConn<Self>>);

    /// Userspace reads up to `len` bytes (`peek`: without consuming).
    /// Process context, the socket locked by the reader.
    fn recvmsg(
        conn: &TcpConn<Self>,
        locked: &mut ProcessLocked<'_, Self>,
        msg: &mut RecvMsg<'_>,
        len: usize,
        peek: bool,
    ) -> Result<usize>;

    /// Userspace writes `len` bytes.  Process context, the socket locked
    /// by the writer.
    fn sendmsg(
        conn: &TcpConn<Self>,
        locked: &mut ProcessLocked<'_, Self>,
        msg: &mut SendMsg<'_>,
        len: usize,
    ) -> Result<usize>;

    /// Whether a read would find data (for `poll`).  Any context.
    fn readable(conn: &TcpConn<Self>) -> bool;

    /// The process that owned the socket releases it (`release_sock`):
    /// what waited for the lock may go now.  BHs disabled, the socket's
    /// spinlock held.
    fn released(conn: &TcpConn<Self>, locked: &mut Locked<'_, Self>);

    /// The work queued by [`TcpConn::queue_work`].  Process context.
    fn work(conn: &Arc<TcpConn<Self>>);

    /// The socket was given back: drop what waits for it or for
    /// userspace.  Process context, the socket locked.
    fn given_back(conn: &TcpConn<Self>, state: &mut Self::Locked);
}

/// The type-erased entry points of a [`TcpUser`], for the socket's
/// callbacks (which are not generic, so that the C side can recognise
/// them by address).  The unsafe ones are the shims of [`VtOf`], whose
/// contracts they carry.
struct Vt {
    type_id: fn() -> TypeId,
    header_len: usize,
    msg_len: fn(&[u8]) -> Result<usize>,
    recv: unsafe fn(CorePtr<'_>, SkBuff),
    write_space: unsafe fn(CorePtr<'_>),
    ended: unsafe fn(CorePtr<'_>, Ended),
    closing: unsafe fn(*const Core, rcu::Guard),
    recvmsg: unsafe fn(CorePtr<'_>, *mut bindings::msghdr, usize, bool) -> c_int,
    sendmsg: unsafe fn(CorePtr<'_>, *mut bindings::msghdr, usize) -> c_int,
    readable: unsafe fn(CorePtr<'_>) -> bool,
    released: unsafe fn(CorePtr<'_>),
}

/// The vtable of `T`.
struct VtOf<T>(PhantomData<T>);

/// The longest header [`TcpUser::HEADER_LEN`] may ask for.
const MAX_HEADER_LEN: usize = 8;

impl<T: TcpUser> VtOf<T> {
    const VT: Vt = {
        assert!(T::HEADER_LEN <= MAX_HEADER_LEN);
        Self::TABLE
    };

    const TABLE: Vt = Vt {
        type_id: TypeId::of::<T>,
        header_len: T::HEADER_LEN,
        msg_len: T::msg_len,
        recv: Self::recv,
        write_space: Self::write_space,
        ended: Self::ended,
        closing: Self::closing,
        recvmsg: Self::recvmsg,
        sendmsg: Self::sendmsg,
        readable: Self::readable,
        released: Self::released,
    };

    /// # Safety
    ///
    /// `core` must point to the `core` of a `TcpConn<T>`, with the
    /// provenance of the whole connection, alive for `'a`.
    unsafe fn conn<'a>(core: *const Core) -> &'a TcpConn<T> {
        // SAFETY: per the contract; `core` is the first field of the
        // `repr(C)` `TcpConn<T>`, so the pointers are equal.
        unsafe { &*core.cast::<TcpConn<T>>() }
    }

    /// # Safety
    ///
    /// `core` must be that of an attached `TcpConn<T>`, alive for the
    /// call (so for every shim below).
    unsafe fn recv(core: CorePtr<'_>, skb: SkBuff) {
        // SAFETY: the vtable of `T` is only in `TcpConn<T>`s.
        T::recv(unsafe { Self::conn(core.as_ptr()) }, skb)
    }

    /// # Safety
    ///
    /// As for `recv`.
    unsafe fn write_space(core: CorePtr<'_>) {
        // SAFETY: as for `recv`.
        T::write_space(unsafe { Self::conn(core.as_ptr()) })
    }

    /// # Safety
    ///
    /// As for `recv`.
    unsafe fn ended(core: CorePtr<'_>, why: Ended) {
        // SAFETY: as for `recv`.
        T::ended(unsafe { Self::conn(core.as_ptr()) }, why)
    }

    /// # Safety
    ///
    /// As for `recv`, `core` found during `g`'s section; process context,
    /// the socket not locked.
    unsafe fn closing(core: *const Core, g: rcu::Guard) {
        // SAFETY: as for `recv`; valid during the guard's section, which
        // the reference taken here outlives.
        let conn = unsafe { Self::conn(core) }.arc();
        drop(g);
        T::closing(&conn)
    }

    /// # Safety
    ///
    /// As for `recv`, the socket locked by the calling process, which
    /// unlocks it afterwards; `msg` the caller's.
    unsafe fn recvmsg(
        core: CorePtr<'_>,
        msg: *mut bindings::msghdr,
        len: usize,
        peek: bool,
    ) -> c_int {
        // SAFETY: as for `recv`.
        let conn = unsafe { Self::conn(core.as_ptr()) };
        // INVARIANT: the caller locked the socket, which is attached, and
        // unlocks it after we return.
        let mut locked = ProcessLocked(Locked::new(conn, Hold::Caller));
        // SAFETY: the caller's message, for this call.
        let mut msg = unsafe { RecvMsg::new(msg) };
        to_ret(T::recvmsg(conn, &mut locked, &mut msg, len, peek), len)
    }

    /// # Safety
    ///
    /// As for `recvmsg`.
    unsafe fn sendmsg(core: CorePtr<'_>, msg: *mut bindings::msghdr, len: usize) -> c_int {
        // SAFETY: as for `recv`.
        let conn = unsafe { Self::conn(core.as_ptr()) };
        // INVARIANT: as in `recvmsg`.
        let mut locked = ProcessLocked(Locked::new(conn, Hold::Caller));
        // SAFETY: the caller's message, for this call.
        let mut msg = unsafe { SendMsg::new(msg) };
        to_ret(T::sendmsg(conn, &mut locked, &mut msg, len), len)
    }

    /// # Safety
    ///
    /// As for `recv`.
    unsafe fn readable(core: CorePtr<'_>) -> bool {
        // SAFETY: as for `recv`.
        T::readable(unsafe { Self::conn(core.as_ptr()) })
    }

    /// # Safety
    ///
    /// As for `recv`, the socket owned by a process releasing it, whose
    /// spinlock the caller holds.
    unsafe fn released(core: CorePtr<'_>) {
        // SAFETY: as for `recv`.
        let conn = unsafe { Self::conn(core.as_ptr()) };
        // INVARIANT: the releasing process still owns the socket and the
        // caller holds its spinlock; `release_sock` unlocks after us.
        let mut locked = Locked::new(conn, Hold::Caller);
        T::released(conn, &mut locked)
    }
}

/// A byte count of at most `len`, or an errno, as the socket layer
/// returns them.
fn to_ret(r: Result<usize>, len: usize) -> c_int {
    match r {
        Ok(n) if n <= len => c_int::try_from(n).unwrap_or(EIO.to_errno()),
        Ok(_) => EIO.to_errno(),
        Err(e) => e.to_errno(),
    }
}

/// What every taken-over connection has, whatever its user.
///
/// # Invariants
///
/// `strp` and `saved` are initialised while `attached`, which
/// [`TcpTunnel::new`] sets before anyone can reach the connection, and
/// `release` clears with the socket locked; it is never set again.
/// `sending` is set, by the socket's lock holder, only during a send.
struct Core {
    sock: SockRef,
    vt: &'static Vt,
    strp: Opaque<bindings::strparser>,
    saved: Opaque<bindings::ovpn_compat_tcp_saved>,
    attached: AtomicBool,
    sending: AtomicBool,
}

/// A TCP connection taken over (or to be) for a [`TcpUser`].
///
/// # Invariants
///
/// - It only exists in an `Arc` ([`TcpConn::new`]), made by
///   [`TcpTunnel::new`] only.
/// - `core` is the first field (the socket's callbacks find the
///   connection from it), and `core.vt` is `VtOf::<T>::VT`.
/// - `locked` is only accessed through a [`Locked`] of this connection.
#[repr(C)]
#[pin_data]
pub(crate) struct TcpConn<T: TcpUser> {
    core: Core,
    locked: UnsafeCell<T::Locked>,
    #[pin]
    work: Work<TcpConn<T>>,
    #[pin]
    user: T,
}

// SAFETY: `locked` is used by the lock holder only (invariant), the stream
// parser and saved callbacks by the C side under the socket's locks; the
// rest is `Send` and `Sync` itself, or atomic, or immutable.
unsafe impl<T: TcpUser> Send for TcpConn<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: TcpUser> Sync for TcpConn<T> {}

impl_has_work! {
    impl{T: TcpUser} HasWork<Self> for TcpConn<T> { self.work }
}

impl<T: TcpUser> WorkItem for TcpConn<T> {
    type Pointer = Arc<TcpConn<T>>;

    fn run(this: Arc<TcpConn<T>>) {
        T::work(&this);
    }
}

impl<T: TcpUser> TcpConn<T> {
    /// A connection on `sock` for `user`, not taken over yet.
    fn new(sock: SockRef, user: impl PinInit<T, Error>) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(TcpConn {
                core: Core {
                    sock,
                    vt: &VtOf::<T>::VT,
                    strp: Opaque::uninit(),
                    saved: Opaque::uninit(),
                    attached: AtomicBool::new(false),
                    sending: AtomicBool::new(false),
                },
                locked: UnsafeCell::new(T::Locked::default()),
                work <- new_work!("ovpn_dco::tcp_work"),
                user <- user,
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The driver's part.
    pub(crate) fn user(&self) -> &T {
        &self.user
    }

    /// The socket.
    pub(crate) fn socket(&self) -> &SockRef {
        &self.core.sock
    }

    /// An `Arc` of this connection.
    fn arc(&self) -> Arc<Self> {
        // SAFETY: a `TcpConn` lives only in an `Arc` (invariant), which
        // outlives `&self`; its pointer is the one `Arc::into_raw` gives.
        let b = unsafe { ArcBorrow::from_raw(self) };
        b.into()
    }

    /// Makes [`TcpUser::work`] run in process context (unless it is
    /// queued already).  Fails only when the module is going away.
    pub(crate) fn queue_work(&self) {
        if let Some(q) = wq::queue() {
            // Already queued: it will run after this call anyway.
            let _ = q.enqueue(self.arc());
        }
    }

    /// The socket's receive buffer size: what TCP would let wait for
    /// userspace.
    pub(crate) fn rcvbuf(&self) -> usize {
        // SAFETY: the sock is live while `self` holds it.
        unsafe { bindings::ovpn_compat_sk_rcvbuf(self.core.sock.sk()) }
    }

    /// Wakes userspace's readers (the socket's own data-ready callback).
    pub(crate) fn wake_readers(&self) {
        if !self.core.attached.load(Ordering::Relaxed) {
            return;
        }
        // SAFETY: attached, so `saved` holds the socket's own callbacks
        // (invariant of `Core`); they live as long as the socket.
        unsafe {
            if let Some(ready) = (*self.core.saved.get()).data_ready {
                ready(self.core.sock.sk());
            }
        }
    }

    /// Locks the socket for the calling process (which may sleep; not
    /// from a hook that has a [`Locked`] already).  `None` once it is
    /// given back.
    pub(crate) fn lock(&self) -> Option<ProcessLocked<'_, T>> {
        let sk = self.core.sock.sk();
        // SAFETY: the sock is live while `self` holds it.
        unsafe { bindings::ovpn_compat_lock_sock(sk) };
        // `attached` only changes with the socket locked.
        if !self.core.attached.load(Ordering::Relaxed) {
            // SAFETY: locked above.
            unsafe { bindings::release_sock(sk) };
            return None;
        }
        // INVARIANT: locked by this process, attached; released when the
        // token drops.
        Some(ProcessLocked(Locked::new(self, Hold::Process)))
    }

    /// Locks the socket from any context, unless a process owns it (its
    /// owner's release calls [`TcpUser::released`] then), this CPU is
    /// inside a section that holds a taken-over socket locked already, or
    /// the socket is given back.
    pub(crate) fn try_lock_unowned(&self) -> TryLock<'_, T> {
        let sk = self.core.sock.sk();
        // SAFETY: the sock is live while `self` holds it.
        let r = unsafe { bindings::ovpn_compat_tcp_lock_unowned(sk) };
        if r == bindings::OVPN_COMPAT_TCP_OWNED as c_int {
            return TryLock::Owned;
        }
        if r != bindings::OVPN_COMPAT_TCP_LOCKED as c_int {
            return TryLock::Nested;
        }
        if !self.core.attached.load(Ordering::Relaxed) {
            // SAFETY: locked above.
            unsafe { bindings::ovpn_compat_tcp_unlock_unowned(sk) };
            return TryLock::GivenBack;
        }
        // INVARIANT: spinlock held, no owner, attached; unlocked when the
        // token drops.
        TryLock::Locked(Locked::new(self, Hold::Unowned))
    }

    /// The connection of a full socket, if this module took it over for a
    /// `T`, during the read-side section of `_g`.
    ///
    /// # Safety
    ///
    /// `sk` must be a live socket.
    unsafe fn of_sock<'a>(sk: *mut bindings::sock, g: &'a rcu::Guard) -> Option<&'a Self> {
        // SAFETY: per the contract.
        let core = unsafe { core_of(sk, g) }?;
        if (core.vt.type_id)() != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: a `Core` with `T`'s vtable is in a `TcpConn<T>`.
        Some(unsafe { VtOf::<T>::conn(core.as_ptr()) })
    }

    /// The connection whose socket sent `skb`, if it is one of `T`'s.
    pub(crate) fn of_skb<'a>(skb: &SkBuff, g: &'a rcu::Guard) -> Option<&'a Self> {
        // SAFETY: the skb is valid.
        let sk = unsafe { bindings::ovpn_compat_skb_full_sock(skb.as_ptr()) };
        if sk.is_null() {
            return None;
        }
        // SAFETY: the skb holds its socket, a full one.
        unsafe { Self::of_sock(sk, g) }
    }
}

/// What [`TcpConn::try_lock_unowned`] found.
pub(crate) enum TryLock<'a, T: TcpUser> {
    /// The socket, locked.
    Locked(Locked<'a, T>),
    /// A process owns the socket.
    Owned,
    /// This CPU is sending on, or delivering from, a taken-over socket
    /// already (a tunnel inside another's, or a routing loop through two
    /// devices): locking another would nest socket locks, the same one
    /// deadlock.  Process context can send.
    Nested,
    /// The socket is given back.
    GivenBack,
}

/// Who unlocks a [`Locked`] socket.
enum Hold {
    /// The token: `release_sock` (socket owned by the process).
    Process,
    /// The token: the spinlock taken by `ovpn_compat_tcp_lock_unowned`.
    Unowned,
    /// Whoever called into this layer.
    Caller,
}

/// Proof that the socket of a [`TcpConn`] is locked, and taken over.
///
/// # Invariants
///
/// While it exists, the socket of `conn` is locked (owned by a process, or
/// its spinlock held with no owner) on this CPU's behalf, `hold` says who
/// unlocks it, and the socket is attached.  At most one is in use per
/// connection at a time: a second is made only by `release_cb` for
/// [`TcpUser::released`], which TCP calls from `release_sock` (the first
/// token is being dropped then and touches nothing more) or from inside a
/// send of the first (a backlog flush; `release_cb` skips the hook then,
/// seeing `sending`).
pub(crate) struct Locked<'a, T: TcpUser> {
    conn: &'a TcpConn<T>,
    hold: Hold,
    _not_send: PhantomData<*mut ()>,
}

impl<'a, T: TcpUser> Locked<'a, T> {
    /// The caller guarantees the invariant.
    fn new(conn: &'a TcpConn<T>, hold: Hold) -> Self {
        Self {
            conn,
            hold,
            _not_send: PhantomData,
        }
    }

    /// The state of the lock holder.
    pub(crate) fn state(&mut self) -> &mut T::Locked {
        // SAFETY: the socket is locked and this is its only token
        // (invariant): nobody else reaches `locked`.
        unsafe { &mut *self.conn.locked.get() }
    }

    /// Sends `len` bytes of `skb` from `off` without blocking; `more`
    /// says that more follows at once (TCP may wait to fill a segment).
    /// The bytes sent: 0 when the socket had no room or no memory.
    pub(crate) fn send(
        &mut self,
        skb: &SkBuff,
        off: usize,
        len: usize,
        more: bool,
    ) -> Result<usize> {
        if off
            .checked_add(len)
            .filter(|&end| end <= skb.len())
            .is_none()
        {
            return Err(EINVAL);
        }
        let off = c_int::try_from(off).map_err(|_| EINVAL)?;
        let len = c_int::try_from(len).map_err(|_| EINVAL)?;
        let core = &self.conn.core;
        // TCP may flush its backlog in there, calling `release_cb`.
        core.sending.store(true, Ordering::Relaxed);
        // SAFETY: the socket is locked and taken over (invariant); the skb
        // is valid and has the bytes.
        let r = unsafe {
            bindings::ovpn_compat_tcp_send_frame(core.sock.sk(), skb.as_ptr(), off, len, more)
        };
        core.sending.store(false, Ordering::Relaxed);
        if r == -(bindings::EAGAIN as c_int) {
            return Ok(0);
        }
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(r as usize)
    }

    /// Whether the socket's send buffer has room.
    pub(crate) fn has_room(&self) -> bool {
        // SAFETY: the socket is locked.
        unsafe { bindings::ovpn_compat_tcp_has_room(self.conn.core.sock.sk()) }
    }

    /// Takes the socket's pending error, if any.
    pub(crate) fn take_error(&mut self) -> Result {
        // SAFETY: the socket is locked.
        kernel::error::to_result(unsafe {
            bindings::ovpn_compat_sock_error(self.conn.core.sock.sk())
        })
    }

    /// Whether the remote shut its side down (no more data comes).
    pub(crate) fn rcv_shutdown(&self) -> bool {
        // SAFETY: the socket is live.
        unsafe { bindings::ovpn_compat_tcp_rcv_shutdown(self.conn.core.sock.sk()) }
    }
}

impl<T: TcpUser> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        let sk = self.conn.core.sock.sk();
        match self.hold {
            // SAFETY: locked by `lock` (invariant).
            Hold::Process => unsafe { bindings::release_sock(sk) },
            // SAFETY: locked by `try_lock_unowned` (invariant).
            Hold::Unowned => unsafe { bindings::ovpn_compat_tcp_unlock_unowned(sk) },
            Hold::Caller => {}
        }
    }
}

/// A [`Locked`] socket owned by the calling process, which may sleep.
pub(crate) struct ProcessLocked<'a, T: TcpUser>(Locked<'a, T>);

impl<'a, T: TcpUser> ProcessLocked<'a, T> {
    /// Runs `f` with the socket's allocations allowed to sleep, then makes
    /// them atomic again (as sends from softirq context need).
    pub(crate) fn sleeping<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let core = &self.0.conn.core;
        // SAFETY: owned by this process (it may sleep) and taken over, so
        // `saved` is set (invariants).
        unsafe { bindings::ovpn_compat_tcp_may_sleep(core.sock.sk(), core.saved.get(), true) };
        let r = f(self);
        let core = &self.0.conn.core;
        // SAFETY: as above.
        unsafe { bindings::ovpn_compat_tcp_may_sleep(core.sock.sk(), core.saved.get(), false) };
        r
    }

    /// A new skb holding the next `len` bytes of `msg` (the socket's
    /// allocation mode applies).
    pub(crate) fn skb_from(&mut self, msg: &mut SendMsg<'_>, len: usize) -> Result<SkBuff> {
        if c_int::try_from(len).is_err() {
            return Err(EMSGSIZE);
        }
        let mut err = 0;
        // SAFETY: the socket is locked; `msg` is valid (its invariant).
        let skb = unsafe {
            bindings::ovpn_compat_skb_from_msg(self.0.conn.core.sock.sk(), msg.ptr, len, &mut err)
        };
        // SAFETY: a new skb is ours.
        unsafe { SkBuff::from_raw(skb) }.ok_or_else(|| Error::from_errno(err))
    }
}

impl<'a, T: TcpUser> core::ops::Deref for ProcessLocked<'a, T> {
    type Target = Locked<'a, T>;

    fn deref(&self) -> &Locked<'a, T> {
        &self.0
    }
}

impl<'a, T: TcpUser> core::ops::DerefMut for ProcessLocked<'a, T> {
    fn deref_mut(&mut self) -> &mut Locked<'a, T> {
        &mut self.0
    }
}

/// The message of a `recvmsg` call: where the reader wants the bytes.
///
/// # Invariants
///
/// `ptr` is the caller's valid `msghdr`, a destination, for `'a`.
pub(crate) struct RecvMsg<'a> {
    ptr: *mut bindings::msghdr,
    _call: PhantomData<&'a mut bindings::msghdr>,
}

/// The message of a `sendmsg` call: the writer's bytes.
///
/// # Invariants
///
/// `ptr` is the caller's valid `msghdr`, a source, for `'a`.
pub(crate) struct SendMsg<'a> {
    ptr: *mut bindings::msghdr,
    _call: PhantomData<&'a mut bindings::msghdr>,
}

impl SendMsg<'_> {
    /// # Safety
    ///
    /// `ptr` must be the message of the `sendmsg` call being served,
    /// valid for the returned value's life.
    unsafe fn new(ptr: *mut bindings::msghdr) -> Self {
        // INVARIANT: per the contract.
        Self {
            ptr,
            _call: PhantomData,
        }
    }
}

impl RecvMsg<'_> {
    /// # Safety
    ///
    /// `ptr` must be the message of the `recvmsg` call being served,
    /// valid for the returned value's life.
    unsafe fn new(ptr: *mut bindings::msghdr) -> Self {
        // INVARIANT: per the contract.
        Self {
            ptr,
            _call: PhantomData,
        }
    }

    /// Copies `len` bytes of `skb` from `off` to the reader.
    pub(crate) fn copy_from(&mut self, skb: &SkBuff, off: usize, len: usize) -> Result {
        if off
            .checked_add(len)
            .filter(|&end| end <= skb.len())
            .is_none()
        {
            return Err(EINVAL);
        }
        // SAFETY: the message is valid (invariant), the skb has the bytes.
        let r = unsafe {
            bindings::ovpn_compat_skb_copy_to_msg(
                skb.as_ptr(),
                off as c_int,
                self.ptr,
                len as c_int,
            )
        };
        kernel::error::to_result(r)
    }
}

/// A `Core` found from its socket or stream parser, alive for `'a`.
///
/// # Invariants
///
/// The pointer has the provenance of the whole [`TcpConn`] (it comes from
/// the socket's user data or from the parser's pointer, both derived from
/// the connection's `Arc::into_raw`), which is alive for `'a`.
#[derive(Clone, Copy)]
struct CorePtr<'a>(NonNull<Core>, PhantomData<&'a Core>);

impl CorePtr<'_> {
    fn as_ptr(self) -> *const Core {
        self.0.as_ptr()
    }

    /// The stream parser's pointer, derived with the whole connection's
    /// provenance.
    fn strp(self) -> *mut bindings::strparser {
        // SAFETY: `Core` is alive (invariant); no reference is made.
        Opaque::cast_into(unsafe { core::ptr::addr_of!((*self.0.as_ptr()).strp) })
    }
}

impl core::ops::Deref for CorePtr<'_> {
    type Target = Core;

    fn deref(&self) -> &Core {
        // SAFETY: alive for `'a`, which outlives `&self` (invariant).
        unsafe { self.0.as_ref() }
    }
}

/// The `Core` of a socket this module took over, during the read-side
/// section of `_g` (or while the socket is locked, which keeps it taken
/// over).
///
/// # Safety
///
/// `sk` must be a live socket.  While its proto is one of the module's
/// copies (what the C helper checks), a set user data is the
/// [`TcpConn`] that [`TcpTunnel`] attached: listen children cannot exist
/// (no disconnect, NOCOPY) and no ULP can be stacked while attached.
unsafe fn core_of<'a>(sk: *mut bindings::sock, _g: &'a rcu::Guard) -> Option<CorePtr<'a>> {
    // SAFETY: per the contract.
    let p = unsafe { bindings::ovpn_compat_tcp_user_data(sk) };
    // INVARIANT: the user data of an attached socket is the connection's
    // `Arc::into_raw`, whose first field is its `Core`, kept alive until a
    // grace period after detaching, and the guard's section began before.
    NonNull::new(p.cast::<Core>()).map(|p| CorePtr(p, PhantomData))
}

/// The `Core` of a socket its caller has locked.
///
/// # Safety
///
/// `sk` must be live and locked by the caller; the reference must not be
/// used after unlocking.
unsafe fn locked_core_of<'a>(sk: *mut bindings::sock) -> Option<CorePtr<'a>> {
    let g = rcu::read_lock();
    // SAFETY: `sk` is live (the contract of `core_of`).
    let core = unsafe { core_of(sk, &g) }.map(|c| c.0);
    drop(g);
    // INVARIANT: detaching clears the user data with the socket locked and
    // frees the connection only later, so it stays valid while the caller
    // holds the lock.
    core.map(|c| CorePtr(c, PhantomData))
}

/// The `Core` of a stream parser.
///
/// # Safety
///
/// `strp` must be the `strp` field of a live, attached [`TcpConn`]'s
/// `Core`, as [`CorePtr::strp`] derives it; the result must not outlive
/// the callback it is used in.
unsafe fn core_of_strp<'a>(strp: *mut bindings::strparser) -> CorePtr<'a> {
    let off = core::mem::offset_of!(Core, strp);
    // SAFETY: per the contract, `strp` is at offset `off` of a `Core`
    // (`Opaque` is transparent).
    let p = unsafe { strp.cast::<u8>().sub(off).cast::<Core>() };
    // INVARIANT: per the contract, with the parser pointer's provenance.
    // SAFETY: not null, a field's address minus its offset.
    CorePtr(unsafe { NonNull::new_unchecked(p) }, PhantomData)
}

/// The socket's data-ready callback: feeds the stream parser.
///
/// # Safety
///
/// Called by the TCP stack with a live socket that we took over.
unsafe extern "C" fn data_ready(sk: *mut bindings::sock) {
    let g = rcu::read_lock();
    // SAFETY: the TCP stack calls this with a live socket of ours.
    if let Some(core) = unsafe { core_of(sk, &g) } {
        // SAFETY: the parser of an attached socket is initialised.
        unsafe { bindings::strp_data_ready(core.strp()) };
    }
}

/// The socket's write-space callback: wakes the writers, then the user.
///
/// # Safety
///
/// As for [`data_ready`].
unsafe extern "C" fn write_space(sk: *mut bindings::sock) {
    let g = rcu::read_lock();
    // SAFETY: as for `data_ready`.
    let Some(core) = (unsafe { core_of(sk, &g) }) else {
        return;
    };
    // SAFETY: `saved` holds the socket's own callbacks while attached.
    unsafe {
        if let Some(f) = (*core.saved.get()).write_space {
            f(sk);
        }
    }
    // SAFETY: an attached connection's `Core`, during the guard.
    unsafe { (core.vt.write_space)(core) };
}

/// A socket callback that may tell the end of the connection: runs the
/// socket's own callback (`own` picks it from `saved`), then tells the
/// user if the connection is closed or failed.
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
    let Some(core) = (unsafe { core_of(sk, &g) }) else {
        return;
    };
    // SAFETY: `saved` holds the socket's own callbacks while attached.
    if let Some(f) = own(unsafe { &*core.saved.get() }) {
        // SAFETY: the socket's own callback, called as TCP would.
        unsafe { f(sk) };
    }
    // SAFETY: the socket is live.
    if unsafe { bindings::ovpn_compat_tcp_closed(sk) } {
        // SAFETY: an attached connection's `Core`, during the guard.
        unsafe { (core.vt.ended)(core, Ended::Closed) };
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

/// The stream parser's framing callback: the length of the message at the
/// start of what arrived; 0 while incomplete.
///
/// # Safety
///
/// Called by the stream parser of an attached [`TcpConn`] with an skb
/// holding its message state.
unsafe extern "C" fn parse_msg(
    strp: *mut bindings::strparser,
    skb: *mut bindings::sk_buff,
) -> c_int {
    // SAFETY: the parser only runs for attached sockets.
    let core = unsafe { core_of_strp(strp) };
    let (mut off, mut len) = (0, 0);
    // SAFETY: the parser hands us a valid skb with its message control
    // block.
    unsafe { bindings::ovpn_compat_strp_msg(skb, &mut off, &mut len) };
    // SAFETY: as above.
    let avail = unsafe { bindings::ovpn_compat_skb_len(skb) } as usize;
    let avail = avail.saturating_sub(off as usize);
    let mut head = [0u8; MAX_HEADER_LEN];
    let want = core.vt.header_len;
    let got = if avail >= want { want } else { 0 };
    if got > 0 {
        // SAFETY: the skb has `got` bytes at `off`.
        let r =
            unsafe { bindings::skb_copy_bits(skb, off, head.as_mut_ptr().cast(), got as c_int) };
        if r < 0 {
            return r;
        }
    }
    match (core.vt.msg_len)(&head[..got]) {
        Ok(n) => c_int::try_from(n).unwrap_or(EINVAL.to_errno()),
        Err(e) => e.to_errno(),
    }
}

/// The stream parser's delivery callback: one whole message.
///
/// # Safety
///
/// Called by the stream parser of an attached [`TcpConn`], which hands
/// over the skb.
unsafe extern "C" fn rcv_msg(strp: *mut bindings::strparser, skb: *mut bindings::sk_buff) {
    // SAFETY: the parser only runs for attached sockets (stopped before
    // detaching completes).
    let core = unsafe { core_of_strp(strp) };
    // SAFETY: the parser hands the skb over.
    let Some(mut skb) = (unsafe { SkBuff::from_raw(skb) }) else {
        return;
    };
    let (mut off, mut len) = (0, 0);
    // SAFETY: the skb carries the parser's message control block.
    unsafe { bindings::ovpn_compat_strp_msg(skb.as_ptr(), &mut off, &mut len) };
    if skb.window(off as usize, len as usize).is_err() {
        // Out of memory for this message; the stream goes on.
        return;
    }
    // The parser may run from its work item, in process context.
    with_bh_disabled(|| {
        let _n = Nest::enter();
        // SAFETY: an attached connection's `Core`, during the parser's
        // call.
        unsafe { (core.vt.recv)(core, skb) }
    });
}

/// The stream parser's error callback: the stream is broken.
///
/// # Safety
///
/// Called by the stream parser of an attached [`TcpConn`].
unsafe extern "C" fn abort_parser(strp: *mut bindings::strparser, _err: c_int) {
    // SAFETY: as for `rcv_msg`.
    let core = unsafe { core_of_strp(strp) };
    // SAFETY: as above.
    unsafe { (core.vt.ended)(core, Ended::Framing) };
}

/// Marks this CPU as inside a section that holds a taken-over socket
/// locked (see [`TryLock::Nested`]), until dropped.  BHs must stay
/// disabled meanwhile (the mark is per CPU): the holder is a callback that
/// runs so.
struct Nest(PhantomData<*mut ()>);

impl Nest {
    fn enter() -> Self {
        // SAFETY: no precondition; paired with the exit in `drop`.
        unsafe { bindings::ovpn_compat_tcp_nest_enter() };
        Nest(PhantomData)
    }
}

impl Drop for Nest {
    fn drop(&mut self) {
        // SAFETY: pairs with the enter in `Nest::enter`, on the same CPU
        // (BHs off in between, and the value cannot move to another
        // thread).
        unsafe { bindings::ovpn_compat_tcp_nest_exit() };
    }
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
/// The user gives the socket back first, then TCP's own close runs.
///
/// # Safety
///
/// Called by the socket layer with a live, unlocked socket being released.
unsafe extern "C" fn close(sk: *mut bindings::sock, timeout: c_long) {
    let _f = InFlight::enter();
    let g = rcu::read_lock();
    // SAFETY: the socket is live.
    let found = unsafe { core_of(sk, &g) }.map(|c| (c.vt.closing, c.as_ptr()));
    match found {
        // SAFETY: an attached connection's `Core` found under `g`, which
        // the hook ends only after it took its own reference.
        Some((closing, core)) => unsafe { closing(core, g) },
        None => drop(g),
    }
    // SAFETY: the socket is live; TCP's own close, called as the socket
    // layer would (a linger may sleep: counted by `_f`).
    if let Some(f) = unsafe { orig_prot(sk) }.close {
        // SAFETY: as above.
        unsafe { f(sk, timeout) };
    }
}

/// Passes a read to the socket's original proto.
///
/// # Safety
///
/// As for [`recvmsg`].
unsafe fn orig_recvmsg(
    sk: *mut bindings::sock,
    msg: *mut bindings::msghdr,
    len: usize,
    flags: c_int,
) -> c_int {
    // SAFETY: the arguments are the caller's.
    unsafe {
        match orig_prot(sk).recvmsg {
            Some(f) => f(sk, msg, len, flags),
            None => -(bindings::EOPNOTSUPP as c_int),
        }
    }
}

/// `recvmsg` of an attached socket: the user's (`MSG_ERRQUEUE` reads the
/// socket's error queue).
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
        // SAFETY: the caller's arguments.
        return unsafe { orig_recvmsg(sk, msg, len, flags) };
    }
    let peek = flags & bindings::MSG_PEEK as c_int != 0;
    // SAFETY: called by the socket layer with a live socket.
    unsafe { bindings::ovpn_compat_lock_sock(sk) };
    // SAFETY: locked above.
    let ret = match unsafe { locked_core_of(sk) } {
        // SAFETY: attached, with the socket locked by this process; the
        // caller's message.
        Some(core) if core.attached.load(Ordering::Relaxed) => unsafe {
            (core.vt.recvmsg)(core, msg, len, peek)
        },
        // Being given back: nothing for userspace until it is.
        Some(_) => EAGAIN.to_errno(),
        None => {
            // SAFETY: locked above.
            unsafe { bindings::release_sock(sk) };
            // Given back meanwhile: a plain TCP read.
            // SAFETY: the caller's arguments.
            return unsafe { orig_recvmsg(sk, msg, len, flags) };
        }
    };
    // SAFETY: locked above.
    unsafe { bindings::release_sock(sk) };
    ret
}

/// `sendmsg` of an attached socket: the user's.
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
    let ret = match unsafe { locked_core_of(sk) } {
        // SAFETY: as in `recvmsg`.
        Some(core) if core.attached.load(Ordering::Relaxed) => unsafe {
            (core.vt.sendmsg)(core, msg, len)
        },
        Some(_) => super::enotconn().to_errno(),
        None => {
            // SAFETY: locked above.
            unsafe { bindings::release_sock(sk) };
            // SAFETY: the caller's arguments.
            return unsafe {
                match orig_prot(sk).sendmsg {
                    Some(f) => f(sk, msg, len),
                    None => -(bindings::EOPNOTSUPP as c_int),
                }
            };
        }
    };
    // SAFETY: locked above.
    unsafe { bindings::release_sock(sk) };
    ret
}

/// `sock_is_readable` of an attached socket (for `poll`).
///
/// # Safety
///
/// Called by the socket layer with a live socket.
unsafe extern "C" fn sock_is_readable(sk: *mut bindings::sock) -> bool {
    let g = rcu::read_lock();
    // SAFETY: called with a live socket.
    match unsafe { core_of(sk, &g) } {
        // SAFETY: an attached connection's `Core`, during the guard.
        Some(core) => unsafe { (core.vt.readable)(core) },
        None => false,
    }
}

/// `release_cb` of an attached socket: its owner is releasing it (from
/// `release_sock`, with its spinlock held and BHs disabled); the user's
/// turn, then TCP's own deferred work runs.
///
/// # Safety
///
/// Called by the socket layer with a live socket its caller owns.
unsafe extern "C" fn release_cb(sk: *mut bindings::sock) {
    // SAFETY: the caller owns the socket, so it is locked.
    if let Some(core) = unsafe { locked_core_of(sk) } {
        // `attached` is cleared with the socket locked, then released: the
        // release of that lock finds it clear.  Inside a send, the sender
        // goes on with what is queued itself.
        if core.attached.load(Ordering::Relaxed) && !core.sending.load(Ordering::Relaxed) {
            let _n = Nest::enter();
            // SAFETY: attached, owned by the releasing process whose
            // spinlock is held.
            unsafe { (core.vt.released)(core) };
        }
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

/// A TCP connection taken over.  Dropping it gives the socket back (a
/// plain TCP socket again, [`TcpUser::given_back`] dropping what was
/// queued for it); it must be dropped in process context.
///
/// # Invariants
///
/// Until `release` the socket is attached; its user data owns one
/// reference of `conn` (from `Arc::into_raw`), given back by `drop` a
/// grace period after detaching.
pub(crate) struct TcpTunnel<T: TcpUser> {
    conn: Arc<TcpConn<T>>,
    /// Set by `release`: when the socket was given back.
    released: Option<GpCookie>,
}

impl<T: TcpUser> TcpTunnel<T> {
    /// Takes `sock` over for `user`.  `ENOTCONN` if it is not an
    /// established connection, `EBUSY` if something else uses it already.
    pub(crate) fn new(sock: SockRef, user: impl PinInit<T, Error>) -> Result<Self> {
        let conn = TcpConn::new(sock, user)?;
        let data = Arc::into_raw(conn.clone());
        let core = &conn.core;
        // Nobody else has the connection yet; the socket's callbacks find
        // it once the user data is set, after `strp` and `saved`.
        core.attached.store(true, Ordering::Relaxed);
        // The parser's pointer, with the connection's provenance: the
        // parser's callbacks get back to the connection from it.
        // SAFETY: `data` points to the live connection; no reference made.
        let strp = Opaque::cast_into(unsafe { core::ptr::addr_of!((*data).core.strp) });
        // SAFETY: the socket is live; `strp` and `saved` are ours to
        // initialise; the user data stays valid while attached (the
        // reference taken above).
        let ret = unsafe {
            bindings::ovpn_compat_tcp_attach(
                core.sock.sk(),
                data.cast_mut().cast::<c_void>(),
                strp,
                core.saved.get(),
                &OPS.0,
            )
        };
        if let Err(e) = kernel::error::to_result(ret) {
            core.attached.store(false, Ordering::Relaxed);
            // SAFETY: not attached: the reference taken above is ours.
            drop(unsafe { Arc::from_raw(data) });
            return Err(e);
        }
        // INVARIANT: attached, the user data owning `data`.
        Ok(Self {
            conn,
            released: None,
        })
    }

    /// The connection, shared with whoever sends through it.
    pub(crate) fn conn(&self) -> &Arc<TcpConn<T>> {
        &self.conn
    }

    /// Whether [`Self::release`] ran.
    pub(crate) fn is_released(&self) -> bool {
        self.released.is_some()
    }

    /// The first half of giving the socket back: no new [`Locked`] can be
    /// had, and the socket's callbacks and proto are restored; the rest
    /// waits for a grace period (`drop`), which tunnels released together
    /// share.  Process context.
    pub(crate) fn release(&mut self) {
        if self.released.is_some() {
            return;
        }
        let core = &self.conn.core;
        let sk = core.sock.sk();
        // SAFETY: the socket is live; `attached` changes with it locked,
        // so no token outlives it (and nothing is half sent by one once
        // it is given back).
        unsafe {
            bindings::ovpn_compat_lock_sock(sk);
            core.attached.store(false, Ordering::Relaxed);
            bindings::release_sock(sk);
        }
        // SAFETY: attached by us (invariant) with `OPS`; restores what is
        // still ours and waits for the parser's work.
        unsafe { bindings::ovpn_compat_tcp_detach(sk, core.strp.get(), core.saved.get(), &OPS.0) };
        self.released = Some(GpCookie::now());
    }
}

impl<T: TcpUser> Drop for TcpTunnel<T> {
    fn drop(&mut self) {
        self.release();
        // Callbacks and senders that found the socket attached (all with
        // BHs disabled) end within a grace period after the release.
        if let Some(c) = self.released {
            c.wait();
        }
        let conn = &*self.conn;
        let sk = conn.core.sock.sk();
        // SAFETY: the socket is live and `saved` was set by the attach;
        // no sender of ours is left to need atomic allocations.
        unsafe { bindings::ovpn_compat_tcp_restore_alloc(sk, conn.core.saved.get()) };
        // SAFETY: the socket is live.  Detached, no token can be made any
        // more, and the last one ended before the lock is ours.
        unsafe { bindings::ovpn_compat_lock_sock(sk) };
        // SAFETY: no token exists (above), so nobody else reaches `locked`.
        let state = unsafe { &mut *conn.locked.get() };
        T::given_back(conn, state);
        *state = T::Locked::default();
        // SAFETY: locked above.
        unsafe { bindings::release_sock(sk) };
        // SAFETY: the user data's reference (invariant), no longer
        // reachable by anyone after the grace period.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(&self.conn)) });
    }
}
