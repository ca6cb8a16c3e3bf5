/*
 * N-API helpers shared by the repository's small addons (tun.c, udp.c,
 * hrtimer.c).
 * Include after <node_api.h> and <uv.h>, with ADDON_ERROR_CODE defined to
 * the code CHECK throws (e.g. "EOVERPASS_TUN").
 */
#ifndef OVERPASS_NAPI_UTIL_H
#define OVERPASS_NAPI_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* An N-API call that should never fail: throw and return NULL if it does. */
#define CHECK(call)                                              \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error(env, ADDON_ERROR_CODE, #call " failed");  \
      return NULL;                                               \
    }                                                            \
  } while (0)

/* Throws an Error whose code is the errno name ("EPERM", ...), with `errno` set; returns NULL. */
static inline napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[200];
  napi_value e, m, c, n;
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, e, "errno", n);
  napi_throw(env, e);
  return NULL;
}

static inline napi_value int_value(napi_env env, int v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

/*
 * A JS callback that a uv handle calls: the callback, an async resource
 * (named for async_hooks and diagnostics) and its async context. Each
 * handle has its own callback; the resource and context are its own too,
 * or (`shared`) one for many handles of a kind: an exit opens a connected
 * socket per flow, and a resource, its name and its context per socket were
 * ~200 bytes of each flow's memory (docs/performance.md, memory at 100k).
 */
typedef struct {
  napi_ref callback_ref;
  napi_ref resource_ref;
  napi_async_context async_ctx;
  bool shared; /* resource_ref and async_ctx are another js_callback_t's (js_async_init): released there */
} js_callback_t;

/* The async resource and context alone (callback_ref stays NULL): for handles to share (js_callback_init's `owner`). */
static inline napi_status js_async_init(napi_env env, const char *resource_name, js_callback_t *cb) {
  napi_value resource, name;
  napi_status st;
  if ((st = napi_create_object(env, &resource)) != napi_ok) return st;
  if ((st = napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name)) != napi_ok) return st;
  if ((st = napi_async_init(env, resource, name, &cb->async_ctx)) != napi_ok) return st;
  cb->shared = false;
  return napi_create_reference(env, resource, 1, &cb->resource_ref);
}

/* A handle's callback; with `owner` (from js_async_init) its resource and context are owner's, else its own. */
static inline napi_status js_callback_init(napi_env env, napi_value callback, const char *resource_name, const js_callback_t *owner, js_callback_t *cb) {
  napi_status st;
  if (owner) {
    cb->resource_ref = owner->resource_ref;
    cb->async_ctx = owner->async_ctx;
    cb->shared = true;
  } else if ((st = js_async_init(env, resource_name, cb)) != napi_ok) return st;
  return napi_create_reference(env, callback, 1, &cb->callback_ref);
}

/* Releases what cb owns: its callback, and its resource and context unless they are shared. */
static inline void js_callback_release(napi_env env, js_callback_t *cb) {
  if (cb->callback_ref) napi_delete_reference(env, cb->callback_ref);
  cb->callback_ref = NULL;
  if (cb->shared) return;
  napi_delete_reference(env, cb->resource_ref);
  napi_async_destroy(env, cb->async_ctx);
}

/* One wake's calls into JS: a handle scope and a callback scope, so the
 * microtasks and nextTicks the callback queues run once, at js_scope_close. */
typedef struct {
  napi_handle_scope hscope;
  napi_callback_scope cscope;
  napi_value fn;
  napi_value global;
} js_scope_t;

static inline void js_scope_open(napi_env env, const js_callback_t *cb, js_scope_t *sc) {
  napi_value resource;
  napi_open_handle_scope(env, &sc->hscope);
  napi_get_reference_value(env, cb->resource_ref, &resource);
  napi_get_reference_value(env, cb->callback_ref, &sc->fn);
  napi_get_global(env, &sc->global);
  napi_open_callback_scope(env, resource, cb->async_ctx, &sc->cscope);
}

/* Calls the callback with one int. A throw goes to process 'uncaughtException'
 * (as from any Node callback); returns false if it threw. */
static inline bool js_scope_call_int(napi_env env, js_scope_t *sc, int v) {
  napi_value arg, err;
  napi_create_int32(env, v, &arg);
  if (napi_call_function(env, sc->global, sc->fn, 1, &arg, NULL) != napi_pending_exception) return true;
  napi_get_and_clear_last_exception(env, &err);
  napi_fatal_exception(env, err);
  return false;
}

static inline void js_scope_close(napi_env env, js_scope_t *sc) {
  napi_close_callback_scope(env, sc->cscope);
  napi_close_handle_scope(env, sc->hscope);
}

#endif
