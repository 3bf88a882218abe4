/*
 * b0_loop: a small event loop on epoll, after redis' ae and libcperciva's
 * events: callbacks on file descriptors and timers, a cached monotonic
 * clock, and nothing else.  Level-triggered: a callback that leaves data
 * unread is called again.  Single-threaded.
 */
#ifndef B0_LOOP_H
#define B0_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct b0_loop;

#define B0_LOOP_READ 0x1
#define B0_LOOP_WRITE 0x2
/* Reported only: the peer hung up or the fd has an error pending. */
#define B0_LOOP_HUP 0x4

/*
 * Called with the events that are ready (B0_LOOP_*).  The callback may add,
 * change or remove any registration, its own included, and may close fd
 * after removing it.
 */
typedef void b0_loop_fd_fn(
    struct b0_loop *loop, int fd, unsigned events, void *cookie);
typedef void b0_loop_timer_fn(struct b0_loop *loop, void *cookie);

/*
 * A timer lives inside its owner's struct; zero-initialise it.  The loop
 * only points at it while it is armed, so cancel it before freeing the
 * owner.
 */
struct b0_timer {
	uint64_t when; /* ms on the loop's clock */
	uint64_t seq;  /* order of setting: ties on when run oldest first */
	size_t slot;   /* index in the heap + 1; 0 when not armed */
	b0_loop_timer_fn *fn;
	void *cookie;
};

/* Create a loop in *loopp.  Returns 0, B0_ERR_ALLOC or B0_ERR_SYS(errno). */
int b0_loop_new(struct b0_loop **loopp);

/* Free loop.  Registered fds are not closed; timers are forgotten. */
void b0_loop_free(struct b0_loop *loop);

/*
 * b0_loop_add(loop, fd, events, fn, cookie):
 * Watch fd for events (B0_LOOP_READ|B0_LOOP_WRITE, or 0 to park it) and call
 * fn(loop, fd, ready, cookie).  Returns 0, B0_ERR_EXISTS if fd is already
 * watched, or B0_ERR_SYS(errno).
 */
int b0_loop_add(struct b0_loop *loop, int fd, unsigned events,
    b0_loop_fd_fn *fn, void *cookie);

/* Change the events watched on fd (cheap when unchanged). */
int b0_loop_mod(struct b0_loop *loop, int fd, unsigned events);

/* Stop watching fd; call before close(fd).  Unknown fds are ignored. */
void b0_loop_del(struct b0_loop *loop, int fd);

/*
 * b0_timer_set(loop, t, after_ms, fn, cookie):
 * Arm t (re-arming if armed) to call fn(loop, cookie) once, after_ms from
 * now.  Returns 0 or B0_ERR_ALLOC.
 */
int b0_timer_set(struct b0_loop *loop, struct b0_timer *t, uint64_t after_ms,
    b0_loop_timer_fn *fn, void *cookie);

/* Disarm t if armed. */
void b0_timer_cancel(struct b0_loop *loop, struct b0_timer *t);

/* Is t armed? */
int b0_timer_armed(const struct b0_timer *t);

/*
 * b0_loop_defer(loop, fn, cookie, t):
 * Run fn on the next turn of the loop, before waiting (a timer of 0 ms).
 * A timer set while timers run waits for the next turn, after the file
 * descriptors that are ready: a callback that defers itself to yield
 * (a busy stream) never starves the others.
 */
int b0_loop_defer(struct b0_loop *loop, struct b0_timer *t,
    b0_loop_timer_fn *fn, void *cookie);

/* Milliseconds on the monotonic clock, cached once per turn. */
uint64_t b0_loop_now(const struct b0_loop *loop);

/* Wall-clock seconds (for token times), read fresh. */
int64_t b0_loop_wall(void);

/*
 * b0_loop_run(loop):
 * Dispatch until b0_loop_stop() is called.  Returns 0, or
 * B0_ERR_SYS(errno) if epoll_wait fails other than with EINTR.
 */
int b0_loop_run(struct b0_loop *loop);

/* Make b0_loop_run() return after the current turn. */
void b0_loop_stop(struct b0_loop *loop);

/* b0_loop_once(loop, max_wait_ms): one turn; for tests. */
int b0_loop_once(struct b0_loop *loop, int max_wait_ms);

#endif /* B0_LOOP_H */
