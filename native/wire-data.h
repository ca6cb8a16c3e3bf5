/*
 * The data header of src/wire/data.ts, for the native fast paths (transit.c,
 * exit-flows.c): one copy of its offsets, flags and limits in C. The
 * differential tests (test/dataplane/transit-offload.test.ts) hold it to
 * the TypeScript decoder.
 */
#ifndef OVERPASS_WIRE_DATA_H
#define OVERPASS_WIRE_DATA_H

#include <stddef.h>
#include <stdint.h>

#define KIND_DATA 1
#define FLAG_REPLY 0x01
#define FLAG_CLIENT_ADDR 0x02
#define FLAG_REDUNDANT 0x04
/* Bytes 5..7 hold the writer's send stamp (path reports); a transit carries it unchanged. */
#define FLAG_STAMPED 0x08
#define KNOWN_FLAGS 0x0f
#define OFF_FLAGS 1
#define OFF_HOPS 2
#define OFF_PATH_LEN 3
#define OFF_PATH_INDEX 4
#define OFF_STAMP 5
#define OFF_SERVICE 8
#define OFF_FLOW 12
#define OFF_PATH 20
#define DATA_FIXED_LEN 20
#define MIN_PATH_RELAYS 2
#define MAX_PATH_RELAYS 8
#define CLIENT_ADDR_V4_LEN 14
#define CLIENT_ADDR_V6_LEN 38
#define STAMP_UNIT_US 10
#define STAMP_MODULUS 0x1000000

static inline uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * decodeDataHeader's checks (wire/data.ts) of a plaintext of n bytes: the
 * offset of its payload (after the path and any client-address extension),
 * or 0 when it is not a data header that decodes. When it decodes, the path
 * length is in range and 1 <= path index < length, so path[pidx - 1] and
 * path[pidx] lie inside it. The one copy for the transit's and the exit's
 * fast paths: each adds only its own checks of where the path stands.
 */
static inline size_t data_header_payload(const unsigned char *p, size_t n) {
  if (n < DATA_FIXED_LEN || p[0] != KIND_DATA) return 0;
  unsigned flags = p[OFF_FLAGS];
  if ((flags & ~KNOWN_FLAGS) != 0) return 0;
  if (!(flags & FLAG_STAMPED) && (p[OFF_STAMP] | p[OFF_STAMP + 1] | p[OFF_STAMP + 2]) != 0) return 0;
  unsigned plen = p[OFF_PATH_LEN], pidx = p[OFF_PATH_INDEX];
  if (plen < MIN_PATH_RELAYS || plen > MAX_PATH_RELAYS || pidx < 1 || pidx >= plen) return 0;
  size_t off = OFF_PATH + 4 * (size_t)plen;
  if (n < off) return 0;
  if (flags & FLAG_CLIENT_ADDR) {
    size_t ext = n == off ? 0 : p[off] == 4 ? CLIENT_ADDR_V4_LEN : p[off] == 6 ? CLIENT_ADDR_V6_LEN : 0;
    if (ext == 0 || n < off + ext) return 0;
    off += ext;
  }
  return off;
}

#endif
