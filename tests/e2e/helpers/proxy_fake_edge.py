#!/usr/bin/env python3
"""A STAND-IN for b0-edge, for tests/e2e/proxy.bats only.

It speaks just enough of docs/identity.md for b0-proxy to be tested before
(and independently of) the real edge: discovery, /authorize (approves at
once with a 302 to the loopback redirect), /device_authorization and
/token (device codes are approved on the second poll; refresh tokens
rotate), and CONNECT with a Bearer token and an allow list, relaying to a
fixed TCP target.  Tokens are JWT-shaped but NOT signed: b0-proxy only
reads their email claim; the real edge's checks are tested elsewhere.

Every grant is logged to --log as one line ("GRANT refresh_token ok"), so
tests can count logins and refreshes.
"""
import argparse
import base64
import http.server
import json
import os
import secrets
import select
import socket
import ssl
import threading
import time
import urllib.parse

A = None
LOCK = threading.Lock()
ACCESS = {}    # token -> (email, exp)
REFRESH = {}   # refresh token -> email
CODES = {}     # code -> (email, redirect_uri, challenge)
DEVICES = {}   # device_code -> polls


def log(line):
    with LOCK, open(A.log, "a") as f:
        f.write(line + "\n")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def issue(email):
    exp = int(time.time()) + A.ttl
    body = {"email": email, "sub": email, "exp": exp}
    tok = "%s.%s.%s" % (b64(b'{"alg":"none","typ":"at+jwt"}'),
                        b64(json.dumps(body).encode()), b64(secrets.token_bytes(8)))
    rt = "b0rt.%s.%s" % (secrets.token_hex(16), b64(secrets.token_bytes(32)))
    with LOCK:
        ACCESS[tok] = (email, exp)
        REFRESH[rt] = email
    return {"access_token": tok, "token_type": "Bearer", "expires_in": A.ttl,
            "refresh_token": rt, "scope": "openid email"}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log("HTTP " + (fmt % args))

    def reply(self, status, body, ctype="application/json", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def oauth_error(self, err):
        self.reply(400, json.dumps({"error": err, "error_description": err}))

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/.well-known/openid-configuration":
            iss = A.issuer
            self.reply(200, json.dumps({
                "issuer": iss,
                "authorization_endpoint": iss + "/authorize",
                "token_endpoint": iss + "/token",
                "device_authorization_endpoint": iss + "/device_authorization",
                "code_challenge_methods_supported": ["S256"]}))
        elif u.path == "/authorize":
            if (q.get("client_id") != "b0-proxy" or
                    q.get("code_challenge_method") != "S256" or
                    not q.get("redirect_uri", "").startswith("http://127.0.0.1:")):
                self.reply(400, "bad authorize request", "text/plain")
                return
            code = b64(secrets.token_bytes(32))
            with LOCK:
                CODES[code] = (A.email, q["redirect_uri"], q["code_challenge"])
            loc = "%s?code=%s&state=%s" % (q["redirect_uri"], code,
                                          urllib.parse.quote(q.get("state", "")))
            self.reply(302, "", "text/plain", {"Location": loc})
        else:
            self.reply(404, "not found", "text/plain")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        if self.path == "/device_authorization":
            dc = b64(secrets.token_bytes(32))
            with LOCK:
                DEVICES[dc] = 0
            log("DEVICE started")
            self.reply(200, json.dumps({
                "device_code": dc, "user_code": "BCDF-GHJK",
                "verification_uri": A.issuer + "/device",
                "verification_uri_complete": A.issuer + "/device?user_code=BCDFGHJK",
                "expires_in": 600, "interval": 1}))
            return
        if self.path != "/token":
            self.reply(404, "not found", "text/plain")
            return
        gt = form.get("grant_type")
        if A.slow_token:
            time.sleep(A.slow_token)
        if gt == "refresh_token":
            with LOCK:
                email = REFRESH.pop(form.get("refresh_token", ""), None)
            if email is None:
                log("GRANT refresh_token invalid")
                self.oauth_error("invalid_grant")
                return
            log("GRANT refresh_token ok")
            self.reply(200, json.dumps(issue(email)))
        elif gt == "authorization_code":
            import hashlib
            with LOCK:
                c = CODES.pop(form.get("code", ""), None)
            v = form.get("code_verifier", "")
            if (c is None or c[1] != form.get("redirect_uri") or
                    b64(hashlib.sha256(v.encode()).digest()) != c[2]):
                log("GRANT authorization_code invalid")
                self.oauth_error("invalid_grant")
                return
            log("GRANT authorization_code ok")
            self.reply(200, json.dumps(issue(c[0])))
        elif gt == "urn:ietf:params:oauth:grant-type:device_code":
            dc = form.get("device_code", "")
            log("POLL %.3f" % time.time())
            with LOCK:
                polls = DEVICES.get(dc)
                if polls is not None:
                    DEVICES[dc] = polls + 1
            if polls is None:
                self.oauth_error("expired_token")
            elif polls == 0:
                self.oauth_error("authorization_pending")
            elif polls == 1 and A.slow_down:
                log("DEVICE slow_down")
                self.oauth_error("slow_down")
            else:
                with LOCK:
                    DEVICES.pop(dc, None)
                log("GRANT device_code ok")
                self.reply(200, json.dumps(issue(A.email)))
        else:
            self.oauth_error("unsupported_grant_type")

    def do_CONNECT(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        with LOCK:
            ent = ACCESS.get(tok)
        host = self.path.rsplit(":", 1)[0]
        if ent is None or ent[1] < time.time():
            log("CONNECT 401 %s" % host)
            self.reply(401, "invalid token\n", "text/plain",
                       {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return
        if host == "gone." + A.domain:
            self.reply(502, "the publisher is not connected\n", "text/plain")
            return
        if ent[0] not in A.allow:
            log("CONNECT 403 %s %s" % (host, ent[0]))
            self.reply(403, "%s is not allowed on %s\n" % (ent[0], host),
                       "text/plain")
            return
        log("CONNECT 200 %s %s sni=%s" % (host, ent[0],
                                          getattr(self.connection, "sni", None)))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        self.relay()
        self.close_connection = True

    def relay(self):
        s = self.connection
        th, tp = A.target.rsplit(":", 1)
        t = socket.create_connection((th, int(tp)))
        t.setblocking(False)
        to_t = b""
        client_done = target_done = shut = False
        while not (client_done and target_done):
            if client_done and not to_t and not shut:
                t.shutdown(socket.SHUT_WR)
                shut = True
            want_s = not client_done and len(to_t) < (1 << 20)
            if want_s and s.pending():
                r, w = [s], []
            else:
                rl = ([s] if want_s else []) + ([] if target_done else [t])
                r, w, _ = select.select(rl, [t] if to_t else [], [], 30)
                if not r and not w:
                    break
            if t in w:
                try:
                    n = t.send(to_t)
                    to_t = to_t[n:]
                except BlockingIOError:
                    pass
            if s in r:
                try:
                    d = s.recv(65536)
                except (ssl.SSLError, OSError):
                    d = b""
                if d:
                    to_t += d
                else:
                    log("RELAY client close_notify")
                    client_done = True
            if t in r:
                try:
                    d = t.recv(65536)
                except BlockingIOError:
                    continue
                if d:
                    s.sendall(d)
                else:
                    target_done = True
        # Both ended: our close_notify (the peer's came already).
        try:
            s.settimeout(2)
            s.unwrap()
        except (ssl.SSLError, OSError):
            pass
        t.close()


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--port-file")
    p.add_argument("--log")
    p.add_argument("--domain", default="edge.test")
    p.add_argument("--email", default="alice@example.org")
    p.add_argument("--allow", default="alice@example.org")
    p.add_argument("--target", default="127.0.0.1:9")
    p.add_argument("--ttl", type=int, default=600)
    p.add_argument("--slow-token", type=float, default=0)
    p.add_argument("--slow-down", action="store_true")
    p.add_argument("--bind", default="127.0.0.1")
    A = p.parse_args()
    A.allow = A.allow.split(",")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(A.cert, A.key)
    ctx.set_alpn_protocols(["http/1.1"])

    def on_sni(sock, name, _ctx):
        sock.sni = name
    ctx.sni_callback = on_sni

    class S(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            c, a = self.socket.accept()
            return ctx.wrap_socket(c, server_side=True), a

        def handle_error(self, request, client_address):
            pass

    if ":" in A.bind:
        S.address_family = socket.AF_INET6
    srv = S((A.bind, 0), H)
    port = srv.server_address[1]
    A.issuer = "https://%s:%d" % (A.domain, port)
    with open(A.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(A.port_file + ".tmp", A.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
