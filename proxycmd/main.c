/*
 * b0-proxy: the visitor's client.  main() parses the command line and
 * hands over to stream.c (ProxyCommand), listen.c (--listen), token.c and
 * cache.c (login, logout, status, token).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "b0_buf.h"
#include "b0_jsonw.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "b0_version.h"
#include "proxy.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: b0-proxy [OPTIONS] --host NAME [--port N]\n"
	    "       b0-proxy [OPTIONS] --host NAME --listen ADDRESS:PORT\n"
	    "       b0-proxy [OPTIONS] login [--device]\n"
	    "       b0-proxy [OPTIONS] logout | status [--json] | token | "
	    "ssh-config\n"
	    "       b0-proxy [OPTIONS] askpass PROMPT\n"
	    "\n"
	    "Reaches identity-aware (tls) sockets published through a "
	    "b0-edge, as an\nOpenSSH ProxyCommand or a local listener, "
	    "signing in at the edge as needed.\n"
	    "\n"
	    "  --host NAME        the socket's DNS name (ssh: %%h)\n"
	    "  --port N           its port (ssh: %%p; default 22)\n"
	    "  --listen ADDR:PORT accept local clients, one stream each\n"
	    "  --edge DOMAIN      the edge (default: from the configuration)\n"
	    "  --connect ADDR:PORT  reach the edge there (names stay "
	    "DOMAIN's)\n"
	    "  --ca FILE          trust these CAs instead of the system's\n"
	    "  -f FILE            configuration (default "
	    "$XDG_CONFIG_HOME/b0/proxy.conf)\n"
	    "  --device           sign in with a code instead of a browser\n"
	    "  --json             status as JSON\n"
	    "  -h, --help         this help; --version: the version\n"
	    "\n"
	    "  login              sign in now\n"
	    "  logout             forget the tokens\n"
	    "  status             who, which edge, until when\n"
	    "  token              print a valid access token\n"
	    "  askpass PROMPT     SSH_ASKPASS for pam_b0's \"b0-token part\" "
	    "prompts\n"
	    "  ssh-config         print a Host block for ~/.ssh/config\n");
}

static int __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	px_say("%s (see b0-proxy --help)", line);
	return 2;
}

static int
fail(int r, const struct b0_errmsg *em)
{
	px_say("%s", b0_err_text(em, r));
	return r == B0_ERR_CONFIG || r == B0_ERR_PERM ? 78 : 1;
}

struct opts {
	const char *cmd;
	const char *host;
	uint16_t port;
	const char *listen;
	const char *edge;
	const char *connect;
	const char *ca;
	const char *file;
	int device;
	int json;
	const char *prompt; /* askpass */
};

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_LISTEN,
	OPT_EDGE,
	OPT_CONNECT,
	OPT_CA,
	OPT_DEVICE,
	OPT_JSON,
	OPT_VERSION
};

