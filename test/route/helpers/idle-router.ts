/**
 * A Router that sends nothing, hears nothing and routes nowhere, for tests
 * of what drives a router (the bridge, the simulator): each test overrides
 * only the members it exercises, so the stub stays whole as Router grows.
 */
import type { Router } from '../../../src/route/types.js'

export function idleRouter(overrides: Partial<Router> = {}): Router {
  return {
    tick: () => [],
    onProbe: () => [],
    onControl: () => [],
    onOriginSample: () => {},
    forwardPath: () => undefined,
    replyPath: () => undefined,
    pathTo: () => undefined,
    edges: () => [],
    routes: () => ({ forward: [], reply: [] }),
    ...overrides,
  }
}
