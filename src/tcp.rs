// SPDX-License-Identifier: GPL-2.0

//! A peer's TCP connection: OpenVPN's length-prefixed frames.  Data frames
//! go to the receive path (`transport`); every other frame goes back to
//! userspace on the same socket, prefix included, as a byte stream.  What
//! the driver sends and what userspace writes go out whole, one frame
//! after the other, never interleaved.
//!
//! The driver's frames go out from the context that produced them
//! (transmit or crypto completion) when no process owns the socket; when
//! one does, they wait in a queue that the owner's release sends.  A
//! socket without room sends the rest from the connection's work once TCP
//! reports room again.

use crate::abstractions::netdev::NetDevice;
use crate::abstractions::skb::{SkBuff, SkbQueue};
use crate::abstractions::tcp::{
    Ended, Locked, ProcessLocked, RecvMsg, SendMsg, TcpConn, TcpTunnel, TcpUser, TryLock,
};
use crate::proto::tcp as framing;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::rcu;
use kernel::sync::Arc;

/// A peer's TCP connection.
pub(crate) type TcpSock = TcpConn<Stream>;

/// Frames waiting in one direction (to the socket, or to userspace) at
/// most; more are dropped.
const QUEUE_MAX: usize = 1024;

/// Frames from userspace (OpenVPN's control channel) waiting for the
/// socket at most; beyond that its writes get `EAGAIN`.
const CTL_QUEUE_MAX: usize = 64;

/// Times in a row the work requeues itself when TCP found no memory even
/// with sleeping allocations; after that, the next frame sent (a packet,
/// or at the latest a keepalive ping) retries.
const NOMEM_RETRIES: u32 = 8;

/// Why a connection ends, for the peer's removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpFailure {
    /// The stream does not hold OpenVPN frames.
    Framing,
    /// Sending failed.
    Send,
    /// The remote closed or reset the connection.
    Closed,
}

/// How far a push got.
enum Pushed {
    /// Everything queued went out.
    Done,
    /// The socket is full; its write-space callback resumes.
    Full,
    /// TCP could not allocate memory although the socket had room.
    NoMemory,
}

/// The frame being sent, and how many of its bytes went out: the state of
/// the socket's lock holder.
#[derive(Default)]
pub(crate) struct Partial {
    skb: Option<SkBuff>,
    sent: usize,
}

/// The OpenVPN side of a peer's TCP connection.
#[pin_data]
pub(crate) struct Stream {
    dev: ARef<NetDevice>,
    peer_id: u32,
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
    failed: AtomicBool,
    /// Set when the socket had no room for what is pending.
    blocked: AtomicBool,
    /// The work's requeues in a row for want of memory.
    nomem_retries: AtomicU32,
}

impl Stream {
    /// Takes `sock` over for peer `peer_id` of `dev`.
    pub(crate) fn take_over(
        sock: crate::abstractions::socket::SockRef,
        dev: ARef<NetDevice>,
        peer_id: u32,
    ) -> Result<TcpTunnel<Stream>> {
        TcpTunnel::new(
            sock,
            try_pin_init!(Stream {
                dev,
                peer_id,
                user_q <- SkbQueue::new(),
                user_bytes: AtomicUsize::new(0),
                tx_q <- SkbQueue::new(),
                ctl_q <- SkbQueue::new(),
                failed: AtomicBool::new(false),
                blocked: AtomicBool::new(false),
                nomem_retries: AtomicU32::new(0),
            }? Error),
        )
    }

    /// The device the connection serves.
    pub(crate) fn dev(&self) -> &NetDevice {
        &self.dev
    }

    /// The id of the peer the connection carries.
    pub(crate) fn peer_id(&self) -> u32 {
        self.peer_id
    }

    fn has_queued(&self) -> bool {
        !self.ctl_q.is_empty() || !self.tx_q.is_empty()
    }
}

/// Reports the end of the connection to the driver, once.
fn fail(conn: &TcpSock, why: TcpFailure) {
    if !conn.user().failed.swap(true, Ordering::Relaxed) {
        crate::transport::tcp_failed(conn, why);
    }
}

/// Sends `skb` (an OpenVPN packet) as one frame on `conn`: now if no
/// process owns the socket, else when its owner releases it.  Callable
/// with BHs disabled.
pub(crate) fn send(conn: &TcpSock, mut skb: SkBuff) -> Result {
    let s = conn.user();
    if s.tx_q.len() >= QUEUE_MAX {
        return Err(crate::abstractions::enobufs());
    }
    let prefix = framing::prefix(skb.len()).ok_or(EMSGSIZE)?;
    skb.push(framing::PREFIX_LEN)?.copy_from_slice(&prefix);
    s.tx_q.push(skb);
    match conn.try_lock_unowned() {
        TryLock::Locked(mut l) => {
            let r = push(conn, &mut l);
            drop(l);
            after_atomic_push(conn, r);
            Ok(())
        }
        // The owner's release sends it (`released`).
        TryLock::Owned => Ok(()),
        TryLock::Nested => {
            conn.queue_work();
            Ok(())
        }
        // The queue goes with the socket.
        TryLock::GivenBack => Err(crate::abstractions::enotconn()),
    }
}

