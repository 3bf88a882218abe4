/*
 * b0-policy: the operator's tool for the policy library.  main() only
 * parses the command line and prints; the rules live in b0_spec.c,
 * b0_allow.c and b0_usermap.c.
 *
 * stdout carries results only (text or --json); problems go to stderr.
 * Exit status: 0 valid / allow / mapped, 1 invalid / deny / not mapped,
 * 2 usage error or an input that is not the question (a bad --allow list,
 * an unreadable rules file).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_file.h"
#include "b0_jsonw.h"
#include "b0_table.h"
#include "b0_utf8.h"
#include "b0_version.h"
#include "policy.h"

#define EXIT_YES 0
#define EXIT_NO 1
#define EXIT_USAGE 2
#define OUT_MAX (16 * 1024 * 1024)
#define RULES_FLAGS (B0_FILE_NO_WRITE_OTHERS | B0_FILE_OWNER_SELF)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: b0-policy check-spec [--json] SPEC...\n"
	    "       b0-policy match [--json] --allow LIST --email ADDRESS\n"
	    "       b0-policy map [--json] [--rules FILE] --email ADDRESS "
	    "[--user NAME]\n"
	    "       b0-policy check-rules [--json] [--rules FILE]\n"
	    "       b0-policy -h | --help | --version\n"
	    "\n"
	    "Check b0's publish specs, allow lists and identity-to-user "
	    "rules the way\n"
	    "the edge, the publisher and the PAM module apply them.\n"
	    "\n"
	    "Commands:\n"
	    "  check-spec SPEC...  check each publish spec and print it "
	    "normalised,\n"
	    "                      with its type, port and who may connect\n"
	    "  match               does ADDRESS match the allow list LIST?\n"
	    "  map                 which local user ADDRESS logs in as, by "
	    "the rules\n"
	    "                      in FILE; with --user: may it log in as "
	    "NAME?\n"
	    "  check-rules         check the rules in FILE\n"
	    "\n"
	    "Options:\n"
	    "  --allow LIST        addresses, domains and .subdomains, "
	    "separated by\n"
	    "                      commas: alice@example.com,example.org,"
	    ".example.net\n"
	    "  --email ADDRESS     the verified address of a signed-in "
	    "person\n"
	    "  --rules FILE        identity-to-user rules (default %s);\n"
	    "                      owned by you or root, not writable by "
	    "group or others\n"
	    "  --user NAME         the local user asked for\n"
	    "  --json              print JSON on stdout instead of text\n"
	    "  -h, --help          this help; --version: the version\n"
	    "\n"
	    "Specs are <type>/<port>[/<allowed>]: type tcp, tls, http or "
	    "https; port\n"
	    "1-65535; allowed an allow list.  tcp takes no list (no "
	    "identity); without\n"
	    "a list tcp, http and https admit anyone, tls any signed-in "
	    "person.\n"
	    "alice@example.com matches that address, example.com every "
	    "address at\n"
	    "example.com, .example.com every address at its subdomains.  "
	    "Case does not\n"
	    "matter.  Rules are lines of \"IDENTITY USER\"; USER is a name or "
	    "%%localpart;\n"
	    "the exact address wins, then the domain, then the longest "
	    ".subdomain.\n"
	    "\n"
	    "Exit status: 0 valid, allowed or mapped; 1 invalid spec or "
	    "rules file,\n"
	    "denied or not mapped; 2 usage error, bad --allow list, or a "
	    "rules file\n"
	    "that match or map cannot use.\n"
	    "\n"
	    "Examples:\n"
	    "  b0-policy check-spec tcp/22 tls/22/alice@example.com,"
	    "example.org\n"
	    "  b0-policy match --allow example.com,.example.net --email "
	    "bob@x.example.net\n"
	    "  b0-policy map --email alice@example.com --user alice\n"
	    "\n"
	    "See docs/policy.md for the whole grammar.\n",
	    B0_USERMAP_DEFAULT);
}

static int __attribute__((format(printf, 1, 2))) die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "b0-policy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see b0-policy --help)\n");
	return EXIT_USAGE;
}

/* Write out to stdout; 0 or EXIT_USAGE when stdout fails. */
static int
flush_out(struct b0_buf *out)
{
	if (fwrite(b0_buf_ptr(out), 1, b0_buf_len(out), stdout) !=
		b0_buf_len(out) ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, "b0-policy: cannot write the result to "
				"stdout\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* Finish a JSON document with a newline and print it. */
static int
flush_json(struct b0_jsonw *w, struct b0_buf *out)
{
	int r;

	if ((r = b0_jsonw_finish(w)) != 0 ||
	    (r = b0_buf_put_str(out, "\n")) != 0) {
		fprintf(stderr, "b0-policy: cannot write JSON: %s\n",
		    b0_strerror(r));
		return EXIT_USAGE;
	}
	return flush_out(out);
}

/* A string from the command line, which need not be valid UTF-8. */
static void
json_input(struct b0_jsonw *w, const char *s)
{
	size_t n = strlen(s);
	char *shown;

	if (b0_utf8_valid(s, n)) {
		b0_jsonw_str(w, s);
		return;
	}
	/* At most 12 bytes per byte ("\u{NNNNN}"), and "..." */
	if ((shown = malloc(12 * n + 4)) == NULL) {
		b0_jsonw_null(w);
		return;
	}
	b0_ident_show(shown, 12 * n + 4, s, n);
	b0_jsonw_str(w, shown);
	free(shown);
}

/* Set *dst to optarg unless the option was given before. */
static int
set_once(const char **dst, const char *cmd, const char *opt)
{
	if (*dst != NULL) {
		die_usage("%s: %s is given twice", cmd, opt);
		return -1;
	}
	*dst = optarg;
	return 0;
}

enum { OPT_JSON = 256, OPT_ALLOW, OPT_EMAIL, OPT_RULES, OPT_USER };

struct opts {
	int json;
	const char *allow, *email, *rules, *user;
};

/*
 * Parse the options of command cmd (argv[0]); only those in accepted
 * (OPT_ bits) are known to it.  Returns the index of the first operand,
 * or -1 after printing help (*rc 0) or a usage error (*rc 2).
 */
static int
parse_opts(int argc, char **argv, unsigned accepted, struct opts *o, int *rc)
{
	/* In the order of the OPT_ values: indexed by c - OPT_JSON. */
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, OPT_JSON},
	    {"allow", required_argument, NULL, OPT_ALLOW},
	    {"email", required_argument, NULL, OPT_EMAIL},
	    {"rules", required_argument, NULL, OPT_RULES},
	    {"user", required_argument, NULL, OPT_USER},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	int c, r = 0;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c >= OPT_JSON && c <= OPT_USER &&
		    !(accepted & (1u << (c - OPT_JSON)))) {
			*rc = die_usage("%s does not take --%s", cmd,
			    longopts[c - OPT_JSON].name);
			return -1;
		}
		switch (c) {
		case 'h':
			usage(stdout);
			*rc = 0;
			return -1;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_ALLOW:
			r = set_once(&o->allow, cmd, "--allow");
			break;
		case OPT_EMAIL:
			r = set_once(&o->email, cmd, "--email");
			break;
		case OPT_RULES:
			r = set_once(&o->rules, cmd, "--rules");
			break;
		case OPT_USER:
			r = set_once(&o->user, cmd, "--user");
			break;
		case ':':
			*rc = die_usage(
			    "%s: %s needs a value", cmd, argv[optind - 1]);
			return -1;
		default:
			if (optopt != 0)
				*rc = die_usage(
				    "%s: unknown option \"-%c\"", cmd, optopt);
			else
				*rc = die_usage("%s: unknown option \"%s\"",
				    cmd, argv[optind - 1]);
			return -1;
		}
		if (r != 0) {
			*rc = EXIT_USAGE;
			return -1;
		}
	}
	return optind;
}

