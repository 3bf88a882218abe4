/*
 * b0-edge: the public relay.  main() only parses the command line and
 * hands over: edge.c runs the daemon, state.c keeps tokens.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b0_buf.h"
#include "b0_ctl.h"
#include "b0_daemon.h"
#include "b0_ident.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_parse.h"
#include "b0_table.h"
#include "b0_str.h"
#include "b0_version.h"
#include "conf.h"
#include "edge.h"
#include "keys.h"
#include "state.h"
#include "users.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: b0-edge [-f FILE] [-t] [--ready-fd N]\n"
	    "       b0-edge [-f FILE] token add NAME\n"
	    "       b0-edge [-f FILE] token ls [--json]\n"
	    "       b0-edge [-f FILE] token revoke NAME\n"
	    "       b0-edge [-f FILE] key rotate | key ls [--json]\n"
	    "       b0-edge [-f FILE] ls [--json]\n"
	    "       b0-edge [-f FILE] user add EMAIL | ls [--json] | del "
	    "EMAIL\n"
	    "\n"
	    "The public relay of b0: publishers connect to it, visitors reach\n"
	    "their sockets through it.\n"
	    "\n"
	    "  -f FILE        configuration file (default %s)\n"
	    "  -t             check the configuration and exit\n"
	    "  --ready-fd N   write READY=1 and PORT=<https port> to fd N "
	    "once\n"
	    "                 listening (for scripts and tests)\n"
	    "  token add NAME print a new publisher token for NAME (once; the\n"
	    "                 edge keeps only its hash)\n"
	    "  token ls       list publishers that have a token\n"
	    "  token revoke NAME\n"
	    "                 revoke NAME's token and cut its tunnels\n"
	    "  key rotate     add a new signing key (the edge signs with it\n"
	    "                 within a second) and delete retired ones\n"
	    "  key ls         list the signing keys\n"
	    "  ls             publishers and sockets of the running edge\n"
	    "  user add EMAIL add a built-in account or change its "
	    "password\n"
	    "                 (asked twice on the terminal, or one line on "
	    "stdin)\n"
	    "  user ls        list the built-in accounts\n"
	    "  user del EMAIL remove a built-in account\n"
	    "  --json         print JSON instead of a table\n"
	    "  -h, --help     this help; --version: the version\n",
	    EDGE_CONF_DEFAULT);
}

static int __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "b0-edge: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see b0-edge --help)\n");
	return 2;
}

static int
load(const char *path, struct edge_conf **cp)
{
	struct b0_errmsg em;
	int r;

	b0_err_clear(&em);
	if ((r = edge_conf_load(path, cp, &em)) != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	return 0;
}

/*
 * Token commands act as the daemon's user, so the files they write stay
 * readable by it.
 */
