// Writes the types of the typed client (src/client/openapi.ts) from openapi.yaml with
// openapi-typescript (npm run client:generate), or with --check fails when the committed file
// differs from what openapi.yaml produces (npm run client:check).
import { readFileSync, writeFileSync } from 'node:fs'
import openapiTS, { astToString } from 'openapi-typescript'

const SOURCE = new URL('../openapi.yaml', import.meta.url)
const TARGET = new URL('../src/client/openapi.ts', import.meta.url)

const HEADER = `// Generated from openapi.yaml by \`npm run client:generate\` (openapi-typescript): do not edit.
`

// The document is linted on its own (npm run openapi:lint), with its reasoned exceptions.
const ast = await openapiTS(SOURCE, { silent: true, rootTypes: true, rootTypesNoSchemaPrefix: true })
const generated = HEADER + astToString(ast)

if (process.argv.includes('--check')) {
  let committed = ''
  try {
    committed = readFileSync(TARGET, 'utf8')
  } catch {
    // A missing file is drift too.
  }
  if (committed !== generated) {
    console.error('src/client/openapi.ts is out of date with openapi.yaml: run `npm run client:generate` and commit the result.')
    process.exit(1)
  }
  console.log('src/client/openapi.ts matches openapi.yaml.')
} else {
  writeFileSync(TARGET, generated)
  console.log('wrote src/client/openapi.ts')
}
