import { describe, expect, it } from 'vitest'
import { toCsv } from './csv'

describe('toCsv', () => {
  it('writes a header and rows with CRLF line ends, numbers as numbers', () => {
    expect(toCsv(['symbol', 'qty'], [['SBIN', 10], ['TCS', -2.5]])).toBe('symbol,qty\r\nSBIN,10\r\nTCS,-2.5\r\n')
  })
  it('quotes commas, quotes and line breaks', () => {
    expect(toCsv(['a'], [['x,y'], ['say "hi"'], ['two\nlines']])).toBe('a\r\n"x,y"\r\n"say ""hi"""\r\n"two\nlines"\r\n')
  })
  it('defuses text a spreadsheet would run as a formula', () => {
    expect(toCsv(['a'], [['=HYPERLINK("x")'], ['@SUM(A1)']])).toBe('a\r\n"\'=HYPERLINK(""x"")"\r\n\'@SUM(A1)\r\n')
  })
})