static const struct option longopts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"edge", required_argument, NULL, OPT_EDGE},
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"ca", required_argument, NULL, OPT_CA},
    {"device", no_argument, NULL, OPT_DEVICE},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const char *const cmds[] = {"login", "logout", "status", "token",
	    "ssh-config", "askpass", NULL};
	uint32_t v;
	int ch, i;

	memset(o, 0, sizeof(*o));
	o->port = 22;
	/* Options may come before and after the command. */
	for (;;) {
		while ((ch = getopt_long(argc, argv, "+f:h", longopts, NULL)) !=
		       -1) {
			switch (ch) {
			case OPT_HOST:
				o->host = optarg;
				break;
			case OPT_PORT:
				if (b0_parse_u32(optarg, 1, 65535, &v) != 0)
					return die_usage(
					    "--port: \"%s\" is not "
					    "a port (1-65535)",
					    optarg);
				o->port = (uint16_t)v;
				break;
			case OPT_LISTEN:
				o->listen = optarg;
				break;
			case OPT_EDGE:
				o->edge = optarg;
				break;
			case OPT_CONNECT:
				o->connect = optarg;
				break;
			case OPT_CA:
				o->ca = optarg;
				break;
			case 'f':
				o->file = optarg;
				break;
			case OPT_DEVICE:
				o->device = 1;
				break;
			case OPT_JSON:
				o->json = 1;
				break;
			case 'h':
				usage(stdout);
				exit(0);
			case OPT_VERSION:
				printf("b0-proxy %s\n", B0_VERSION);
				exit(0);
			default:
				return die_usage("bad option");
			}
		}
		if (optind >= argc)
			break;
		if (o->cmd != NULL)
			return die_usage(
			    "unexpected argument \"%s\"", argv[optind]);
		for (i = 0; cmds[i] != NULL; i++) {
			if (strcmp(argv[optind], cmds[i]) == 0)
				o->cmd = cmds[i];
		}
		if (o->cmd == NULL)
			return die_usage(
			    "unknown command \"%s\"", argv[optind]);
		optind++;
		if (strcmp(o->cmd, "askpass") == 0) {
			if (optind + 1 != argc)
				return die_usage("askpass takes one PROMPT");
			o->prompt = argv[optind++];
		}
	}
	if (o->connect != NULL && o->edge == NULL)
		return die_usage("--connect needs --edge");
	if (o->cmd == NULL && o->host == NULL)
		return die_usage("--host NAME is missing");
	if (o->cmd != NULL && (o->host != NULL || o->listen != NULL))
		return die_usage("%s takes no --host or --listen", o->cmd);
	if (o->device && o->cmd != NULL && strcmp(o->cmd, "login") != 0 &&
	    strcmp(o->cmd, "token") != 0)
		return die_usage("--device is for login, token and --host");
	if (o->json && (o->cmd == NULL || strcmp(o->cmd, "status") != 0))
		return die_usage("--json is for status");
	return 0;
}

/* The edge a command is about: --edge, or the only one configured. */
static int
pick_edge(const struct px_conf *c, const struct opts *o, const char *path,
    const struct px_edge **ep, struct b0_errmsg *em)
{
	*ep = NULL;
	if (o->edge != NULL) {
		char dom[PX_NAME_MAX + 1];

		if (px_name_check(o->edge, dom, sizeof(dom)) != 0 ||
		    (*ep = px_conf_edge(c, dom)) == NULL)
			return B0_ERR_INTERNAL;
		return 0;
	}
	if (c->nedges == 1) {
		*ep = &c->edges[0];
		return 0;
	}
	if (c->nedges == 0)
		b0_err_set(em,
		    "no edge configured: add \"edge DOMAIN\" to %s or "
		    "use --edge DOMAIN",
		    path);
	else
		b0_err_set(em,
		    "%zu edges are configured in %s: say which with "
		    "--edge DOMAIN",
		    c->nedges, path);
	return B0_ERR_CONFIG;
}

static void
fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
}

