/*
 * The lifecycle every addon here shares: an fd watched by a uv_poll_t on
 * the Node loop, a JS callback, and an async cleanup hook. Embed
 * poll_handle_t as the FIRST member of the addon's struct (so the uv handle
 * pointer is the struct) and set `destroy` (frees that struct), `own_fd`
 * and, if needed, `drop_refs` / `on_teardown`.
 *
 * Why the hook: the uv handle is freed in its close callback. Until then
 * the hook stays registered, so at env teardown (a worker exits) Node keeps
 * the loop running for it and only then unloads the library: the close
 * callback still exists when it runs.
 *
 * Include after napi-util.h.
 */
#ifndef OVERPASS_POLL_HANDLE_H
#define OVERPASS_POLL_HANDLE_H

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <uv.h>

typedef struct poll_handle poll_handle_t;
struct poll_handle {
  uv_poll_t poll; /* first member */
  napi_env env;
  int fd;
  bool own_fd;   /* release closes the fd (TUN: JS closes it itself) */
  bool in_call;  /* inside its calls into JS: a close from there waits for the end */
  bool closing;
  js_callback_t cb;
  napi_async_cleanup_hook_handle hook;
  void (*destroy)(poll_handle_t *);     /* frees the embedding struct and its buffers */
  void (*drop_refs)(poll_handle_t *);   /* optional: the embedding struct's own napi references */
  void (*on_teardown)(poll_handle_t *); /* optional: unlink from shared state when the env goes */
};

static void ph_on_closed(uv_handle_t *handle) {
  poll_handle_t *ph = (poll_handle_t *)handle;
  napi_remove_async_cleanup_hook(ph->hook);
  ph->destroy(ph);
}

/* Drops the references and the callback, closes the fd if owned, and frees the handle once libuv lets go. */
static void ph_release(poll_handle_t *ph) {
  if (ph->drop_refs) ph->drop_refs(ph);
  js_callback_release(ph->env, &ph->cb);
  if (ph->own_fd) close(ph->fd);
  uv_close((uv_handle_t *)&ph->poll, ph_on_closed);
}

/* The env is going away without JS closing the handle: stop, close the fd (a TUN device goes with it), free. */
static void ph_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  poll_handle_t *ph = arg;
  (void)hook;
  if (uv_is_closing((uv_handle_t *)&ph->poll)) return; /* ph_on_closed will remove the hook */
  ph->closing = true;
  if (ph->on_teardown) ph->on_teardown(ph);
  uv_poll_stop(&ph->poll);
  close(ph->fd);
  uv_close((uv_handle_t *)&ph->poll, ph_on_closed);
}

/* JS closes the handle: stop watching now, release now or at the end of the current call into JS. */
static void ph_close(poll_handle_t *ph) {
  if (ph->closing) return;
  ph->closing = true;
  uv_poll_stop(&ph->poll);
  if (!ph->in_call) ph_release(ph);
}

static void ph_on_closed_unhooked(uv_handle_t *handle) {
  poll_handle_t *ph = (poll_handle_t *)handle;
  ph->destroy(ph);
}

/*
 * Registers fd on the loop with the JS callback and starts watching for
 * readability. 0 on success. On failure it returns -errno and has either
 * freed nothing (the caller frees the struct and closes the fd: *released
 * stays false) or released everything (*released true).
 */
static int ph_start(napi_env env, poll_handle_t *ph, int fd, napi_value callback, const char *name, const js_callback_t *async_owner,
                    uv_poll_cb on_event, bool *released) {
  uv_loop_t *loop;
  int rc;
  *released = false;
  ph->env = env;
  ph->fd = fd;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return -EINVAL;
  if (js_callback_init(env, callback, name, async_owner, &ph->cb) != napi_ok) return -ENOMEM;
  if ((rc = uv_poll_init(loop, &ph->poll, fd)) < 0) {
    js_callback_release(env, &ph->cb);
    return rc;
  }
  if (napi_add_async_cleanup_hook(env, ph_teardown, ph, &ph->hook) != napi_ok) {
    /* An initialised uv handle can only be freed through libuv. */
    js_callback_release(env, &ph->cb);
    if (ph->drop_refs) ph->drop_refs(ph);
    if (ph->own_fd) close(fd);
    uv_close((uv_handle_t *)&ph->poll, ph_on_closed_unhooked);
    *released = true;
    return -ENOMEM;
  }
  if ((rc = uv_poll_start(&ph->poll, UV_READABLE, on_event)) < 0) {
    ph->closing = true;
    ph_release(ph);
    *released = true;
    return rc;
  }
  return 0;
}

#endif
