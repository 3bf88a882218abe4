/*
 * b0-publish: publishes local ports through a b0-edge.  main() parses the
 * command line; pub.c runs the publisher.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_ctl.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "b0_version.h"
#include "conf.h"
#include "pub.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: b0-publish [-f FILE] [-t] [--ready-fd N] [--user NAME]\n"
	    "       b0-publish [-f FILE] ls [--json]\n"
	    "       b0-publish [-f FILE] connect --port N [--host HOST] "
	    "[--name NAME]\n"
	    "                  [--type tcp|tls|http|https] [--allow LIST]\n"
	    "                  [--httpserver DIR] [-o OPTION=VALUE]...\n"
	    "                  [--edge HOST:PORT --token-file FILE "
	    "[--edge-ca FILE]]\n"
	    "\n"
	    "Publishes local ports through a b0-edge, which relays them to "
	    "the\nInternet; prints the table of published sockets.\n"
	    "\n"
	    "  -f FILE          configuration file (default %s)\n"
	    "  -t               check the configuration and exit\n"
	    "  --ready-fd N     write READY=1 to fd N once registered\n"
	    "  --user NAME      run as NAME once set up (instead of the "
	    "file's user)\n"
	    "  ls               the sockets of the running b0-publish\n"
	    "  --json           print JSON instead of a table\n"
	    "  connect          publish one port until Ctrl-C, then remove it\n"
	    "    --port N       the local port\n"
	    "    --host HOST    where it listens (default 127.0.0.1)\n"
	    "    --name NAME    the socket's name (default p<port>)\n"
	    "    --type TYPE    tcp (default: a public port, anyone), tls\n"
	    "                   (signed-in people, through b0-proxy), http or\n"
	    "                   https (a web app at "
	    "https://NAME-PUBLISHER.DOMAIN)\n"
	    "    --allow LIST   who may connect (tls, http, https): emails "
	    "and\n"
	    "                   domains, comma-separated\n"
	    "    --httpserver DIR\n"
	    "                   serve DIR read-only with the built-in static\n"
	    "                   file server (--type http; no --port)\n"
	    "    -o OPTION=VALUE\n"
	    "                   a socket option of publish.conf (http, "
	    "https):\n"
	    "                   host=, protected= with password-file=,\n"
	    "                   tls-ca=, tls-name=, tls-verify=no\n"
	    "    --edge, --token-file, --edge-ca\n"
	    "                   instead of the configuration file\n"
	    "  -h, --help       this help; --version: the version\n",
	    PUB_CONF_DEFAULT);
}

static int __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "b0-publish: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see b0-publish --help)\n");
	return 2;
}

static int
fail(int r, const struct b0_errmsg *em)
{
	fprintf(stderr, "b0-publish: %s\n", b0_err_text(em, r));
	return r == B0_ERR_CONFIG || r == B0_ERR_PERM || r == B0_ERR_UNSUPPORTED
		   ? 78
		   : 1;
}

static int
cmd_ls(const struct pub_conf *c, int json)
{
	struct b0_buf reply, out;
	struct b0_errmsg em;
	int r;

	b0_buf_init(&reply, B0_CTL_REPLY_MAX);
	b0_buf_init(&out, B0_CTL_REPLY_MAX);
	b0_err_clear(&em);
	if ((r = b0_ctl_request(c->control_socket, "ls", 5000, &reply, &em)) !=
	    0) {
		fprintf(stderr, "b0-publish: %s (is b0-publish running?)\n",
		    b0_err_text(&em, r));
		goto out;
	}
	if (json) {
		fwrite(b0_buf_ptr(&reply), 1, b0_buf_len(&reply), stdout);
		putchar('\n');
	} else if ((r = pub_table_from_json((const char *)b0_buf_ptr(&reply),
			b0_buf_len(&reply), &out, &em)) == 0)
		fwrite(b0_buf_ptr(&out), 1, b0_buf_len(&out), stdout);
	else
		fprintf(stderr, "b0-publish: bad answer: %s\n",
		    b0_err_text(&em, r));
out:
	b0_buf_cleanup(&reply);
	b0_buf_cleanup(&out);
	return r == 0 ? 0 : 1;
}

struct connect_args {
	const char *port, *host, *name, *edge, *token_file, *edge_ca, *type;
	const char *allow, *httpserver;
	char *opts[B0_CONF_MAX_ARGS]; /* -o OPTION=VALUE */
	size_t nopts;
};

