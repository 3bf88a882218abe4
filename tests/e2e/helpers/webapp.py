#!/usr/bin/env python3
"""A target web app for the http socket tests (python3 stdlib only).

    webapp.py --listen 127.0.0.1:8080 [--port-file F] [--log F]
              [--tls-cert CRT --tls-key KEY]

With --tls-cert it speaks HTTPS (a target of an https socket).

Threaded, HTTP/1.1 with keep-alive.  Every request gets one line in the
log ("METHOD TARGET"), written and flushed before it is answered, so a
test can say what reached the target (and what did not).

    GET  /headers       the request's method, target, version and headers
                        as JSON: {"method", "target", "version",
                        "headers": [[name, value], ...]} (order and
                        repeats kept)
    POST /upload        reads the body (Content-Length or chunked) and
                        answers its sha256 in hex and its length:
                        "<hex> <bytes>\\n"
    GET  /ws            WebSocket (RFC 6455) echo: text and binary frames
                        come back as they were sent; ping gets pong;
                        close is answered and ends it
    GET  /slow?ms=N     answers "slow\\n" after N ms
    GET  /close         answers with Connection: close, then closes
    GET  /big?n=N       N bytes ("0123456789" repeated); &chunked=1
                        sends them in chunks of 64 KiB
    GET  /status?code=N an empty response with that status
    GET  /sse?gap_ms=N&n=K  server-sent events, chunked: K events
                        ("data: I\\n\\n", I from 0) N ms apart, the first
                        at once, then the end of the body
    GET  /raw?hex=H     writes the bytes H (hex) as the whole response,
                        then closes (malformed responses on purpose)
    GET  /rawkeep?hex=H as /raw, in one write, but the connection stays
                        open for the next request (bytes past a response,
                        several 1xx in one write); HEAD gets them too
    anything else       404
"""

import argparse
import base64
import hashlib
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LOG_LOCK = threading.Lock()
LOG = None


def log_line(text):
    if LOG is None:
        return
    with LOG_LOCK:
        LOG.write(text + "\n")
        LOG.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webapp"
    # One write per response (http.server flushes after each request):
    # a head and a body in two small writes meet Nagle and delayed ACKs.
    wbufsize = 1 << 16

    def log_message(self, fmt, *args):  # quiet on stderr
        pass

    def send_body(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """The request body, decoded, as an iterator of byte strings."""
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left > 0:
                    d = self.rfile.read(min(left, 1 << 16))
                    if not d:
                        raise ConnectionError("body cut short")
                    left -= len(d)
                    yield d
                self.rfile.readline(3)
        n = int(self.headers.get("Content-Length", "0"))
        while n > 0:
            d = self.rfile.read(min(n, 1 << 16))
            if not d:
                raise ConnectionError("body cut short")
            n -= len(d)
            yield d

    def route(self):
        log_line("%s %s" % (self.command, self.path))
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/headers":
            for _ in self.read_body():
                pass
            doc = {
                "method": self.command,
                "target": self.path,
                "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
            }
            self.send_body(200, json.dumps(doc).encode(), "application/json")
        elif u.path == "/upload":
            h = hashlib.sha256()
            n = 0
            for d in self.read_body():
                h.update(d)
                n += len(d)
            self.send_body(200, ("%s %d\n" % (h.hexdigest(), n)).encode())
        elif u.path == "/ws":
            self.websocket()
        elif u.path == "/slow":
            time.sleep(int(q.get("ms", ["1000"])[0]) / 1000.0)
            self.send_body(200, b"slow\n")
        elif u.path == "/close":
            self.close_connection = True
            self.send_body(200, b"closing\n", extra=[("Connection", "close")])
        elif u.path == "/big":
            n = int(q.get("n", ["0"])[0])
            chunked = q.get("chunked", ["0"])[0] == "1"
            self.big(n, chunked)
        elif u.path == "/sse":
            gap = int(q.get("gap_ms", ["1000"])[0]) / 1000.0
            self.sse(int(q.get("n", ["3"])[0]), gap)
        elif u.path == "/raw":
            self.close_connection = True
            self.wfile.write(bytes.fromhex(q.get("hex", [""])[0]))
        elif u.path == "/rawkeep":
            self.wfile.write(bytes.fromhex(q.get("hex", [""])[0]))
        elif u.path == "/status":
            code = int(q.get("code", ["200"])[0])
            self.send_response(code)
            if code not in (204, 304):
                self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_body(404, b"not found\n")

    def sse(self, n, gap):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        for i in range(n):
            if i > 0:
                time.sleep(gap)
            d = b"data: %d\n\n" % i
            self.wfile.write(b"%x\r\n" % len(d) + d + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def big(self, n, chunked):
        pattern = b"0123456789" * 6554  # 65540 bytes
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        left = n
        while left > 0:
            d = pattern[: min(left, 65536)]
            left -= len(d)
            if chunked:
                self.wfile.write(b"%x\r\n" % len(d) + d + b"\r\n")
            else:
                self.wfile.write(d)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key")
        if (
            self.headers.get("Upgrade", "").lower() != "websocket"
            or "upgrade" not in self.headers.get("Connection", "").lower()
            or not key
        ):
            self.send_body(400, b"not a websocket handshake\n")
            return
        accept = base64.b64encode(
            hashlib.sha1((key + WS_GUID).encode()).digest()
        ).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            frame = ws_read(self.rfile)
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 8:
                ws_write(self.wfile, 8, payload[:2])
                return
            if opcode == 9:
                ws_write(self.wfile, 10, payload)
            elif opcode in (1, 2):
                ws_write(self.wfile, opcode, payload)

    def do_GET(self):
        self.route()

    do_POST = do_PUT = do_HEAD = do_DELETE = do_OPTIONS = do_GET


def ws_read(f):
    """One frame from a client (masked); None at EOF.  No fragmentation."""
    h = f.read(2)
    if len(h) < 2:
        return None
    opcode = h[0] & 0x0F
    n = h[1] & 0x7F
    masked = h[1] & 0x80
    if n == 126:
        n = int.from_bytes(f.read(2), "big")
    elif n == 127:
        n = int.from_bytes(f.read(8), "big")
    mask = f.read(4) if masked else b"\0\0\0\0"
    data = f.read(n)
    if len(data) < n:
        return None
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data


def ws_write(f, opcode, payload):
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + n.to_bytes(2, "big")
    else:
        head += bytes([127]) + n.to_bytes(8, "big")
    f.write(head + payload)
    f.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    if a.log:
        LOG = open(a.log, "a")
    srv = Server((host.strip("[]"), int(port)), Handler)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
