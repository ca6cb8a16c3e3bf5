/*
 * overpass_tun: the smallest native piece Overpass needs. Node has no ioctl,
 * so opening a TUN device (TUNSETIFF on /dev/net/tun) has to happen here.
 * Everything else (validation, errors, counters) lives in src/io/tun.ts.
 *
 * Reads are event-driven: a uv_poll_t watches the fd on the Node loop, and
 * each wake reads packets until EAGAIN (at most READS_PER_WAKE, so one busy
 * device cannot starve sockets) into ONE preallocated JS Buffer, calling the
 * JS callback with the packet length. No allocation per packet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <uv.h>

#define ADDON_ERROR_CODE "EOVERPASS_TUN"
#include "napi-util.h"
#include "poll-handle.h"

#define READS_PER_WAKE 64

typedef struct {
  poll_handle_t ph;     /* first member: the uv handle pointer is the struct; own_fd false: JS closes the TUN fd */
  napi_ref buffer_ref;  /* the one reusable JS Buffer */
  unsigned char *data;  /* backing store of the Buffer, kept alive by buffer_ref */
  size_t capacity;
} poller_t;

static void poller_destroy(poll_handle_t *ph) {
  free(ph);
}

static void poller_drop_refs(poll_handle_t *ph) {
  napi_delete_reference(ph->env, ((poller_t *)ph)->buffer_ref);
}

/* open(name: string, multiQueue: boolean) -> { fd, name } */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out, v;
  char name[IFNAMSIZ] = {0};
  size_t name_len = 0;
  bool multi = false;
  struct ifreq ifr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len));
  if (argc > 1) napi_get_value_bool(env, argv[1], &multi);

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open /dev/net/tun", errno);
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
  memcpy(ifr.ifr_name, name, name_len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "ioctl TUNSETIFF", err);
  }
  CHECK(napi_create_object(env, &out));
  napi_set_named_property(env, out, "fd", int_value(env, fd));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &v));
  napi_set_named_property(env, out, "name", v);
  return out;
}

/* Runs the JS callback once per packet inside one callback scope per wake,
 * so microtasks and nextTicks queued by the handler run once, after the batch. */
static void on_readable(uv_poll_t *handle, int status, int events) {
  poller_t *p = (poller_t *)handle;
  napi_env env = p->ph.env;
  js_scope_t sc;
  (void)events;
  p->ph.in_call = true;
  js_scope_open(env, &p->ph.cb, &sc);
  if (status < 0) {
    /* Device gone or fd broken: stop watching and tell JS once (negative errno). */
    uv_poll_stop(&p->ph.poll);
    js_scope_call_int(env, &sc, status);
  } else {
    for (int i = 0; i < READS_PER_WAKE && !p->ph.closing; i++) {
      ssize_t n = read(p->ph.fd, p->data, p->capacity);
      int err = n < 0 ? errno : 0;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (err) uv_poll_stop(&p->ph.poll);
      if (!js_scope_call_int(env, &sc, err ? -err : (int)n)) break;
      if (err) break;
    }
  }
  js_scope_close(env, &sc);
  p->ph.in_call = false;
  if (p->ph.closing) ph_release(&p->ph);
}

/* poll(fd, buffer, callback) -> external; callback(lengthOrNegativeErrno) */
static napi_value tun_poll(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int fd, rc;
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "poll", ENOMEM);
  p->data = data;
  p->capacity = len;
  p->ph.destroy = poller_destroy;
  CHECK(napi_create_reference(env, argv[1], 1, &p->buffer_ref));
  p->ph.drop_refs = poller_drop_refs;
  bool released;
  if ((rc = ph_start(env, &p->ph, fd, argv[2], "OverpassTunRead", NULL, on_readable, &released)) < 0) {
    if (!released) {
      napi_delete_reference(env, p->buffer_ref);
      free(p);
    }
    return throw_errno(env, "poll", -rc);
  }
  CHECK(napi_create_external(env, p, NULL, NULL, &out));
  return out;
}

/* unpoll(external): stops watching and releases the buffer and callback. */
static napi_value tun_unpoll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  poller_t *p;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **)&p));
  ph_close(&p->ph); /* inside a batch: on_readable releases after it */
  return NULL;
}

/* write(fd, buffer, offset, length) -> bytes written or -errno. Never blocks. */
static napi_value tun_write(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int fd, off, n;
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  CHECK(napi_get_value_int32(env, argv[2], &off));
  CHECK(napi_get_value_int32(env, argv[3], &n));
  if (off < 0 || n < 0 || (size_t)off + (size_t)n > len) return int_value(env, -EINVAL);
  ssize_t w;
  do w = write(fd, (unsigned char *)data + off, (size_t)n); while (w < 0 && errno == EINTR);
  return int_value(env, w < 0 ? -errno : (int)w);
}

/* close(fd) -> 0 or -errno. The kernel removes a non-persistent TUN device
 * when its last queue fd closes. */
static napi_value tun_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  return int_value(env, close(fd) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, tun_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poll", NULL, tun_poll, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unpoll", NULL, tun_unpoll, NULL, NULL, NULL, napi_enumerable, NULL},
    {"write", NULL, tun_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, tun_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
