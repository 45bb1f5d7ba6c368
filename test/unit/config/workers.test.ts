// proxy.workers: how many processes share the listeners. auto (the default) or 1 to 64 (the cancel
// key has 6 bits for the worker); anything else is refused at its line and column.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function load(...lines: string[]) {
  return parseConfig(['version: v1', ...lines].join('\n'), 'conf/gatehouse.yaml', { cwd: '/srv' });
}

function problems(...lines: string[]): string[] {
  try {
    load(...lines);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('the config loaded, but it should not have');
}

describe('proxy.workers', () => {
  it('defaults to auto', () => {
    expect(load().proxy.workers).toBe('auto');
  });

  it('reads auto and a whole number from 1 to 64', () => {
    expect(load('proxy: { workers: auto }').proxy.workers).toBe('auto');
    expect(load('proxy: { workers: 1 }').proxy.workers).toBe(1);
    expect(load('proxy: { workers: 64 }').proxy.workers).toBe(64);
  });

  it.each([
    ['0', 'the number 0'],
    ['65', 'the number 65'],
    ['2.5', 'the number 2.5'],
    ['"4"', '"4"'],
    ['all', '"all"'],
  ])('refuses %s', (value, described) => {
    expect(problems('proxy:', `  workers: ${value}`)).toEqual([`conf/gatehouse.yaml:3:12: proxy.workers: must be auto or a whole number from 1 to 64, not ${described}`]);
  });
});

describe('proxy.allocator', () => {
  it('defaults to auto and reads jemalloc and system', () => {
    expect(load().proxy.allocator).toBe('auto');
    expect(load('proxy: { allocator: jemalloc }').proxy.allocator).toBe('jemalloc');
    expect(load('proxy: { allocator: system }').proxy.allocator).toBe('system');
  });

  it('refuses anything else, naming the choices', () => {
    expect(problems('proxy:', '  allocator: tcmalloc')).toEqual([expect.stringMatching(/^conf\/gatehouse\.yaml:3:14: proxy\.allocator: .*auto.*jemalloc.*system/)]);
  });
});
