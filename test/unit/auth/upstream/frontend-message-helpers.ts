// Test helpers: take apart a frontend message the modules built, checking its framing.
import { expect } from 'vitest';
import { GatehouseError } from '../../../../src/errors.js';

export function unframe(message: Buffer): { type: string; body: Buffer } {
  expect(message.length).toBeGreaterThanOrEqual(5);
  expect(message.readInt32BE(1)).toBe(message.length - 1);
  return { type: String.fromCharCode(message[0]!), body: message.subarray(5) };
}

/** Runs `run` and returns the GatehouseError it throws; fails the test on anything else. */
export function gatehouseError(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    return error as GatehouseError;
  }
  throw new Error('expected a GatehouseError, nothing was thrown');
}

/** For fuzzing: anything thrown must be a GatehouseError. */
export function onlyGatehouseErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof GatehouseError)) throw error;
  }
}