static int
cmd_connect(const char *path, int path_given, const struct connect_args *a)
{
	struct pub_conf *c = NULL;
	struct b0_errmsg em;
	char name[B0_NAME_SIZE], spec[B0_SPEC_SIZE + 16], target[300];
	uint32_t port;
	int r;

	b0_err_clear(&em);
	if (a->type != NULL && strcmp(a->type, "tcp") != 0 &&
	    strcmp(a->type, "tls") != 0 && strcmp(a->type, "http") != 0 &&
	    strcmp(a->type, "https") != 0)
		return die_usage("connect: --type \"%s\" is not tcp, tls, http "
				 "or https",
		    a->type);
	if (a->httpserver != NULL) {
		if (a->type == NULL || strcmp(a->type, "http") != 0)
			return die_usage("connect: --httpserver goes with "
					 "--type http");
		if (a->port != NULL || a->host != NULL)
			return die_usage("connect: --httpserver serves a "
					 "directory: no --port or --host");
		port = 80; /* the spec's; the target is the server's */
	} else if (a->port == NULL)
		return die_usage("connect: --port is required");
	else if (b0_parse_u32(a->port, 1, 65535, &port) != 0)
		return die_usage("connect: --port \"%s\" is not a port from 1 "
				 "to 65535",
		    a->port);
	if (a->allow != NULL &&
	    (a->type == NULL || strcmp(a->type, "tcp") == 0))
		return die_usage("connect: --allow needs --type tls, http or "
				 "https (a tcp socket carries no identity)");
	if (a->edge != NULL) {
		if (a->token_file == NULL)
			return die_usage("connect: --edge needs --token-file");
		if ((c = pub_conf_new()) == NULL)
			return 1;
		if (b0_parse_hostport(a->edge, c->edge_host,
			sizeof(c->edge_host), &c->edge_port) != 0) {
			pub_conf_free(c);
			return die_usage(
			    "--edge \"%s\" is not HOST:PORT", a->edge);
		}
		if ((c->token_file = strdup(a->token_file)) == NULL ||
		    (a->edge_ca != NULL &&
			(c->edge_ca = strdup(a->edge_ca)) == NULL)) {
			pub_conf_free(c);
			return 1;
		}
	} else {
		if (!path_given && access(path, F_OK) != 0)
			return die_usage("connect: no %s; give --edge and "
					 "--token-file",
			    path);
		if ((r = pub_conf_load(path, &c, &em)) != 0)
			return fail(r, &em);
		/* The file's edge and token; its sockets stay with the daemon.
		 */
		pub_socks_free(c->socks, c->nsocks);
		c->socks = NULL;
		c->nsocks = 0;
	}
	free(c->control_socket);
	c->control_socket = NULL;
	snprintf(name, sizeof(name), a->httpserver ? "files" : "p%u",
	    (unsigned)port);
	snprintf(spec, sizeof(spec), "%s/%u%s%s", a->type ? a->type : "tcp",
	    (unsigned)port, a->allow ? "/" : "", a->allow ? a->allow : "");
	snprintf(target, sizeof(target),
	    a->host && strchr(a->host, ':') ? "[%s]:%u" : "%s:%u",
	    a->host ? a->host : "127.0.0.1", (unsigned)port);
	if ((r = pub_conf_add_socket_opts(c, a->name ? a->name : name, spec,
		 target, a->opts, a->nopts, "connect", &em)) != 0) {
		pub_conf_free(c);
		return fail(r, &em);
	}
	if (a->httpserver != NULL &&
	    (c->socks[0].httpserver = strdup(a->httpserver)) == NULL) {
		pub_conf_free(c);
		return 1;
	}
	r = pub_run(c, 1, -1);
	pub_conf_free(c);
	return r;
}

