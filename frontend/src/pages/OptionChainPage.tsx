import { useQuery } from '@tanstack/react-query'
import { createColumnHelper } from '@tanstack/react-table'
import { useId, useMemo, useState } from 'react'
import { useSession } from '../api/context'
import { useExpiries, useOptionChain } from '../api/queries'
import { MultiGreeksReply, OptionGreeksReply } from '../api/schemas'
import type { OptionChain, OptionGreeks } from '../api/types'
import { DataTable } from '../components/DataTable'
import { ErrorNote } from '../components/ErrorNote'
import { int, money, num, optNum } from '../lib/num'

type Leg = NonNullable<OptionChain['chain'][number]['ce']>
type Greeks = { iv: number | null; delta: number | null; gamma: number | null; theta: number | null; vega: number | null }

const UNDERLYING_EXCHANGES = ['NSE_INDEX', 'NSE', 'BSE_INDEX', 'BSE', 'MCX'] as const
const STRIKE_COUNTS = [5, 10, 12] as const

/** Where an underlying's options trade (OPENALGO.md 2b). */
export function optionExchange(exchange: string): string {
  if (exchange === 'NSE' || exchange === 'NSE_INDEX') return 'NFO'
  if (exchange === 'BSE' || exchange === 'BSE_INDEX') return 'BFO'
  return exchange
}

/** `expiry` answers "30-DEC-26"; optionchain takes "30DEC26". */
export const compactExpiry = (d: string) => d.replace(/-/g, '').toUpperCase()

function greeksOf(g: Partial<OptionGreeks> | Leg | undefined): Greeks | undefined {
  if (!g?.greeks) return undefined
  return {
    iv: optNum(g.implied_volatility),
    delta: optNum(g.greeks.delta),
    gamma: optNum(g.greeks.gamma),
    theta: optNum(g.greeks.theta),
    vega: optNum(g.greeks.vega),
  }
}

interface ChainRow {
  strike: number
  atm: boolean
  atmStrike: number
  ce: Leg | null
  pe: Leg | null
  ceGreeks: Greeks | undefined
  peGreeks: Greeks | undefined
}

/** Greeks for every leg of the chain: from the chain itself when it carries them, else `multioptiongreeks`. */
function useChainGreeks(chain: OptionChain | undefined, exchange: string) {
  const { api } = useSession()
  const legs = useMemo(
    () => (chain?.chain ?? []).flatMap((r) => [r.ce, r.pe]).filter((l): l is Leg => !!l && !l.greeks),
    [chain],
  )
  const symbols = legs.map((l) => l.symbol)
  return useQuery({
    queryKey: ['multioptiongreeks', exchange, symbols.join(',')],
    queryFn: () => api.post('multioptiongreeks', { symbols: symbols.map((symbol) => ({ symbol, exchange })) }, MultiGreeksReply),
    enabled: symbols.length > 0 && symbols.length <= 50,
    refetchInterval: 5000,
    retry: false,
    select: (rows) => {
      const m = new Map<string, Greeks>()
      for (const r of rows) {
        const g = greeksOf(r)
        if (g) m.set(r.symbol, g)
      }
      return m
    },
  })
}

/** One option's greeks in full (`POST optiongreeks`). */
function useOptionGreeks(symbol: string | null, exchange: string) {
  const { api } = useSession()
  return useQuery({
    queryKey: ['optiongreeks', exchange, symbol],
    queryFn: () => api.post('optiongreeks', { symbol, exchange }, OptionGreeksReply),
    enabled: symbol !== null,
    refetchInterval: 5000,
    retry: false,
  })
}

const col = createColumnHelper<ChainRow>()
const fixed = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? '—' : v.toFixed(digits))

