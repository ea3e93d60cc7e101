export { ErrorCode, RelayError, invalidInput, notFound } from './relay-error.js';
