/** `sfx serve --host` beyond loopback warns that the console then travels over plain HTTP. */
import { expect, it } from 'vitest';
import { consoleExposureWarning } from '../src/console.js';

it('warns for any host other machines can reach, not for loopback or without the console', () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.20', 'example.com'])
    expect(consoleExposureWarning(host, {}), host).toMatch(/plain HTTP.*HTTPS reverse proxy.*--no-console/s);
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(consoleExposureWarning(host, {}), host).toBeUndefined();
  expect(consoleExposureWarning('0.0.0.0', { console: false })).toBeUndefined();
});
