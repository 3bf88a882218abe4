# A real browser for the e2e tests: Debian's chromium, headless, driven by
# tests/tools/node/browser.mjs (playwright-core; scripts/deps installs it),
# through browser.sh (stdin /dev/null, stdout to stderr).
# It reaches only loopback and the edge's names (edge.test, *.edge.test,
# mapped to $B0_BROWSER_ADDR), trusts the edge's certificate by its public
# key, signs in on the pages it meets and exits 0 on "Signed in ...", 1
# otherwise (60 s at most).  See browser.mjs for every B0_BROWSER_* variable.
#
#   browser_env [CERT]
#                 export BROWSER (for b0-proxy) and the defaults for this
#                 test: CERT (default $T/edge.crt) trusted, log
#                 $T/browser.log, screenshots in $T/shots, PIDs in
#                 $T/browser.pids, its profile in $T/b0-browser-*.
#                 Set B0_BROWSER_EMAIL/_PASSWORD, _PROVIDER, _DEVICE_CODE,
#                 _DENY afterwards as the test needs.
#   browser_run URL
#                 run it in the foreground (as b0-proxy would), under timeout
#   browser_wait [SECONDS]
#                 wait (30 s) until every browser this test started has
#                 exited: b0-proxy does not wait for its $BROWSER, so call
#                 this before reading $B0_BROWSER_LOG after a login
#   browser_stop  SIGTERM every browser this test started that still runs
#                 (SIGKILL, with its chromium, after 5 s)
#   browser_have  true if Node.js 20+, the npm packages and chromium are there
#   browser_pages the URLs and h1 it visited ($T/browser.log without notes)

B0_NODE_TOOLS=${B0_NODE_TOOLS:-$B0_TOP/tests/tools/node}

browser_have() {
	command -v node >/dev/null 2>&1 &&
	    node -e 'process.exit(parseInt(process.versions.node, 10) < 20 ? 1 : 0)' &&
	    [ -x /usr/bin/chromium ] &&
	    [ -d "$B0_NODE_TOOLS/node_modules/playwright-core" ]
}

browser_env() {
	local cert=${1:-$T/edge.crt}
	export BROWSER=$B0_NODE_TOOLS/browser.sh
	export B0_BROWSER_DOMAIN=${B0_BROWSER_DOMAIN:-edge.test}
	export B0_BROWSER_ADDR=${B0_BROWSER_ADDR:-127.0.0.1}
	export B0_BROWSER_LOG=$T/browser.log
	export B0_BROWSER_SHOTS=$T/shots
	export B0_BROWSER_PIDS=$T/browser.pids
	# Its profile: in $T, so that even a killed browser leaves none behind.
	export B0_BROWSER_TMPDIR=$T
	if [ -f "$cert" ]; then
		export B0_BROWSER_CERT=$cert
	else
		unset B0_BROWSER_CERT
	fi
	unset B0_BROWSER_EMAIL B0_BROWSER_PASSWORD B0_BROWSER_PROVIDER \
	    B0_BROWSER_UPSTREAM_LOGIN B0_BROWSER_UPSTREAM_PASSWORD \
	    B0_BROWSER_DEVICE_CODE B0_BROWSER_DENY
}

browser_run() {
	timeout -k 5 90 "$BROWSER" "$@" </dev/null
}

browser_pages() {
	grep -v '^# ' "$B0_BROWSER_LOG" 2>/dev/null
}

browser_wait() {
	wait_for "${1:-30}" _browsers_gone
}

_browsers_gone() {
	local pid
	[ -f "$T/browser.pids" ] || return 0
	for pid in $(cat "$T/browser.pids"); do
		kill -0 "$pid" 2>/dev/null && return 1
	done
	return 0
}

browser_stop() {
	local pid kids i
	[ -f "$T/browser.pids" ] || return 0
	for pid in $(cat "$T/browser.pids"); do
		kill -0 "$pid" 2>/dev/null || continue
		kids=$(pgrep -P "$pid")
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "# browser (pid $pid) still running 5 s after SIGTERM" >&2
			# chromium runs in its own process group
			for i in $kids; do
				kill -KILL -- "-$i" 2>/dev/null || kill -KILL "$i" 2>/dev/null
			done
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	rm -f "$T/browser.pids"
}
