// SPDX-License-Identifier: GPL-2.0

//! The holder: the background process that keeps the socket of
//! `new_peer` or `new_multi_peer` (without `--hold`) open once the command
//! has returned, until every peer added with it is gone.
//!
//! The kernel does not keep the socket passed in `NEW_PEER` open: when
//! userspace closes its last descriptor of it, the peers using it are
//! deleted.  So, once the kernel has accepted the peers, the command forks
//! a child, [`HOLDER_NAME`], which detaches from the caller (new session,
//! standard streams on `/dev/null`, no other descriptor than the socket
//! and its netlink socket) and waits for the `OVPN_CMD_DEL_PEER`
//! notification of each of its peers on a socket that joined the `peers`
//! group before the first `NEW_PEER` was sent, so that none is missed.
//! When a receive fails (`ENOBUFS`: notifications were lost) or nothing
//! came for [`POLL_INTERVAL`], it asks the kernel with `OVPN_CMD_GET_PEER`
//! instead.  It exits when no peer is left, or on an error it cannot
//! handle.

use std::{
    collections::BTreeSet,
    ffi::CStr,
    io::Write,
    os::fd::{AsRawFd, BorrowedFd, RawFd},
    time::Duration,
};

use ovpn_dco_proto::uapi;

use crate::{
    error::{Error, Result},
    genl::{self, Family, Ovpn, OvpnMsg},
    nl::NlConn,
    reply::{Notification, PeerInfo},
    tcp,
};

/// The holder's process name (`comm`, as `ps` and `pgrep -x` show it).
pub const HOLDER_NAME: &CStr = c"ovpn-cli-hold";

/// How long the holder waits for a notification before it asks the
/// kernel whether its peers still exist: a safety net only (a test guest
/// may run a hundred holders), the notifications are the way to learn.
pub const POLL_INTERVAL: Duration = Duration::from_secs(60);

/// The pause between checks while receiving keeps failing.
const FAILURE_PAUSE: Duration = Duration::from_secs(2);

/// The peers a holder keeps the socket for, as (ifindex, peer id) pairs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pending(BTreeSet<(u32, u32)>);

impl Pending {
    /// Adds peer `peer_id` of device `ifindex`.
    pub fn add(&mut self, ifindex: u32, peer_id: u32) {
        self.0.insert((ifindex, peer_id));
    }

    /// Removes peer `peer_id` of device `ifindex`; returns whether it was
    /// pending.
    pub fn remove(&mut self, ifindex: u32, peer_id: u32) -> bool {
        self.0.remove(&(ifindex, peer_id))
    }

    /// Removes the peer a `DEL_PEER` notification reports deleted;
    /// returns whether it was pending.  Other notifications, and those of
    /// other devices or peers, change nothing.
    pub fn note(&mut self, n: &Notification) -> bool {
        match n {
            Notification::DelPeer {
                ifindex: Some(ifindex),
                peer_id: Some(peer_id),
                ..
            } => self.remove(*ifindex, *peer_id),
            _ => false,
        }
    }

    /// Whether no peer is left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pending peers, in (ifindex, peer id) order.
    pub fn peers(&self) -> Vec<(u32, u32)> {
        self.0.iter().copied().collect()
    }
}

/// The holder being set up: the `peers` group listener and the peers the
/// kernel accepted so far.
pub struct Holder {
    /// The socket joined to the family's `peers` multicast group.
    listener: NlConn,
    /// The family, resolved once: the holder's `GET_PEER` requests use its
    /// id rather than a new lookup, which could autoload the module again.
    family: Family,
    /// The peers added and not reported deleted.
    pending: Pending,
    /// Whether to ask the kernel which pending peers still exist: a
    /// receive failed, or no notification came for a while.
    check: bool,
}

impl Holder {
    /// Joins the `peers` group.  Call it before sending the first
    /// `NEW_PEER`, so that no deletion of the peers can be missed.
    pub fn join() -> Result<Self> {
        let (listener, family) =
            Ovpn::connect()?.into_listener(uapi::OVPN_NL_MULTICAST_GROUP_PEERS)?;
        Ok(Holder {
            listener,
            family,
            pending: Pending::default(),
            check: false,
        })
    }

