import { createColumnHelper } from '@tanstack/react-table'
import { useMemo, useState } from 'react'
import { useEngineAction, useOrders } from '../api/queries'
import { STRATEGY, type Order } from '../api/types'
import { ApiError } from '../api/client'
import { DataTable } from '../components/DataTable'
import { ErrorNote } from '../components/ErrorNote'
import { int, money, num } from '../lib/num'

const ACTIVE = new Set(['open', 'trigger pending'])

const col = createColumnHelper<Order>()

function orderColumns(onModify: (o: Order) => void, onCancel: (o: Order) => void) {
  return [
    col.accessor('orderid', { header: 'Order id', meta: { rowHeader: true } }),
    col.accessor((o) => o.timestamp ?? '', { id: 'time', header: 'Time' }),
    col.accessor('symbol', { header: 'Symbol' }),
    col.accessor('exchange', { header: 'Exchange' }),
    col.accessor('action', { header: 'Side', meta: { cellClass: (o) => (o.action === 'BUY' ? 'gain' : 'loss') } }),
    col.accessor((o) => num(o.quantity), { id: 'quantity', header: 'Quantity', cell: (c) => int(c.getValue()), meta: { numeric: true } }),
    col.accessor('pricetype', { header: 'Type' }),
    col.accessor((o) => num(o.price), { id: 'price', header: 'Price', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
    col.accessor((o) => num(o.trigger_price), { id: 'trigger', header: 'Trigger', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
    col.accessor('product', { header: 'Product' }),
    col.accessor('order_status', {
      header: 'Status',
      cell: (c) => {
        const o = c.row.original
        return (
          <>
            <span className={`status status-${o.order_status.replace(/\s+/g, '-')}`} data-testid="order-status">
              {o.order_status}
            </span>
            {o.rejection_reason ? <span className="reason"> {o.rejection_reason}</span> : null}
          </>
        )
      },
    }),
    col.accessor((o) => num(o.average_price), { id: 'avg', header: 'Avg fill', cell: (c) => money(c.getValue()), meta: { numeric: true } }),
    col.display({
      id: 'actions',
      header: () => <span className="visually-hidden">Actions</span>,
      cell: (c) => {
        const order = c.row.original
        if (!ACTIVE.has(order.order_status)) return null
        return (
          <span className="actions">
            <button type="button" className="small" onClick={() => onModify(order)} aria-label={`Modify order ${order.orderid}`}>
              Modify
            </button>
            <button type="button" className="small danger" onClick={() => onCancel(order)} aria-label={`Cancel order ${order.orderid}`}>
              Cancel
            </button>
          </span>
        )
      },
    }),
  ]
}

const orderRowProps = (o: Order) => ({ 'data-orderid': o.orderid })

function ModifyForm({ order, onDone }: { order: Order; onDone: () => void }) {
  const modify = useEngineAction<Record<string, unknown>>('modifyorder')
  const [quantity, setQuantity] = useState(String(num(order.quantity)))
  const [price, setPrice] = useState(String(num(order.price)))
  const [trigger, setTrigger] = useState(String(num(order.trigger_price)))
  const err = modify.error instanceof ApiError ? modify.error : null
  const needsPrice = order.pricetype === 'LIMIT' || order.pricetype === 'SL'
  const needsTrigger = order.pricetype === 'SL' || order.pricetype === 'SL-M'
  return (
    <form
      className="modify-form"
      aria-label={`Modify order ${order.orderid}`}
      onSubmit={(e) => {
        e.preventDefault()
        modify.mutate(
          {
            orderid: order.orderid,
            strategy: order.strategy || STRATEGY,
            symbol: order.symbol,
            exchange: order.exchange,
            action: order.action,
            product: order.product,
            pricetype: order.pricetype,
            price: needsPrice ? Number(price) : 0,
            quantity: Number(quantity),
            disclosed_quantity: 0,
            trigger_price: needsTrigger ? Number(trigger) : 0,
          },
          { onSuccess: onDone },
        )
      }}
    >
      <h2>Modify {order.orderid}</h2>
      <label>
        Quantity
        <input inputMode="numeric" value={quantity} onChange={(e) => setQuantity(e.target.value)} required />
      </label>
      {needsPrice && (
        <label>
          Price
          <input inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} required />
        </label>
      )}
      {needsTrigger && (
        <label>
          Trigger price
          <input inputMode="decimal" value={trigger} onChange={(e) => setTrigger(e.target.value)} required />
        </label>
      )}
      <button type="submit" disabled={modify.isPending}>
        Save
      </button>
      <button type="button" className="secondary" onClick={onDone}>
        Close
      </button>
      {err && (
        <p className="error" role="alert">
          {err.message}
        </p>
      )}
    </form>
  )
}

export function OrdersPage() {
  const orders = useOrders()
  const cancel = useEngineAction<Record<string, unknown>>('cancelorder')
  const [editing, setEditing] = useState<Order | null>(null)
  const { mutate: cancelMutate } = cancel
  const columns = useMemo(
    () => orderColumns(setEditing, (x) => cancelMutate({ orderid: x.orderid, strategy: x.strategy || STRATEGY })),
    [cancelMutate],
  )
  const list = orders.data ?? []
  const open = list.filter((o) => ACTIVE.has(o.order_status)).length
  return (
    <section aria-labelledby="orders-title">
      <div className="page-head">
        <h1 id="orders-title">Orders</h1>
        <span className="muted">
          {list.length} orders, {open} open
        </span>
      </div>
      <ErrorNote error={orders.error ?? cancel.error} />
      {editing && <ModifyForm key={editing.orderid} order={editing} onDone={() => setEditing(null)} />}
      {orders.isPending ? (
        <p>Loading orders…</p>
      ) : list.length === 0 ? (
        <p>No orders today.</p>
      ) : (
        <DataTable label="Orderbook" data={list} columns={columns} getRowId={(o) => o.orderid} rowProps={orderRowProps} />
      )}
    </section>
  )
}
