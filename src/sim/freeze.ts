/**
 * Control messages travel between routers as the same object (no msgpack in
 * the simulator), so they are deep-frozen on first send: a router that edits
 * a message it received throws instead of silently changing what other
 * relays see. A message that is already frozen (a flood being forwarded) is
 * passed on as is. Typed arrays cannot be frozen; they are shared read-only
 * by convention, as msgpack would have copied them.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value
  Object.freeze(value)
  if (value instanceof Map) {
    for (const [k, v] of value) (deepFreeze(k), deepFreeze(v))
  } else if (value instanceof Set) {
    for (const v of value) deepFreeze(v)
  } else {
    for (const k of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[k])
  }
  return value
}
