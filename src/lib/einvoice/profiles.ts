import type { CiiProfile } from './document.ts'

/** BT-24, the specification identifier each output claims, and thus the rules a receiver validates it with. */
export const SPECIFICATION_ID = {
  /** Factur-X / ZUGFeRD 2.x profile EN 16931 ("Comfort"). */
  facturx: 'urn:cen.eu:en16931:2017',
  /** XRechnung 3.0, the German CIUS. */
  'xrechnung-cii': 'urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0',
  /** UBL: the EN 16931 core itself, no national or network extension claimed. */
  ubl: 'urn:cen.eu:en16931:2017',
} as const satisfies Record<CiiProfile | 'ubl', string>

/** BT-23, the business process; XRechnung recommends the Peppol billing process. */
export const BUSINESS_PROCESS_ID: Partial<Record<CiiProfile, string>> = {
  'xrechnung-cii': 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0',
}
