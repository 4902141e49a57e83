#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends UDP datagrams for the data-path scenarios.

  udp-send.py replay PCAP DST PORT [--flip]
      re-sends the UDP payload of the first packet in PCAP (a tcpdump
      capture on an Ethernet veth); --flip changes its last byte (inside
      the ciphertext) first.
  udp-send.py raw HEX DST PORT
      sends the payload given as hex.
  udp-send.py flood HEX DST PORT COUNT SIZE
      sends COUNT datagrams of SIZE bytes as fast as it can: the hex
      prefix, then random bytes (a new packet id in each); prints
      "sent N".
"""
import os
import socket
import struct
import sys


def first_udp_payload(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    if linktype == 1:  # Ethernet
        pkt = pkt[14:]
    elif linktype == 113:  # Linux cooked capture
        pkt = pkt[16:]
    version = pkt[0] >> 4
    if version == 4:
        ihl = (pkt[0] & 0xF) * 4
        udp = pkt[ihl:]
    else:
        udp = pkt[40:]
    return udp[8:]


def send(payload, dst, port):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.sendto(payload, (dst, port))


def main():
    mode = sys.argv[1]
    if mode == "replay":
        payload = bytearray(first_udp_payload(sys.argv[2]))
        if "--flip" in sys.argv:
            payload[-1] ^= 0x5A
        send(bytes(payload), sys.argv[3], int(sys.argv[4]))
    elif mode == "raw":
        send(bytes.fromhex(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif mode == "flood":
        prefix = bytes.fromhex(sys.argv[2])
        dst, port, count, size = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        family = socket.AF_INET6 if ":" in dst else socket.AF_INET
        body = os.urandom(size)
        sent = 0
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            for i in range(count):
                pid = struct.pack(">I", i + 1)
                try:
                    s.sendto(prefix + pid + body[len(prefix) + 4:], (dst, port))
                    sent += 1
                except OSError:
                    pass
        print(f"sent {sent}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