static int
cmd_status(const struct px_conf *c, const struct opts *o, const char *path)
{
	const struct px_edge *only = NULL;
	struct px_tokens t;
	struct b0_errmsg em;
	struct b0_buf *out = NULL;
	struct b0_jsonw w;
	char when[64];
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int r, ret = 0;

	b0_err_clear(&em);
	if (o->edge != NULL && (r = pick_edge(c, o, path, &only, &em)) != 0)
		return fail(r, &em);
	if (c->nedges == 0) {
		(void)pick_edge(c, o, path, &only, &em);
		return fail(B0_ERR_CONFIG, &em);
	}
	if ((out = b0_buf_new(1024 * 1024)) == NULL)
		return fail(B0_ERR_ALLOC, NULL);
	b0_jsonw_init(&w, out);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "edges");
	b0_jsonw_arr_begin(&w);
	for (i = 0; i < c->nedges; i++) {
		const struct px_edge *e = &c->edges[i];

		if (only != NULL && e != only)
			continue;
		r = px_cache_load(c, e, &t, &em);
		if (r != 0 && r != B0_ERR_NOT_FOUND) {
			px_say("%s", b0_err_text(&em, r));
			ret = 1;
			continue;
		}
		if (o->json) {
			b0_jsonw_obj_begin(&w);
			b0_jsonw_key(&w, "edge");
			b0_jsonw_str(&w, e->domain);
			b0_jsonw_key(&w, "signed_in");
			b0_jsonw_bool(&w, r == 0);
			if (r == 0) {
				b0_jsonw_key(&w, "email");
				if (t.email != NULL)
					b0_jsonw_str(&w, t.email);
				else
					b0_jsonw_null(&w);
				b0_jsonw_key(&w, "access_token_expires_at");
				b0_jsonw_int(&w, t.expires_at);
				b0_jsonw_key(&w, "access_token_valid");
				b0_jsonw_bool(&w, t.expires_at > now);
				b0_jsonw_key(&w, "refresh_token");
				b0_jsonw_bool(&w, t.refresh != NULL);
			}
			b0_jsonw_obj_end(&w);
		} else if (r != 0) {
			printf("%s: not signed in\n", e->domain);
		} else {
			fmt_time(t.expires_at, when, sizeof(when));
			printf("%s: %s; access token %s %s; %s\n", e->domain,
			    t.email != NULL ? t.email : "(unknown email)",
			    t.expires_at > now ? "valid until" : "expired at",
			    when,
			    t.refresh != NULL ? "refresh token present"
					      : "no refresh token");
		}
		px_tokens_cleanup(&t);
	}
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	if (o->json) {
		if ((r = b0_jsonw_finish(&w)) != 0) {
			b0_buf_free(out);
			return fail(r, NULL);
		}
		printf("%.*s\n", (int)b0_buf_len(out),
		    (const char *)b0_buf_ptr(out));
	}
	b0_buf_free(out);
	return ret;
}

static int
cmd_ssh_config(const struct px_conf *c, const struct opts *o)
{
	size_t i;

	for (i = 0; i < c->nedges; i++) {
		const struct px_edge *e = &c->edges[i];

		if (o->edge != NULL && !b0_str_caseeq(o->edge, e->domain))
			continue;
		printf("Host *.%s\n\tProxyCommand b0-proxy", e->domain);
		/* What came from options must come along; the file is read. */
		if (o->edge != NULL) {
			printf(" --edge %s", e->domain);
			if (o->connect != NULL)
				printf(" --connect %s", o->connect);
		}
		if (o->ca != NULL)
			printf(" --ca %s", o->ca);
		printf(" --host %%h --port %%p\n");
	}
	return 0;
}

/*
 * Forget the tokens of e: hand the refresh token back to the edge (RFC
 * 7009) so the grant ends there too, then delete them here even if the
 * edge cannot be reached.
 */