/// Deals with the outcome of a push from atomic context.
fn after_atomic_push(conn: &TcpSock, r: Result<Pushed>) {
    match r {
        Err(_) => fail(conn, TcpFailure::Send),
        Ok(pushed) => kick_if_no_memory(conn, &pushed),
    }
}

/// Hands a push that ran out of memory to the work, which retries allowed
/// to sleep: nothing else would resume it (no write-space callback comes
/// for a socket with room).
fn kick_if_no_memory(conn: &TcpSock, pushed: &Pushed) {
    if matches!(pushed, Pushed::NoMemory) {
        conn.queue_work();
    }
}

/// Sends the partly sent frame, then the queued ones, until the socket has
/// no more room (the write-space callback resumes then) or memory ran out.
fn push(conn: &TcpSock, l: &mut Locked<'_, Stream>) -> Result<Pushed> {
    let s = conn.user();
    s.blocked.store(false, Ordering::Relaxed);
    loop {
        let part = l.state();
        if part.skb.is_none() {
            let Some(next) = s.ctl_q.pop().or_else(|| s.tx_q.pop()) else {
                return Ok(Pushed::Done);
            };
            *part = Partial {
                skb: Some(next),
                sent: 0,
            };
        }
        let Some(skb) = part.skb.take() else {
            return Ok(Pushed::Done);
        };
        let sent = part.sent;
        let left = skb.len() - sent;
        // Another frame waiting: TCP may hold this one back to fill a
        // segment (the last frame of the batch pushes them all).
        let r = l.send(&skb, sent, left, s.has_queued());
        let part = l.state();
        match r {
            Ok(0) => {
                part.skb = Some(skb);
                // No room: the write-space callback resumes.  With room,
                // TCP ran out of memory, and no callback will come.
                s.blocked.store(true, Ordering::Relaxed);
                return Ok(if l.has_room() {
                    Pushed::NoMemory
                } else {
                    Pushed::Full
                });
            }
            Ok(n) if sent + n < skb.len() => {
                part.skb = Some(skb);
                part.sent = sent + n;
            }
            Ok(_) => skb.consume(),
            Err(e) => return Err(e),
        }
    }
}

/// Hands a frame (its prefix just pulled) to userspace.
fn to_user(conn: &TcpSock, mut skb: SkBuff) {
    let s = conn.user();
    skb.unpull(framing::PREFIX_LEN);
    let len = skb.len();
    let queued = s.user_bytes.load(Ordering::Relaxed);
    // One frame always fits, so that a large one is not stuck.
    if s.user_q.len() >= QUEUE_MAX || (queued > 0 && queued + len > conn.rcvbuf()) {
        return;
    }
    s.user_bytes.fetch_add(len, Ordering::Relaxed);
    s.user_q.push(skb);
    conn.wake_readers();
}

/// Queues `len` bytes of `msg` from userspace as one frame and sends what
/// the socket takes.
fn user_frame(
    conn: &TcpSock,
    l: &mut ProcessLocked<'_, Stream>,
    msg: &mut SendMsg<'_>,
    len: usize,
) -> Result<usize> {
    let skb = l.skb_from(msg, len)?;
    conn.user().ctl_q.push(skb);
    match push(conn, l) {
        Err(e) => {
            // The connection is broken for the driver's frames too.
            fail(conn, TcpFailure::Send);
            Err(e)
        }
        Ok(pushed) => {
            // The frame is queued: taken, even if it waits for the work.
            kick_if_no_memory(conn, &pushed);
            Ok(len)
        }
    }
}

impl TcpUser for Stream {
    type Locked = Partial;

    const HEADER_LEN: usize = framing::PREFIX_LEN;

    fn msg_len(head: &[u8]) -> Result<usize> {
        framing::parse(head)
            .map(|f| f.total_len())
            .map_err(|_| EINVAL)
    }

    fn recv(conn: &TcpSock, mut skb: SkBuff) {
        if !skb.may_pull(framing::PREFIX_LEN) || skb.pull(framing::PREFIX_LEN).is_err() {
            // Out of memory for this frame; the stream goes on.
            return;
        }
        if let Some(skb) = crate::transport::tcp_recv(conn, skb) {
            to_user(conn, skb);
        }
    }

    fn write_space(conn: &TcpSock) {
        let s = conn.user();
        // What did not fit may go now.
        if s.has_queued() || s.blocked.load(Ordering::Relaxed) {
            conn.queue_work();
        }
    }

