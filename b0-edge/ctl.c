/*
 * b0-edge: the control socket, for `b0-edge ls`.
 */
#include <string.h>

#include "b0_jsonw.h"
#include "edge.h"

static void
write_sockets(struct edge *e, struct b0_jsonw *w)
{
	struct esock *k;

	b0_jsonw_key(w, "sockets");
	b0_jsonw_arr_begin(w);
	TAILQ_FOREACH(k, &e->socks, entry)
	{
		b0_jsonw_obj_begin(w);
		b0_jsonw_key(w, "publisher");
		b0_jsonw_str(w, k->publisher);
		b0_jsonw_key(w, "name");
		b0_jsonw_str(w, k->name);
		b0_jsonw_key(w, "spec");
		b0_jsonw_str(w, k->spec);
		b0_jsonw_key(w, "dns");
		b0_jsonw_str(w, k->dns);
		b0_jsonw_key(w, "port");
		b0_jsonw_int(w, k->port);
		b0_jsonw_key(w, "online");
		b0_jsonw_bool(w, k->s != NULL);
		b0_jsonw_key(w, "streams");
		b0_jsonw_int(w, (int64_t)k->streams);
		b0_jsonw_obj_end(w);
	}
	b0_jsonw_arr_end(w);
}

static void
write_publishers(struct edge *e, struct b0_jsonw *w)
{
	struct session *s;

	b0_jsonw_key(w, "publishers");
	b0_jsonw_arr_begin(w);
	TAILQ_FOREACH(s, &e->sessions, entry)
	{
		b0_jsonw_obj_begin(w);
		b0_jsonw_key(w, "name");
		b0_jsonw_str(w, s->publisher);
		b0_jsonw_key(w, "session");
		b0_jsonw_str(w, s->id);
		b0_jsonw_key(w, "peer");
		b0_jsonw_str(w, s->peer);
		b0_jsonw_key(w, "since");
		b0_jsonw_int(w, s->since);
		b0_jsonw_key(w, "idle_channels");
		b0_jsonw_int(w, s->nidle);
		b0_jsonw_key(w, "streams_open");
		b0_jsonw_int(w, s->nbusy);
		b0_jsonw_key(w, "streams_total");
		b0_jsonw_int(w, (int64_t)s->streams);
		b0_jsonw_key(w, "waiting");
		b0_jsonw_int(w, s->nwait);
		b0_jsonw_obj_end(w);
	}
	b0_jsonw_arr_end(w);
}

int
edge_ctl_handler(const char *req, const struct b0_ctl_peer *peer,
    struct b0_buf *reply, void *cookie)
{
	struct edge *e = cookie;
	struct b0_jsonw w;

	(void)peer;
	b0_jsonw_init(&w, reply);
	b0_jsonw_obj_begin(&w);
	if (strcmp(req, "ls") != 0) {
		b0_jsonw_key(&w, "error");
		b0_jsonw_str(&w, "unknown request");
	} else {
		b0_jsonw_key(&w, "domain");
		b0_jsonw_str(&w, e->conf->domain);
		b0_jsonw_key(&w, "https_port");
		b0_jsonw_int(&w, e->https_port);
		write_publishers(e, &w);
		write_sockets(e, &w);
	}
	b0_jsonw_obj_end(&w);
	return b0_jsonw_finish(&w);
}
