import { useId, useMemo, useState, type ReactNode } from 'react'
import { ApiError } from '../api/client'
import { useEngineAction, useInstruments } from '../api/queries'
import { STRATEGY, type Action, type PriceType, type Product } from '../api/types'
import { money } from '../lib/num'
import { useMarketData } from '../market/useMarketData'

const EXCHANGES = ['NSE', 'BSE', 'NFO', 'BFO', 'CDS', 'BCD', 'MCX', 'NCDEX'] as const
const PRICE_TYPES: PriceType[] = ['MARKET', 'LIMIT', 'SL', 'SL-M']
const PRODUCTS: Product[] = ['MIS', 'CNC', 'NRML']

/** A labelled control with the engine's message for that field under it. */
function Field({
  id,
  label,
  error,
  children,
}: {
  id: string
  label: string
  error: string | null
  children: (describedBy: string | undefined) => ReactNode
}) {
  const errId = `${id}-error`
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children(error ? errId : undefined)}
      {error && (
        <p id={errId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}

export function OrderTicketPage({ onPlaced }: { onPlaced?: (orderid: string) => void }) {
  const uid = useId()
  const instruments = useInstruments()
  const [symbol, setSymbol] = useState('SBIN')
  const [exchange, setExchange] = useState<string>('NSE')
  const [action, setAction] = useState<Action>('BUY')
  const [quantity, setQuantity] = useState('1')
  const [pricetype, setPricetype] = useState<PriceType>('MARKET')
  const [price, setPrice] = useState('')
  const [trigger, setTrigger] = useState('')
  const [product, setProduct] = useState<Product>('MIS')
  const place = useEngineAction<Record<string, unknown>>('placeorder')
  const [placed, setPlaced] = useState<string | null>(null)

  const list = useMemo(() => instruments.data ?? [], [instruments.data])
  const matches = useMemo(() => {
    const q = symbol.trim().toUpperCase()
    return list.filter((i) => i.symbol.toUpperCase().includes(q)).slice(0, 50)
  }, [list, symbol])

  const quoteSymbols = useMemo(
    () => (symbol.trim() ? [{ symbol: symbol.trim().toUpperCase(), exchange }] : []),
    [symbol, exchange],
  )
  const { data } = useMarketData({ symbols: quoteSymbols, mode: 'Quote', enabled: quoteSymbols.length > 0 })
  const quote = data.get(`${exchange}:${symbol.trim().toUpperCase()}`)

  const apiErr = place.error instanceof ApiError ? place.error : place.error ? new ApiError(0, String(place.error)) : null
  const errFor = (field: string) => (apiErr && apiErr.field === field ? apiErr.message : null)
  const formError = apiErr && !['symbol', 'exchange', 'action', 'quantity', 'pricetype', 'price', 'trigger_price', 'product'].includes(apiErr.field ?? '')
    ? apiErr.message
    : null

  const needsPrice = pricetype === 'LIMIT' || pricetype === 'SL'
  const needsTrigger = pricetype === 'SL' || pricetype === 'SL-M'

  const onSymbol = (v: string) => {
    setSymbol(v)
    const hit = list.find((i) => i.symbol.toUpperCase() === v.trim().toUpperCase())
    if (hit) {
      setExchange(hit.exchange)
      if (hit.exchange !== 'NSE' && hit.exchange !== 'BSE' && product === 'CNC') setProduct('NRML')
    }
  }

  const submit = () => {
    setPlaced(null)
    place.mutate(
      {
        strategy: STRATEGY,
        symbol: symbol.trim().toUpperCase(),
        exchange,
        action,
        quantity: quantity.trim(),
        pricetype,
        product,
        price: needsPrice ? price.trim() || '0' : '0',
        trigger_price: needsTrigger ? trigger.trim() || '0' : '0',
      },
      {
        onSuccess: (r) => {
          const id = r.orderid ?? ''
          setPlaced(id)
          if (id && onPlaced) onPlaced(id)
        },
      },
    )
  }

  const id = (f: string) => `${uid}-${f}`

  return (
    <section aria-labelledby="ticket-title" className="ticket">
      <h1 id="ticket-title">Order ticket</h1>
      {instruments.error && (
        <p className="muted" data-testid="instruments-error">
          Symbol search is off: {instruments.error.message}. Symbols are sent as typed.
        </p>
      )}
      <form
        aria-labelledby="ticket-title"
        onSubmit={(e) => {
          e.preventDefault()
          submit()
        }}
      >
        <Field id={id('symbol')} label="Symbol" error={errFor('symbol')}>
          {(d) => (
            <>
              <input
                id={id('symbol')}
                name="symbol"
                list={id('instruments')}
                autoComplete="off"
                value={symbol}
                onChange={(e) => onSymbol(e.target.value)}
                aria-invalid={d ? true : undefined}
                aria-describedby={d}
              />
              <datalist id={id('instruments')}>
                {matches.map((i) => (
                  <option key={`${i.exchange}:${i.symbol}`} value={i.symbol}>
                    {i.exchange}
                    {i.name ? ` · ${i.name}` : ''}
                  </option>
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field id={id('exchange')} label="Exchange" error={errFor('exchange')}>
          {(d) => (
            <select
              id={id('exchange')}
              name="exchange"
              value={exchange}
              onChange={(e) => setExchange(e.target.value)}
              aria-invalid={d ? true : undefined}
              aria-describedby={d}
            >
              {EXCHANGES.map((x) => (
                <option key={x}>{x}</option>
              ))}
            </select>
          )}
        </Field>
        <p className="quote-line" aria-live="off">
          {quote?.data.ltp !== undefined ? (
            <>
              LTP <strong>{money(quote.data.ltp)}</strong>
              {quote.data.bid_price !== undefined && <> · Bid {money(quote.data.bid_price)}</>}
              {quote.data.ask_price !== undefined && <> · Ask {money(quote.data.ask_price)}</>}
            </>
          ) : (
            <span className="muted">No price yet</span>
          )}
        </p>
        <fieldset className="segmented">
          <legend>Side</legend>
          {(['BUY', 'SELL'] as const).map((a) => (
            <label key={a} className={`seg seg-${a.toLowerCase()}`}>
              <input type="radio" name="action" value={a} checked={action === a} onChange={() => setAction(a)} />
              {a}
            </label>
          ))}
          {errFor('action') && <p className="field-error" role="alert">{errFor('action')}</p>}
        </fieldset>
        <Field id={id('quantity')} label="Quantity" error={errFor('quantity')}>
          {(d) => (
            <input
              id={id('quantity')}
              name="quantity"
              inputMode="numeric"
              value={quantity}
              onChange={(e) => setQuantity(e.target.value)}
              aria-invalid={d ? true : undefined}
              aria-describedby={d}
            />
          )}
        </Field>
        <fieldset className="segmented">
          <legend>Order type</legend>
          {PRICE_TYPES.map((t) => (
            <label key={t} className="seg">
              <input type="radio" name="pricetype" value={t} checked={pricetype === t} onChange={() => setPricetype(t)} />
              {t}
            </label>
          ))}
          {errFor('pricetype') && <p className="field-error" role="alert">{errFor('pricetype')}</p>}
        </fieldset>
        {needsPrice && (
          <Field id={id('price')} label="Price" error={errFor('price')}>
            {(d) => (
              <input
                id={id('price')}
                name="price"
                inputMode="decimal"
                value={price}
                onChange={(e) => setPrice(e.target.value)}
                aria-invalid={d ? true : undefined}
                aria-describedby={d}
              />
            )}
          </Field>
        )}
        {needsTrigger && (
          <Field id={id('trigger')} label="Trigger price" error={errFor('trigger_price')}>
            {(d) => (
              <input
                id={id('trigger')}
                name="trigger_price"
                inputMode="decimal"
                value={trigger}
                onChange={(e) => setTrigger(e.target.value)}
                aria-invalid={d ? true : undefined}
                aria-describedby={d}
              />
            )}
          </Field>
        )}
        <Field id={id('product')} label="Product" error={errFor('product')}>
          {(d) => (
            <select
              id={id('product')}
              name="product"
              value={product}
              onChange={(e) => setProduct(e.target.value as Product)}
              aria-invalid={d ? true : undefined}
              aria-describedby={d}
            >
              {PRODUCTS.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className={action === 'BUY' ? 'buy' : 'sell'} disabled={place.isPending}>
          {place.isPending ? 'Placing…' : `Place ${action} order`}
        </button>
        {formError && (
          <p className="error" role="alert">
            {formError}
          </p>
        )}
        {placed !== null && (
          <p className="success" role="status">
            Order {placed} placed.
          </p>
        )}
      </form>
    </section>
  )
}
