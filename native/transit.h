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

/*
 * One received datagram d[0, len) from `src`. Returns the length (> 0) of
 * the re-sealed datagram written to out[0, out_cap) and sets *to_slot to the
 * peer it goes to, or 0: the datagram is not pure transit this table can
 * forward exactly as the TypeScript path would, and goes to JS untouched
 * (no state changed).
 */
size_t transit_try(transit_t *t, const unsigned char *d, size_t len, const addr_t *src, double now_ms,
                   unsigned char *out, size_t out_cap, int *to_slot);

/* The address of peer `slot` (as transitPeer set it). */
const addr_t *transit_peer_addr(const transit_t *t, int slot);

napi_status transit_register(napi_env env, napi_value exports);
#endif