static int
become_daemon_user(const struct edge_conf *c)
{
	struct b0_errmsg em;
	uid_t uid;
	gid_t gid;
	int r;

	if (geteuid() != 0 || c->user == NULL)
		return 0;
	b0_err_clear(&em);
	if ((r = b0_daemon_lookup(c->user, &uid, &gid, &em)) != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	if ((mkdir(c->state_dir, 0700) == 0 || errno == EEXIST) &&
	    chown(c->state_dir, uid, gid) == -1) {
		fprintf(stderr, "b0-edge: %s: chown: %s\n", c->state_dir,
		    strerror(errno));
		return 1;
	}
	if ((r = b0_daemon_drop(c->user, &em)) != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	return 0;
}

static int
cmd_token(struct edge_conf *c, int argc, char **argv, int json)
{
	struct edge_tokens t;
	struct b0_errmsg em;
	char token[EDGE_TOKEN_SIZE];
	int r;

	if (argc < 1)
		return die_usage("token: add, ls or revoke?");
	if (become_daemon_user(c) != 0)
		return 1;
	if (mkdir(c->state_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "b0-edge: state-dir %s: %s\n", c->state_dir,
		    strerror(errno));
		return 1;
	}
	b0_err_clear(&em);
	if ((r = edge_tokens_load(c->state_dir, &t, &em)) != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	if (strcmp(argv[0], "add") == 0 && argc == 2) {
		if ((r = edge_token_add(
			 &t, argv[1], token, sizeof(token), &em)) == 0 &&
		    (r = edge_tokens_save(c->state_dir, &t, &em)) == 0) {
			printf("%s\n", token);
			fprintf(stderr,
			    "b0-edge: token for publisher %s (shown "
			    "once; put it in a file only the publisher can "
			    "read, chmod 600, and name that file in its "
			    "publish.conf \"token-file\")\n",
			    argv[1]);
		}
		OPENSSL_cleanse(token, sizeof(token));
	} else if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		if ((r = edge_token_remove(&t, argv[1])) != 0)
			b0_err_set(&em, "publisher %s has no token", argv[1]);
		else if ((r = edge_tokens_save(c->state_dir, &t, &em)) == 0)
			fprintf(stderr,
			    "b0-edge: revoked the token of %s; a "
			    "running edge cuts its tunnels within a second\n",
			    argv[1]);
	} else if (strcmp(argv[0], "ls") == 0 && argc == 1) {
		struct b0_table *tb = NULL;
		struct b0_buf out;
		struct b0_jsonw w;
		const char *hdr[] = {"PUBLISHER", "CREATED"};
		size_t i;

		b0_buf_init(&out, 16 * 1024 * 1024);
		if (json) {
			b0_jsonw_init(&w, &out);
			b0_jsonw_arr_begin(&w);
			for (i = 0; i < t.n; i++) {
				b0_jsonw_obj_begin(&w);
				b0_jsonw_key(&w, "name");
				b0_jsonw_str(&w, t.t[i].name);
				b0_jsonw_key(&w, "created");
				b0_jsonw_int(&w, t.t[i].created);
				b0_jsonw_obj_end(&w);
			}
			b0_jsonw_arr_end(&w);
			if ((r = b0_jsonw_finish(&w)) == 0)
				r = b0_buf_put_str(&out, "\n");
		} else if ((r = b0_table_new(2, hdr, &tb)) == 0) {
			for (i = 0; i < t.n && r == 0; i++) {
				char when[32];
				time_t tt = (time_t)t.t[i].created;
				struct tm tm;
				const char *row[2] = {t.t[i].name, when};

				strftime(when, sizeof(when), "%Y-%m-%d %H:%M",
				    gmtime_r(&tt, &tm));
				r = b0_table_add(tb, row);
			}
			if (r == 0)
				r = b0_table_format(tb, &out);
			b0_table_free(tb);
		}
		if (r == 0)
			fwrite(b0_buf_ptr(&out), 1, b0_buf_len(&out), stdout);
		b0_buf_cleanup(&out);
	} else {
		edge_tokens_cleanup(&t);
		return die_usage("token: add NAME, ls or revoke NAME");
	}
	edge_tokens_cleanup(&t);
	if (r != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	return 0;
}

/*
 * `b0-edge key rotate | ls`: the issuer's signing keys (keys.c), as the
 * daemon's user so the files stay its own.
 */
static int
cmd_key(struct edge_conf *c, int argc, char **argv, int json)
{
	int64_t now = (int64_t)time(NULL);
	int64_t retain = keys_retain_s(c->access_ttl_s);
	char kid[B0_JWK_THUMBPRINT_SIZE];
	struct keys *k = NULL;
	struct b0_errmsg em;
	unsigned ndel;
	int r;

	if (argc != 1 ||
	    (strcmp(argv[0], "rotate") != 0 && strcmp(argv[0], "ls") != 0))
		return die_usage("key: rotate or ls");
	if (become_daemon_user(c) != 0)
		return 1;
	b0_err_clear(&em);
	if (strcmp(argv[0], "rotate") == 0) {
		if (mkdir(c->state_dir, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "b0-edge: state-dir %s: %s\n",
			    c->state_dir, strerror(errno));
			return 1;
		}
		if ((r = keys_rotate(c->state_dir, now, retain, kid,
			 sizeof(kid), &ndel, &em)) != 0) {
			fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
			return 1;
		}
		printf("%s\n", kid);
		fprintf(stderr,
		    "b0-edge: new signing key %s; %u retired key%s deleted; "
		    "a running edge signs with it within a second, and keeps "
		    "the older keys in its JWKS for %lld s\n",
		    kid, ndel, ndel == 1 ? "" : "s", (long long)retain);
		return 0;
	}
	r = keys_load(c->state_dir, 0, &k, &em);
	if (r == B0_ERR_SYS(ENOENT)) {
		r = 0;
		k = NULL;
	}
	if (r == 0) {
		struct b0_table *tb = NULL;
		struct b0_buf out;
		struct b0_jsonw w;
		const char *hdr[] = {"KID", "CREATED", "STATE"};
		size_t i, n = k != NULL ? keys_count(k) : 0;

		b0_buf_init(&out, 1024 * 1024);
		if (json) {
			b0_jsonw_init(&w, &out);
			b0_jsonw_arr_begin(&w);
		} else
			r = b0_table_new(3, hdr, &tb);
		for (i = 0; i < n && r == 0; i++) {
			const char *id;
			int64_t created;
			int signing, published;

			keys_get(k, i, &id, &created, &signing, &published, now,
			    retain);
			if (json) {
				b0_jsonw_obj_begin(&w);
				b0_jsonw_key(&w, "kid");
				b0_jsonw_str(&w, id);
				b0_jsonw_key(&w, "created");
				b0_jsonw_int(&w, created);
				b0_jsonw_key(&w, "signing");
				b0_jsonw_bool(&w, signing);
				b0_jsonw_key(&w, "published");
				b0_jsonw_bool(&w, published);
				b0_jsonw_obj_end(&w);
			} else {
				char when[32];
				time_t tt = (time_t)created;
				struct tm tm;
				const char *row[3] = {id, when,
				    signing	? "signing"
				    : published ? "published"
						: "retired"};

				strftime(when, sizeof(when),
				    "%Y-%m-%d %H:%M:%S", gmtime_r(&tt, &tm));
				r = b0_table_add(tb, row);
			}
		}
		if (json) {
			b0_jsonw_arr_end(&w);
			if ((r = b0_jsonw_finish(&w)) == 0)
				r = b0_buf_put_str(&out, "\n");
		} else if (r == 0)
			r = b0_table_format(tb, &out);
		if (r == 0)
			fwrite(b0_buf_ptr(&out), 1, b0_buf_len(&out), stdout);
		b0_table_free(tb);
		b0_buf_cleanup(&out);
	}
	keys_free(k);
	if (r != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	return 0;
}

/* `b0-edge ls`: ask the running edge; print its JSON or a table of it. */
static int
cmd_ls(const struct edge_conf *c, int json)
{
	const char *hdr[] = {
	    "PUBLISHER", "SOCKET", "DNS NAME", "PORT", "SPEC", "STATE"};
	struct b0_table *tb = NULL;
	struct b0_json *j = NULL;
	struct b0_errmsg em;
	struct b0_buf reply, out;
	int socks, k, r;
	size_t i;

	b0_buf_init(&reply, B0_CTL_REPLY_MAX);
	b0_buf_init(&out, B0_CTL_REPLY_MAX * 2);
	if ((r = b0_ctl_request(c->control_socket, "ls", 5000, &reply, &em)) !=
	    0) {
		fprintf(stderr, "b0-edge: %s (is b0-edge running?)\n",
		    b0_err_text(&em, r));
		goto out;
	}
	if (json) {
		fwrite(b0_buf_ptr(&reply), 1, b0_buf_len(&reply), stdout);
		putchar('\n');
		goto out;
	}
	if ((r = b0_json_parse((const char *)b0_buf_ptr(&reply),
		 b0_buf_len(&reply), NULL, &j, &em)) != 0 ||
	    (r = b0_json_obj_get(j, 0, "sockets", &socks)) != 0 ||
	    (r = b0_table_new(6, hdr, &tb)) != 0) {
		fprintf(stderr, "b0-edge: bad answer from the edge: %s\n",
		    b0_err_text(&em, r));
		goto out;
	}
	for (i = 0; i < b0_json_len(j, socks) && r == 0; i++) {
		const char *pub = "", *name = "", *dns = "", *spec = "";
		char port[8];
		int64_t p = 0;
		int online = 0;
		const char *row[6];

		b0_json_arr_get(j, socks, i, &k);
		b0_json_get_str(j, k, "publisher", &pub);
		b0_json_get_str(j, k, "name", &name);
		b0_json_get_str(j, k, "dns", &dns);
		b0_json_get_str(j, k, "spec", &spec);
		b0_json_get_int(j, k, "port", &p);
		b0_json_get_bool(j, k, "online", &online);
		snprintf(port, sizeof(port), "%lld", (long long)p);
		row[0] = pub;
		row[1] = name;
		row[2] = dns;
		row[3] = port;
		row[4] = spec;
		row[5] = online ? "online" : "publisher away";
		r = b0_table_add(tb, row);
	}
	if (r == 0 && (r = b0_table_format(tb, &out)) == 0)
		fwrite(b0_buf_ptr(&out), 1, b0_buf_len(&out), stdout);
out:
	b0_table_free(tb);
	b0_json_free(j);
	b0_buf_cleanup(&reply);
	b0_buf_cleanup(&out);
	return r == 0 ? 0 : 1;
}

/*
 * `b0-edge user ...`: the built-in accounts (users.c).  Passwords come
 * from the terminal without echo (twice), or as one line on stdin when it
 * is not a terminal (scripts); they are wiped once hashed.
 */
#define PASSWORD_MAX 256 /* bytes; users_set() refuses longer too */

static volatile sig_atomic_t pw_signo;

static void
pw_onsig(int signo)
{
	pw_signo = signo;
}

/*
 * read_line(fd, buf, size, lenp): read one line from fd a byte at a time
 * (no stdio: its buffer would keep a copy of the secret) into buf,
 * without its "\n" or "\r\n", NUL-terminated.  Returns 0, B0_ERR_TOO_BIG
 * (longer than size - 1), B0_ERR_FORMAT (a NUL byte) or B0_ERR_SYS(errno).
 */
static int
read_line(int fd, char *buf, size_t size, size_t *lenp)
{
	size_t n = 0;
	ssize_t got;
	char ch;

	*lenp = 0;
	for (;;) {
		if ((got = read(fd, &ch, 1)) == -1)
			return b0_err_from_errno();
		if (got == 0 || ch == '\n')
			break;
		if (ch == '\0')
			return B0_ERR_FORMAT;
		if (n + 1 >= size)
			return B0_ERR_TOO_BIG;
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*lenp = n;
	return 0;
}

/*
 * read_tty(prompt, buf, size, lenp): prompt on /dev/tty and read a line
 * with echo off, as readpassphrase(3) does: the terminal is restored even
 * when a signal ends the read, and the signal is then delivered.
 */
static int
read_tty(const char *prompt, char *buf, size_t size, size_t *lenp)
{
	static const int sigs[] = {
	    SIGINT, SIGHUP, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU};
	struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios tio, saved;
	size_t i;
	int fd, r;

	*lenp = 0;
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		r = b0_err_from_errno();
		fprintf(stderr, "b0-edge: /dev/tty: %s\n", b0_strerror(r));
		return r;
	}
	if (tcgetattr(fd, &saved) == -1) {
		r = b0_err_from_errno();
		fprintf(stderr, "b0-edge: /dev/tty: %s\n", b0_strerror(r));
		close(fd);
		return r;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pw_onsig; /* no SA_RESTART: read() returns EINTR */
	sigemptyset(&sa.sa_mask);
	pw_signo = 0;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, &old[i]);
	tio = saved;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	(void)tcsetattr(fd, TCSAFLUSH, &tio);
	(void)!write(fd, prompt, strlen(prompt));
	r = read_line(fd, buf, size, lenp);
	(void)!write(fd, "\n", 1);
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	close(fd);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	if (pw_signo != 0) {
		OPENSSL_cleanse(buf, size);
		*lenp = 0;
		raise(pw_signo);
		return B0_ERR_SYS(EINTR);
	}
	return r;
}

/* read_password(email, pw, size): the new password of email into pw. */
static int
read_password(const char *email, char *pw, size_t size)
{
	char again[PASSWORD_MAX + 2], prompt[320];
	size_t n, m;
	int r;

	if (isatty(STDIN_FILENO)) {
		snprintf(
		    prompt, sizeof(prompt), "New password for %s: ", email);
		if ((r = read_tty(prompt, pw, size, &n)) != 0 ||
		    (n > 0 && (r = read_tty(
				   "Again: ", again, sizeof(again), &m)) != 0))
			goto out;
		if (n > 0 && (m != n || memcmp(pw, again, n) != 0)) {
			fprintf(stderr, "b0-edge: the passwords differ\n");
			r = B0_ERR_ARG;
			goto out;
		}
	} else if ((r = read_line(STDIN_FILENO, pw, size, &n)) != 0)
		goto out;
	if (n == 0) {
		fprintf(stderr, "b0-edge: the password is empty\n");
		r = B0_ERR_ARG;
	}
out:
	if (r == B0_ERR_TOO_BIG)
		fprintf(stderr,
		    "b0-edge: the password is longer than %d bytes\n",
		    PASSWORD_MAX);
	else if (r == B0_ERR_FORMAT)
		fprintf(stderr, "b0-edge: the password holds a NUL byte\n");
	else if (r != 0 && r != B0_ERR_ARG && r != B0_ERR_SYS(EINTR))
		fprintf(stderr, "b0-edge: reading the password: %s\n",
		    b0_strerror(r));
	OPENSSL_cleanse(again, sizeof(again));
	if (r != 0)
		OPENSSL_cleanse(pw, size);
	return r;
}

static int
user_add(struct users *u, const char *dir, const char *email)
{
	struct b0_errmsg em;
	char pw[PASSWORD_MAX + 2], *lower = NULL;
	int r, had;

	b0_err_clear(&em);
	/* Check the address before asking for a password. */
	if ((r = b0_ident_check_email(email, strlen(email), &em)) != 0) {
		char show[B0_IDENT_SHOW_SIZE];

		b0_ident_show(show, sizeof(show), email, strlen(email));
		fprintf(stderr,
		    "b0-edge: user add: \"%s\" is not an email "
		    "address: %s\n",
		    show, b0_err_text(&em, r));
		return 1;
	}
	if ((lower = strdup(email)) == NULL) {
		fprintf(stderr, "b0-edge: %s\n", b0_strerror(B0_ERR_ALLOC));
		return 1;
	}
	b0_str_lower(lower);
	had = users_has(u, lower);
	if ((r = read_password(lower, pw, sizeof(pw))) != 0)
		goto out;
	if ((r = users_set(u, lower, pw, &em)) == 0)
		r = users_save(u, dir, &em);
	if (r != 0)
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
	else if (had)
		fprintf(stderr, "b0-edge: changed the password of %s\n", lower);
	else
		fprintf(stderr, "b0-edge: added %s\n", lower);
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	free(lower);
	return r == 0 ? 0 : 1;
}

static int
user_ls(const struct users *u, int json)
{
	const char *hdr[] = {"EMAIL", "CREATED"};
	struct b0_table *tb = NULL;
	struct b0_jsonw w;
	struct b0_buf out;
	const char *email;
	int64_t created;
	size_t i;
	int r = 0;

	b0_buf_init(&out, 16 * 1024 * 1024);
	if (json) {
		b0_jsonw_init(&w, &out);
		b0_jsonw_arr_begin(&w);
		for (i = 0; users_get(u, i, &email, &created) == 0; i++) {
			b0_jsonw_obj_begin(&w);
			b0_jsonw_key(&w, "email");
			b0_jsonw_str(&w, email);
			b0_jsonw_key(&w, "created");
			b0_jsonw_int(&w, created);
			b0_jsonw_obj_end(&w);
		}
		b0_jsonw_arr_end(&w);
		if ((r = b0_jsonw_finish(&w)) == 0)
			r = b0_buf_put_str(&out, "\n");
	} else if ((r = b0_table_new(2, hdr, &tb)) == 0) {
		for (i = 0; r == 0 && users_get(u, i, &email, &created) == 0;
		     i++) {
			char when[32];
			time_t tt = (time_t)created;
			struct tm tm;
			const char *row[2] = {email, when};

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M",
			    gmtime_r(&tt, &tm));
			r = b0_table_add(tb, row);
		}
		if (r == 0)
			r = b0_table_format(tb, &out);
		b0_table_free(tb);
	}
	if (r == 0)
		fwrite(b0_buf_ptr(&out), 1, b0_buf_len(&out), stdout);
	else
		fprintf(stderr, "b0-edge: user ls: %s\n", b0_strerror(r));
	b0_buf_cleanup(&out);
	return r == 0 ? 0 : 1;
}

static int
user_del(struct users *u, const char *dir, const char *email)
{
	struct b0_errmsg em;
	char show[B0_IDENT_SHOW_SIZE];
	int r;

	b0_err_clear(&em);
	b0_ident_show(show, sizeof(show), email, strlen(email));
	b0_str_lower(show);
	if (users_del(u, email) != 0) {
		fprintf(stderr,
		    "b0-edge: user del: no built-in account "
		    "\"%s\"\n",
		    show);
		return 1;
	}
	if ((r = users_save(u, dir, &em)) != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	fprintf(stderr,
	    "b0-edge: removed %s; a running edge refuses its tokens within "
	    "a minute\n",
	    show);
	return 0;
}

static int
cmd_user(struct edge_conf *c, int argc, char **argv, int json)
{
	struct users *u = NULL;
	struct b0_errmsg em;
	int r;

	if (argc < 1)
		return die_usage("user: add, ls or del?");
	if (!((strcmp(argv[0], "add") == 0 && argc == 2) ||
		(strcmp(argv[0], "del") == 0 && argc == 2) ||
		(strcmp(argv[0], "ls") == 0 && argc == 1)))
		return die_usage("user: add EMAIL, ls or del EMAIL");
	if (become_daemon_user(c) != 0)
		return 1;
	if (mkdir(c->state_dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "b0-edge: state-dir %s: %s\n", c->state_dir,
		    strerror(errno));
		return 1;
	}
	b0_err_clear(&em);
	if ((r = users_load(c->state_dir, &u, &em)) != 0) {
		fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
		return 1;
	}
	if (strcmp(argv[0], "add") == 0)
		r = user_add(u, c->state_dir, argv[1]);
	else if (strcmp(argv[0], "del") == 0)
		r = user_del(u, c->state_dir, argv[1]);
	else
		r = user_ls(u, json);
	users_free(u);
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"ready-fd", required_argument, NULL, 'R'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = EDGE_CONF_DEFAULT;
	struct edge_conf *c = NULL;
	int ch, test = 0, json = 0, ready_fd = -1, r;
	uint32_t u;

	while ((ch = getopt_long(argc, argv, "+f:thV", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'R':
			if (b0_parse_u32(optarg, 3, 1024, &u) != 0)
				return die_usage("--ready-fd: \"%s\" is not a "
						 "file descriptor from 3 to "
						 "1024",
				    optarg);
			ready_fd = (int)u;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("b0-edge %s\n", B0_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	/* --json may also follow the subcommand. */
	if (argc > 0 && strcmp(argv[argc - 1], "--json") == 0) {
		json = 1;
		argc--;
	}
	if (load(path, &c) != 0)
		return 1;
	if (test) {
		struct b0_tls_ctx *t = NULL;
		struct b0_tls_config tc;
		struct b0_errmsg em;

		memset(&tc, 0, sizeof(tc));
		tc.cert_file = c->cert;
		tc.key_file = c->key;
		b0_err_clear(&em);
		if ((r = b0_tls_ctx_new_server(&tc, &t, &em)) != 0) {
			fprintf(stderr, "b0-edge: %s\n", b0_err_text(&em, r));
			edge_conf_free(c);
			return 1;
		}
		b0_tls_ctx_free(t);
		fprintf(stderr, "b0-edge: %s: configuration OK\n", path);
		edge_conf_free(c);
		return 0;
	}
	if (argc == 0)
		return edge_run(c, ready_fd);
	if (strcmp(argv[0], "token") == 0)
		r = cmd_token(c, argc - 1, argv + 1, json);
	else if (strcmp(argv[0], "key") == 0)
		r = cmd_key(c, argc - 1, argv + 1, json);
	else if (strcmp(argv[0], "ls") == 0 && argc == 1)
		r = cmd_ls(c, json);
	else if (strcmp(argv[0], "user") == 0)
		r = cmd_user(c, argc - 1, argv + 1, json);
	else
		r = die_usage("unknown command \"%s\"", argv[0]);
	edge_conf_free(c);
	return r;
}
