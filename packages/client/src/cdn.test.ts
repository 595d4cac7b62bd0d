import { describe, expect, it } from 'vitest';
import { cdnUrl } from './cdn.js';

describe('cdnUrl', () => {
  const file = {
    uuid: 'u',
    name: 'a.jpg',
    url: { cdn: 'https://acme.filerobot.com/shoes/a.jpg?vh=abc123&func=proxy' },
  };
  it('adds transforms, keeps vh and drops func=proxy', () => {
    const url = new URL(
      cdnUrl(file, { w: 400, h: 300, func: 'cover', q: 80, force_format: 'webp', org_if_sml: true }),
    );
    expect(url.pathname).toBe('/shoes/a.jpg');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      vh: 'abc123',
      w: '400',
      h: '300',
      func: 'cover',
      q: '80',
      force_format: 'webp',
      org_if_sml: '1',
    });
  });
  it('keeps func=proxy out even without transforms and accepts a URL string', () => {
    expect(cdnUrl('https://acme.filerobot.com/a.jpg?func=proxy')).toBe('https://acme.filerobot.com/a.jpg');
  });
  it('rejects out-of-range values and files without a CDN URL', () => {
    expect(() => cdnUrl(file, { q: 0 })).toThrow(/q must be between 1 and 100/);
    expect(() => cdnUrl(file, { w: Number.NaN })).toThrow(/finite/);
    expect(() => cdnUrl({ uuid: 'u', name: 'x' })).toThrow(/no url.cdn/);
  });
});
