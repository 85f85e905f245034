// The cart cases of the suite with their baselines: npx tsx bench/cart.ts (options as bench/run.ts).
import { runCases } from './lib/main.js'

await runCases(['hello', 'jwt', 'jwt-pg', 'cart-get', 'express-get', 'cart-post', 'express-post'])
