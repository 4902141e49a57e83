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
import socket
import sys

from stolen import stolen_socket

SOL_UDP = 17
UDP_ENCAP = 100


def inet_udp(s):
    return s.type == socket.SOCK_DGRAM and s.family in (socket.AF_INET, socket.AF_INET6)


s = stolen_socket(int(sys.argv[1]), inet_udp, "UDP socket")
s.setsockopt(SOL_UDP, UDP_ENCAP, 0)
print("encap reset")
