import { existsSync, mkdirSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { join } from 'node:path'
import * as client from 'openid-client'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { register } from '../../helpers/accounts.js'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { freePort } from './over-http.js'

/**
 * The login and consent pages in a real browser (Debian's chromium, installed by .ci/run, driven by
 * playwright-core): typed into by label, submitted from the keyboard, no CSP violation, and the code
 * it lands on redeemed by openid-client. Screenshots go to SCREENSHOT_DIR (default .data/screenshots).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? join(process.cwd(), '.data', 'screenshots')

describe.skipIf(!existsSync(CHROMIUM))('the login and consent pages in Chromium', () => {
  let t: TestApp
  let issuer: string
  let browser: Browser
  let app: Server
  let redirectUri: string
  const callbacks: URL[] = []

  beforeAll(async () => {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    t = await buildTestApp({ ISSUER: issuer, SIGNING_ALGORITHMS: 'ES256,RS256' })
    await t.app.listen({ port, host: '127.0.0.1' })
    // The relying party's callback: a real server, where the browser's last stop is recorded.
    const appPort = await freePort()
    redirectUri = `http://127.0.0.1:${appPort}/callback`
    app = createHttpServer((request, response) => {
      callbacks.push(new URL(request.url!, redirectUri))
      response.writeHead(200, { 'content-type': 'text/html' }).end('<p>back at the app</p>')
    })
    await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve))
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS })
    mkdirSync(SCREENSHOTS, { recursive: true })
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => app?.close(resolve))
    await t?.close()
  })

  it.each([
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ])('signs in on a %s screen by keyboard, consents, and lands on the app with a code openid-client redeems', async (name, viewport) => {
    const user = await register(t.app, { name: 'Dorothy Vaughan' })
    const { client: registered, clientSecret } = await t.app.oauth.clients.create({
      name: 'Acme Dashboard',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [redirectUri],
    })
    const config = await client.discovery(new URL(issuer), registered.clientId, { client_secret: clientSecret }, client.ClientSecretBasic(clientSecret), {
      execute: [client.allowInsecureRequests],
    })
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    })

    const context = await browser.newContext({ viewport })
    const page = await context.newPage()
    const violations: string[] = []
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text())
    })

    await page.goto(url.href)
    expect(await page.title()).toBe('Sign in · tollgate')
    // The stylesheet loaded (no inline style needed): the card has its border radius.
    expect(await page.locator('.card').evaluate((element) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderTopLeftRadius: string } }).getComputedStyle(element).borderTopLeftRadius)).toBe('12px')
    await page.screenshot({ path: join(SCREENSHOTS, `login-${name}.png`), fullPage: true })

    // A wrong password first: the same page, the message announced.
    await page.getByLabel('Email').fill(user.email)
    await page.getByLabel('Password').fill('not the password 1')
    await page.getByLabel('Password').press('Enter')
    await page.waitForSelector('[role="alert"]')
    expect(await page.locator('[role="alert"]').textContent()).toBe('Invalid email or password')
    await page.screenshot({ path: join(SCREENSHOTS, `login-error-${name}.png`), fullPage: true })

    await page.getByLabel('Password').fill(user.password)
    await page.getByLabel('Password').press('Enter')
    await page.waitForSelector('text=Allow Acme Dashboard to access your account?')
    await page.screenshot({ path: join(SCREENSHOTS, `consent-${name}.png`), fullPage: true })
    // Keyboard: the first button is Allow.
    await page.getByRole('button', { name: 'Allow' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL((current) => current.pathname === '/callback')
    expect(violations).toEqual([])
    const callback = callbacks.filter((candidate) => candidate.pathname === '/callback').at(-1)

    expect(callback?.searchParams.get('iss')).toBe(issuer)
    const tokens = await client.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier, expectedState: state })
    expect(tokens.claims()).toMatchObject({ sub: user.user.id, email: user.email })
    await context.close()
  }, 60_000)
})
