import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'

/** Tables whose every row belongs to one user through its `user_id` column. */
export const TENANT_TABLES: ReadonlySet<string> = new Set([
  'customers',
  'invoices',
  'invoice_items',
  'payments',
  'invoice_events',
  'idempotency_keys',
  'invoice_number_skips',
  'credit_notes',
  'credit_note_items',
  'emails',
  'events',
  'webhook_endpoints',
  'webhook_deliveries',
  'report_open_balances',
  'report_draft_counts',
  'report_daily_totals',
  'report_monthly_totals',
])

export class TenantScopeError extends Error {
  constructor(tables: Iterable<string>) {
    super(`Query on ${[...tables].join(', ')} is not scoped by user_id`)
    this.name = 'TenantScopeError'
  }
}

interface Scan {
  tables: Set<string>
  scoped: boolean
}

type Node = { kind?: string; [key: string]: unknown }

const columnName = (node: unknown): string | undefined => {
  const n = node as Node | undefined
  if (n?.kind === 'ReferenceNode') return columnName(n['column'])
  if (n?.kind === 'ColumnNode') return ((n['column'] as Node)?.['name'] as string | undefined) ?? undefined
  return undefined
}

const GUARDED_ROOTS = new Set([
  'SelectQueryNode',
  'InsertQueryNode',
  'UpdateQueryNode',
  'DeleteQueryNode',
  'RawNode',
])
const RAW_SCOPE = /\buser_id\s*=/
const RAW_TABLE = new RegExp(`\\b(${[...TENANT_TABLES].join('|')})\\b`, 'g')

function scan(node: unknown, acc: Scan): void {
  if (node === null || typeof node !== 'object') return
  if (Array.isArray(node)) {
    for (const child of node) scan(child, acc)
    return
  }
  const n = node as Node
  switch (n.kind) {
    case 'ValueNode':
    case 'PrimitiveValueListNode':
      return
    case 'TableNode': {
      const name = ((n['table'] as Node)?.['identifier'] as Node)?.['name'] as string | undefined
      if (name && TENANT_TABLES.has(name)) acc.tables.add(name)
      return
    }
    case 'BinaryOperationNode': {
      // Only `user_id = <value>` narrows to one user; `a.user_id = b.id` in a join does not.
      const operator = (n['operator'] as Node)?.['operator']
      const left = n['leftOperand'] as Node | undefined
      const right = n['rightOperand'] as Node | undefined
      if (
        operator === '=' &&
        ((columnName(left) === 'user_id' && right?.kind === 'ValueNode') ||
          (columnName(right) === 'user_id' && left?.kind === 'ValueNode'))
      ) {
        acc.scoped = true
      }
      break
    }
    case 'InsertQueryNode':
      if ((n['columns'] as unknown[] | undefined)?.some((c) => columnName(c) === 'user_id')) acc.scoped = true
      break
    case 'RawNode': {
      const text = (n['sqlFragments'] as string[]).join(' ')
      for (const match of text.matchAll(RAW_TABLE)) acc.tables.add(match[1]!)
      if (RAW_SCOPE.test(text)) acc.scoped = true
      break
    }
  }
  for (const key in n) {
    if (key !== 'kind') scan(n[key], acc)
  }
}

/**
 * The second line behind the repositories' own `where user_id = …`: a query that touches a tenant table
 * without any `user_id =` condition (or, for an insert, a `user_id` value) is refused before it reaches the
 * database, so a forgotten condition fails loudly in tests instead of leaking another user's rows.
 * It is deliberately coarse: one `user_id = <value>` anywhere in a query satisfies it. Work that is
 * cross-tenant by design runs on `crossTenant(db)`.
 */
export const tenantGuard: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (!GUARDED_ROOTS.has(args.node.kind)) return args.node
    const acc: Scan = { tables: new Set(), scoped: false }
    scan(args.node, acc)
    if (acc.tables.size > 0 && !acc.scoped) throw new TenantScopeError(acc.tables)
    return args.node
  },
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  },
}
