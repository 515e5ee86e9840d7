import { describe, expect, it } from 'vitest';
import { parsePgArray, pgTypeName, readPgValue } from './pg-values.js';

describe('pgTypeName', () => {
  it('names aggregate column types as the DDL writes them, with modifiers', () => {
    expect(pgTypeName(23, -1)).toBe('integer');
    expect(pgTypeName(1043, 44)).toBe('varchar(40)');
    expect(pgTypeName(1043, -1)).toBe('varchar');
    expect(pgTypeName(1042, 9)).toBe('char(5)');
    expect(pgTypeName(1700, ((10 << 16) | 2) + 4)).toBe('numeric(10,2)');
    expect(pgTypeName(1700, ((5 << 16) | (-2 & 0x7ff)) + 4)).toBe('numeric(5,-2)');
    expect(pgTypeName(1184, 3)).toBe('timestamptz(3)');
    expect(pgTypeName(1009, -1)).toBe('text[]');
    expect(pgTypeName(1015, 24)).toBe('varchar(20)[]');
  });

  it('gives null for types no aggregate column has', () => {
    expect(pgTypeName(114, -1)).toBeNull(); // json
    expect(pgTypeName(1186, -1)).toBeNull(); // interval
  });
});

describe('readPgValue', () => {
  it('reads every column type into its canonical form', () => {
    expect(readPgValue(23, '42')).toBe(42);
    expect(readPgValue(20, '9007199254740991')).toBe(9007199254740991);
    expect(readPgValue(20, '9007199254740993')).toBe('9007199254740993');
    expect(readPgValue(1700, '12.50')).toBe('12.50');
    expect(readPgValue(700, '0.1')).toBe(0.1);
    expect(readPgValue(701, 'NaN')).toBe('NaN');
    expect(readPgValue(16, 't')).toBe(true);
    expect(readPgValue(16, 'f')).toBe(false);
    expect(readPgValue(1042, 'ab   ')).toBe('ab   ');
    expect(readPgValue(1082, '2024-02-29')).toBe('2024-02-29');
    expect(readPgValue(1114, '2024-01-31 12:00:00.5')).toBe('2024-01-31T12:00:00.5');
    expect(readPgValue(3802, '{"a": [1, null]}')).toEqual({ a: [1, null] });
    expect(readPgValue(23, null)).toBeNull();
  });

  it('reads a timestamptz in any session time zone as UTC', () => {
    expect(readPgValue(1184, '2024-01-31 12:00:00+00')).toBe('2024-01-31T12:00:00Z');
    expect(readPgValue(1184, '2024-01-31 13:30:00.25+01:30')).toBe('2024-01-31T12:00:00.25Z');
    expect(readPgValue(1184, '2024-01-01 01:00:00-05')).toBe('2024-01-01T06:00:00Z');
    expect(readPgValue(1184, '2024-01-01 00:00:00+01')).toBe('2023-12-31T23:00:00Z');
    expect(readPgValue(1184, 'infinity')).toBe('infinity');
  });

  it('reads arrays element by element', () => {
    expect(readPgValue(1007, '{1,2,NULL}')).toEqual([1, 2, null]);
    expect(readPgValue(1009, '{"a b","c\\"d",NULL,"NULL"}')).toEqual(['a b', 'c"d', null, 'NULL']);
    expect(readPgValue(1185, '{"2024-01-31 12:00:00+00"}')).toEqual(['2024-01-31T12:00:00Z']);
    expect(readPgValue(1000, '{}')).toEqual([]);
  });
});

describe('parsePgArray', () => {
  it('unescapes backslashes in quoted elements', () => {
    expect(parsePgArray('{"a\\\\b","x,y"}')).toEqual(['a\\b', 'x,y']);
  });

  it('reads multi-dimensional arrays and drops explicit bounds', () => {
    expect(parsePgArray('{{1,2},{3,NULL}}')).toEqual([
      ['1', '2'],
      ['3', null],
    ]);
    expect(parsePgArray('[0:1]={7,8}')).toEqual(['7', '8']);
    expect(parsePgArray('{{"a}","b{"},{}}')).toEqual([['a}', 'b{'], []]);
    expect(readPgValue(1007, '{{1,2},{3,4}}')).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});
