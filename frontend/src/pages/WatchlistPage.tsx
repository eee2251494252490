import { useEffect, useMemo, useState } from 'react'
import { useInstruments } from '../api/queries'
import { ErrorNote } from '../components/ErrorNote'
import { DepthView } from '../components/DepthView'
import { WatchlistTable } from '../components/WatchlistTable'
import { useMarketData } from '../market/useMarketData'
import { symbolKey, type SymbolRef } from '../market/types'

const STORAGE = 'tickfill.watchlist'

/** A first visit starts with the first equities of the instrument master. */
const STARTER_COUNT = 6

function loadList(): SymbolRef[] | null {
  try {
    const raw = window.localStorage.getItem(STORAGE)
    const parsed: unknown = raw ? JSON.parse(raw) : null
    if (Array.isArray(parsed)) {
      return parsed.filter(
        (x): x is SymbolRef => typeof x === 'object' && x !== null && typeof x.symbol === 'string' && typeof x.exchange === 'string',
      )
    }
  } catch {
    /* fall through */
  }
  return null
}

export function WatchlistPage() {
  const instruments = useInstruments()
  const [saved, setList] = useState<SymbolRef[] | null>(loadList)
  const starter = useMemo(
    () =>
      (instruments.data ?? [])
        .filter((i) => i.exchange === 'NSE')
        .slice(0, STARTER_COUNT)
        .map(({ symbol, exchange }) => ({ symbol, exchange })),
    [instruments.data],
  )
  const list = saved ?? starter
  const [picked, setSelected] = useState<SymbolRef | null>(null)
  const selected = picked ?? list[0] ?? null
  const [adding, setAdding] = useState('')

  useEffect(() => {
    if (saved) window.localStorage.setItem(STORAGE, JSON.stringify(saved))
  }, [saved])

  const { data, isAuthenticated } = useMarketData({ symbols: list, mode: 'Quote' })
  const depthSymbols = useMemo(() => (selected ? [selected] : []), [selected])
  const depth = useMarketData({ symbols: depthSymbols, mode: 'Depth', enabled: selected !== null })

  const add = () => {
    const q = adding.trim().toUpperCase()
    if (!q) return
    const hit = (instruments.data ?? []).find((i) => i.symbol.toUpperCase() === q)
    const ref = hit ? { symbol: hit.symbol, exchange: hit.exchange } : { symbol: q, exchange: 'NSE' }
    if (!list.some((s) => symbolKey(s) === symbolKey(ref))) setList([...list, ref])
    setAdding('')
  }

  return (
    <section aria-labelledby="watch-title">
      <div className="page-head">
        <h1 id="watch-title">Watchlist</h1>
        <span className="muted">{isAuthenticated ? 'Streaming' : 'Waiting for the feed'}</span>
      </div>
      {/* Without the master, symbols are added as typed (NSE unless found). */}
      <ErrorNote error={instruments.error} />
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault()
          add()
        }}
      >
        <label htmlFor="watch-add">Add symbol</label>
        <input id="watch-add" list="watch-instruments" value={adding} onChange={(e) => setAdding(e.target.value)} autoComplete="off" />
        <datalist id="watch-instruments">
          {(instruments.data ?? []).slice(0, 200).map((i) => (
            <option key={`${i.exchange}:${i.symbol}`} value={i.symbol}>
              {i.exchange}
            </option>
          ))}
        </datalist>
        <button type="submit">Add</button>
      </form>
      <div className="watch-layout">
        <WatchlistTable
          symbols={list}
          data={data}
          selected={selected ? symbolKey(selected) : ''}
          onSelect={setSelected}
          onRemove={(s) => {
            setList(list.filter((x) => symbolKey(x) !== symbolKey(s)))
            if (selected && symbolKey(selected) === symbolKey(s)) setSelected(null)
          }}
        />
        {/* focusable: the panel scrolls sideways on narrow screens */}
        <div className="depth-panel" role="region" aria-labelledby="depth-title" tabIndex={0}>
          <h2 id="depth-title">Depth{selected ? `: ${selected.symbol}` : ''}</h2>
          {selected ? (
            <DepthView entry={depth.data.get(symbolKey(selected))} label={selected.symbol} />
          ) : (
            <p>Select a symbol to see its depth.</p>
          )}
        </div>
      </div>
    </section>
  )
}
