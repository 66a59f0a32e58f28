import { Elysia } from 'elysia'
import type { Database } from '../../lib/db'
import type { AuthPlugin } from '../../plugins/auth'
import { Aging, MAX_REVENUE_MONTHS, NoQuery, PeriodQuery, Revenue, Summary } from './model'
import { agingReport, revenueReport, summaryReport } from './service'

const TODAY =
  '"Today" is the date in the profile\'s time zone (`timezone`, default UTC): an invoice is overdue once ' +
  'its `dueDate` is before it.'
const PERIOD =
  "`from` and `to` are calendar days in the profile's time zone, both included: payments count from 00:00 " +
  "of `from` to the end of `to` in that zone. `to` defaults to today and `from` to January 1 of `to`'s " +
  'year, so without them the period is the year to date. `to` before `from` (or `from` after today when ' +
  '`to` is left out) is a `VALIDATION_ERROR`.'
const AMOUNTS = 'Amounts are minor units of the currency; currencies are never added together.'

export function reportsModule(deps: { db: Database; auth: AuthPlugin }) {
  return new Elysia({ name: 'reports', prefix: '/api/v1/reports', detail: { tags: ['Reports'] } })
    .use(deps.auth)
    .get('/summary', async ({ user, query }) => ({ data: await summaryReport(deps.db, user.id, query) }), {
      query: PeriodQuery,
      response: { 200: Summary },
      detail: {
        operationId: 'getSummaryReport',
        summary: 'Receivables now and activity in a period, per currency',
        description:
          '`outstanding` and `overdue` are the `amountDue` (total − amountPaid − creditedTotal) of sent and ' +
          'partially paid invoices as of now; `credited` sums the credit notes issued (their `issueDate`) in ' +
          'the period; `invoiced` sums the totals of invoices issued (`issueDate`) in the period, drafts and ' +
          'void invoices never counting and credited ones still counting, less `credited`: it is net of credit ' +
          'notes and may be negative when a note credits an invoice of an earlier period; `collected` sums the ' +
          `payments received (\`paidAt\`) in it. ${TODAY} ${PERIOD} One row per currency that has an open or ` +
          'draft invoice, or anything invoiced, credited or collected in the period, ordered by currency; none ' +
          `at all gives an empty \`data\`. ${AMOUNTS}`,
      },
    })
    .get('/aging', async ({ user }) => ({ data: await agingReport(deps.db, user.id) }), {
      query: NoQuery,
      response: { 200: Aging },
      detail: {
        operationId: 'getAgingReport',
        summary: 'Open receivables by days past due, per currency',
        description:
          'The `amountDue` (total − amountPaid − creditedTotal) of sent and partially paid invoices, by how ' +
          'many days past its `dueDate` each is ' +
          `today: not yet due or due today is \`current\`; then 1–30, 31–60, 61–90 and more than 90 days. ` +
          `${TODAY} One row per currency with open invoices, ordered by currency. ${AMOUNTS}`,
      },
    })
    .get('/revenue', async ({ user, query }) => ({ data: await revenueReport(deps.db, user.id, query) }), {
      query: PeriodQuery,
      response: { 200: Revenue },
      detail: {
        operationId: 'getRevenueReport',
        summary: 'Invoiced, credited and collected per calendar month',
        description:
          'One row for every month the period touches and every currency with anything invoiced, credited or ' +
          'collected in the period, months without activity answering zeros; ordered by month, then currency. ' +
          'When no currency has activity in the period, `data` is empty. `credited` sums the credit notes ' +
          'issued in the month (their `issueDate`); `invoiced` sums the totals of invoices issued in the month ' +
          '(drafts and void invoices never count, credited ones do) less `credited`, so it is net and may be ' +
          'negative; `collected` the payments received in it, ' +
          "placed on months in the profile's time zone. The first and last months count only the days inside " +
          `the period. ${PERIOD} The period may touch at most ${MAX_REVENUE_MONTHS} months. ${AMOUNTS}`,
      },
    })
}