#define ACCEPT(opt) (1u << ((opt)-OPT_JSON))

static void
json_spec(struct b0_jsonw *w, const char *input, const struct b0_spec *sp,
    const char *norm, const char *who, const char *error)
{
	size_t i;

	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "input");
	json_input(w, input);
	b0_jsonw_key(w, "valid");
	b0_jsonw_bool(w, error == NULL);
	if (error != NULL || sp == NULL) {
		b0_jsonw_key(w, "error");
		b0_jsonw_str(w, error);
		b0_jsonw_obj_end(w);
		return;
	}
	b0_jsonw_key(w, "spec");
	b0_jsonw_str(w, norm);
	b0_jsonw_key(w, "type");
	b0_jsonw_str(w, b0_spec_type_name(sp->type));
	b0_jsonw_key(w, "port");
	b0_jsonw_int(w, sp->port);
	b0_jsonw_key(w, "login");
	b0_jsonw_bool(w, b0_spec_login(sp));
	b0_jsonw_key(w, "who");
	b0_jsonw_str(w, who);
	b0_jsonw_key(w, "allow");
	b0_jsonw_arr_begin(w);
	for (i = 0; i < sp->allow.n; i++) {
		b0_jsonw_obj_begin(w);
		b0_jsonw_key(w, "entry");
		b0_jsonw_str(w, sp->allow.v[i].text);
		b0_jsonw_key(w, "kind");
		b0_jsonw_str(w, b0_ident_kind_name(sp->allow.v[i].kind));
		b0_jsonw_obj_end(w);
	}
	b0_jsonw_arr_end(w);
	b0_jsonw_obj_end(w);
}

