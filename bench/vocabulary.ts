/**
 * Words the seed composes names, addresses and line items from. Mixed scripts and diacritics on purpose:
 * search folds them (`foldForSearch`), and the PDF font must cover them.
 */

export interface Region {
  timezone: string
  currency: 'EUR' | 'USD' | 'GBP' | 'JPY'
  /** The profile's default tax rate, a percentage with up to 3 decimals. */
  taxRate: string
  country: string
  cities: readonly [city: string, postalCode: string][]
  /** Relative share of users. */
  weight: number
}

export const REGIONS: readonly Region[] = [
  {
    timezone: 'Europe/Berlin',
    currency: 'EUR',
    taxRate: '19',
    country: 'DE',
    cities: [
      ['Berlin', '10115'],
      ['München', '80331'],
      ['Köln', '50667'],
      ['Düsseldorf', '40213'],
    ],
    weight: 25,
  },
  {
    timezone: 'Europe/Paris',
    currency: 'EUR',
    taxRate: '20',
    country: 'FR',
    cities: [
      ['Paris', '75001'],
      ['Lyon', '69001'],
      ['Besançon', '25000'],
    ],
    weight: 20,
  },
  {
    timezone: 'America/New_York',
    currency: 'USD',
    taxRate: '8.875',
    country: 'US',
    cities: [
      ['New York', '10001'],
      ['Boston', '02108'],
    ],
    weight: 25,
  },
  {
    timezone: 'America/Los_Angeles',
    currency: 'USD',
    taxRate: '7.25',
    country: 'US',
    cities: [
      ['Los Angeles', '90012'],
      ['San José', '95113'],
    ],
    weight: 15,
  },
  {
    timezone: 'Europe/London',
    currency: 'GBP',
    taxRate: '20',
    country: 'GB',
    cities: [
      ['London', 'EC1A 1BB'],
      ['Manchester', 'M1 1AE'],
    ],
    weight: 10,
  },
  {
    timezone: 'Asia/Tokyo',
    currency: 'JPY',
    taxRate: '10',
    country: 'JP',
    cities: [
      ['Tokyo', '100-0001'],
      ['Osaka', '530-0001'],
    ],
    weight: 5,
  },
]

export const FIRST_NAMES = [
  'Zoë',
  'Jürgen',
  'Amélie',
  'Łukasz',
  'Søren',
  'Björn',
  'Inés',
  'François',
  'Ana',
  'Mei',
  'Olga',
  'Dmitri',
  'Νίκος',
  'Sarah',
  'James',
  'Priya',
  'Kenji',
  'Chloé',
  'Mateo',
  'Agnieszka',
  'Tomás',
  'Lena',
  'Omar',
  'Hana',
] as const

export const LAST_NAMES = [
  'Müller',
  'Schröder',
  'Dubois',
  'Nowak',
  'Jørgensen',
  'García',
  'Smith',
  'Johnson',
  'Tanaka',
  'Иванова',
  'Παπαδόπουλος',
  'Weiß',
  'Brennan',
  'Rossi',
  'Kowalczyk',
  'Lefèvre',
  'Öztürk',
  'Novák',
  'Andersson',
  'Fischer',
  'Martin',
  'Nakamura',
  'Walsh',
  'Søndergaard',
  'Becker',
  'Hoffmann',
  'Moreau',
  'Patel',
  'Kim',
  'Schmidt',
] as const

export const COMPANY_WORDS = [
  'Nordlicht',
  'Bluebird',
  'Atelier',
  'Kaffeerösterei',
  'Brightside',
  'Sakura',
  'Polaris',
  'Greenfield',
  'Édition',
  'Zenith',
  'Orbit',
  'Fjord',
  'Hafen',
  'Lumière',
  'Redwood',
  'Meridian',
  'Alpen',
  'Cobalt',
  'Juniper',
  'Kestrel',
] as const

export const COMPANY_KINDS = [
  'Consulting',
  'Studio',
  'Logistics',
  'Bakery',
  'Software',
  'Design',
  'Media',
  'Architects',
  'Trading',
  'Labs',
] as const

export const COMPANY_SUFFIXES = [
  'GmbH',
  'Ltd',
  'SARL',
  'Inc.',
  'AB',
  'KK',
  'LLC',
  'Oy',
  'S.L.',
  'B.V.',
] as const

export const STREETS = [
  'Hauptstraße',
  'Rue de la Paix',
  'Main Street',
  'Baker Street',
  'Friedrichstraße',
  'Avenue des Champs-Élysées',
  'Market Street',
  'Königsallee',
] as const

export const ITEM_DESCRIPTIONS = [
  'Consulting, hourly',
  'Software development',
  'Code review and pair programming',
  'Design workshop (half day)',
  'UX research interviews',
  'Logo redesign',
  'Website maintenance, monthly',
  'Hosting and monitoring',
  'Travel expenses',
  'Translation DE → EN, per page',
  'Traduction FR → EN, par page',
  'Copywriting',
  'Photography session',
  'Video editing',
  'Kaffeebohnen, 1 kg',
  'Espresso machine service',
  'Server rack installation',
  'Network cabling',
  'On-site support',
  'Remote support, prepaid block',
  'Training day for the team',
  'License: annual subscription',
  'Data migration',
  'Security audit',
  'Project management',
  'Frühstück für das Team',
  'Übersetzung, Fachtext',
  'Σχεδιασμός λογοτύπου',
  'Разработка сайта',
  'ウェブデザイン',
  'Printing, 500 flyers',
  'Shipping and handling',
  'Workshop materials',
  'Office rent share',
  'Domain renewal',
  'SEO audit',
  'Accounting services',
  'Legal review of contract',
  'Equipment rental, per day',
  'Late-night deployment',
] as const

export const NOTES = [
  'Thank you for your business.',
  'Payment by bank transfer within the payment terms, please.',
  'Bitte überweisen Sie den Betrag innerhalb von 30 Tagen.',
  'Merci pour votre confiance.',
  'Reverse charge: VAT to be accounted for by the recipient.',
] as const

/** Memos of credit notes (some multi-line, as the API allows). */
export const CREDIT_MEMOS = [
  'Goods returned in their original packaging.',
  'Service not delivered as agreed.\nCredited in agreement with the customer.',
  'Gutschrift für die retournierte Ware.',
  'Avoir pour annulation partielle de la commande.',
  'Invoice issued twice by mistake.',
  'Скидка за задержку поставки.',
  '納品遅延のため一部返金します。',
  'Goodwill credit after the outage of 14 March.',
] as const
