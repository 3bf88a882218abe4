#!/bin/sh
# $BROWSER for b0-proxy: browser.mjs with stdin from /dev/null and stdout
# sent to stderr, so that it never touches b0-proxy's ssh stream; fd 3
# (bats's output, when a test started b0-proxy) closed.
exec node "$(dirname "$0")/browser.mjs" "$@" </dev/null >&2 3>&-