    /// Records that the kernel accepted peer `peer_id` on device
    /// `ifindex`.  The notifications queued so far are handled first: the
    /// kernel sends that of a peer the new one replaced (same id) before
    /// it acknowledges `NEW_PEER`, and it must not count for the new one.
    pub fn added(&mut self, ifindex: u32, peer_id: u32) {
        self.drain();
        self.pending.add(ifindex, peer_id);
    }

    /// Forks the holder, which keeps `sock` open until every pending peer
    /// is gone, and returns in the parent.  `lport` is the socket's local
    /// port: a peer the kernel reports on another port is not one of ours.
    /// With no peer to hold, nothing is forked.
    pub fn spawn(self, sock: BorrowedFd<'_>, lport: Option<u16>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let keep = [sock.as_raw_fd(), self.listener.as_raw_fd()];
        fork_holder(&keep, move || self.run(lport))
    }

    /// Handles the notifications already queued, without waiting.  One
    /// failed receive (`ENOBUFS`) does not stop it, as more may be queued
    /// behind it; two in a row do.
    fn drain(&mut self) {
        let fd = self.listener.as_raw_fd();
        let mut failed = false;
        while tcp::poll_fd(fd, libc::POLLIN, Some(Duration::ZERO)).is_ok_and(|ev| ev != 0) {
            if self.receive() {
                failed = false;
            } else if failed {
                return;
            } else {
                failed = true;
            }
        }
    }

    /// Receives one datagram of notifications and removes the peers they
    /// report deleted.  A failure (`ENOBUFS` after an overrun, or any
    /// other) sets [`Holder::check`]; returns whether the receive worked.
    fn receive(&mut self) -> bool {
        match self.listener.recv_messages::<OvpnMsg>(self.family.id) {
            Ok(msgs) => {
                for msg in &msgs {
                    if let Ok(n) = Notification::from_msg(msg) {
                        self.pending.note(&n);
                    }
                }
                true
            }
            Err(_) => {
                self.check = true;
                false
            }
        }
    }

    /// The holder's loop, in the child: returns its exit status once no
    /// peer is left (0) or on an error it cannot handle (1).
    fn run(mut self, lport: Option<u16>) -> i32 {
        let fd = self.listener.as_raw_fd();
        let mut failures = 0u32;
        loop {
            if self.check {
                if self.resync(lport).is_err() {
                    return 1;
                }
                self.check = false;
            }
            if self.pending.is_empty() {
                return 0;
            }
            match tcp::poll_fd(fd, libc::POLLIN, Some(POLL_INTERVAL)) {
                Ok(0) => self.check = true,
                Ok(_) => {
                    if self.receive() {
                        failures = 0;
                        continue;
                    }
                    failures += 1;
                    // A socket that keeps failing: poll the kernel every
                    // few seconds rather than spin.
                    if failures > 1 {
                        std::thread::sleep(FAILURE_PAUSE);
                    }
                }
                Err(_) => return 1,
            }
        }
    }

    /// Asks the kernel about every pending peer (`GET_PEER`) and removes
    /// those it no longer has.  An error other than the peer's or the
    /// device's absence is returned.
    fn resync(&mut self, lport: Option<u16>) -> Result<()> {
        let ovpn = Ovpn::with_family(self.family.clone())?;
        for (ifindex, peer_id) in self.pending.peers() {
            if !peer_exists(&ovpn, ifindex, peer_id, lport)? {
                self.pending.remove(ifindex, peer_id);
            }
        }
        Ok(())
    }
}

