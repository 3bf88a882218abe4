#!/usr/bin/env python3
"""A minimal publisher for the KEYS tests (docs/pam.md): TLS 1.3 with ALPN
b0/1 to the edge, HELLO with the token in --token-file, then print every
frame the edge sends as "TYPE payload" lines (hex type) on stdout; HELLO
says "keys":true unless --no-keys.  After
the first KEYS it sends the payload of --send (default "{}") as a KEYS
frame, once; it stops after --frames frames or when the edge closes.
"""
import argparse
import json
import socket
import ssl
import struct
import sys


def frame(t, payload):
    return bytes([t]) + struct.pack(">I", len(payload))[1:] + payload


def read_frame(s):
    hdr = b""
    while len(hdr) < 4:
        b = s.recv(4 - len(hdr))
        if not b:
            return None, None
        hdr += b
    n = int.from_bytes(hdr[1:], "big")
    p = b""
    while len(p) < n:
        b = s.recv(n - len(p))
        if not b:
            return None, None
        p += b
    return hdr[0], p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--send", default="{}")
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--no-keys", action="store_true",
                    help='an older publisher: no "keys":true in HELLO')
    a = ap.parse_args()
    host, port = a.connect.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["b0/1"])
    raw = socket.create_connection((host, int(port)), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=a.name)
    token = open(a.token_file).read().strip()
    hello = {"v": 1, "token": token, "instance": "0123456789abcdef0123456789abcdef",
             "agent": "keysclient"}
    if not a.no_keys:
        hello["keys"] = True
    s.sendall(frame(0x01, json.dumps(hello).encode()))
    sent = False
    for _ in range(a.frames):
        t, p = read_frame(s)
        if t is None:
            print("EOF")
            break
        if t == 0x02:
            p = b"{}"  # WELCOME holds the session key: not printed
        print("%02x %s" % (t, p.decode()), flush=True)
        if t == 0x05 and not sent:
            s.sendall(frame(0x05, a.send.encode()))
            sent = True


main()
