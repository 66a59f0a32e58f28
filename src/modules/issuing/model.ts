import { t } from 'elysia'

export const PdfLink = t.Object(
  {
    url: t.String({ description: 'Downloads the PDF as `attachment; filename="INV-0001.pdf"`' }),
    expiresAt: t.String({ format: 'date-time', description: 'When the link stops working' }),
  },
  { description: 'A fresh, short-lived link to the stored PDF' },
)
