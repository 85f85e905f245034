import { BenchRefusal } from './database.js'
import { runSuite, suiteOptions } from './suite.js'

/** Runs the suite on `cases` (or on `--only`, when given) as a script: exit code 1 if a case failed, 2 if refused. */
export async function runCases(cases?: readonly string[]): Promise<void> {
  try {
    const options = suiteOptions()
    const result = await runSuite(options.only || !cases ? options : { ...options, only: cases })
    if (result.failed) process.exitCode = 1
  } catch (error) {
    if (!(error instanceof BenchRefusal)) throw error
    console.error(error.message)
    process.exitCode = 2
  }
}
