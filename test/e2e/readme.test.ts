import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startService } from './service.js'

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

/** The first shell block under a heading of README, as a reader would copy it. */
function shellBlockUnder(heading: string): string {
  const section = README.slice(README.indexOf(`\n${heading}\n`))
  const match = /```sh\n([\s\S]*?)```/.exec(section)
  if (!match) throw new Error(`no sh block under ${heading}`)
  return match[1]!
}

t.setTimeout(300_000)
const hasJq = spawnSync('jq', ['--version']).status === 0

t.test("README's first session runs as written against a live service", { skip: hasJq ? false : 'jq is not installed (.ci/run installs it)' }, async (t) => {
  const service = await startService()
  t.teardown(() => service.kill())
  const host = new URL(service.baseUrl).host
  const block = shellBlockUnder('## A first session')
  t.match(block, /localhost:3000/)
  // Only the address changes: the service listens on a free port here.
  const script = block.replaceAll('localhost:3000', host)
  const output = execFileSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' })
  const answers = output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  const [registered, tokens, cartItem, refreshed] = answers
  t.equal(answers.length, 4, 'register, login, add to cart, refresh: one JSON answer each')
  t.equal(registered?.email, 'ada@example.com')
  t.type(tokens?.access_token, 'string')
  t.equal(cartItem?.sku, 'BOOK-42', 'the cart call is authorized by the captured access token')
  t.equal(cartItem?.quantity, 2)
  t.type(refreshed?.access_token, 'string', 'the refresh with the captured refresh token answers new tokens')
  t.not(refreshed?.refresh_token, tokens?.refresh_token, 'the refresh token rotated')
})
