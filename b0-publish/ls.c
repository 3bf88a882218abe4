/*
 * b0-publish: the table of published sockets, as JSON (the control
 * socket's answer, `ls --json`) and as text (`ls`, and on registration).
 */
#include <stdio.h>
#include <string.h>

#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_table.h"
#include "policy.h"
#include "pub.h"

static const char *
state_name(enum pub_state s)
{
	switch (s) {
	case P_UP:
		return "up";
	case P_WAIT:
		return "waiting to reconnect";
	case P_UNREGISTER:
		return "stopping";
	default:
		return "connecting";
	}
}

static const struct b0_msg_sock *
registered(const struct pub *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->registered.n; i++) {
		if (strcmp(p->registered.socks[i].name, name) == 0)
			return &p->registered.socks[i];
	}
	return NULL;
}

int
pub_ls_json(struct pub *p, struct b0_buf *out)
{
	struct b0_jsonw w;
	char edge[300], who[B0_SPEC_SIZE];
	size_t i;

	snprintf(edge, sizeof(edge),
	    strchr(p->conf->edge_host, ':') ? "[%s]:%u" : "%s:%u",
	    p->conf->edge_host, (unsigned)p->conf->edge_port);
	b0_jsonw_init(&w, out);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "edge");
	b0_jsonw_str(&w, edge);
	b0_jsonw_key(&w, "state");
	b0_jsonw_str(&w, state_name(p->state));
	b0_jsonw_key(&w, "publisher");
	b0_jsonw_str(&w, p->welcome.publisher);
	b0_jsonw_key(&w, "since");
	b0_jsonw_int(&w, p->state == P_UP ? p->up_since : 0);
	b0_jsonw_key(&w, "sockets");
	b0_jsonw_arr_begin(&w);
	for (i = 0; i < p->conf->nsocks; i++) {
		const struct pub_socket *s = &p->conf->socks[i];
		const struct b0_msg_sock *m = registered(p, s->name);
		struct b0_spec sp;

		b0_jsonw_obj_begin(&w);
		b0_jsonw_key(&w, "name");
		b0_jsonw_str(&w, s->name);
		b0_jsonw_key(&w, "spec");
		b0_jsonw_str(&w, s->spec);
		if (b0_spec_parse(s->spec, &sp, NULL) == 0) {
			b0_jsonw_key(&w, "type");
			b0_jsonw_str(&w, b0_spec_type_name(sp.type));
			b0_spec_who(&sp, who, sizeof(who));
			b0_jsonw_key(&w, "who");
			b0_jsonw_str(&w, who);
			b0_spec_cleanup(&sp);
		}
		b0_jsonw_key(&w, "target");
		b0_jsonw_str(&w, s->target);
		if (m != NULL && m->error[0] != '\0') {
			b0_jsonw_key(&w, "error");
			b0_jsonw_str(&w, m->error);
		} else if (m != NULL) {
			b0_jsonw_key(&w, "dns");
			b0_jsonw_str(&w, m->dns);
			b0_jsonw_key(&w, "port");
			b0_jsonw_int(&w, m->port);
		}
		b0_jsonw_obj_end(&w);
	}
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	return b0_jsonw_finish(&w);
}

int
pub_table_from_json(
    const char *json, size_t len, struct b0_buf *out, struct b0_errmsg *em)
{
	static const char *const hdr[] = {
	    "SOCKET", "DNS NAME", "PORT", "TYPE", "WHO MAY CONNECT", "TARGET"};
	struct b0_table *t = NULL;
	struct b0_json *j = NULL;
	int socks, k, r;
	size_t i;

	if ((r = b0_json_parse(json, len, NULL, &j, em)) != 0)
		return r;
	if ((r = b0_json_obj_get(j, 0, "sockets", &socks)) != 0 ||
	    b0_json_type(j, socks) != B0_JSON_ARRAY) {
		b0_err_set(em, "no socket list in the answer");
		r = B0_ERR_FORMAT;
		goto out;
	}
	if ((r = b0_table_new(6, hdr, &t)) != 0)
		goto out;
	for (i = 0; i < b0_json_len(j, socks) && r == 0; i++) {
		const char *name = "", *dns = "-", *type = "", *who = "",
			   *target = "", *err = NULL;
		const char *row[6];
		char port[16] = "-";
		int64_t pn;

		b0_json_arr_get(j, socks, i, &k);
		b0_json_get_str(j, k, "name", &name);
		b0_json_get_str(j, k, "dns", &dns);
		b0_json_get_str(j, k, "type", &type);
		b0_json_get_str(j, k, "who", &who);
		b0_json_get_str(j, k, "target", &target);
		if (b0_json_get_str(j, k, "error", &err) == 0)
			dns = "(refused by the edge)";
		if (b0_json_get_int(j, k, "port", &pn) == 0)
			snprintf(port, sizeof(port), "%lld", (long long)pn);
		row[0] = name;
		row[1] = dns;
		row[2] = port;
		row[3] = type;
		row[4] = who;
		row[5] = target;
		r = b0_table_add(t, row);
	}
	if (r == 0)
		r = b0_table_format(t, out);
out:
	b0_table_free(t);
	b0_json_free(j);
	return r;
}

int
pub_ctl_handler(const char *req, const struct b0_ctl_peer *peer,
    struct b0_buf *reply, void *cookie)
{
	(void)peer;
	if (strcmp(req, "ls") != 0)
		return B0_ERR_UNSUPPORTED;
	return pub_ls_json(cookie, reply);
}
