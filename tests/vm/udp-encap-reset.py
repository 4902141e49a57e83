#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A hostile holder of a UDP peer's socket resets its encapsulation.

    udp-encap-reset.py PID

Takes the UDP socket of process PID (the CLI holding the peers) with
pidfd_getfd, as any process sharing the descriptor could, and sets
UDP_ENCAP to 0: the socket stops handing packets to the module, and its
close no longer calls the module's encap_destroy.  Prints "encap reset"
and exits 0 when setsockopt succeeded.
"""
import ctypes
import os
import socket
import sys

SYS_PIDFD_GETFD = 438
SOL_UDP = 17
UDP_ENCAP = 100
libc = ctypes.CDLL(None, use_errno=True)


def stolen_udp_socket(pid):
    pidfd = os.pidfd_open(pid)
    for name in os.listdir(f"/proc/{pid}/fd"):
        if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
            continue
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
        if fd < 0:
            continue
        s = socket.socket(fileno=fd)
        if s.type == socket.SOCK_DGRAM and s.family in (socket.AF_INET, socket.AF_INET6):
            return s
        s.detach()
        os.close(fd)
    sys.exit(f"no UDP socket in process {pid}")


s = stolen_udp_socket(int(sys.argv[1]))
s.setsockopt(SOL_UDP, UDP_ENCAP, 0)
print("encap reset")
