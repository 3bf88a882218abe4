#!/usr/bin/env bats
# b0-publish's side of http and https sockets (docs/http.md): the socket
# options and their errors (b0-publish -t), the password hash, and the
# built-in static file server of `connect --httpserver DIR`, reached here
# through its hidden test mode `b0-publish httpserver DIR --listen ADDR`
# and, in the "tunnel:" tests, through a real edge (helpers/tunnel.bash):
# connect --httpserver, host= and protected= in REGISTER, and https
# targets with a certificate from a CA the test makes.

load helpers/common
load helpers/tunnel

setup() {
	case "$BATS_TEST_DESCRIPTION" in
	tunnel:*) tun_setup ;;
	*)
		b0_tmpdir
		. "$B0_TOP/tests/lib/testenv.sh"
		b0_pki "$T"
		;;
	esac
	mkdir -p "$T/www/sub" "$T/www/.git" "$T/www/empty" "$T/outside"
	printf '<h1>home</h1>\n' >"$T/www/index.html"
	printf 'body { color: red }\n' >"$T/www/style.css"
	printf '{"a":1}\n' >"$T/www/data.json"
	head -c 3000000 /dev/urandom >"$T/www/blob.bin"
	printf 'sub index\n' >"$T/www/sub/index.html"
	printf 'plain\n' >"$T/www/sub/a b.txt"
	printf 'SECRET=1\n' >"$T/www/.env"
	printf 'x\n' >"$T/www/.git/config"
	printf 'outside\n' >"$T/outside/secret.txt"
	ln -s /etc/passwd "$T/www/passwd"
	ln -s ../outside "$T/www/out"
	ln -s index.html "$T/www/inner-link.html"
	printf 'hunter2\n' >"$T/wiki.pass"
	chmod 600 "$T/wiki.pass"
	(umask 077 && echo b0pt.lab1.0123456789abcdef >"$T/token")
}

teardown() {
	case "$BATS_TEST_DESCRIPTION" in
	tunnel:*)
		tun_teardown
		return
		;;
	esac
	local bad=0 st=0
	if [ -f "$T/hs.pid" ]; then
		kill "$(cat "$T/hs.pid")" 2>/dev/null || true
		wait "$(cat "$T/hs.pid")" 2>/dev/null || st=$?
		# The server stops cleanly on SIGTERM, without a sanitizer report.
		[ "$st" -eq 0 ] || { echo "# httpserver exited $st"; bad=1; }
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' \
		    "$T/hs.log"; then
			bad=1
		fi
	fi
	if [ -z "${BATS_TEST_COMPLETED:-}" ] || [ "$bad" -ne 0 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] && { echo "--- $f"; cat "$f"; }
		done
	fi 2>/dev/null
	b0_cleanup_tmpdir
	[ "$bad" -eq 0 ]
}

hs_start() {
	b0_start "$T" hs b0-publish httpserver "$T/www" --listen 127.0.0.1:0
	HS=http://127.0.0.1:$(b0_ready_port "$T" hs)
}

# code URL: the status curl gets (the path as given, no normalising).
code() {
	curl -s --path-as-is -o /dev/null -w '%{http_code}' "$@"
}

@test "httpserver: files with their type, length and Last-Modified" {
	hs_start
	run curl -s -D "$T/h" -o "$T/body" "$HS/data.json"
	assert_success
	cmp "$T/body" "$T/www/data.json"
	grep -qi '^content-type: application/json' "$T/h"
	grep -qi '^content-length: 8' "$T/h"
	grep -qiE '^last-modified: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} [0-9:]{8} GMT' "$T/h"
	run curl -s -w '%{content_type}' -o /dev/null "$HS/style.css"
	assert_output "text/css; charset=utf-8"
	run curl -s -w '%{content_type} %{size_download}' -o "$T/blob" \
	    "$HS/blob.bin"
	assert_output "application/octet-stream 3000000"
	cmp "$T/blob" "$T/www/blob.bin"
	run curl -s "$HS/sub/a%20b.txt"
	assert_output "plain"
	run curl -s "$HS/data.json?v=2"
	assert_output '{"a":1}'
	# A symbolic link is never followed, even one that stays inside.
	[ "$(code "$HS/inner-link.html")" = 404 ]
}

