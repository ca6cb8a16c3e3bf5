/*
 * N-API helpers shared by the repository's small addons (tun.c, udp.c).
 * Include after <node_api.h> and <uv.h>, with ADDON_ERROR_CODE defined to
 * the code CHECK throws (e.g. "EOVERPASS_TUN").
 */
#ifndef OVERPASS_NAPI_UTIL_H
#define OVERPASS_NAPI_UTIL_H

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

#endif
