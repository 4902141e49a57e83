# SPDX-License-Identifier: GPL-2.0
"""Another process's socket, taken with pidfd_getfd(2) as any process
sharing the descriptor could use it (the scenarios' hostile holders)."""
import ctypes
import os
import socket
import sys

SYS_PIDFD_GETFD = 438
libc = ctypes.CDLL(None, use_errno=True)


def stolen_socket(pid, wanted, what):
    """The first socket of process PID for which WANTED(sock) is true;
    exits naming WHAT when there is none."""
    pidfd = os.pidfd_open(pid)
    for name in os.listdir(f"/proc/{pid}/fd"):
        if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
            continue
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
        if fd < 0:
            continue
        s = socket.socket(fileno=fd)
        if wanted(s):
            return s
        s.detach()
        os.close(fd)
    sys.exit(f"no {what} in process {pid}")


def connected_tcp(s):
    """Whether S is a connected TCP socket."""
    if s.type != socket.SOCK_STREAM or s.proto not in (0, socket.IPPROTO_TCP):
        return False
    try:
        s.getpeername()
        return True
    except OSError:
        return False


def stolen_tcp_socket(pid):
    """The connected TCP socket of process PID (a CLI holding a peer)."""
    return stolen_socket(pid, connected_tcp, "connected TCP socket")