/// Whether device `ifindex` has peer `peer_id` on our socket (local port
/// `lport`).  `ENOENT` (no such peer, or the family itself is gone) and
/// `ENODEV` (no such device) mean it has not.
fn peer_exists(ovpn: &Ovpn, ifindex: u32, peer_id: u32, lport: Option<u16>) -> Result<bool> {
    match ovpn.execute(&genl::get_peer(ifindex, Some(peer_id))?) {
        Ok(replies) => {
            for msg in &replies {
                if let Some(peer) = PeerInfo::from_msg(msg)? {
                    return Ok(on_socket(&peer, lport));
                }
            }
            Ok(true)
        }
        Err(Error::Netlink { errno, .. }) if errno == libc::ENOENT || errno == libc::ENODEV => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Whether `peer` can use our socket, of local port `lport`: false only
/// when both ports are known and differ (another socket's peer took the
/// id).
fn on_socket(peer: &PeerInfo, lport: Option<u16>) -> bool {
    match (peer.local_port, lport) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => true,
    }
}

/// Forks; the child detaches, keeping only the descriptors `keep`, runs
/// `body` and exits with its status.  Returns in the parent.
fn fork_holder(keep: &[RawFd], body: impl FnOnce() -> i32) -> Result<()> {
    check_single_threaded()?;
    // Nothing buffered may be written twice.
    let _ = std::io::stdout().flush();
    // SAFETY: fork(2) takes no pointers.  The process has one thread
    // (checked above), so no lock or buffer is left half-updated in the
    // child by another thread.
    match unsafe { libc::fork() } {
        -1 => Err(Error::other(format!(
            "fork: {}",
            std::io::Error::last_os_error()
        ))),
        0 => {
            detach(keep);
            let status = body();
            // SAFETY: _exit(2) takes no pointers.  It skips the parent's
            // destructors and the flushing of stdio, which go to
            // /dev/null now.
            unsafe { libc::_exit(status) }
        }
        _ => Ok(()),
    }
}

/// Fails unless the process has a single thread (`/proc/self/task`), as
/// forking one that has more leaves the child with the other threads'
/// locks held.  Without `/proc`, assumes so.
fn check_single_threaded() -> Result<()> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Ok(());
    };
    match tasks.count() {
        0 | 1 => Ok(()),
        n => Err(Error::other(format!(
            "holder: the process has {n} threads, cannot fork"
        ))),
    }
}

/// Turns the child into a daemon: a new session, the working directory
/// `/`, stdin, stdout and stderr on `/dev/null` (a caller reading the
/// command's output through a pipe must see it end when the command
/// exits), every descriptor but `keep` closed, and [`HOLDER_NAME`] as its
/// name.  Nothing can be reported from here: failures are ignored.
fn detach(keep: &[RawFd]) {
    // SAFETY: setsid(2) takes no pointers; it fails only for a process
    // group leader, which a child just forked is not.
    unsafe { libc::setsid() };
    // SAFETY: the path is a NUL-terminated string literal.
    unsafe { libc::chdir(c"/".as_ptr()) };
    redirect_stdio(keep);
    close_others(keep);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string (truncated to 16
    // bytes) at the pointer, a string literal.
    unsafe { libc::prctl(libc::PR_SET_NAME, HOLDER_NAME.as_ptr()) };
}

/// Points descriptors 0, 1 and 2 to `/dev/null` (closes them if it cannot
/// be opened), except those in `keep`.
fn redirect_stdio(keep: &[RawFd]) {
    // SAFETY: the path is a NUL-terminated string literal.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    for fd in 0..3 {
        if keep.contains(&fd) || fd == null {
            continue;
        }
        if null >= 0 {
            // SAFETY: dup2(2) takes no pointers.
            unsafe { libc::dup2(null, fd) };
        } else {
            // SAFETY: close(2) takes no pointers; nothing in the child
            // uses descriptor `fd` afterwards but through /dev/null.
            unsafe { libc::close(fd) };
        }
    }
    // A `null` above 2 is closed with every other descriptor.
}

/// The ranges (first, last) of descriptors from 3 up that are not in
/// `keep`.
fn gaps(keep: &[RawFd]) -> Vec<(u32, u32)> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd >= 3)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut out = Vec::new();
    let mut first = 3;
    for k in keep {
        if k > first {
            out.push((first, k - 1));
        }
        first = k + 1;
    }
    out.push((first, u32::MAX));
    out
}

