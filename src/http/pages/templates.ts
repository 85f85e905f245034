import { describeScope } from '../../domain/oidc/claims.js'
import { html, type SafeHtml } from './html.js'
import { STYLESHEET_VERSION } from './stylesheet.js'

function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="robots" content="noindex">
<title>${title} · tollgate</title>
<link rel="stylesheet" href="assets/tollgate.css?v=${STYLESHEET_VERSION}">
</head>
<body>
<main>
<div class="card">
<p class="brand"><span class="brand-mark" aria-hidden="true">t</span>tollgate</p>
${body}
</div>
</main>
</body>
</html>
`.value
}

export interface LoginPage {
  clientName: string
  state: string
  email?: string | undefined
  error?: string | undefined
}

export function loginPage(page: LoginPage): string {
  const error = page.error !== undefined
  return layout(
    'Sign in',
    html`<h1 id="title">Sign in</h1>
<p class="lead">to continue to <strong>${page.clientName}</strong></p>
${error ? html`<div class="alert" role="alert" id="form-error">${page.error}</div>` : ''}
<form method="post" action="login" aria-labelledby="title" novalidate>
<input type="hidden" name="interaction" value="${page.state}">
<div class="field">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" inputmode="email" autocapitalize="none" spellcheck="false" required maxlength="320" value="${page.email ?? ''}"${error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}${page.email ? '' : html` autofocus`}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"${error ? html` aria-invalid="true" aria-describedby="form-error"` : ''}${page.email ? html` autofocus` : ''}>
</div>
<div class="actions">
<button class="primary" type="submit">Sign in</button>
</div>
</form>`,
  )
}

export interface ConsentPage {
  clientName: string
  state: string
  scopes: readonly string[]
  userEmail: string
  /** The same authorization request with prompt=login: signing in as someone else. */
  switchAccountUrl: string
}

export function consentPage(page: ConsentPage): string {
  return layout(
    'Allow access',
    html`<h1 id="title">Allow ${page.clientName} to access your account?</h1>
<p class="lead">Signed in as <strong>${page.userEmail}</strong>. <a href="${page.switchAccountUrl}">Not you?</a></p>
<p id="scopes-label">${page.clientName} will be able to:</p>
<ul class="scopes" aria-labelledby="scopes-label">
${page.scopes.map((scope) => html`<li>${describeScope(scope)}</li>`)}
</ul>
<form method="post" action="consent" aria-labelledby="title">
<input type="hidden" name="interaction" value="${page.state}">
<div class="actions">
<button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button class="secondary" type="submit" name="decision" value="deny">Cancel</button>
</div>
</form>
<p class="note">You can revoke this access at any time by signing out of your sessions.</p>`,
  )
}

export interface ErrorPage {
  status: number
  title: string
  description: string
  code: string
}

export function errorPage(page: ErrorPage): string {
  return layout(
    page.title,
    html`<h1 id="title">${page.title}</h1>
<p class="lead" role="alert">${page.description}</p>
<p class="note">Error <code>${page.code}</code> (HTTP ${page.status}). Go back to the application you came from and try again.</p>`,
  )
}

/** A wait as a person reads it: "45 seconds", "1 minute", "15 minutes" (rounded up). */
export function waitInWords(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}

/** The login limits' answer (429), in words: what happened, and how long until trying again. */
export function rateLimitedPage(page: { retryAfterSeconds: number }): string {
  return layout(
    'Too many sign-in attempts',
    html`<h1 id="title">Too many sign-in attempts</h1>
<p class="lead" role="alert">Signing in is paused after too many failed attempts, to protect the account from password guessing. Please try again in ${waitInWords(page.retryAfterSeconds)}.</p>
<p class="note">Error <code>rate_limited</code> (HTTP 429). Then go back to the application you came from and sign in again.</p>`,
  )
}

export interface MessagePage {
  title: string
  description: string
}

export function messagePage(page: MessagePage): string {
  return layout(page.title, html`<h1 id="title">${page.title}</h1><p class="lead">${page.description}</p>`)
}

export function logoutConfirmPage(page: { clientName: string | undefined; state: string }): string {
  return layout(
    'Sign out',
    html`<h1 id="title">Sign out of tollgate?</h1>
<p class="lead">${page.clientName ? html`<strong>${page.clientName}</strong> asks to sign you out.` : 'An application asks to sign you out.'} You will be signed out of every app you signed in to through tollgate in this browser.</p>
<form method="post" action="logout" aria-labelledby="title">
<input type="hidden" name="interaction" value="${page.state}">
<div class="actions">
<button class="primary" type="submit" name="confirm" value="yes">Sign out</button>
</div>
</form>`,
  )
}
