import { describe, expect, it } from 'vitest';
import { pathIsPlain, readPath } from '../../src/classify/path-readings.js';

describe('readPath: the path as decoding servers read it', () => {
  it.each([
    // [path, read with parameters kept, read with parameters dropped]
    ['/', '/', '/'],
    ['/secret', '/secret', '/secret'],
    ['/a/..%2Fsecret', '/secret', '/secret'],
    ['/a%2f..%2fsecret', '/secret', '/secret'],
    ['/secret%2Fx', '/secret/x', '/secret/x'],
    ['/secret%5Cx', '/secret/x', '/secret/x'],
    ['/secret\\x', '/secret/x', '/secret/x'],
    ['/a/..;/secret', '/secret', '/secret'],
    ['/a/..;jsessionid=1/secret', '/secret', '/secret'],
    ['/a/.;x/secret', '/a/secret', '/a/secret'],
    ['/secret;jsessionid=1/x', '/secret;jsessionid=1/x', '/secret/x'],
    ['/a;b=c/secret', '/a;b=c/secret', '/a/secret'],
    ['/;x/secret', '/;x/secret', '/secret'],
    ['/secret%20', '/secret', '/secret'],
    ['/secret%09', '/secret', '/secret'],
    ['/%20%09secret%0A%0d', '/secret', '/secret'],
    ['/secret%20;x', '/secret;x', '/secret'],
    ['/a%20b', '/a%20b', '/a%20b'],
    ['/secret.', '/secret', '/secret'],
    ['/secret.%20..%20/x', '/secret/x', '/secret/x'],
    ['/...', '/', '/'],
    ['/a/..%20/secret', '/secret', '/secret'],
    ['/secret%2520', '/secret', '/secret'],
    ['/secret%252F', '/secret/', '/secret/'],
    ['/secret%25252f', '/secret/', '/secret/'],
    ['/%2567ames', '/games', '/games'],
    ['/%25%34%31', '/A', '/A'],
    ['/100%25', '/100%25', '/100%25'],
    ['/%25zz', '/%25zz', '/%25zz'],
    ['/%zz', '/%25zz', '/%25zz'],
    ['/%25%25', '/%25%25', '/%25%25'],
    ['/a%3Fb', '/a%3Fb', '/a%3Fb'],
    ['/a%3Bb', '/a%3Bb', '/a%3Bb'],
    ['/secret%00.jpg', '/secret', '/secret'],
    ['/secret/x%00/y', '/secret/x', '/secret/x'],
    ['/%2F%2Fsecret%2F%2F', '/secret/', '/secret/'],
    ['/a/b/%2e%2e', '/a/', '/a/'],
    ['/a/%2E%2E%2F%2e%2e%2fsecret', '/secret', '/secret'],
    ['/../../secret', '/secret', '/secret'],
  ])('%j -> %j, %j', (path, kept, dropped) => {
    expect(readPath(path, false)).toBe(kept);
    expect(readPath(path, true)).toBe(dropped);
  });

  it('reads a long path in linear time without overflowing the stack', () => {
    // %2525…2F is %2F after as many decodes as there are 25s.
    expect(readPath(`/a/%${'25'.repeat(100_000)}2Fb`, false)).toBe('/a/b');
    expect(readPath(`/a/${'%25'.repeat(100_000)}`, false)).toBe(`/a/${'%25'.repeat(100_000)}`);
    expect(readPath('/x' + 'a'.repeat(300_000) + '%00', false)).toBe('/x' + 'a'.repeat(300_000));
  });
});

describe('pathIsPlain: no reading differs from the path itself', () => {
  it.each([
    ['/', true], ['/a/b.html', true], ['/a/', true], ['/.well-known/x', true], ['/a.b/c', true],
    ['/a%2Fb', false], ['/a;b', false], ['/a.', false], ['/a./b', false], ['/a//b', false], ['/a\\b', false],
    ['/a b', false], ['a', false], ['', false],
  ])('%j: %s', (path, plain) => {
    expect(pathIsPlain(path)).toBe(plain);
    if (plain) expect([readPath(path, false), readPath(path, true)]).toEqual([path, path]);
  });
});
