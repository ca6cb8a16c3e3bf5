#!/usr/bin/env node
// Entry point for `npx overpass`: runs the compiled CLI (built by `npm ci` via the prepare script).
import { main } from '../dist/src/cli/main.js'

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err))
  process.exit(1)
})
