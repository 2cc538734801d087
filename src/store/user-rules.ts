// What a user record may hold: usernames, passwords, names, e-mail addresses and staff-app roles,
// each with a message that says why a value is refused (and never repeats a password).

export const USERNAME_RULE = '1 to 64 letters, digits, dots, underscores, @ or hyphens';
export const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;
export const MIN_PASSWORD = 8;
export const MIN_SHARED_PASSWORD = 4;
const MAX_PASSWORD = 1024;
const MAX_DISPLAY_NAME = 200;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export const ROLES = ['technician', 'dsl', 'slt', 'teacher', 'governor'] as const;
export type Role = (typeof ROLES)[number];

/** Roles from a comma-separated list; an error message for one that is not a role. */
export function parseRoles(text: string): readonly Role[] | { error: string } {
  const out: Role[] = [];
  for (const part of text.split(',').map((r) => r.trim().toLowerCase()).filter((r) => r !== '')) {
    if (!(ROLES as readonly string[]).includes(part)) return { error: `"${part}" is not a role: use ${ROLES.join(', ')}` };
    if (!out.includes(part as Role)) out.push(part as Role);
  }
  return out;
}

const EMAIL = /^[^\s@,;<>"]{1,64}@[^\s@,;<>"]{1,253}\.[^\s@,;<>"]+$/;

/** Why a username is not acceptable, or undefined. */
export function checkUsername(username: string): string | undefined {
  return USERNAME.test(username) ? undefined : `username "${username.slice(0, 80)}" is not acceptable: use ${USERNAME_RULE}`;
}

/** Why a password is not acceptable, or undefined. The message never contains the password. */
export function checkPassword(password: string, shared: boolean): string | undefined {
  const min = shared ? MIN_SHARED_PASSWORD : MIN_PASSWORD;
  const length = [...password.normalize('NFC')].length;
  if (length < min) return `the password must be at least ${min} characters${shared ? ' for a shared login' : ` (${MIN_SHARED_PASSWORD} for a shared year-group or visitor login)`}`;
  if (length > MAX_PASSWORD) return `the password must be at most ${MAX_PASSWORD} characters`;
  if (CONTROL.test(password)) return 'the password contains a control character (a tab or line break?)';
  return undefined;
}

export function checkDisplayName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (name.length > MAX_DISPLAY_NAME) return `the name must be at most ${MAX_DISPLAY_NAME} characters`;
  if (CONTROL.test(name)) return 'the name contains a control character';
  return undefined;
}

export function checkEmail(email: string | undefined | null): string | undefined {
  if (email === undefined || email === null || email.trim() === '') return undefined;
  return EMAIL.test(email.trim()) ? undefined : `"${email}" is not an e-mail address`;
}
