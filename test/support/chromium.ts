/**
 * Debian's headless chromium for the status-page tests; the helpers live in
 * lab/tools/chromium.ts, shared with `npm run docs:screenshot`.
 */
export { CHROMIUM_FLAGS, dumpDom } from '../../lab/tools/chromium.js'
