/*
 * Unit tests for lib/b0_loop: fd callbacks and the timer heap.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "b0_err.h"
#include "b0_loop.h"
#include "tap.h"

struct rec {
	int fired[64];
	int order[64];
	int n;
};

struct tctx {
	struct rec *rec;
	int id;
};

static void
on_timer(struct b0_loop *loop, void *cookie)
{
	struct tctx *c = cookie;

	(void)loop;
	c->rec->fired[c->id]++;
	c->rec->order[c->rec->n++] = c->id;
}

static void
test_timers(void)
{
	struct b0_loop *loop;
	struct b0_timer t[64] = {{0}};
	struct tctx ctx[64];
	struct rec rec = {{0}, {0}, 0};
	int i, sorted = 1, cancelled_fired = 0;

	is_int(b0_loop_new(&loop), 0, "new loop");
	/* 64 timers at pseudo-random delays, every third cancelled. */
	for (i = 0; i < 64; i++) {
		ctx[i].rec = &rec;
		ctx[i].id = i;
		b0_timer_set(
		    loop, &t[i], (uint64_t)((i * 37) % 50), on_timer, &ctx[i]);
	}
	for (i = 0; i < 64; i += 3)
		b0_timer_cancel(loop, &t[i]);
	ok(!b0_timer_armed(&t[0]) && b0_timer_armed(&t[1]),
	    "armed reflects cancel");
	/* Re-arming moves a timer, it does not duplicate it. */
	b0_timer_set(loop, &t[1], 60, on_timer, &ctx[1]);
	b0_timer_set(loop, &t[1], 55, on_timer, &ctx[1]);
	while (rec.n < 64 - 22 && b0_loop_once(loop, 100) == 0)
		;
	for (i = 0; i < 64; i++) {
		if (i % 3 == 0 && rec.fired[i])
			cancelled_fired++;
	}
	is_int(cancelled_fired, 0, "cancelled timers never fire");
	is_int(rec.n, 42, "the others fire once each");
	for (i = 1; i < rec.n; i++) {
		int a = rec.order[i - 1], b = rec.order[i];
		int da = a == 1 ? 55 : (a * 37) % 50,
		    db = b == 1 ? 55 : (b * 37) % 50;

		if (da > db)
			sorted = 0;
	}
	ok(sorted, "timers fire in deadline order");
	is_int(rec.order[rec.n - 1], 1, "the re-armed timer fires last");
	b0_loop_free(loop);
}

struct pipectx {
	int reads;
	int closed_self;
	int fd;
};

static void
on_read(struct b0_loop *loop, int fd, unsigned ev, void *cookie)
{
	struct pipectx *p = cookie;
	char c;

	(void)ev;
	if (read(fd, &c, 1) == 1)
		p->reads++;
	if (p->reads == 2) {
		/* Remove and close ourselves from inside the callback. */
		b0_loop_del(loop, fd);
		close(fd);
		p->closed_self = 1;
	}
}

static void
test_fds(void)
{
	struct b0_loop *loop;
	struct pipectx pc = {0, 0, -1};
	int p[2], i;

	b0_loop_new(&loop);
	tap_need(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	is_int(b0_loop_add(loop, p[0], B0_LOOP_READ, on_read, &pc), 0, "add");
	is_int(b0_loop_add(loop, p[0], B0_LOOP_READ, on_read, &pc),
	    B0_ERR_EXISTS, "add twice refused");
	b0_loop_once(loop, 0);
	is_int(pc.reads, 0, "nothing to read yet");
	tap_need(write(p[1], "abc", 3) == 3);
	b0_loop_once(loop, 100);
	is_int(pc.reads, 1, "one read per turn (level-triggered)");
	b0_loop_mod(loop, p[0], 0);
	b0_loop_once(loop, 0);
	is_int(pc.reads, 1, "parked fd gets no callback");
	b0_loop_mod(loop, p[0], B0_LOOP_READ);
	for (i = 0; i < 3; i++)
		b0_loop_once(loop, 10);
	is_int(pc.reads, 2, "callback removed itself");
	ok(pc.closed_self, "and closed its fd");
	is_int(b0_loop_mod(loop, p[0], B0_LOOP_READ), B0_ERR_NOT_FOUND,
	    "mod after del");
	close(p[1]);
	b0_loop_free(loop);
}

/* A callback that keeps deferring itself, as a busy stream yields. */
struct busy {
	struct b0_timer t;
	int runs;
};

static void
on_busy(struct b0_loop *loop, void *cookie)
{
	struct busy *b = cookie;

	b->runs++;
	b0_loop_defer(loop, &b->t, on_busy, b);
}

static void
on_count(struct b0_loop *loop, int fd, unsigned ev, void *cookie)
{
	int *n = cookie;
	char c;

	(void)loop;
	(void)ev;
	if (read(fd, &c, 1) == 1)
		(*n)++;
}

static void
test_defer_yields(void)
{
	struct b0_loop *loop;
	struct busy b = {{0}, 0};
	int p[2], reads = 0, i;

	b0_loop_new(&loop);
	tap_need(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	b0_loop_add(loop, p[0], B0_LOOP_READ, on_count, &reads);
	tap_need(write(p[1], "xyz", 3) == 3);
	b0_loop_defer(loop, &b.t, on_busy, &b);
	for (i = 0; i < 3; i++)
		is_int(b0_loop_once(loop, 1000), 0, "turn %d returns", i);
	is_int(reads, 3, "a self-deferring callback does not starve fds");
	ok(b.runs >= 3 && b.runs <= 6, "it runs once or twice a turn (%d)",
	    b.runs);
	ok(b0_timer_armed(&b.t), "and is armed for the next turn");
	close(p[0]);
	close(p[1]);
	b0_loop_free(loop);
}

int
main(void)
{
	test_timers();
	test_fds();
	test_defer_yields();
	return tap_done();
}
