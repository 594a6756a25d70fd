import { describe, expect, it } from 'vitest';
import { allowedHostnames, assertServeSecure, guardRequest, hostnameOf, isLoopbackHost, resolveServeToken } from '../../src/memory/http-guard.js';

describe('isLoopbackHost', () => {
  it.each([['127.0.0.1', true], ['127.1.2.3', true], ['::1', true], ['[::1]', true], ['localhost', true], ['0.0.0.0', false], ['::', false], ['192.168.1.5', false], ['example.com', false]])('%s', (h, want) =>
    expect(isLoopbackHost(h)).toBe(want),
  );
});

describe('token decision', () => {
  const gen = () => 'generated';
  it('requires (generates) a token beyond loopback', () => {
    expect(resolveServeToken('0.0.0.0', undefined, gen)).toEqual({ token: 'generated', generated: true });
    expect(resolveServeToken('192.168.1.5', '  ', gen)).toEqual({ token: 'generated', generated: true });
    expect(() => assertServeSecure('0.0.0.0', undefined)).toThrow('refusing to listen on 0.0.0.0 without a bearer token');
  });
  it('takes the environment token anywhere and needs none on loopback', () => {
    expect(resolveServeToken('0.0.0.0', 'env-tok', gen)).toEqual({ token: 'env-tok', generated: false });
    expect(resolveServeToken('127.0.0.1', 'env-tok', gen)).toEqual({ token: 'env-tok', generated: false });
    expect(resolveServeToken('127.0.0.1', undefined, gen)).toEqual({ token: undefined, generated: false });
    expect(() => assertServeSecure('127.0.0.1', undefined)).not.toThrow();
  });
});

describe('guardRequest', () => {
  const allowed = allowedHostnames('127.0.0.1');
  it('allows loopback names only (DNS rebinding), any port', () => {
    expect(guardRequest({ host: '127.0.0.1:7847', origin: undefined, authorization: undefined }, allowed, undefined)).toEqual({ ok: true });
    expect(guardRequest({ host: 'localhost:1', origin: 'http://localhost:3000', authorization: undefined }, allowed, undefined)).toEqual({ ok: true });
    expect(guardRequest({ host: 'evil.example:7847', origin: undefined, authorization: undefined }, allowed, undefined)).toMatchObject({ ok: false, status: 403 });
    expect(guardRequest({ host: '127.0.0.1', origin: 'https://evil.example', authorization: undefined }, allowed, undefined)).toMatchObject({ ok: false, status: 403 });
    expect(guardRequest({ host: undefined, origin: undefined, authorization: undefined }, allowed, undefined)).toMatchObject({ ok: false, status: 403 });
  });
  it('checks the bearer token when one is configured', () => {
    const r = (authorization?: string) => guardRequest({ host: 'localhost', origin: undefined, authorization }, allowed, 'tok');
    expect(r()).toEqual({ ok: false, status: 401, reason: 'a bearer token is required' });
    expect(r('Bearer nope')).toEqual({ ok: false, status: 401, reason: 'wrong bearer token' });
    expect(r('Basic tok')).toMatchObject({ status: 401 });
    expect(r('Bearer tok')).toEqual({ ok: true });
  });
  it('beyond loopback: the bound address, interface addresses for a wildcard, and extra names', () => {
    expect(allowedHostnames('192.168.1.5', ['memory.lan'])).toEqual(['localhost', '127.0.0.1', '[::1]', '192.168.1.5', 'memory.lan']);
    expect(allowedHostnames('0.0.0.0', [], ['10.0.0.2', 'fe80::1'])).toEqual(['localhost', '127.0.0.1', '[::1]', '10.0.0.2', '[fe80::1]']);
    expect(hostnameOf('[::1]:80')).toBe('[::1]');
  });
});
