// The school CA's own errors, whose messages say what to do (chmod, restore from a backup). Kept
// apart from ca.ts so the command line can recognise one without loading node-forge for every
// command.
export class CaError extends Error {
  override readonly name = 'CaError';
}
