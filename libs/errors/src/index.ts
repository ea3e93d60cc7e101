export { ErrorCode, RelayError, invalidInput, notFound } from './relay-error.js';
export { ExitCode, exitCodeFor } from './exit-code.js';
