#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What a hostile holder of a TCP peer's socket can try (review H1).

    tcp-fd-attack.py PID AFTER...
    tcp-fd-attack.py --empty-write PID

Takes the connected TCP socket of process PID (the CLI holding a peer)
with pidfd_getfd, as any process that shares the descriptor could use it,
and tries what would let the socket outlive the module's hooks: stacking
kTLS on it, resetting it with connect(AF_UNSPEC), making it a listener
and accepting a child from it.  Prints one line per attempt:
"ulp <errno>", "disconnect <errno>", "listen <errno>" (0: it worked).
Then runs the command AFTER (e.g. deleting the peer), and uses whatever
the attempts produced: data into an accepted child and reads from it, a
read and a write on the socket itself.  Exits 0 when every attempt was
refused as expected (ulp EBUSY, disconnect EBUSY, listen EINVAL).

--empty-write writes 0 bytes on the socket (review L1: such a write must
not leave an empty frame that the stream waits behind) and exits 0 when
it returned 0, as on any TCP socket.
"""
import ctypes
import errno
import os
import socket
import subprocess
import sys

from stolen import stolen_tcp_socket

TCP_ULP = 31
libc = ctypes.CDLL(None, use_errno=True)


def attempt(what, fn):
    try:
        fn()
        err = 0
    except OSError as e:
        err = e.errno
    print(f"{what} {err} ({errno.errorcode.get(err, 'ok')})", flush=True)
    return err


def disconnect(s):
    # connect() with an AF_UNSPEC address: the reset Python cannot spell.
    addr = (ctypes.c_ubyte * 16)()
    if libc.connect(s.fileno(), addr, 16) != 0:
        raise OSError(ctypes.get_errno(), "connect(AF_UNSPEC)")


def empty_write(pid):
    s = stolen_tcp_socket(pid)
    n = s.send(b"")
    print(f"empty-write returned {n}", flush=True)
    sys.exit(0 if n == 0 else 1)


def main():
    if sys.argv[1] == "--empty-write":
        empty_write(int(sys.argv[2]))
    pid = int(sys.argv[1])
    after = sys.argv[2:]
    s = stolen_tcp_socket(pid)
    local = s.getsockname()
    ulp = attempt("ulp", lambda: s.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls"))
    disc = attempt("disconnect", lambda: disconnect(s))
    lst = attempt("listen", lambda: s.listen(1))
    child = client = None
    if lst == 0:
        client = socket.socket(s.family, socket.SOCK_STREAM)
        client.settimeout(5)
        client.connect(local[:2] if s.family == socket.AF_INET else local)
        s.settimeout(5)
        child, _ = s.accept()
        print("accepted a child of the socket", flush=True)
    if after:
        subprocess.run(after, check=False)
    # Whatever the module left behind now meets traffic and syscalls.
    if child is not None:
        client.sendall(b"\0\x10" + b"x" * 16)
        child.settimeout(1)
        attempt("child-recv", lambda: child.recv(64))
    s.setblocking(False)
    attempt("recv", lambda: s.recv(64))
    ok = (ulp, disc, lst) == (errno.EBUSY, errno.EBUSY, errno.EINVAL)
    print("refused as expected" if ok else "NOT refused as expected", flush=True)
    s.detach()
    sys.exit(0 if ok else 1)


main()