    fn ended(conn: &TcpSock, why: Ended) {
        let why = match why {
            Ended::Closed => TcpFailure::Closed,
            Ended::Framing => TcpFailure::Framing,
        };
        fail(conn, why);
    }

    fn closing(conn: &Arc<TcpSock>) {
        crate::transport::tcp_closing(conn);
    }

    /// Userspace reads what the driver handed to it, as a byte stream.
    /// Reads never block (`EAGAIN` when nothing waits: userspace polls);
    /// `MSG_PEEK` is refused.
    fn recvmsg(
        conn: &TcpSock,
        l: &mut ProcessLocked<'_, Stream>,
        msg: &mut RecvMsg<'_>,
        len: usize,
        peek: bool,
    ) -> Result<usize> {
        if peek {
            return Err(crate::abstractions::eopnotsupp());
        }
        let s = conn.user();
        let mut copied = 0usize;
        let mut err = None;
        while copied < len {
            let Some(mut skb) = s.user_q.pop() else {
                break;
            };
            let n = skb.len().min(len - copied);
            if let Err(e) = msg.copy_from(&skb, 0, n) {
                err = Some(e);
                s.user_q.push_front(skb);
                break;
            }
            copied += n;
            if n < skb.len() {
                // The rest is for the next read.
                let rest = skb.len() - n;
                if skb.window(n, rest).is_ok() {
                    s.user_bytes.fetch_sub(n, Ordering::Relaxed);
                    s.user_q.push_front(skb);
                } else {
                    s.user_bytes.fetch_sub(n + rest, Ordering::Relaxed);
                }
                break;
            }
            s.user_bytes.fetch_sub(n, Ordering::Relaxed);
            skb.consume();
        }
        if copied > 0 {
            return Ok(copied);
        }
        if let Some(e) = err {
            return Err(e);
        }
        l.take_error()?;
        if l.rcv_shutdown() {
            Ok(0)
        } else {
            Err(EAGAIN)
        }
    }

    /// Userspace writes whole frames, which go out between the driver's,
    /// never inside one.  A write is taken whole (its byte count returned)
    /// even while a frame of the driver's is half sent: it waits in
    /// `ctl_q` and goes next.  `EAGAIN` only when `CTL_QUEUE_MAX` frames
    /// wait already.  (OpenVPN drops a control packet whose write fails
    /// with `EAGAIN`, and its socket polls writable while TCP has room, so
    /// refusing writes here would cost it retransmissions.)
    fn sendmsg(
        conn: &TcpSock,
        l: &mut ProcessLocked<'_, Stream>,
        msg: &mut SendMsg<'_>,
        len: usize,
    ) -> Result<usize> {
        if len > framing::PREFIX_LEN + framing::MAX_PACKET_LEN {
            return Err(EMSGSIZE);
        }
        if len == 0 {
            // Nothing to send, as for TCP; an empty frame in the queue
            // would stall the stream behind it.
            return Ok(0);
        }
        if conn.user().ctl_q.len() >= CTL_QUEUE_MAX {
            return Err(EAGAIN);
        }
        // The caller's process context: allocations may sleep.
        l.sleeping(|l| user_frame(conn, l, msg, len))
    }

    fn readable(conn: &TcpSock) -> bool {
        !conn.user().user_q.is_empty()
    }

    fn released(conn: &TcpSock, l: &mut Locked<'_, Stream>) {
        let r = push(conn, l);
        after_atomic_push(conn, r);
    }

    fn work(conn: &Arc<TcpSock>) {
        let s = conn.user();
        let r = match conn.lock() {
            // Process context: TCP may sleep for memory here, so that a
            // send that failed for want of atomic memory goes through.
            Some(mut l) => l.sleeping(|l| push(conn, l)),
            None => return,
        };
        match r {
            Err(_) => fail(conn, TcpFailure::Send),
            Ok(Pushed::NoMemory) => {
                if s.nomem_retries.fetch_add(1, Ordering::Relaxed) < NOMEM_RETRIES {
                    conn.queue_work();
                }
            }
            Ok(_) => s.nomem_retries.store(0, Ordering::Relaxed),
        }
    }

    fn given_back(conn: &TcpSock, state: &mut Partial) {
        let s = conn.user();
        state.skb = None;
        s.ctl_q.purge();
        s.tx_q.purge();
        s.user_q.purge();
    }
}

/// Whether `skb` is a segment of a TCP connection that carries a tunnel of
/// `dev` (its outer packet): sent into `dev` it would loop, on the lock
/// it is being sent under.  (A tunnel of another device may run inside
/// `dev`'s: nested tunnels.)
pub(crate) fn is_own_outer_segment(skb: &SkBuff, dev: &NetDevice) -> bool {
    let g = rcu::read_lock();
    TcpSock::of_skb(skb, &g).is_some_and(|c| core::ptr::eq(c.user().dev(), dev))
}