@test "httpserver: index.html for directories, 301 without the slash, 404 otherwise" {
	hs_start
	run curl -s "$HS/"
	assert_output "<h1>home</h1>"
	run curl -s "$HS/sub/"
	assert_output "sub index"
	run curl -s -D - -o /dev/null "$HS/sub"
	assert_output --partial "301 Moved Permanently"
	assert_output --partial "Location: /sub/"
	[ "$(code "$HS/missing.html")" = 404 ]
	[ "$(code "$HS/sub/missing/")" = 404 ]
	# No listing of a directory without index.html.
	[ "$(code "$HS/empty/")" = 404 ]
	# A file is not a directory.
	[ "$(code "$HS/data.json/")" = 404 ]
}

@test "httpserver: no way out of DIR, no dot files" {
	hs_start
	[ "$(code "$HS/../outside/secret.txt")" = 404 ]
	[ "$(code "$HS/sub/../../outside/secret.txt")" = 404 ]
	[ "$(code "$HS/%2e%2e/outside/secret.txt")" = 404 ]
	[ "$(code "$HS/%2E%2E/outside/secret.txt")" = 404 ]
	[ "$(code "$HS/sub/%2e%2e%2f%2e%2e%2foutside/secret.txt")" = 404 ]
	[ "$(code "$HS/sub%2findex.html")" = 404 ]
	[ "$(code "$HS/sub%2Findex.html")" = 404 ]
	[ "$(code "$HS/passwd")" = 404 ]
	[ "$(code "$HS/out/secret.txt")" = 404 ]
	[ "$(code "$HS/.env")" = 404 ]
	[ "$(code "$HS/%2eenv")" = 404 ]
	[ "$(code "$HS/.git/config")" = 404 ]
	[ "$(code "$HS/index.html%00.txt")" = 404 ]
	[ "$(code "$HS/bad%zzescape")" = 400 ]
	# Nothing of the forbidden files in any answer.
	for u in ../outside/secret.txt passwd out/secret.txt .env; do
		curl -s --path-as-is "$HS/$u"
	done >"$T/all"
	run grep -E 'root:|outside|SECRET' "$T/all"
	assert_failure
	# Absolute-form targets are refused by the parser.
	run bash -c "printf 'GET http://x/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n' |
	    timeout 5 socat - TCP:${HS#http://}"
	assert_output --partial "HTTP/1.1 400"
}

@test "httpserver: GET and HEAD only; HEAD has the length and no body" {
	hs_start
	run curl -s -X POST -d x=1 -D - "$HS/index.html"
	assert_output --partial "HTTP/1.1 405"
	assert_output --partial "Allow: GET, HEAD"
	[ "$(code -X PUT --data-binary @"$T/token" "$HS/x")" = 405 ]
	[ "$(code -X DELETE "$HS/index.html")" = 405 ]
	[ "$(code -X OPTIONS "$HS/")" = 405 ]
	[ -f "$T/www/index.html" ]
	run curl -s -I "$HS/blob.bin"
	assert_output --partial "HTTP/1.1 200 OK"
	assert_output --partial "Content-Length: 3000000"
	# HEAD and then GET on one connection: no body after the HEAD.
	run bash -c "printf 'HEAD /data.json HTTP/1.1\r\nHost: x\r\n\r\nGET /data.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    timeout 5 socat - TCP:${HS#http://}"
	assert_success
	[ "$(grep -c '^HTTP/1.1 200 OK' <<<"$output")" -eq 2 ]
	[ "$(grep -c '"a":1' <<<"$output")" -eq 1 ]
}

@test "httpserver: keep-alive, several requests on one connection" {
	hs_start
	run curl -s -w '%{num_connects}\n' -o /dev/null -o /dev/null \
	    -o /dev/null "$HS/" "$HS/data.json" "$HS/sub/"
	assert_success
	assert_output "$(printf '1\n0\n0')"
	# Pipelined, answered in order.
	run bash -c "printf 'GET /data.json HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	    timeout 5 socat - TCP:${HS#http://}"
	assert_success
	[ "$(grep -o '^HTTP/1.1 [0-9]*' <<<"$output" | tr '\n' ' ')" = \
	    "HTTP/1.1 200 HTTP/1.1 200 HTTP/1.1 404 " ]
	grep -q 'sub index' <<<"$output"
	# HTTP/1.0 closes after one answer.
	run bash -c "printf 'GET /data.json HTTP/1.0\r\n\r\n' |
	    timeout 5 socat - TCP:${HS#http://}"
	assert_success
	assert_output --partial "Connection: close"
}

# check LINE...: b0-publish -t on a configuration with these lines.
check() {
	b0_pub_conf "$T" 127.0.0.1:443 "$@"
	run b0-publish -f "$T/publish.conf" -t
}

@test "socket options: accepted where they belong" {
	check "socket wiki http/8080 10.0.0.5:8080 protected=admin password-file=$T/wiki.pass host=wiki.lan" \
	    "socket nas https/5001 192.168.1.9:5001 tls-ca=$T/ca.crt host=nas.lan" \
	    "socket printer https/443 192.168.1.20:443 tls-verify=no" \
	    "socket grafana http/3000/example.com" \
	    "socket ip https/8443 tls-name=box.lan"
	assert_success
	assert_output --partial "configuration OK (5 sockets)"
}

@test "socket options: each mistake names file:line and the option" {
	local c="$T/publish.conf"
	check "socket a tcp/22 host=x"
	assert_failure 78
	assert_output "b0-publish: $c:6: socket a: host is for http and https sockets, not tcp"
	check "socket a tls/22 protected=u password-file=$T/wiki.pass"
	assert_output "b0-publish: $c:6: socket a: protected is for http and https sockets, not tls"
	check "socket a http/80 tls-ca=$T/ca.crt"
	assert_output "b0-publish: $c:6: socket a: tls-ca is for https sockets, not http"
	check "socket a http/80 tls-verify=no"
	assert_output "b0-publish: $c:6: socket a: tls-verify is for https sockets, not http"
	check "socket a http/80 tls-name=x"
	assert_output "b0-publish: $c:6: socket a: tls-name is for https sockets, not http"
	check "socket a http/80 colour=red"
	assert_output "b0-publish: $c:6: socket a: unknown option \"colour\" (protected, password-file, host, tls-ca, tls-name, tls-verify)"
	check "socket a http/80 host=a host=b"
	assert_output "b0-publish: $c:6: socket a: host is given twice"
	check "socket a http/80 protected=admin"
	assert_output "b0-publish: $c:6: socket a: protected needs password-file"
	check "socket a http/80 password-file=$T/wiki.pass"
	assert_output "b0-publish: $c:6: socket a: password-file needs protected"
	check "socket a http/80 protected=a:b password-file=$T/wiki.pass"
	assert_output "b0-publish: $c:6: socket a: protected=\"a:b\" is not a user name (1 to 64 visible ASCII characters, no ':')"
	check "socket a http/80 host=a/b"
	assert_output "b0-publish: $c:6: socket a: host=\"a/b\" is not a host name or address, with an optional :port"
	check "socket a https/443 tls-verify=maybe"
	assert_output "b0-publish: $c:6: socket a: tls-verify=\"maybe\" is not yes or no"
	check "socket a https/443 tls-verify=no tls-ca=$T/ca.crt"
	assert_output "b0-publish: $c:6: socket a: tls-ca and tls-verify=no contradict each other"
	check "socket a https/443 host="
	assert_output "b0-publish: $c:6: socket a: host has no value"
	check "socket a http/80 127.0.0.1:80 garbage"
	assert_output "b0-publish: $c:6: socket a: \"garbage\" is not OPTION=VALUE (after the target, only options)"
	check "socket a https/443 tls-ca=$T/missing.pem"
	assert_failure
	assert_output --partial "$c:6: socket a: tls-ca"
	assert_output --partial "missing.pem"
}

@test "password-file: private, one line, not empty; only the hash leaves" {
	local c="$T/publish.conf"
	chmod 644 "$T/wiki.pass"
	check "socket a http/80 protected=admin password-file=$T/wiki.pass"
	assert_failure 78
	assert_output --partial "$c:6: socket a: password-file: $T/wiki.pass"
	assert_output --partial "chmod 600"
	chmod 600 "$T/wiki.pass"
	printf 'one\ntwo\n' >"$T/wiki.pass"
	check "socket a http/80 protected=admin password-file=$T/wiki.pass"
	assert_output "b0-publish: $c:6: socket a: password-file: $T/wiki.pass: more than one line"
	: >"$T/wiki.pass"
	check "socket a http/80 protected=admin password-file=$T/wiki.pass"
	assert_output "b0-publish: $c:6: socket a: password-file: $T/wiki.pass: the password is empty"
	check "socket a http/80 protected=admin password-file=$T/nope.pass"
	assert_failure
	assert_output --partial "$c:6: socket a: password-file: $T/nope.pass"
	printf 'hunter2\n' >"$T/wiki.pass"
	check "socket a http/80 protected=admin password-file=$T/wiki.pass"
	assert_success
	refute_output --partial hunter2
}

@test "connect: --type http|https, --allow, --httpserver and their mistakes" {
	run b0-publish connect --port 80 --type gopher --edge 127.0.0.1:1 \
	    --token-file "$T/token"
	assert_failure 2
	assert_output --partial 'connect: --type "gopher" is not tcp, tls, http or https'
	run b0-publish connect --httpserver "$T/www" --edge 127.0.0.1:1 \
	    --token-file "$T/token"
	assert_failure 2
	assert_output --partial "connect: --httpserver goes with --type http"
	run b0-publish connect --httpserver "$T/www" --type http --port 80 \
	    --edge 127.0.0.1:1 --token-file "$T/token"
	assert_failure 2
	assert_output --partial "no --port or --host"
	run b0-publish connect --port 80 --allow example.com \
	    --edge 127.0.0.1:1 --token-file "$T/token"
	assert_failure 2
	assert_output --partial "--allow needs --type tls, http or https"
	run b0-publish connect --port 80 --type http --allow 'not an allow list' \
	    --edge 127.0.0.1:1 --token-file "$T/token"
	assert_failure 78
	run b0-publish connect --port 80 --type https -o colour=red \
	    --edge 127.0.0.1:1 --token-file "$T/token"
	assert_failure 78
	assert_output --partial 'connect: socket p80: unknown option "colour"'
	run b0-publish connect --port 80 --type tcp -o host=x \
	    --edge 127.0.0.1:1 --token-file "$T/token"
	assert_failure 78
	assert_output --partial "connect: socket p80: host is for http and https sockets, not tcp"
	run b0-publish -o host=x
	assert_failure 2
	run b0-publish connect --httpserver "$T/nope" --type http \
	    --edge 127.0.0.1:1 --token-file "$T/token"
	assert_failure
	assert_output --partial "--httpserver $T/nope: No such file or directory"
}

# Through a real edge (netns, helpers/tunnel.bash).

edge_has_socket() {
	edge_json | jq -e --arg n "$1" \
	    '.sockets[] | select(.name == $n and .online)' >/dev/null 2>&1
}

# vc SOCKET ARGS...: curl in the visitor's namespace to a socket's host.
vc() {
	local name=$1-lab1.edge.test
	shift
	in_vis curl -sS --max-time 20 --cacert "$T/ca.crt" \
	    --resolve "$name:443:$EDGE_VIS_IP" "$@"
}

@test "tunnel: connect --httpserver serves DIR through the edge" {
	edge_conf "log-level debug"
	edge_start
	token_add lab1
	daemon_bg files "$NS_LAB" "$B0_BUILD/b0-publish" \
	    connect --type http --httpserver "$T/www" --name files \
	    --edge "$EDGE_IP:443" --token-file "$T/lab1.token" \
	    --edge-ca "$T/ca.crt"
	wait_for 15 edge_has_socket files
	grep -q "files-lab1.edge.test" "$T/files.out"
	log_has files "serving $T/www read-only on 127.0.0.1:[0-9]+ \(socket files\)"
	run vc files -D "$T/h" -o "$T/body" \
	    "https://files-lab1.edge.test/data.json"
	assert_success
	cmp "$T/body" "$T/www/data.json"
	grep -qi '^content-type: application/json' "$T/h"
	run vc files "https://files-lab1.edge.test/"
	assert_output "<h1>home</h1>"
	run vc files -o /dev/null -w '%{http_code}' \
	    "https://files-lab1.edge.test/missing"
	assert_output 404
	for u in ../outside/secret.txt %2e%2e/outside/secret.txt \
	    sub%2f..%2f..%2foutside/secret.txt passwd out/secret.txt .env; do
		vc files --path-as-is "https://files-lab1.edge.test/$u" || true
	done >"$T/all" 2>&1
	run grep -E 'root:|^outside|SECRET' "$T/all"
	assert_failure
	run vc files -o /dev/null -w '%{http_code}' -X POST -d x \
	    "https://files-lab1.edge.test/"
	assert_output 405
	# Several requests on one visitor connection.
	run vc files -w '%{num_connects}\n' -o /dev/null -o /dev/null \
	    "https://files-lab1.edge.test/" "https://files-lab1.edge.test/sub/"
	assert_output "$(printf '1\n0')"
}

@test "tunnel: REGISTER carries host and protected; only the hash leaves" {
	DAEMON_KIND=other daemon_bg webapp "$NS_LAB" \
	    python3 "$BATS_TEST_DIRNAME/helpers/webapp.py" \
	    --listen 127.0.0.1:8080 --log "$T/webapp.requests"
	wait_for 10 lab_port_open 8080
	edge_conf "log-level debug"
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" \
	    "socket web http/8080 127.0.0.1:8080 host=wiki.lan:8080" \
	    "socket wiki http/8081 127.0.0.1:8080 protected=admin password-file=$T/wiki.pass"
	pub_start pub
	wait_for 10 edge_has_socket web
	wait_for 10 edge_has_socket wiki
	: >"$T/webapp.requests"
	run vc web "https://web-lab1.edge.test/headers"
	assert_success
	[ "$(jq -r '.headers[] | select(.[0] | ascii_downcase == "host") |
	    .[1]' <<<"$output")" = "wiki.lan:8080" ]
	# The edge knows wiki is protected: nobody gets through unasked.
	run vc wiki -o /dev/null -w '%{http_code}' \
	    "https://wiki-lab1.edge.test/headers"
	refute_output 200
	run grep -c 'GET /headers' "$T/webapp.requests"
	assert_output 1
	# The password never leaves the publisher, nor lands in a log.
	run grep -rl hunter2 "$T"/*.log "$T"/*.out "$T/edge-state"
	assert_failure
	# SIGHUP: a new host= reaches the edge.
	sed -i 's/host=wiki.lan:8080/host=other.lan/' "$T/pub.conf"
	kill -HUP "$(cat "$T/pub.pid")"
	wait_for 10 log_has pub "reload: configuration reloaded"
	wait_for 10 bash -c "ip netns exec $NS_VIS curl -sS --max-time 5 \
	    --cacert $T/ca.crt --resolve web-lab1.edge.test:443:$EDGE_VIS_IP \
	    https://web-lab1.edge.test/headers | grep -q other.lan"
}

# The https target: a TLS server in the lab with a certificate for nas.lan
# from the test's own CA (not the edge's); it answers with the Host and
# SNI it got.
https_target() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/tca.key" -out "$T/tca.crt" -days 2 \
	    -subj /CN=target-ca 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/nas.key" -out "$T/nas.csr" -subj /CN=nas.lan \
	    2>/dev/null
	printf 'subjectAltName=DNS:nas.lan\n' >"$T/nas.ext"
	openssl x509 -req -in "$T/nas.csr" -CA "$T/tca.crt" \
	    -CAkey "$T/tca.key" -CAcreateserial -out "$T/nas.crt" -days 2 \
	    -extfile "$T/nas.ext" 2>/dev/null
	cat >"$T/tlsapp.py" <<'PYEOF'
import ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SNI = {}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("tls ok host=%s sni=%s\n" % (self.headers.get("Host"),
                SNI.get(id(self.connection)))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
def sni(sock, name, c):
    SNI[id(sock)] = name
ctx.sni_callback = sni
srv = ThreadingHTTPServer(("127.0.0.1", 8443), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                             do_handshake_on_connect=False)
srv.serve_forever()
PYEOF
	DAEMON_KIND=other daemon_bg tlsapp "$NS_LAB" \
	    python3 "$T/tlsapp.py" "$T/nas.crt" "$T/nas.key"
	wait_for 10 lab_port_open 8443
}

@test "tunnel: https targets: verified with tls-ca, refused without, tls-verify=no" {
	https_target
	edge_conf "log-level debug"
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" "log-level debug" \
	    "socket nas https/8443 127.0.0.1:8443 tls-ca=$T/tca.crt host=nas.lan" \
	    "socket sys https/8444 127.0.0.1:8443 tls-name=nas.lan" \
	    "socket wrong https/8445 127.0.0.1:8443 tls-ca=$T/tca.crt tls-name=other.lan" \
	    "socket insecure https/8446 127.0.0.1:8443 tls-verify=no"
	pub_start pub
	for s in nas sys wrong insecure; do
		wait_for 10 edge_has_socket $s
	done
	log_has pub "socket insecure: tls-verify=no: the certificate of 127.0.0.1:8443 is not verified"
	run vc nas "https://nas-lab1.edge.test/x"
	assert_success
	assert_output "tls ok host=nas.lan sni=nas.lan"
	# The system's CAs do not know the test's CA.
	run vc sys -o /dev/null -w '%{http_code}' "https://sys-lab1.edge.test/x"
	assert_output 502
	wait_for 5 log_has pub "socket sys visitor .*: tls 127.0.0.1:8443: certificate verify failed: unable to get local issuer certificate"
	# The right CA, the wrong name.
	run vc wrong -o /dev/null -w '%{http_code}' \
	    "https://wrong-lab1.edge.test/x"
	assert_output 502
	wait_for 5 log_has pub "socket wrong visitor .*: tls 127.0.0.1:8443: certificate verify failed: .*other.lan"
	# Said explicitly: no verification (and no SNI for an IP address).
	run vc insecure "https://insecure-lab1.edge.test/x"
	assert_success
	assert_output "tls ok host=insecure-lab1.edge.test sni=None"
	# The quick share of a local HTTPS app, with the same options.
	daemon_bg quick "$NS_LAB" "$B0_BUILD/b0-publish" \
	    connect --type https --port 8443 --name quick \
	    -o "tls-ca=$T/tca.crt" -o tls-name=nas.lan \
	    --edge "$EDGE_IP:443" --token-file "$T/lab1.token" \
	    --edge-ca "$T/ca.crt"
	wait_for 15 edge_has_socket quick
	run vc quick "https://quick-lab1.edge.test/x"
	assert_success
	assert_output "tls ok host=quick-lab1.edge.test sni=nas.lan"
}