static int
cmd_check_spec(int argc, char **argv)
{
	static const char *const hdr[] = {"SPEC", "TYPE", "PORT", "WHO"};
	struct b0_table *tb = NULL;
	struct b0_jsonw w;
	struct b0_buf out;
	struct b0_errmsg em;
	struct b0_spec sp;
	struct opts o;
	char norm[B0_SPEC_MAX + 1], who[B0_SPEC_MAX * 2], port[8];
	int first, i, r, rc = EXIT_YES, nvalid = 0;

	if ((first = parse_opts(argc, argv, ACCEPT(OPT_JSON), &o, &rc)) < 0)
		return rc;
	if (first == argc)
		return die_usage("check-spec: no spec given");
	b0_buf_init(&out, OUT_MAX);
	b0_jsonw_init(&w, &out);
	if (o.json)
		b0_jsonw_arr_begin(&w);
	else if ((r = b0_table_new(4, hdr, &tb)) != 0)
		goto fail;
	for (i = first; i < argc; i++) {
		b0_err_clear(&em);
		if ((r = b0_spec_parse(argv[i], &sp, &em)) == B0_ERR_ALLOC)
			goto fail;
		if (r != 0) {
			fprintf(stderr, "b0-policy: %s\n", b0_err_text(&em, r));
			if (o.json)
				json_spec(&w, argv[i], NULL, NULL, NULL,
				    b0_err_text(&em, r));
			rc = EXIT_NO;
			continue;
		}
		r = b0_spec_format(&sp, norm, sizeof(norm));
		if (r == 0)
			r = b0_spec_who(&sp, who, sizeof(who));
		if (r == 0 && o.json)
			json_spec(&w, argv[i], &sp, norm, who, NULL);
		else if (r == 0) {
			const char *row[4] = {
			    norm, b0_spec_type_name(sp.type), port, who};

			snprintf(port, sizeof(port), "%u", (unsigned)sp.port);
			r = b0_table_add(tb, row);
		}
		b0_spec_cleanup(&sp);
		if (r != 0)
			goto fail;
		nvalid++;
	}
	if (o.json) {
		b0_jsonw_arr_end(&w);
		if (flush_json(&w, &out) != 0)
			rc = EXIT_USAGE;
	} else if (nvalid > 0) {
		if ((r = b0_table_format(tb, &out)) != 0)
			goto fail;
		if (flush_out(&out) != 0)
			rc = EXIT_USAGE;
	}
	b0_table_free(tb);
	b0_buf_cleanup(&out);
	return rc;
fail:
	fprintf(stderr, "b0-policy: check-spec: %s\n", b0_strerror(r));
	b0_table_free(tb);
	b0_buf_cleanup(&out);
	return EXIT_USAGE;
}

