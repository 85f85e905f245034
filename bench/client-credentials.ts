// client_credentials beside oidc-provider's: npx tsx bench/client-credentials.ts (options as bench/run.ts).
import { runCases } from './lib/main.js'

await runCases(['client-credentials', 'oidc-cc'])