/// Closes every descriptor from 3 up but those in `keep`:
/// `close_range(2)`, or one by one from `/proc/self/fd` on kernels
/// without it.
fn close_others(keep: &[RawFd]) {
    for (first, last) in gaps(keep) {
        // SAFETY: close_range(2) takes no pointers; the descriptors it
        // closes are not used in the child afterwards.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                libc::c_long::from(first),
                libc::c_long::from(last),
                0 as libc::c_long,
            )
        };
        if rc < 0 {
            close_listed(keep);
            return;
        }
    }
}

/// Closes the descriptors from 3 up listed in `/proc/self/fd` but those
/// in `keep`.
fn close_listed(keep: &[RawFd]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The directory's own descriptor is listed too, and already closed.
    for fd in fds.into_iter().filter(|fd| *fd >= 3 && !keep.contains(fd)) {
        // SAFETY: close(2) takes no pointers; the descriptor is not used
        // in the child afterwards.
        unsafe { libc::close(fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(ifindex: u32, peer_id: u32) -> Notification {
        Notification::DelPeer {
            ifindex: Some(ifindex),
            peer_id: Some(peer_id),
            reason: Some(uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT),
        }
    }

    /// Only the deletions of the pending (ifindex, peer id) pairs count.
    #[test]
    fn notifications_remove_their_peer_only() {
        let mut p = Pending::default();
        p.add(4, 1);
        p.add(4, 2);
        p.add(5, 1);
        assert!(!p.note(&del(6, 1)), "another device");
        assert!(!p.note(&del(4, 3)), "another peer");
        assert!(!p.note(&Notification::Other {
            cmd: 9,
            ifindex: Some(4)
        }));
        let partial = Notification::DelPeer {
            ifindex: None,
            peer_id: Some(1),
            reason: None,
        };
        assert!(!p.note(&partial), "no ifindex");
        assert_eq!(p.peers(), vec![(4, 1), (4, 2), (5, 1)]);
        assert!(p.note(&del(4, 1)));
        assert!(!p.note(&del(4, 1)), "already gone");
        assert!(p.note(&del(5, 1)));
        assert!(!p.is_empty());
        assert!(p.remove(4, 2));
        assert!(p.is_empty());
    }

    /// A peer replaced by one with the same id: the replaced one's
    /// deletion, handled before the new one is added, leaves it pending.
    #[test]
    fn replaced_peer_id_stays_pending() {
        let mut p = Pending::default();
        p.add(4, 1);
        p.note(&del(4, 1));
        p.add(4, 1);
        assert_eq!(p.peers(), vec![(4, 1)]);
    }

    #[test]
    fn peer_on_another_port_is_not_ours() {
        let peer = |port| PeerInfo {
            id: Some(1),
            local_port: port,
            ..PeerInfo::default()
        };
        assert!(on_socket(&peer(Some(1194)), Some(1194)));
        assert!(!on_socket(&peer(Some(1195)), Some(1194)));
        assert!(on_socket(&peer(None), Some(1194)));
        assert!(on_socket(&peer(Some(1195)), None));
    }

    #[test]
    fn descriptor_gaps() {
        assert_eq!(gaps(&[]), vec![(3, u32::MAX)]);
        assert_eq!(gaps(&[3]), vec![(4, u32::MAX)]);
        assert_eq!(gaps(&[7, 4, 1]), vec![(3, 3), (5, 6), (8, u32::MAX)]);
        assert_eq!(gaps(&[5, 6, 6]), vec![(3, 4), (7, u32::MAX)]);
        assert_eq!(gaps(&[-1, 0, 2]), vec![(3, u32::MAX)]);
        assert_eq!(
            gaps(&[RawFd::MAX]),
            vec![
                (3, RawFd::MAX as u32 - 1),
                (RawFd::MAX as u32 + 1, u32::MAX)
            ]
        );
    }
}
