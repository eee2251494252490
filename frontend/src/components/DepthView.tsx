import { createColumnHelper } from '@tanstack/react-table'
import type { DepthLevel, MarketEntry } from '../market/types'
import { int, money } from '../lib/num'
import { DataTable } from './DataTable'

interface DepthRow {
  level: number
  bid: DepthLevel | undefined
  ask: DepthLevel | undefined
}

const col = createColumnHelper<DepthRow>()
const dash = '—'
const columns = [
  col.accessor((r) => r.bid?.orders, { id: 'bid-orders', header: 'Bid orders', cell: (c) => (c.getValue() === undefined ? dash : int(c.getValue())), meta: { numeric: true } }),
  col.accessor((r) => r.bid?.quantity, { id: 'bid-qty', header: 'Bid qty', cell: (c) => (c.getValue() === undefined ? dash : int(c.getValue())), meta: { numeric: true } }),
  col.accessor((r) => r.bid?.price, { id: 'bid', header: 'Bid', cell: (c) => money(c.getValue()), meta: { numeric: true, cellClass: () => 'gain' } }),
  col.accessor((r) => r.ask?.price, { id: 'ask', header: 'Ask', cell: (c) => money(c.getValue()), meta: { numeric: true, cellClass: () => 'loss' } }),
  col.accessor((r) => r.ask?.quantity, { id: 'ask-qty', header: 'Ask qty', cell: (c) => (c.getValue() === undefined ? dash : int(c.getValue())), meta: { numeric: true } }),
  col.accessor((r) => r.ask?.orders, { id: 'ask-orders', header: 'Ask orders', cell: (c) => (c.getValue() === undefined ? dash : int(c.getValue())), meta: { numeric: true } }),
]

/** Five bid and five ask levels side by side. */
export function DepthView({ entry, label }: { entry: MarketEntry | undefined; label: string }) {
  const depth = entry?.data.depth
  const rows: DepthRow[] = [0, 1, 2, 3, 4].map((i) => ({ level: i, bid: depth?.buy[i], ask: depth?.sell[i] }))
  return (
    <div className="depth">
      <DataTable label={`Market depth, ${label}`} data={rows} columns={columns} getRowId={(r) => String(r.level)} sortable={false} />
    </div>
  )
}