static int
cmd_logout(const struct px_conf *c, const struct px_edge *e)
{
	struct px_tokens t;
	struct px_oauth oa;
	struct b0_errmsg em;
	int lock = -1, r, revoked = 0;

	b0_err_clear(&em);
	memset(&oa, 0, sizeof(oa));
	if ((r = px_cache_lock(c, e, -1, &lock, &em)) != 0)
		return fail(r, &em);
	r = px_cache_load(c, e, &t, &em);
	if (r == 0 && t.refresh != NULL) {
		if ((r = px_oauth_discover(&oa, c, e, &em)) == 0 &&
		    (r = px_oauth_revoke(&oa, t.refresh, &em)) == 0)
			revoked = 1;
		else
			px_say("%s did not end the grant: %s", e->domain,
			    b0_err_text(&em, r));
		px_oauth_cleanup(&oa);
	} else if (r != 0 && r != B0_ERR_NOT_FOUND) {
		px_say("%s", b0_err_text(&em, r));
	}
	px_tokens_cleanup(&t);
	r = px_cache_remove(c, e, &em);
	close(lock);
	if (r != 0)
		return fail(r, &em);
	px_say("signed out of %s%s", e->domain,
	    revoked ? " (the edge ended the grant)" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	char path[PATH_MAX], *token = NULL;
	const struct px_edge *e = NULL;
	struct px_conf conf;
	struct b0_errmsg em;
	struct opts o;
	char shost[PX_NAME_MAX + 1] = "";
	unsigned part = 0, nparts = 0;
	int r, ret;

	signal(SIGPIPE, SIG_IGN);
	if ((r = parse_args(argc, argv, &o)) != 0)
		return r;
	/* Not our prompt: nothing at all, before any file is read. */
	if (o.cmd != NULL && strcmp(o.cmd, "askpass") == 0 &&
	    px_askpass_prompt(o.prompt, &part, &nparts, shost, sizeof(shost)) !=
		0)
		return 1;
	b0_err_clear(&em);
	if ((r = px_conf_init(&conf, &em)) != 0)
		return fail(r, &em);
	if (o.file != NULL)
		b0_strlcpy(path, o.file, sizeof(path));
	else if (px_conf_default_path(path, sizeof(path)) != 0)
		b0_strlcpy(path, "~/.config/b0/proxy.conf", sizeof(path));
	if ((o.file != NULL || path[0] == '/') &&
	    (r = px_conf_load(&conf, path, o.file != NULL, &em)) != 0) {
		ret = fail(r, &em);
		goto out;
	}
	if ((o.edge != NULL &&
		(r = px_conf_set_edge(&conf, o.edge, o.connect, &em)) != 0) ||
	    (o.ca != NULL && (r = px_conf_set_ca(&conf, o.ca, &em)) != 0)) {
		ret = fail(r, &em);
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ret = fail(B0_ERR_INTERNAL, NULL);
		goto out;
	}
	ret = 0;
	if (o.cmd == NULL) {
		char host[PX_NAME_MAX + 1];

		if (px_name_check(o.host, host, sizeof(host)) != 0) {
			ret = die_usage(
			    "--host: \"%s\" is not a DNS name", o.host);
			goto out;
		}
		if (o.edge != NULL)
			(void)pick_edge(&conf, &o, path, &e, &em);
		else if ((e = px_conf_find(&conf, host)) == NULL) {
			b0_err_set(&em,
			    "%s is under no edge configured in %s (\"edge "
			    "DOMAIN\" lines) or given with --edge",
			    host, path);
			ret = fail(B0_ERR_CONFIG, &em);
			goto out;
		}
		if (o.listen != NULL)
			r = px_listen_run(&conf, e, host, o.port, o.listen,
			    o.device ? PX_LOGIN_DEVICE : 0, &em);
		else
			r = px_stream_run(&conf, e, host, o.port, 0, 1, 1,
			    o.device ? PX_LOGIN_DEVICE : 0, &em);
		if (r != 0)
			ret = fail(r, &em);
		goto out;
	}
	if (strcmp(o.cmd, "status") == 0) {
		ret = cmd_status(&conf, &o, path);
		goto out;
	}
	if (strcmp(o.cmd, "ssh-config") == 0) {
		ret = cmd_ssh_config(&conf, &o);
		goto out;
	}
	if (strcmp(o.cmd, "askpass") == 0) {
		if ((r = px_askpass(&conf, shost, part, nparts, &em)) != 0)
			px_say("askpass: %s", b0_err_text(&em, r));
		ret = r == 0 ? 0 : 1;
		goto out;
	}
	if ((r = pick_edge(&conf, &o, path, &e, &em)) != 0) {
		ret = fail(r, &em);
		goto out;
	}
	if (strcmp(o.cmd, "logout") == 0) {
		ret = cmd_logout(&conf, e);
		goto out;
	}
	r = px_token_get(&conf, e,
	    (strcmp(o.cmd, "login") == 0 ? PX_TOKEN_LOGIN : 0) |
		(o.device ? PX_LOGIN_DEVICE : 0),
	    NULL, -1, &token, NULL, &em);
	if (r != 0) {
		ret = fail(r, &em);
		goto out;
	}
	if (strcmp(o.cmd, "token") == 0) {
		printf("%s\n", token);
		if (fflush(stdout) != 0)
			ret = 1;
	}
out:
	b0_str_wipe_free(token);
	px_conf_cleanup(&conf);
	curl_global_cleanup();
	return ret;
}
