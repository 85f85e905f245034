import { createHash } from 'node:crypto'

/**
 * The pages' only stylesheet, served from /oauth/assets (the CSP allows styles from 'self' only,
 * never inline). A TypeScript string so that it ships in dist with no build step of its own.
 */
export const STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #f3f4f6; --card: #ffffff; --text: #111827; --muted: #4b5563; --border: #d1d5db;
  --accent: #1d4ed8; --accent-text: #ffffff; --accent-hover: #1e40af; --danger-bg: #fef2f2; --danger: #991b1b;
  --focus: #f59e0b;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0b1120; --card: #111827; --text: #f3f4f6; --muted: #9ca3af; --border: #374151;
    --accent: #3b82f6; --accent-text: #0b1120; --accent-hover: #60a5fa; --danger-bg: #3f1d1d; --danger: #fecaca;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { font-size: 100%; -webkit-text-size-adjust: 100%; }
body {
  margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  padding: 1.5rem 1rem; background: var(--bg); color: var(--text);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { width: 100%; max-width: 25rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 0.75rem; padding: 2rem 1.75rem; box-shadow: 0 1px 3px rgb(0 0 0 / 0.08), 0 8px 24px rgb(0 0 0 / 0.06); }
.brand { display: flex; align-items: center; gap: 0.5rem; margin: 0 0 1.5rem; font-weight: 600; letter-spacing: 0.01em; color: var(--muted); font-size: 0.9375rem; }
.brand-mark { display: inline-flex; width: 1.75rem; height: 1.75rem; border-radius: 0.5rem; background: var(--accent); color: var(--accent-text); align-items: center; justify-content: center; font-weight: 700; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 0.5rem; }
.lead { margin: 0 0 1.5rem; color: var(--muted); }
.lead strong { color: var(--text); overflow-wrap: anywhere; }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 0 0 0.375rem; }
input[type="email"], input[type="password"] {
  display: block; width: 100%; padding: 0.625rem 0.75rem; font: inherit; color: var(--text);
  background: var(--card); border: 1px solid var(--border); border-radius: 0.5rem;
}
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input[aria-invalid="true"] { border-color: var(--danger); }
.alert { margin: 0 0 1rem; padding: 0.75rem 1rem; border-radius: 0.5rem; background: var(--danger-bg); color: var(--danger); border: 1px solid currentColor; }
.actions { display: flex; flex-direction: column; gap: 0.75rem; margin-top: 1.5rem; }
button { font: inherit; font-weight: 600; padding: 0.6875rem 1rem; border-radius: 0.5rem; cursor: pointer; border: 1px solid var(--accent); width: 100%; min-height: 2.75rem; }
.primary { background: var(--accent); color: var(--accent-text); }
.primary:hover { background: var(--accent-hover); border-color: var(--accent-hover); }
.secondary { background: transparent; color: var(--text); border-color: var(--border); }
.secondary:hover { border-color: var(--muted); }
.scopes { list-style: none; margin: 0 0 0.5rem; padding: 0; border: 1px solid var(--border); border-radius: 0.5rem; }
.scopes li { padding: 0.75rem 1rem; display: flex; gap: 0.625rem; align-items: baseline; }
.scopes li + li { border-top: 1px solid var(--border); }
.scopes li::before { content: "✓"; color: var(--accent); font-weight: 700; }
.note { font-size: 0.875rem; color: var(--muted); margin: 1rem 0 0; }
a { color: var(--accent); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.875em; }
footer { margin-top: 1.25rem; text-align: center; font-size: 0.8125rem; color: var(--muted); }
`.trim()

/** Changes with the stylesheet: the pages link it with this as a cache-busting query. */
export const STYLESHEET_VERSION = createHash('sha256').update(STYLESHEET).digest('base64url').slice(0, 12)