function chainColumns(onPick: (symbol: string) => void) {
  const legButton = (leg: Leg | null, side: string) =>
    leg ? (
      <button type="button" className="link" onClick={() => onPick(leg.symbol)} aria-label={`Greeks of ${leg.symbol} (${side})`}>
        {money(optNum(leg.ltp))}
      </button>
    ) : (
      '—'
    )
  return [
    col.accessor((r) => r.ceGreeks?.vega, { id: 'ce-vega', header: 'CE vega', cell: (c) => fixed(c.getValue(), 2), meta: { numeric: true } }),
    col.accessor((r) => r.ceGreeks?.theta, { id: 'ce-theta', header: 'CE theta', cell: (c) => fixed(c.getValue(), 2), meta: { numeric: true } }),
    col.accessor((r) => r.ceGreeks?.gamma, { id: 'ce-gamma', header: 'CE gamma', cell: (c) => fixed(c.getValue(), 5), meta: { numeric: true } }),
    col.accessor((r) => r.ceGreeks?.delta, { id: 'ce-delta', header: 'CE delta', cell: (c) => fixed(c.getValue(), 3), meta: { numeric: true } }),
    col.accessor((r) => r.ceGreeks?.iv, { id: 'ce-iv', header: 'CE IV %', cell: (c) => fixed(c.getValue(), 2), meta: { numeric: true } }),
    col.accessor((r) => r.ce?.oi, { id: 'ce-oi', header: 'CE OI', cell: (c) => int(optNum(c.getValue())), meta: { numeric: true } }),
    col.accessor((r) => optNum(r.ce?.ltp), {
      id: 'ce-ltp',
      header: 'CE LTP',
      cell: (c) => legButton(c.row.original.ce, 'call'),
      meta: { numeric: true, cellClass: (r) => (r.ce && r.strike < r.atmStrike ? 'itm' : '') },
    }),
    col.accessor('strike', { header: 'Strike', cell: (c) => money(c.getValue()), meta: { numeric: true, rowHeader: true } }),
    col.accessor((r) => optNum(r.pe?.ltp), {
      id: 'pe-ltp',
      header: 'PE LTP',
      cell: (c) => legButton(c.row.original.pe, 'put'),
      meta: { numeric: true, cellClass: (r) => (r.pe && r.strike > r.atmStrike ? 'itm' : '') },
    }),
    col.accessor((r) => r.pe?.oi, { id: 'pe-oi', header: 'PE OI', cell: (c) => int(optNum(c.getValue())), meta: { numeric: true } }),
    col.accessor((r) => r.peGreeks?.iv, { id: 'pe-iv', header: 'PE IV %', cell: (c) => fixed(c.getValue(), 2), meta: { numeric: true } }),
    col.accessor((r) => r.peGreeks?.delta, { id: 'pe-delta', header: 'PE delta', cell: (c) => fixed(c.getValue(), 3), meta: { numeric: true } }),
    col.accessor((r) => r.peGreeks?.gamma, { id: 'pe-gamma', header: 'PE gamma', cell: (c) => fixed(c.getValue(), 5), meta: { numeric: true } }),
    col.accessor((r) => r.peGreeks?.theta, { id: 'pe-theta', header: 'PE theta', cell: (c) => fixed(c.getValue(), 2), meta: { numeric: true } }),
    col.accessor((r) => r.peGreeks?.vega, { id: 'pe-vega', header: 'PE vega', cell: (c) => fixed(c.getValue(), 2), meta: { numeric: true } }),
  ]
}

function GreeksPanel({ symbol, exchange }: { symbol: string; exchange: string }) {
  const q = useOptionGreeks(symbol, exchange)
  const g = q.data
  return (
    <section className="greeks-panel" aria-labelledby="greeks-title">
      <h2 id="greeks-title">Greeks: {symbol}</h2>
      <ErrorNote error={q.error} />
      {g ? (
        <dl className="stats" data-testid="option-greeks">
          <div><dt>Spot</dt><dd>{money(optNum(g.spot_price))}</dd></div>
          <div><dt>Option price</dt><dd>{money(optNum(g.option_price))}</dd></div>
          <div><dt>Days to expiry</dt><dd>{fixed(optNum(g.days_to_expiry), 2)}</dd></div>
          <div><dt>IV %</dt><dd>{fixed(optNum(g.implied_volatility), 2)}</dd></div>
          <div><dt>Delta</dt><dd>{fixed(optNum(g.greeks.delta), 4)}</dd></div>
          <div><dt>Gamma</dt><dd>{fixed(optNum(g.greeks.gamma), 6)}</dd></div>
          <div><dt>Theta</dt><dd>{fixed(optNum(g.greeks.theta), 4)}</dd></div>
          <div><dt>Vega</dt><dd>{fixed(optNum(g.greeks.vega), 4)}</dd></div>
          <div><dt>Rho</dt><dd>{fixed(optNum(g.greeks.rho), 6)}</dd></div>
        </dl>
      ) : q.isPending ? (
        <p>Loading greeks…</p>
      ) : null}
    </section>
  )
}

