#!/usr/bin/env python3
"""A stand-in for b0-proxy in the tests (docs/identity.md, "tls sockets"):
TLS to the edge with the socket's name as SNI, CONNECT with a Bearer
token, then stdin -> the stream -> stdout, as an ssh ProxyCommand.

  tlsconnect.py --connect ADDR:PORT --name NAME --ca FILE
                [--token-file FILE] [--authority HOST:PORT]
                [--host-header HOST]

Half-close both ways, as b0-proxy does: EOF on stdin sends close_notify
(and we go on reading); the edge's close_notify closes stdout (and we go
on sending).  The TLS engine runs on memory BIOs so that close_notify is
sent without waiting for the peer's (Python's unwrap() would).  A refused
CONNECT prints "tlsconnect: <status> <body>" on stderr and exits 1; a TCP
close without close_notify exits 3.  The token is read from a file, never
taken on the command line.
"""
import argparse
import os
import select
import signal
import socket
import ssl
import sys


def die(msg, code=1):
    sys.stderr.write("tlsconnect: %s\n" % msg)
    sys.exit(code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--token-file")
    ap.add_argument("--authority")
    ap.add_argument("--host-header")
    a = ap.parse_args()
    # ssh sends its ProxyCommand SIGHUP when it is done; the stdin EOF
    # that comes with it ends the stream cleanly (close_notify) instead.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    host, port = a.connect.rsplit(":", 1)
    token = None
    if a.token_file:
        with open(a.token_file) as f:
            token = f.read().strip()
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.set_alpn_protocols(["http/1.1"])
    inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, outb, server_hostname=a.name)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setblocking(False)
    sendbuf = bytearray()
    tcp_eof = False

    def pump(wait_read, timeout=30.0):
        """Send what TLS wrote; if wait_read, wait for and feed input."""
        nonlocal tcp_eof
        sendbuf.extend(outb.read())
        while True:
            r = [sock] if wait_read and not tcp_eof else []
            w = [sock] if sendbuf else []
            if not r and not w:
                return
            rr, ww, _ = select.select(r, w, [], timeout)
            if not rr and not ww:
                die("timed out")
            if ww:
                n = sock.send(sendbuf)
                del sendbuf[:n]
            if rr:
                d = sock.recv(65536)
                if not d:
                    tcp_eof = True
                    inc.write_eof()
                else:
                    inc.write(d)
                return

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            pump(True)
    auth = "Authorization: Bearer %s\r\n" % token if token else ""
    authority = a.authority or a.name + ":22"
    tls.write(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n"
               % (authority, a.host_header or authority, auth)).encode())
    pump(False)
    head = bytearray()
    while b"\r\n\r\n" not in head:
        try:
            head.extend(tls.read(65536))
        except ssl.SSLWantReadError:
            if tcp_eof:
                die("connection closed before an answer", 3)
            pump(True)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            die("connection closed before an answer", 3)
    i = head.index(b"\r\n\r\n") + 4
    lines = bytes(head[:i]).decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    rest = bytes(head[i:])
    if len(status) < 2 or status[1] != "200":
        clen = 0
        for ln in lines[1:]:
            if ln.lower().startswith("content-length:"):
                clen = int(ln.split(":", 1)[1])
        body = bytearray(rest)
        while len(body) < clen:
            try:
                body.extend(tls.read(65536))
            except ssl.SSLWantReadError:
                if tcp_eof:
                    break
                pump(True)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
        die("%s %s" % (status[1] if len(status) > 1 else "?",
                       bytes(body).decode("utf-8", "replace").strip()))
    if rest:
        os.write(1, rest)

    stdin_open, peer_open = True, True
    while stdin_open or peer_open or sendbuf:
        # Everything TLS holds decrypted, first.
        while peer_open:
            try:
                d = tls.read(65536)
            except ssl.SSLWantReadError:
                if tcp_eof:
                    die("the edge closed without close_notify "
                        "(truncated)", 3)
                break
            except ssl.SSLZeroReturnError:
                peer_open = False
                os.close(1)
                break
            except ssl.SSLEOFError:
                die("the edge closed without close_notify (truncated)", 3)
            try:
                os.write(1, d)
            except BrokenPipeError:
                pass  # the reader went away; the stream still ends cleanly
        sendbuf.extend(outb.read())
        if not (stdin_open or peer_open or sendbuf):
            break
        r = []
        if (peer_open or stdin_open) and not tcp_eof:
            r.append(sock)
        if stdin_open and len(sendbuf) < (1 << 20):
            r.append(0)
        w = [sock] if sendbuf else []
        rr, ww, _ = select.select(r, w, [], 60)
        if not rr and not ww:
            die("timed out")
        if sock in ww:
            try:
                n = sock.send(sendbuf)
                del sendbuf[:n]
            except (BlockingIOError, InterruptedError):
                pass
        # Before the socket's bytes: the second SSL_shutdown() inside
        # unwrap() must find no records waiting (all were read above).
        if 0 in rr:
            d = os.read(0, 65536)
            if d:
                tls.write(d)
            else:
                stdin_open = False
                try:
                    tls.unwrap()  # our close_notify; theirs may follow
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
        if sock in rr:
            try:
                d = sock.recv(65536)
            except ConnectionResetError:
                die("the edge reset the connection", 3)
            if not d:
                tcp_eof = True
                if peer_open:
                    inc.write_eof()
                elif stdin_open:
                    die("the edge closed before our close_notify", 3)
            else:
                inc.write(d)
    sock.close()


if __name__ == "__main__":
    main()
