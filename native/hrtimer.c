/*
 * overpass_hrtimer: a one-shot timer with microsecond precision on the Node
 * event loop. Node timers have millisecond resolution (libuv rounds its
 * epoll timeout to whole ms), so the lab's WAN emulator used to spin on
 * setImmediate for the last ~1.5 ms before each release. Spinning a
 * SCHED_RR process starves normal tasks, and the kernel then takes the CPU
 * away for up to 50 ms per second (RT throttling / the fair server), which
 * is far worse than the millisecond it tried to win.
 *
 * Here a timerfd (CLOCK_MONOTONIC, the clock of performance.now()) is armed
 * and watched with a uv_poll_t: the loop sleeps in epoll until the hrtimer
 * fires, and the JS callback runs with no thread hop and no CPU burnt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define ADDON_ERROR_CODE "EOVERPASS_HRTIMER"
#include "napi-util.h"
#include "poll-handle.h"

typedef struct {
  poll_handle_t ph; /* first member: the uv handle pointer is the struct */
} hrtimer_t;

static void destroy_timer(poll_handle_t *ph) {
  free(ph);
}

static void on_expired(uv_poll_t *handle, int status, int events) {
  poll_handle_t *ph = (poll_handle_t *)handle;
  napi_env env = ph->env;
  js_scope_t sc;
  uint64_t expirations;
  (void)events;
  /* Clears the readable state; EAGAIN means a re-arm raced the wake: nothing is due. */
  ssize_t n = read(ph->fd, &expirations, sizeof expirations);
  if (status == 0 && n != (ssize_t)sizeof expirations) return;
  uv_unref((uv_handle_t *)&ph->poll); /* disarmed now: like an expired setTimeout, it no longer holds the loop */
  ph->in_call = true;
  js_scope_open(env, &ph->cb, &sc);
  if (status < 0) uv_poll_stop(&ph->poll);
  js_scope_call_int(env, &sc, status < 0 ? status : 0);
  js_scope_close(env, &sc);
  ph->in_call = false;
  if (ph->closing) ph_release(ph);
}

/* create(callback) -> external; callback(0 | -errno) once per expiry */
static napi_value hrtimer_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int rc;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "timerfd_create", errno);
  hrtimer_t *t = calloc(1, sizeof *t);
  if (!t) {
    close(fd);
    return throw_errno(env, "hrtimer", ENOMEM);
  }
  t->ph.own_fd = true;
  t->ph.destroy = destroy_timer;
  bool released;
  if ((rc = ph_start(env, &t->ph, fd, argv[0], "OverpassHrTimer", NULL, on_expired, &released)) < 0) {
    if (!released) {
      close(fd);
      free(t);
    }
    return throw_errno(env, "hrtimer", -rc);
  }
  uv_unref((uv_handle_t *)&t->ph.poll);
  CHECK(napi_create_external(env, t, NULL, NULL, &out));
  return out;
}

static hrtimer_t *get_timer(napi_env env, napi_value v) {
  hrtimer_t *t = NULL;
  if (napi_get_value_external(env, v, (void **)&t) != napi_ok) return NULL;
  return t;
}

/* arm(external, delayNs) -> 0 | -errno. delayNs <= 0 fires on the next loop turn. A zero
 * it_value would disarm, so the shortest delay is 1 ns. */
static napi_value hrtimer_arm(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double delay_ns;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  hrtimer_t *t = get_timer(env, argv[0]);
  if (!t || t->ph.closing) return int_value(env, -EBADF);
  CHECK(napi_get_value_double(env, argv[1], &delay_ns));
  int64_t ns = delay_ns >= 1 ? (int64_t)delay_ns : 1;
  struct itimerspec spec = {{0, 0}, {(time_t)(ns / 1000000000), (long)(ns % 1000000000)}};
  if (timerfd_settime(t->ph.fd, 0, &spec, NULL) < 0) return int_value(env, -errno);
  uv_ref((uv_handle_t *)&t->ph.poll);
  return int_value(env, 0);
}

/* disarm(external) -> 0 | -errno */
static napi_value hrtimer_disarm(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct itimerspec zero = {{0, 0}, {0, 0}};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  hrtimer_t *t = get_timer(env, argv[0]);
  if (!t || t->ph.closing) return int_value(env, -EBADF);
  if (timerfd_settime(t->ph.fd, 0, &zero, NULL) < 0) return int_value(env, -errno);
  uv_unref((uv_handle_t *)&t->ph.poll);
  return int_value(env, 0);
}

/* close(external): stops the timer and frees it (after the callback if called from inside it). */
static napi_value hrtimer_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  hrtimer_t *t = get_timer(env, argv[0]);
  if (t) ph_close(&t->ph);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"create", NULL, hrtimer_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"arm", NULL, hrtimer_arm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"disarm", NULL, hrtimer_disarm, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, hrtimer_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
