/** `tollgate clients ...`: placeholder until its issue lands. Returns the process exit code. */
export async function clientsCommand(_args: string[]): Promise<number> {
  process.stderr.write('tollgate clients: not available yet\n')
  return 2
}
