/*
 * The native transit fast path (transit.c): a table of the sessions JS hands
 * over, and the per-datagram routine udp.c runs on each received datagram
 * before JS sees the batch. See transit.c for the contract.
 */
#ifndef OVERPASS_TRANSIT_H
#define OVERPASS_TRANSIT_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include "udp-addr.h"

typedef struct transit transit_t;

/* The table behind a JS external made by transitCreate, or NULL. */
transit_t *transit_from_value(napi_env env, napi_value v);

/* Now in the table's clock (the JS clock's milliseconds, performance.now()). */
double transit_now_ms(const transit_t *t);

/* DELIVERED: it ended here and exit-flows.c sent its payload to the flow's origin (nothing for JS). */
typedef enum { TRANSIT_DECLINED, TRANSIT_FORWARDED, TRANSIT_OPENED, TRANSIT_DELIVERED } transit_verdict_t;

typedef struct {
  size_t offset; /* OPENED: where the plaintext starts in d (it was decrypted in place) */
  size_t length; /* FORWARDED: bytes written to out; OPENED: plaintext bytes */
  int slot;      /* FORWARDED: the peer it goes to; OPENED: the peer it came from */
} transit_result_t;

/*
 * One received datagram d[0, len) from `src` (see transit.c for the three
 * outcomes). DECLINED leaves d and every state untouched; FORWARDED wrote
 * the re-sealed datagram to out[0, out_cap); OPENED decrypted it in place
 * and committed its replay window and counters: JS must deliver the
 * plaintext as its own open would have, never open it again.
 */
transit_verdict_t transit_try(transit_t *t, unsigned char *d, size_t len, const addr_t *src, double now_ms,
                              unsigned char *out, size_t out_cap, transit_result_t *r);

/* The address of peer `slot` (as transitPeer set it). */
const addr_t *transit_peer_addr(const transit_t *t, int slot);

napi_status transit_register(napi_env env, napi_value exports);
#endif