static int
cmd_match(int argc, char **argv)
{
	struct b0_allow list;
	struct b0_errmsg em;
	struct b0_jsonw w;
	struct b0_buf out;
	struct opts o;
	char shown[B0_IDENT_SHOW_SIZE];
	int first, r, rc = EXIT_USAGE;

	if ((first = parse_opts(argc, argv,
		 ACCEPT(OPT_JSON) | ACCEPT(OPT_ALLOW) | ACCEPT(OPT_EMAIL), &o,
		 &rc)) < 0)
		return rc;
	if (first != argc)
		return die_usage(
		    "match: unexpected argument \"%s\"", argv[first]);
	if (o.allow == NULL)
		return die_usage("match: --allow LIST is missing");
	if (o.email == NULL)
		return die_usage("match: --email ADDRESS is missing");
	b0_err_clear(&em);
	if ((r = b0_allow_parse(o.allow, strlen(o.allow), &list, &em)) != 0) {
		b0_ident_show(shown, sizeof(shown), o.allow, strlen(o.allow));
		fprintf(stderr, "b0-policy: --allow %s: %s\n", shown,
		    b0_err_text(&em, r));
		return EXIT_USAGE;
	}
	b0_err_clear(&em);
	r = b0_allow_match(&list, o.email, &em);
	b0_buf_init(&out, OUT_MAX);
	if (o.json) {
		b0_jsonw_init(&w, &out);
		b0_jsonw_obj_begin(&w);
		b0_jsonw_key(&w, "email");
		json_input(&w, o.email);
		b0_jsonw_key(&w, "allowed");
		b0_jsonw_bool(&w, r == 0);
		b0_jsonw_key(&w, "reason");
		b0_jsonw_str(&w, b0_err_text(&em, r));
		b0_jsonw_obj_end(&w);
		rc = flush_json(&w, &out);
	} else if (b0_buf_putf(&out, "%s: %s\n", r == 0 ? "allow" : "deny",
		       b0_err_text(&em, r)) == 0)
		rc = flush_out(&out);
	if (rc == 0 && r != 0)
		rc = EXIT_NO;
	b0_buf_cleanup(&out);
	b0_allow_cleanup(&list);
	return rc;
}

static void
json_map(struct b0_jsonw *w, const struct opts *o,
    const struct b0_usermap_result *res, const char *file, int r)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "email");
	json_input(w, o->email);
	b0_jsonw_key(w, "user");
	if (res->user[0] != '\0')
		b0_jsonw_str(w, res->user);
	else
		b0_jsonw_null(w);
	b0_jsonw_key(w, "status");
	b0_jsonw_str(w, b0_usermap_status_name(res->status));
	if (o->user != NULL) {
		b0_jsonw_key(w, "requested");
		json_input(w, o->user);
		b0_jsonw_key(w, "allowed");
		b0_jsonw_bool(w, r == 0);
	}
	b0_jsonw_key(w, "rule");
	if (res->rule_identity != NULL) {
		b0_jsonw_obj_begin(w);
		b0_jsonw_key(w, "identity");
		b0_jsonw_str(w, res->rule_identity);
		b0_jsonw_key(w, "user");
		b0_jsonw_str(w, res->rule_user);
		b0_jsonw_key(w, "file");
		json_input(w, file);
		b0_jsonw_key(w, "line");
		b0_jsonw_int(w, res->rule_line);
		b0_jsonw_obj_end(w);
	} else
		b0_jsonw_null(w);
	b0_jsonw_key(w, "reason");
	b0_jsonw_str(w, res->reason.text);
	b0_jsonw_obj_end(w);
}

static int
load_rules(const char *path, struct b0_usermap **mp)
{
	struct b0_errmsg em;
	int r;

	b0_err_clear(&em);
	if ((r = b0_usermap_load(path, RULES_FLAGS, mp, &em)) != 0) {
		fprintf(stderr, "b0-policy: %s\n", b0_err_text(&em, r));
		return EXIT_USAGE;
	}
	return 0;
}

