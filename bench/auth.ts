// Refresh rotation and login, with their baselines (oidc-provider's rotation, raw argon2):
// npx tsx bench/auth.ts (options as bench/run.ts).
import { runCases } from './lib/main.js'

await runCases(['refresh', 'oidc-refresh', 'login', 'argon2'])
