import { describe, expect, setDefaultTimeout, test } from 'bun:test'
import { FormatRegistry } from '@sinclair/typebox'
// Loaded as the app loads it: @elysiajs/openapi registers formats of its own with TypeBox when imported.
import '../../src/plugins/openapi'
import { isBic, isCountryCode, isIban, isLocale } from '../../src/shared/formats'

setDefaultTimeout(30_000)

describe('string formats of the profile', () => {
  test('when a country code is assigned, then it is one; user-assigned and reserved codes are not', () => {
    for (const code of ['DE', 'US', 'JP', 'XK']) expect(isCountryCode(code)).toBe(true)
    for (const code of ['ZZ', 'XX', 'AA', 'QO', 'EU', 'UN', 'de', 'DEU', ''])
      expect(isCountryCode(code)).toBe(false)
  })

  test('when an IBAN has the right check digits, then it is one; a changed digit, spaces or lower case are not', () => {
    for (const iban of ['DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606']) {
      expect(isIban(iban)).toBe(true)
    }
    for (const iban of [
      'DE89370400440532013001',
      'DE88370400440532013000',
      'DE89 3704 0044 0532 0130 00',
      'de89370400440532013000',
      'ZZ89370400440532013000',
      'DE8937040044',
    ]) {
      expect(isIban(iban)).toBe(false)
    }
  })

  test('when a BIC has 8 or 11 characters with a real country, then it is one', () => {
    for (const bic of ['COBADEFF', 'COBADEFFXXX', 'DEUTDEFF500']) expect(isBic(bic)).toBe(true)
    for (const bic of ['COBAXXFF', 'COBADEF', 'COBADEFFXX', 'cobadeff', 'COBA1EFF'])
      expect(isBic(bic)).toBe(false)
  })

  test('when a locale is canonical and supported, then it formats; other spellings are refused', () => {
    for (const locale of ['en-US', 'de-DE', 'fr', 'ja-JP', 'zh-Hant-TW']) expect(isLocale(locale)).toBe(true)
    for (const locale of ['en_US', 'de-de', 'EN-us', '', 'x', 'en-US-', 'qq-QQ'])
      expect(isLocale(locale)).toBe(false)
  })

  test('when the OpenAPI plugin has registered its own formats, then the validators check ours, not same-named ones', () => {
    // @elysiajs/openapi registers a `bic` that checks the pattern only; ours is named apart and checks the country.
    const check = (format: string, value: string) => FormatRegistry.Get(format)?.(value)
    expect(check('iso-9362-bic', 'COBAXXFF')).toBe(false)
    expect(check('iso-9362-bic', 'COBADEFF')).toBe(true)
    expect(check('iban', 'DE89370400440532013001')).toBe(false)
    expect(check('bcp47-locale', 'en_US')).toBe(false)
    expect(check('iso-3166-alpha-2', 'ZZ')).toBe(false)
    expect(check('iso-4217', 'XXX')).toBe(false)
  })
})
