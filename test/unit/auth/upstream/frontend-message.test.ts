import { describe, expect, it } from 'vitest';
import { cString, frontendMessage, int32 } from '../../../../src/auth/upstream/frontend-message.js';

describe('frontendMessage', () => {
  it('writes the type byte, a length counting itself and the body, then the parts in order', () => {
    expect(frontendMessage('p', Buffer.from('ab'), Buffer.from('c')).toString('hex')).toBe('7000000007616263');
  });

  it('frames an empty body as length 4', () => {
    expect(frontendMessage('d').toString('hex')).toBe('6400000004');
  });

  it('has helpers for int32 and NUL-terminated strings', () => {
    expect(int32(-2).toString('hex')).toBe('fffffffe');
    expect(cString('é')).toEqual(Buffer.from([0xc3, 0xa9, 0]));
  });
});
