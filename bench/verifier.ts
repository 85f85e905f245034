// tollgate/verifier against raw jose jwtVerify, and with DPoP, in one process: npx tsx bench/verifier.ts (options as bench/run.ts).
import { runCases } from './lib/main.js'

await runCases(['jose-verify', 'verifier', 'verifier-uncached', 'verifier-dpop'])
