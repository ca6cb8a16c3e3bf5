/**
 * Docker cannot run on the test machines, so the Dockerfile is checked
 * statically: dockerfile-utils (the linter behind the VS Code Docker
 * language server) finds no problem, and its structure is what
 * docs/operating.md promises: a build stage with the compilers, a runtime
 * stage without them that runs unprivileged, and COPY sources that exist and
 * are not excluded by .dockerignore.
 */
import fs from 'node:fs'
import path from 'node:path'
import { validate } from 'dockerfile-utils'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
/** Instructions with continuation lines joined, comments dropped. */
const instructions = text.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))
const stages = instructions.join('\n').split(/^(?=FROM )/m)

describe('Dockerfile', () => {
  it('passes the dockerfile-utils linter with no diagnostics', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([])
  })

  it('the linter does catch a broken instruction (so the check above can fail)', () => {
    expect(validate(text.replace('COPY --from=build', 'COPY --frm=build')).length).toBeGreaterThan(0)
  })

  it('builds the native addons in a build stage and ships a runtime stage without compilers', () => {
    expect(stages).toHaveLength(2)
    const [build, runtime] = stages
    expect(build).toMatch(/^FROM node:20\S* AS build$/m)
    expect(build).toMatch(/apt-get install .*python3 make g\+\+/)
    expect(build).toMatch(/npm ci /)
    expect(build).toMatch(/npm install -g \.\/overpass-\*\.tgz --prefix \/opt\/overpass/)
    expect(build).toContain('build/Release/overpass_udp.node')
    expect(runtime).toMatch(/^FROM node:20\S*$/m)
    expect(runtime).toContain('COPY --from=build /opt/overpass /opt/overpass')
    expect(runtime).not.toMatch(/g\+\+|python3/)
    expect(runtime).toMatch(/apt-get install .*iproute2/)
    expect(runtime).toMatch(/^USER node$/m)
    expect(runtime).toMatch(/^ENTRYPOINT \["overpass"\]$/m)
  })

  it('copies only paths that exist and that .dockerignore does not exclude', () => {
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').filter(Boolean).map((l) => l.replace(/\/$/, ''))
    const sources = stages[0].split('\n').filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1))
    expect(sources.length).toBeGreaterThan(5)
    for (const src of sources) {
      expect(fs.existsSync(path.join(ROOT, src)), src).toBe(true)
      expect(ignored.some((i) => src.replace(/\/$/, '') === i), src).toBe(false)
    }
  })
})
