/**
 * The check behind the options that take an http(s) address (`sfx open --console`, `sfx serve
 * --public-url`), so both refuse the same values with the same words, naming their flag.
 */
import { InvalidArgumentError } from 'commander';

/**
 * `value` as a URL, or an InvalidArgumentError naming `flag`: `expected` says what to give when it
 * is no URL at all (e.g. "a URL such as https://hooks.example.com").
 */
export function httpUrlOption(flag: string, value: string, expected: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`${flag} must be ${expected}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`${flag} must be an http or https URL.`);
  return url;
}
