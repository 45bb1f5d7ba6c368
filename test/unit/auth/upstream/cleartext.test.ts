import { describe, expect, it } from 'vitest';
import { cleartextPasswordMessage } from '../../../../src/auth/upstream/cleartext.js';
import { ErrorCodes } from '../../../../src/errors.js';
import { gatehouseError, unframe } from './frontend-message-helpers.js';

describe('cleartextPasswordMessage', () => {
  it('is a PasswordMessage with the password as a NUL-terminated string', () => {
    expect(cleartextPasswordMessage('s3cret').toString('hex')).toBe(`70${'0000000b'}${Buffer.from('s3cret\0').toString('hex')}`);
  });

  it('sends the password as UTF-8, unchanged', () => {
    const { type, body } = unframe(cleartextPasswordMessage('pässwörd ＡＢＣ'));
    expect(type).toBe('p');
    expect(body).toEqual(Buffer.from('pässwörd ＡＢＣ\0', 'utf8'));
  });

  it('refuses a password with a NUL in it, which the server would cut short', () => {
    const error = gatehouseError(() => cleartextPasswordMessage('ab\0cd'));
    expect(error.code).toBe(ErrorCodes.UPSTREAM_AUTH);
    expect(error.message).toMatch(/NUL/);
  });

  it('refuses an empty password, which no server accepts', () => {
    expect(gatehouseError(() => cleartextPasswordMessage('')).message).toMatch(/empty/);
  });
});
