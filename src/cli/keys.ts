/** `tollgate keys ...`: placeholder until its issue lands. Returns the process exit code. */
export async function keysCommand(_args: string[]): Promise<number> {
  process.stderr.write('tollgate keys: not available yet\n')
  return 2
}
