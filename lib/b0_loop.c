/*
 * b0_loop: a small event loop on epoll.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_err.h"
#include "b0_loop.h"

#define MAX_EVENTS 256

struct reg {
	b0_loop_fd_fn *fn;
	void *cookie;
	unsigned events;
	int used;
};

struct b0_loop {
	int epfd;
	struct reg *regs; /* indexed by fd */
	size_t nregs;
	struct b0_timer **heap;
	size_t nheap, aheap;
	uint64_t now;
	uint64_t seq; /* timers set so far */
	int stop;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
b0_loop_new(struct b0_loop **loopp)
{
	struct b0_loop *l;
	int r;

	*loopp = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return B0_ERR_ALLOC;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		r = b0_err_from_errno();
		free(l);
		return r;
	}
	l->now = mono_ms();
	*loopp = l;
	return 0;
}

void
b0_loop_free(struct b0_loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nheap; i++)
		l->heap[i]->slot = 0;
	close(l->epfd);
	free(l->regs);
	free(l->heap);
	free(l);
}

static uint32_t
to_epoll(unsigned events)
{
	return ((events & B0_LOOP_READ) ? EPOLLIN | EPOLLRDHUP : 0) |
	       ((events & B0_LOOP_WRITE) ? EPOLLOUT : 0);
}

int
b0_loop_add(
    struct b0_loop *l, int fd, unsigned events, b0_loop_fd_fn *fn, void *cookie)
{
	struct epoll_event ev;
	struct reg *nr;
	size_t n;

	if (fd < 0)
		return B0_ERR_ARG;
	if ((size_t)fd >= l->nregs) {
		n = l->nregs ? l->nregs : 64;
		while (n <= (size_t)fd)
			n *= 2;
		if ((nr = realloc(l->regs, n * sizeof(*nr))) == NULL)
			return B0_ERR_ALLOC;
		memset(nr + l->nregs, 0, (n - l->nregs) * sizeof(*nr));
		l->regs = nr;
		l->nregs = n;
	}
	if (l->regs[fd].used)
		return B0_ERR_EXISTS;
	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(events);
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return b0_err_from_errno();
	l->regs[fd] = (struct reg){fn, cookie, events, 1};
	return 0;
}

int
b0_loop_mod(struct b0_loop *l, int fd, unsigned events)
{
	struct epoll_event ev;

	if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].used)
		return B0_ERR_NOT_FOUND;
	if (l->regs[fd].events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(events);
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return b0_err_from_errno();
	l->regs[fd].events = events;
	return 0;
}

void
b0_loop_del(struct b0_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nregs || !l->regs[fd].used)
		return;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->regs[fd], 0, sizeof(l->regs[fd]));
}

/* The timer heap: a binary min-heap on when, with back-pointers (slot). */
static void
heap_place(struct b0_loop *l, size_t i, struct b0_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

/* Timer a runs before timer b. */
static int
earlier(const struct b0_timer *a, const struct b0_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void
heap_up(struct b0_loop *l, size_t i)
{
	struct b0_timer *t = l->heap[i];

	while (i > 0 && earlier(t, l->heap[(i - 1) / 2])) {
		heap_place(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(l, i, t);
}

static void
heap_down(struct b0_loop *l, size_t i)
{
	struct b0_timer *t = l->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && earlier(l->heap[c + 1], l->heap[c]))
			c++;
		if (!earlier(l->heap[c], t))
			break;
		heap_place(l, i, l->heap[c]);
		i = c;
	}
	heap_place(l, i, t);
}

void
b0_timer_cancel(struct b0_loop *l, struct b0_timer *t)
{
	struct b0_timer *moved;
	size_t i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	l->nheap--;
	if (i == l->nheap)
		return;
	moved = l->heap[l->nheap];
	heap_place(l, i, moved);
	heap_up(l, i);
	heap_down(l, moved->slot - 1);
}

int
b0_timer_set(struct b0_loop *l, struct b0_timer *t, uint64_t after_ms,
    b0_loop_timer_fn *fn, void *cookie)
{
	struct b0_timer **nh;
	size_t n;

	b0_timer_cancel(l, t);
	if (l->nheap == l->aheap) {
		n = l->aheap ? l->aheap * 2 : 64;
		if ((nh = realloc(l->heap, n * sizeof(*nh))) == NULL)
			return B0_ERR_ALLOC;
		l->heap = nh;
		l->aheap = n;
	}
	t->when = l->now + after_ms;
	t->seq = l->seq++;
	t->fn = fn;
	t->cookie = cookie;
	heap_place(l, l->nheap++, t);
	heap_up(l, l->nheap - 1);
	return 0;
}

int
b0_timer_armed(const struct b0_timer *t)
{
	return t->slot != 0;
}

int
b0_loop_defer(
    struct b0_loop *l, struct b0_timer *t, b0_loop_timer_fn *fn, void *cookie)
{
	return b0_timer_set(l, t, 0, fn, cookie);
}

uint64_t
b0_loop_now(const struct b0_loop *l)
{
	return l->now;
}

int64_t
b0_loop_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void
run_timers(struct b0_loop *l)
{
	struct b0_timer *t;
	uint64_t seq = l->seq;

	/*
	 * Only timers set before this call: one set by a callback here waits
	 * for the next turn (it sorts after every older due timer).
	 */
	while (l->nheap > 0 && l->heap[0]->when <= l->now &&
	       l->heap[0]->seq < seq) {
		t = l->heap[0];
		b0_timer_cancel(l, t);
		t->fn(l, t->cookie);
	}
}

int
b0_loop_once(struct b0_loop *l, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, i, wait = max_wait_ms;
	unsigned ready;
	struct reg *rg;

	l->now = mono_ms();
	run_timers(l);
	if (l->nheap > 0) {
		/* A timer set in the last run is due but waited. */
		uint64_t d =
		    l->heap[0]->when > l->now ? l->heap[0]->when - l->now : 0;

		if (wait < 0 || d < (uint64_t)wait)
			wait = (int)(d > 60000 ? 60000 : d);
	}
	n = epoll_wait(l->epfd, evs, MAX_EVENTS, wait);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		return b0_err_from_errno();
	}
	l->now = mono_ms();
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		/* An earlier callback of this turn may have removed it. */
		if ((size_t)fd >= l->nregs || !l->regs[fd].used)
			continue;
		rg = &l->regs[fd];
		ready = 0;
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
			ready |= B0_LOOP_READ;
		if (evs[i].events & EPOLLOUT)
			ready |= B0_LOOP_WRITE;
		if (evs[i].events & (EPOLLHUP | EPOLLERR))
			ready |= B0_LOOP_HUP |
				 (rg->events & (B0_LOOP_READ | B0_LOOP_WRITE));
		ready &= rg->events | B0_LOOP_HUP;
		if (ready != 0)
			rg->fn(l, fd, ready, rg->cookie);
	}
	run_timers(l);
	return 0;
}

int
b0_loop_run(struct b0_loop *l)
{
	int r;

	l->stop = 0;
	while (!l->stop) {
		if ((r = b0_loop_once(l, -1)) != 0)
			return r;
	}
	return 0;
}

void
b0_loop_stop(struct b0_loop *l)
{
	l->stop = 1;
}
