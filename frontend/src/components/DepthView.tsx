import type { DepthLevel, MarketEntry } from '../market/types'
import { int, money } from '../lib/num'

function pad(levels: DepthLevel[] | undefined): Array<DepthLevel | undefined> {
  const out: Array<DepthLevel | undefined> = (levels ?? []).slice(0, 5)
  while (out.length < 5) out.push(undefined)
  return out
}

/** Five bid and five ask levels side by side. */
export function DepthView({ entry, label }: { entry: MarketEntry | undefined; label: string }) {
  const depth = entry?.data.depth
  const bids = pad(depth?.buy)
  const asks = pad(depth?.sell)
  return (
    <table className="grid depth" aria-label={`Market depth, ${label}`}>
      <thead>
        <tr>
          <th scope="col" className="num">Bid orders</th>
          <th scope="col" className="num">Bid qty</th>
          <th scope="col" className="num">Bid</th>
          <th scope="col" className="num">Ask</th>
          <th scope="col" className="num">Ask qty</th>
          <th scope="col" className="num">Ask orders</th>
        </tr>
      </thead>
      <tbody>
        {bids.map((b, i) => {
          const a = asks[i]
          return (
            <tr key={i}>
              <td className="num">{b?.orders !== undefined ? int(b.orders) : '—'}</td>
              <td className="num">{b ? int(b.quantity) : '—'}</td>
              <td className="num gain">{b ? money(b.price) : '—'}</td>
              <td className="num loss">{a ? money(a.price) : '—'}</td>
              <td className="num">{a ? int(a.quantity) : '—'}</td>
              <td className="num">{a?.orders !== undefined ? int(a.orders) : '—'}</td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
