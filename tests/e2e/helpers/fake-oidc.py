#!/usr/bin/env python3
# A scriptable OpenID Connect provider for tests/e2e/upstream.bats: it
# signs in whoever comes (no login page) and issues the ID token a test
# asks for, so the edge's checks can be tried one claim at a time.  Plain
# http on 127.0.0.1 (the edge allows that for loopback providers only).
#
#   fake-oidc.py PORT DIR CLIENT_ID SECRET
#
# DIR/scenario.json (read at each token request) shapes the ID token:
#   {"kid": "ka" | "kb", "alg": "ES256" | "none" | "HS256",
#    "claims": {NAME: VALUE, ...},  (VALUE null removes the claim)
#    "sleep": SECONDS}  (before answering the token request)
# Key "ka" is always in the JWKS; "kb" only once DIR/rotated exists.
# It checks what the edge sends (client secret, redirect URI, PKCE S256
# verifier, scope) and writes DIR/auth.json (the authorization request)
# and DIR/token.json (the token request, secret and verifier removed).
import base64, hashlib, hmac, http.server, json, os, secrets, signal, sys
import time, urllib.parse
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature

port, d, client_id, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3], \
    sys.argv[4]
issuer = "http://127.0.0.1:%d" % port
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


keys = {k: ec.generate_private_key(ec.SECP256R1()) for k in ("ka", "kb")}


def jwk(kid):
    n = keys[kid].public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "alg": "ES256", "x": b64(n.x.to_bytes(32, "big")),
            "y": b64(n.y.to_bytes(32, "big"))}


def sign(header, claims):
    h = b64(json.dumps(header).encode())
    p = b64(json.dumps(claims).encode())
    data = ("%s.%s" % (h, p)).encode()
    if header["alg"] == "none":
        return "%s.%s." % (h, p)
    if header["alg"] == "HS256":
        # The "public key confusion" forgery: HMAC keyed with the JWK.
        key = json.dumps(jwk(header["kid"])).encode()
        return "%s.%s.%s" % (h, p, b64(hmac.new(key, data,
                                                hashlib.sha256).digest()))
    der = keys[header["kid"]].sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return "%s.%s.%s" % (h, p, b64(r.to_bytes(32, "big") +
                                   s.to_bytes(32, "big")))


codes = {}


class H(http.server.BaseHTTPRequestHandler):
    def send(self, status, body, ctype="application/json", headers=()):
        b = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/.well-known/openid-configuration":
            return self.send(200, json.dumps({
                "issuer": issuer, "authorization_endpoint": issuer + "/auth",
                "token_endpoint": issuer + "/token",
                "jwks_uri": issuer + "/jwks"}))
        if u.path == "/jwks":
            ks = ["ka"] + (["kb"] if os.path.exists(d + "/rotated") else [])
            return self.send(200, json.dumps({"keys": [jwk(k) for k in ks]}))
        if u.path == "/auth":
            q = dict(urllib.parse.parse_qsl(u.query, strict_parsing=True))
            with open(d + "/auth.json", "w") as f:
                json.dump(q, f)
            ok = (q.get("response_type") == "code" and
                  q.get("client_id") == client_id and
                  q.get("code_challenge_method") == "S256" and
                  len(q.get("code_challenge", "")) == 43 and
                  "openid" in q.get("scope", "").split() and
                  "email" in q.get("scope", "").split() and
                  q.get("state") and q.get("nonce"))
            if not ok:
                return self.send(400, "bad authorization request\n",
                                 "text/plain")
            code = secrets.token_urlsafe(32)
            codes[code] = q
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": code, "state": q["state"], "iss": issuer})
            return self.send(302, "", "text/plain", [("Location", loc)])
        self.send(404, "{}")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        if self.path != "/token":
            return self.send(404, "{}")
        shown = {k: v for k, v in form.items()
                 if k not in ("client_secret", "code_verifier")}
        with open(d + "/token.json", "w") as f:
            json.dump(shown, f)
        a = codes.pop(form.get("code", ""), None)
        if form.get("client_id") != client_id or \
                form.get("client_secret") != secret:
            return self.send(401, json.dumps({"error": "invalid_client"}))
        v = form.get("code_verifier", "")
        if a is None or form.get("grant_type") != "authorization_code" or \
                form.get("redirect_uri") != a["redirect_uri"] or \
                b64(hashlib.sha256(v.encode()).digest()) != \
                a["code_challenge"]:
            return self.send(400, json.dumps({
                "error": "invalid_grant",
                "error_description": "code, redirect_uri or PKCE"}))
        sc = json.load(open(d + "/scenario.json"))
        time.sleep(sc.get("sleep", 0))
        now = int(time.time())
        claims = {"iss": issuer, "sub": "u-1", "aud": client_id,
                  "exp": now + 300, "iat": now, "nonce": a["nonce"],
                  "email": "Carol@Example.org", "email_verified": True}
        for k, val in sc.get("claims", {}).items():
            if val is None:
                claims.pop(k, None)
            else:
                claims[k] = val
        tok = sign({"alg": sc.get("alg", "ES256"), "kid": sc.get("kid", "ka"),
                    "typ": "JWT"}, claims)
        self.send(200, json.dumps({"access_token": "at-" + secrets.token_hex(8),
                                   "token_type": "Bearer", "expires_in": 300,
                                   "id_token": tok}))

    def log_message(self, f, *a):
        sys.stderr.write("fake-oidc: " + f % a + "\n")


s = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
sys.stderr.write("fake-oidc: listening on %s\n" % issuer)
sys.stderr.flush()
s.serve_forever()
