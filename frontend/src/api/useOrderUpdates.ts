import { useQueryClient } from '@tanstack/react-query'
import { useEffect } from 'react'
import { useMarketDataSocket } from '../market/context'
import type { OrderUpdate } from '../market/types'
import { qk } from './queries'
import type { Order } from './types'

/** Merges an `order_update` push into the orderbook rows (newest first). */
export function mergeOrderUpdate(orders: readonly Order[] | undefined, u: OrderUpdate): Order[] {
  const list = orders ? [...orders] : []
  const i = list.findIndex((o) => o.orderid === u.orderid)
  const patch: Order = {
    ...(i >= 0 ? list[i] : { timestamp: '' }),
    orderid: u.orderid,
    symbol: u.symbol,
    exchange: u.exchange,
    action: u.action,
    quantity: u.quantity,
    price: u.price,
    trigger_price: u.trigger_price,
    pricetype: u.pricetype,
    product: u.product,
    order_status: u.order_status,
    ...(u.average_price !== undefined ? { average_price: u.average_price } : {}),
    ...(u.filled_quantity !== undefined ? { filled_quantity: u.filled_quantity } : {}),
    ...(u.pending_quantity !== undefined ? { pending_quantity: u.pending_quantity } : {}),
    ...(u.rejection_reason !== undefined ? { rejection_reason: u.rejection_reason } : {}),
  }
  if (i >= 0) list[i] = patch
  else list.unshift(patch)
  return list
}

/** Keeps the orderbook live from `order_update` pushes; fills refresh positions, trades and funds. */
export function useOrderUpdates(): void {
  const socket = useMarketDataSocket()
  const qc = useQueryClient()
  useEffect(() => {
    let refresh: ReturnType<typeof setTimeout> | null = null
    const off = socket.onOrderUpdate((u) => {
      qc.setQueryData<Order[]>(qk.orders, (old) => mergeOrderUpdate(old, u))
      if (u.order_status === 'complete' || u.order_status === 'cancelled' || u.order_status === 'rejected') {
        if (refresh) clearTimeout(refresh)
        refresh = setTimeout(() => {
          void qc.invalidateQueries({ queryKey: qk.positions })
          void qc.invalidateQueries({ queryKey: qk.trades })
          void qc.invalidateQueries({ queryKey: qk.funds })
          void qc.invalidateQueries({ queryKey: qk.orders })
        }, 150)
      }
    })
    return () => {
      off()
      if (refresh) clearTimeout(refresh)
    }
  }, [socket, qc])
}
