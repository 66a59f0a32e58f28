import { t } from 'elysia'
import { named } from '../../shared/schemas'

export const PdfLink = named(
  'PdfLink',
  t.Object(
    {
      url: t.String({ description: 'Downloads the PDF as `attachment; filename="INV-0001.pdf"`' }),
      expiresAt: t.String({ format: 'date-time', description: 'When the link stops working' }),
    },
    { description: 'A fresh, short-lived link to the stored PDF' },
  ),
)
