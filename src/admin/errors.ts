// Every error the staff app answers with has a stable code, a status and a message for people;
// the API returns { error: { code, message, field? } }, pages show the message.
export const ERRORS = {
  'not-signed-in': 401,
  'sign-in-failed': 401,
  forbidden: 403,
  csrf: 403,
  'not-found': 404,
  invalid: 400,
  illegal: 422,
  conflict: 409,
  locked: 429,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AdminError extends Error {
  override readonly name = 'AdminError';
  readonly status: number;
  constructor(readonly code: ErrorCode, message: string, readonly field?: string) {
    super(message);
    this.status = ERRORS[code];
  }
}
