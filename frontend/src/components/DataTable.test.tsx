import { createColumnHelper } from '@tanstack/react-table'
import { cleanup, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import { DataTable } from './DataTable'

interface Row {
  id: string
  price: number
}
const col = createColumnHelper<Row>()
const columns = [col.accessor('id', { header: 'Id', meta: { rowHeader: true } }), col.accessor('price', { header: 'Price', meta: { numeric: true } })]

afterEach(cleanup)

describe('DataTable', () => {
  it('shows the newest data on each tick', () => {
    const { rerender } = render(<DataTable label="t" data={[{ id: 'a', price: 1 }]} columns={columns} getRowId={(r) => r.id} />)
    for (let i = 2; i < 50; i++) {
      rerender(<DataTable label="t" data={[{ id: 'a', price: i }]} columns={columns} getRowId={(r) => r.id} />)
    }
    expect(screen.getByRole('table', { name: 't' }).querySelector('td')?.textContent).toBe('49')
  })

  it('filters by column and reports the rows left', () => {
    let seen: readonly Row[] = []
    const data = [
      { id: 'SBIN', price: 1 },
      { id: 'TCS', price: 2 },
    ]
    render(
      <DataTable
        label="t"
        data={data}
        columns={columns}
        getRowId={(r) => r.id}
        columnFilters={[{ id: 'id', value: 'TC' }]}
        onRowsChange={(rows) => (seen = rows)}
      />,
    )
    expect(screen.getAllByRole('rowheader').map((c) => c.textContent)).toEqual(['TCS'])
    expect(seen).toEqual([{ id: 'TCS', price: 2 }])
  })
})
