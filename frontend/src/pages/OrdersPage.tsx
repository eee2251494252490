import { memo, useState } from 'react'
import { useEngineAction, useOrders } from '../api/queries'
import { STRATEGY, type Order } from '../api/types'
import { ApiError } from '../api/client'
import { ErrorNote } from '../components/ErrorNote'
import { int, money, num } from '../lib/num'

const ACTIVE = new Set(['open', 'trigger pending'])

const OrderRow = memo(function OrderRow({
  order,
  onCancel,
  onModify,
}: {
  order: Order
  onCancel: (o: Order) => void
  onModify: (o: Order) => void
}) {
  const active = ACTIVE.has(order.order_status)
  return (
    <tr data-orderid={order.orderid}>
      <th scope="row">{order.orderid}</th>
      <td>{order.timestamp ?? ''}</td>
      <td>{order.symbol}</td>
      <td>{order.exchange}</td>
      <td className={order.action === 'BUY' ? 'gain' : 'loss'}>{order.action}</td>
      <td className="num">{int(num(order.quantity))}</td>
      <td>{order.pricetype}</td>
      <td className="num">{money(num(order.price))}</td>
      <td className="num">{money(num(order.trigger_price))}</td>
      <td>{order.product}</td>
      <td>
        <span className={`status status-${order.order_status.replace(/\s+/g, '-')}`} data-testid="order-status">
          {order.order_status}
        </span>
        {order.rejection_reason ? <span className="reason"> {order.rejection_reason}</span> : null}
      </td>
      <td className="num">{money(num(order.average_price))}</td>
      <td className="actions">
        {active && (
          <>
            <button type="button" className="small" onClick={() => onModify(order)} aria-label={`Modify order ${order.orderid}`}>
              Modify
            </button>
            <button
              type="button"
              className="small danger"
              onClick={() => onCancel(order)}
              aria-label={`Cancel order ${order.orderid}`}
            >
              Cancel
            </button>
          </>
        )}
      </td>
    </tr>
  )
})

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
        <div className="table-wrap">
          <table className="grid" aria-label="Orderbook">
            <thead>
              <tr>
                <th scope="col">Order id</th>
                <th scope="col">Time</th>
                <th scope="col">Symbol</th>
                <th scope="col">Exchange</th>
                <th scope="col">Side</th>
                <th scope="col" className="num">Quantity</th>
                <th scope="col">Type</th>
                <th scope="col" className="num">Price</th>
                <th scope="col" className="num">Trigger</th>
                <th scope="col">Product</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Avg fill</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((o) => (
                <OrderRow
                  key={o.orderid}
                  order={o}
                  onModify={setEditing}
                  onCancel={(x) => cancel.mutate({ orderid: x.orderid, strategy: x.strategy || STRATEGY })}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
