// The GatehouseError a promise rejects with; fails the test when it resolves or rejects otherwise.
import { expect } from 'vitest';
import { GatehouseError } from '../../src/errors.js';

export async function refusal(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}
