#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Large control frames written by userspace on a TCP peer's socket.

    tcp-big-frames.py write PID N SIZE
    tcp-big-frames.py check FILE N SIZE

write: takes the connected TCP socket of process PID (the CLI holding the
peer) with pidfd_getfd and writes N control frames of SIZE bytes each
(length prefix included), as OpenVPN writes its control channel; each
frame carries its index and a pattern derived from it.

check: FILE is the other side's holder output ("ctl <hex>" per chunk its
userspace read); exits 0 when the chunks put together are whole frames
of this writer, each intact and in order, ending at a frame boundary
(frames may be missing: the module drops what its userspace leaves
unread beyond the socket's receive buffer), and says what is wrong
otherwise.
"""
import sys
import time

from stolen import stolen_tcp_socket


def frame(i, size):
    body = bytes([0x20]) + i.to_bytes(4, "big")
    body += bytes((i + j) & 0xFF for j in range(size - 2 - len(body)))
    return (size - 2).to_bytes(2, "big") + body


def write(pid, n, size):
    s = stolen_tcp_socket(pid)
    s.setblocking(False)
    for i in range(n):
        f = frame(i, size)
        while True:
            try:
                sent = s.send(f)
                break
            except BlockingIOError:
                time.sleep(0.01)
        if sent != len(f):
            print(f"frame {i}: {sent} of {len(f)} bytes taken", flush=True)
            sys.exit(1)
    print(f"wrote {n} frames of {size} bytes", flush=True)
    s.detach()


def check(path, n, size):
    got = bytearray()
    with open(path) as f:
        for line in f:
            if line.startswith("ctl "):
                got += bytes.fromhex(line.split()[1])
    pos, last, seen = 0, -1, 0
    while pos < len(got):
        if pos + 7 > len(got):
            print(f"stream ends inside a frame header at byte {pos}", flush=True)
            return 1
        i = int.from_bytes(got[pos + 3:pos + 7], "big")
        if i <= last or i >= n or got[pos:pos + size] != frame(i, size):
            print(f"bad frame at byte {pos} (after frame {last}): "
                  f"{bytes(got[pos:pos + 16]).hex()}...", flush=True)
            return 1
        last, seen, pos = i, seen + 1, pos + size
    if seen == 0:
        print("no frame read", flush=True)
        return 1
    print(f"{seen} of {n} frames read, each intact and in order", flush=True)
    return 0


if sys.argv[1] == "write":
    write(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
else:
    sys.exit(check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
