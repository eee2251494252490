import { useTrades } from '../api/queries'
import { ErrorNote } from '../components/ErrorNote'
import { int, money, num } from '../lib/num'

export function TradesPage() {
  const trades = useTrades()
  const list = trades.data ?? []
  return (
    <section aria-labelledby="trades-title">
      <div className="page-head">
        <h1 id="trades-title">Trades</h1>
        <span className="muted">{list.length} trades</span>
      </div>
      <ErrorNote error={trades.error} />
      {trades.isPending ? (
        <p>Loading trades…</p>
      ) : list.length === 0 ? (
        <p>No trades today.</p>
      ) : (
        <div className="table-wrap">
          <table className="grid" aria-label="Tradebook">
            <thead>
              <tr>
                <th scope="col">Trade id</th>
                <th scope="col">Order id</th>
                <th scope="col">Time</th>
                <th scope="col">Symbol</th>
                <th scope="col">Exchange</th>
                <th scope="col">Side</th>
                <th scope="col" className="num">Quantity</th>
                <th scope="col" className="num">Price</th>
                <th scope="col" className="num">Value</th>
                <th scope="col">Product</th>
              </tr>
            </thead>
            <tbody>
              {list.map((t, i) => (
                <tr key={t.tradeid ?? `${t.orderid}-${i}`}>
                  <th scope="row">{t.tradeid ?? '—'}</th>
                  <td>{t.orderid}</td>
                  <td>{t.timestamp ?? ''}</td>
                  <td>{t.symbol}</td>
                  <td>{t.exchange}</td>
                  <td className={t.action === 'BUY' ? 'gain' : 'loss'}>{t.action}</td>
                  <td className="num">{int(num(t.quantity))}</td>
                  <td className="num">{money(num(t.average_price ?? t.price))}</td>
                  <td className="num">
                    {money(t.trade_value !== undefined ? num(t.trade_value) : num(t.average_price) * num(t.quantity))}
                  </td>
                  <td>{t.product}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