static int
cmd_map(int argc, char **argv)
{
	struct b0_usermap *m = NULL;
	struct b0_usermap_result res;
	struct b0_jsonw w;
	struct b0_buf out;
	struct opts o;
	const char *file;
	int first, r, pr, rc = EXIT_USAGE;

	if ((first = parse_opts(argc, argv,
		 ACCEPT(OPT_JSON) | ACCEPT(OPT_RULES) | ACCEPT(OPT_EMAIL) |
		     ACCEPT(OPT_USER),
		 &o, &rc)) < 0)
		return rc;
	if (first != argc)
		return die_usage(
		    "map: unexpected argument \"%s\"", argv[first]);
	if (o.email == NULL)
		return die_usage("map: --email ADDRESS is missing");
	file = o.rules != NULL ? o.rules : B0_USERMAP_DEFAULT;
	if (load_rules(file, &m) != 0)
		return EXIT_USAGE;
	if (o.user != NULL)
		r = b0_usermap_check(m, o.email, o.user, &res);
	else
		r = b0_usermap_lookup(m, o.email, &res);
	if (res.status == B0_USERMAP_ERROR) {
		fprintf(stderr, "b0-policy: %s\n", res.reason.text);
		b0_usermap_free(m);
		return EXIT_USAGE;
	}
	b0_buf_init(&out, OUT_MAX);
	if (o.json) {
		b0_jsonw_init(&w, &out);
		json_map(&w, &o, &res, file, r);
		rc = flush_json(&w, &out);
	} else {
		if (o.user != NULL)
			pr = b0_buf_putf(&out, "%s: %s\n",
			    r == 0 ? "allow" : "deny", res.reason.text);
		else if (r == 0)
			pr = b0_buf_putf(
			    &out, "%s: %s\n", res.user, res.reason.text);
		else
			pr =
			    b0_buf_putf(&out, "no user: %s\n", res.reason.text);
		rc = pr == 0 ? flush_out(&out) : EXIT_USAGE;
	}
	if (rc == 0 && res.status != B0_USERMAP_OK)
		rc = EXIT_NO;
	b0_buf_cleanup(&out);
	b0_usermap_free(m);
	return rc;
}

static int
cmd_check_rules(int argc, char **argv)
{
	struct b0_usermap *m = NULL;
	struct b0_errmsg em;
	struct b0_jsonw w;
	struct b0_buf out;
	struct opts o;
	const char *file;
	size_t n = 0;
	int first, r, rc = EXIT_USAGE;

	if ((first = parse_opts(argc, argv,
		 ACCEPT(OPT_JSON) | ACCEPT(OPT_RULES), &o, &rc)) < 0)
		return rc;
	if (first != argc)
		return die_usage(
		    "check-rules: unexpected argument \"%s\" (use --rules "
		    "FILE)",
		    argv[first]);
	file = o.rules != NULL ? o.rules : B0_USERMAP_DEFAULT;
	b0_err_clear(&em);
	if ((r = b0_usermap_load(file, RULES_FLAGS, &m, &em)) != 0)
		fprintf(stderr, "b0-policy: %s\n", b0_err_text(&em, r));
	else
		n = b0_usermap_count(m);
	b0_buf_init(&out, OUT_MAX);
	if (o.json) {
		b0_jsonw_init(&w, &out);
		b0_jsonw_obj_begin(&w);
		b0_jsonw_key(&w, "file");
		json_input(&w, file);
		b0_jsonw_key(&w, "valid");
		b0_jsonw_bool(&w, r == 0);
		if (r == 0) {
			b0_jsonw_key(&w, "rules");
			b0_jsonw_int(&w, (int64_t)n);
		} else {
			b0_jsonw_key(&w, "error");
			b0_jsonw_str(&w, b0_err_text(&em, r));
		}
		b0_jsonw_obj_end(&w);
		rc = flush_json(&w, &out);
	} else if (r != 0)
		rc = 0;
	else if (b0_buf_putf(&out, "%s: %zu rule%s, no errors\n", file, n,
		     n == 1 ? "" : "s") == 0)
		rc = flush_out(&out);
	if (rc == 0 && r != 0)
		rc = EXIT_NO;
	b0_buf_cleanup(&out);
	b0_usermap_free(m);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"check-spec", cmd_check_spec},
	    {"match", cmd_match},
	    {"map", cmd_map},
	    {"check-rules", cmd_check_rules},
	};
	size_t i;

	if (argc < 2)
		return die_usage(
		    "a command is missing: check-spec, match, map or "
		    "check-rules");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return fflush(stdout) == EOF ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("b0-policy %s\n", B0_VERSION);
		return fflush(stdout) == EOF ? EXIT_USAGE : 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	}
	if (argv[1][0] == '-')
		return die_usage("a command must come before options such as "
				 "\"%s\"",
		    argv[1]);
	return die_usage("unknown command \"%s\": check-spec, match, map or "
			 "check-rules",
	    argv[1]);
}