export function OptionChainPage() {
  const uid = useId()
  const [underlying, setUnderlying] = useState('NIFTY')
  const [exchange, setExchange] = useState<string>('NSE_INDEX')
  const [picked, setExpiry] = useState('')
  const [strikes, setStrikes] = useState<number>(10)
  const [leg, setLeg] = useState<string | null>(null)
  const optExchange = optionExchange(exchange)
  const name = underlying.trim().toUpperCase()

  const expiries = useExpiries(name, optExchange)
  const expiry = picked || expiries.data?.[0] || ''
  const chain = useOptionChain(name, exchange, compactExpiry(expiry), strikes)
  const greeks = useChainGreeks(chain.data, optExchange)

  const rows = useMemo<ChainRow[]>(() => {
    const c = chain.data
    if (!c) return []
    const atm = num(c.atm_strike)
    return c.chain.map((r) => ({
      strike: num(r.strike),
      atm: num(r.strike) === atm,
      ce: r.ce ?? null,
      pe: r.pe ?? null,
      ceGreeks: greeksOf(r.ce ?? undefined) ?? (r.ce ? greeks.data?.get(r.ce.symbol) : undefined),
      peGreeks: greeksOf(r.pe ?? undefined) ?? (r.pe ? greeks.data?.get(r.pe.symbol) : undefined),
      atmStrike: atm,
    }))
  }, [chain.data, greeks.data])
  const columns = useMemo(() => chainColumns(setLeg), [])
  const id = (f: string) => `${uid}-${f}`

  return (
    <section aria-labelledby="chain-title">
      <div className="page-head">
        <h1 id="chain-title">Option chain</h1>
        {chain.data && (
          <span className="muted" data-testid="chain-summary">
            {chain.data.underlying} {money(optNum(chain.data.underlying_ltp))} · ATM {money(optNum(chain.data.atm_strike))} · expiry{' '}
            {chain.data.expiry_date}
          </span>
        )}
      </div>
      <form className="chain-form" aria-label="Choose the chain" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={id('u')}>
          Underlying
          <input id={id('u')} value={underlying} onChange={(e) => { setUnderlying(e.target.value); setExpiry(''); setLeg(null) }} autoComplete="off" />
        </label>
        <label htmlFor={id('x')}>
          Exchange
          <select id={id('x')} value={exchange} onChange={(e) => { setExchange(e.target.value); setExpiry(''); setLeg(null) }}>
            {UNDERLYING_EXCHANGES.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </label>
        <label htmlFor={id('e')}>
          Expiry
          <select id={id('e')} value={expiry} onChange={(e) => setExpiry(e.target.value)} disabled={!expiries.data?.length}>
            {(expiries.data ?? []).map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <label htmlFor={id('n')}>
          Strikes each side
          <select id={id('n')} value={strikes} onChange={(e) => setStrikes(Number(e.target.value))}>
            {STRIKE_COUNTS.map((n) => (
              <option key={n} value={n}>{n}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={expiries.error ?? chain.error ?? greeks.error} />
      {expiries.data && expiries.data.length === 0 && <p>No option expiries for {name} on {optExchange}.</p>}
      {chain.isFetching && !chain.data && <p>Loading the chain…</p>}
      {rows.length > 0 && (
        <DataTable
          label={`Option chain, ${name} ${expiry}`}
          data={rows}
          columns={columns}
          getRowId={(r) => String(r.strike)}
          rowProps={(r) => ({ 'data-strike': String(r.strike), className: r.atm ? 'atm' : undefined })}
          sortable={false}
        />
      )}
      {leg && <GreeksPanel symbol={leg} exchange={optExchange} />}
    </section>
  )
}
