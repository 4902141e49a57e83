#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""DATA_V2 frames far into the skb TCP delivers them in.

    tcp-far-frame.py KEYFILE PORT PEER_ID SRC DST GOFILE

Connects to 127.0.0.1:PORT, where a peer of the module listens, waits
for GOFILE (the key is installed), then for each case writes a 65535-byte
control frame followed by an authentic DATA_V2 frame (key direction 1 of
KEYFILE, AES-256-GCM, key id 1) holding an ICMP echo SRC -> DST, and
expects the echo reply back as a DATA_V2 frame on the same connection.

- "one write": both frames in one write.
- "pieces": the control frame's first 3 bytes, then the rest and the
  data frame in 4000-byte writes in a row.  After the first, the stream
  parser waits for the whole frame, so the segments stay in the receive
  queue, where TCP merges them into one skb: the data frame then starts
  more than 64 KiB into it (as the packet fuzzer's random writes did).
Exits 0 when every echo was answered.
"""
import importlib.util
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("wire", os.path.join(HERE, "ovpn-wire.py"))
wire = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wire)


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def reply(s, dec, seq, deadline):
    """The next DATA_V2 frame's inner packet, or None at the deadline."""
    while time.monotonic() < deadline:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            n = struct.unpack(">H", read_exact(s, 2))[0]
            pkt = read_exact(s, n)
        except socket.timeout:
            return None
        if pkt[0] >> 3 != 9:
            continue
        inner = wire.open_packet(dec, pkt)
        if inner[0] >> 4 != 4:
            continue
        ihl = (inner[0] & 0xF) * 4
        typ, ident, got = inner[ihl], *struct.unpack(">HH", inner[ihl + 4:ihl + 8])
        if typ == 0 and got == seq:
            return inner
    return None


def main():
    keyfile, port, peer, src, dst, go = sys.argv[1:7]
    enc, dec = wire.load_keys(keyfile, 1, "aes", 256)
    s = socket.create_connection(("127.0.0.1", int(port)))
    while not os.path.exists(go):
        time.sleep(0.1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    size = 65535
    ctl = struct.pack(">H", size) + bytes([4 << 3]) + bytes(size - 1)
    bad = 0
    for seq, case in enumerate(["one write", "pieces"], start=1):
        data = wire.seal(enc, 1, int(peer), seq, wire.icmp_echo(src, dst, 7, seq))
        stream = ctl + struct.pack(">H", len(data)) + data
        if case == "one write":
            s.sendall(stream)
        else:
            s.sendall(stream[:3])
            time.sleep(0.5)
            for a in range(3, len(stream), 4000):
                s.sendall(stream[a:a + 4000])
        got = reply(s, dec, seq, time.monotonic() + 10)
        print("%s: echo %s" % (case, "answered" if got else "NOT answered"))
        bad += got is None
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
