import { describe, expect, it } from 'vitest';
import { DeliveryLog } from './deliveries.js';

describe('DeliveryLog', () => {
  it('tells new, in-flight and done deliveries apart; an abandoned one is new again', () => {
    const log = new DeliveryLog(10);
    expect(log.state('d1')).toBe('new');
    expect(log.begin('d1')).toBe(true);
    expect(log.state('d1')).toBe('in-flight');
    expect(log.begin('d1')).toBe(false);
    log.abandon('d1');
    expect(log.state('d1')).toBe('new');
    expect(log.begin('d1')).toBe(true);
    log.complete('d1');
    expect(log.state('d1')).toBe('done');
    expect(log.begin('d1')).toBe(false);
  });

  it('stays bounded: past capacity the oldest finished ids are forgotten, the newest kept', () => {
    const log = new DeliveryLog(100);
    for (let i = 0; i < 1000; i++) {
      log.begin(`d${i}`);
      log.complete(`d${i}`);
    }
    expect(log.size).toBe(100);
    expect(log.state('d899')).toBe('new');
    expect(log.state('d900')).toBe('done');
    expect(log.state('d999')).toBe('done');
  });

  it('refreshes an id completed again, so a redelivered one is not the first forgotten', () => {
    const log = new DeliveryLog(3);
    for (const id of ['a', 'b', 'c']) log.complete(id);
    log.complete('a');
    log.complete('d');
    expect(['a', 'b', 'c', 'd'].map((id) => log.state(id))).toEqual(['done', 'new', 'done', 'done']);
  });

  it('refuses a capacity that is not a whole number >= 1', () => {
    expect(() => new DeliveryLog(0)).toThrow(RangeError);
    expect(() => new DeliveryLog(1.5)).toThrow(RangeError);
  });
});