int
main(int argc, char **argv)
{
	enum {
		O_READY = 256,
		O_JSON,
		O_PORT,
		O_HOST,
		O_NAME,
		O_EDGE,
		O_TOKEN,
		O_CA,
		O_TYPE,
		O_ALLOW,
		O_HTTPSERVER,
		O_LISTEN,
		O_USER
	};
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"ready-fd", required_argument, NULL, O_READY},
	    {"json", no_argument, NULL, O_JSON},
	    {"port", required_argument, NULL, O_PORT},
	    {"host", required_argument, NULL, O_HOST},
	    {"name", required_argument, NULL, O_NAME},
	    {"edge", required_argument, NULL, O_EDGE},
	    {"token-file", required_argument, NULL, O_TOKEN},
	    {"edge-ca", required_argument, NULL, O_CA},
	    {"type", required_argument, NULL, O_TYPE},
	    {"allow", required_argument, NULL, O_ALLOW},
	    {"httpserver", required_argument, NULL, O_HTTPSERVER},
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"user", required_argument, NULL, O_USER},
	    {NULL, 0, NULL, 0},
	};
	const char *path = PUB_CONF_DEFAULT, *user = NULL;
	struct connect_args ca;
	struct pub_conf *c = NULL;
	struct b0_errmsg em;
	const char *listen = NULL;
	int ch, test = 0, json = 0, ready_fd = -1, path_given = 0, r;
	uint32_t u;

	memset(&ca, 0, sizeof(ca));
	/* Options may come before or after the command. */
	while ((ch = getopt_long(argc, argv, "f:o:thV", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			path_given = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'o':
			if (ca.nopts == B0_CONF_MAX_ARGS)
				return die_usage(
				    "connect: at most %d -o", B0_CONF_MAX_ARGS);
			ca.opts[ca.nopts++] = optarg;
			break;
		case O_READY:
			if (b0_parse_u32(optarg, 3, 1024, &u) != 0)
				return die_usage("--ready-fd: \"%s\" is not a "
						 "file descriptor from 3 to "
						 "1024",
				    optarg);
			ready_fd = (int)u;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_PORT:
			ca.port = optarg;
			break;
		case O_HOST:
			ca.host = optarg;
			break;
		case O_NAME:
			ca.name = optarg;
			break;
		case O_EDGE:
			ca.edge = optarg;
			break;
		case O_TOKEN:
			ca.token_file = optarg;
			break;
		case O_CA:
			ca.edge_ca = optarg;
			break;
		case O_TYPE:
			ca.type = optarg;
			break;
		case O_ALLOW:
			ca.allow = optarg;
			break;
		case O_HTTPSERVER:
			ca.httpserver = optarg;
			break;
		case O_LISTEN:
			listen = optarg;
			break;
		case O_USER:
			user = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("b0-publish %s\n", B0_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	/*
	 * Hidden, for tests: the static file server alone, on a port curl
	 * can reach (b0-publish httpserver DIR --listen HOST:PORT).
	 */
	if (argc == 2 && strcmp(argv[0], "httpserver") == 0)
		return httpd_main(
		    argv[1], listen ? listen : "127.0.0.1:0", ready_fd);
	if (listen != NULL)
		return die_usage("--listen goes with httpserver");
	if (argc > 1)
		return die_usage("unexpected \"%s\"", argv[1]);
	if (argc == 1 && strcmp(argv[0], "connect") == 0 && user != NULL)
		return die_usage("--user is for the daemon");
	if (argc == 1 && strcmp(argv[0], "connect") == 0)
		return cmd_connect(path, path_given, &ca);
	if (ca.port || ca.host || ca.name || ca.edge || ca.token_file ||
	    ca.edge_ca || ca.type || ca.allow || ca.httpserver || ca.nopts)
		return die_usage("--port, --host, --name, --type, --allow, "
				 "--httpserver, -o, --edge, --token-file and "
				 "--edge-ca go with connect");
	if (argc == 1 && strcmp(argv[0], "ls") != 0)
		return die_usage("unknown command \"%s\"", argv[0]);
	if (argc == 1 && user != NULL)
		return die_usage("--user is for the daemon");
	b0_err_clear(&em);
	if ((r = pub_conf_load(path, &c, &em)) != 0)
		return fail(r, &em);
	if (user != NULL) {
		free(c->user);
		if ((c->user = strdup(user)) == NULL) {
			pub_conf_free(c);
			return 1;
		}
	}
	if (argc == 1) {
		r = cmd_ls(c, json);
	} else if (test) {
		char token[B0_TOKEN_SIZE];

		if ((r = pub_read_token(
			 c->token_file, token, sizeof(token), &em)) != 0 ||
		    (r = pub_conf_prepare(c, &em)) != 0)
			r = fail(r, &em);
		else
			fprintf(stderr,
			    "b0-publish: %s: configuration OK "
			    "(%zu socket%s)\n",
			    path, c->nsocks, c->nsocks == 1 ? "" : "s");
		explicit_bzero(token, sizeof(token));
	} else
		r = pub_run(c, 0, ready_fd);
	pub_conf_free(c);
	return r;
}
