#!/usr/bin/env python3
"""A raw HTTPS client for the http socket tests: bytes exactly as given.

  rawtls.py --connect ADDR:PORT --name SNI --ca FILE [--data TEXT]
            [--idle SECONDS] [--ws N]

Sends TEXT (Python escapes: "\\r\\n") or, without --data, stdin, in one
write, then prints what comes back until the edge closes or nothing came
for --idle seconds (default 3).  With --ws N: a WebSocket handshake to
/ws (Host SNI), then N text messages and one binary message of 100000
bytes, each checked to come back as sent; prints "ws ok <bytes>" and the
101 head on success, exits 1 otherwise.
"""
import argparse
import base64
import hashlib
import os
import socket
import ssl
import sys
import time


def connect(a):
    host, port = a.connect.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    return ctx.wrap_socket(s, server_hostname=a.name)


def read_all(s, idle):
    out = b""
    s.settimeout(idle)
    while True:
        try:
            d = s.recv(65536)
        except (socket.timeout, TimeoutError):
            break
        except (ssl.SSLError, ConnectionError):
            break
        if not d:
            break
        out += d
    return out


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise ConnectionError("closed after %d of %d bytes" % (len(b), n))
        b += d
    return b


def ws_send(s, opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(head + mask + body)


def ws_recv(s):
    h = recv_exact(s, 2)
    n = h[1] & 0x7F
    if n == 126:
        n = int.from_bytes(recv_exact(s, 2), "big")
    elif n == 127:
        n = int.from_bytes(recv_exact(s, 8), "big")
    return h[0] & 0x0F, recv_exact(s, n)


def ws(a):
    s = connect(a)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (a.name, key)
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            sys.stderr.write("rawtls: closed during the handshake: %r\n" % head)
            return 1
        head += d
    want = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    ).decode()
    text = head.decode("latin-1")
    if not text.startswith("HTTP/1.1 101") or want not in text:
        sys.stderr.write("rawtls: no upgrade: %s\n" % text)
        return 1
    total = 0
    msgs = [(1, ("hello %d" % i).encode()) for i in range(a.ws)]
    msgs.append((2, os.urandom(100000)))
    for op, m in msgs:
        ws_send(s, op, m)
        rop, got = ws_recv(s)
        if rop != op or got != m:
            sys.stderr.write("rawtls: echo differs (opcode %d)\n" % rop)
            return 1
        total += len(m)
    ws_send(s, 8, b"\x03\xe8")
    rop, _ = ws_recv(s)
    sys.stdout.write(text)
    sys.stdout.write("ws ok %d close %d\n" % (total, rop))
    s.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--data")
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--ws", type=int)
    a = ap.parse_args()
    if a.ws is not None:
        return ws(a)
    if a.data is not None:
        data = a.data.encode("latin-1").decode("unicode_escape").encode("latin-1")
    else:
        data = sys.stdin.buffer.read()
    s = connect(a)
    s.sendall(data)
    sys.stdout.buffer.write(read_all(s, a.idle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
