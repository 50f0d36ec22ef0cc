/** Errors the CLI reports as one line with exit status 2 (bad input or usage). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
