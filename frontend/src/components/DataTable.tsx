import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type ColumnFiltersState,
  type Row,
  type RowData,
  type SortingState,
} from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { memo, useEffect, useRef, useState, type HTMLAttributes } from 'react'

declare module '@tanstack/react-table' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ColumnMeta<TData extends RowData, TValue> {
    /** Right-aligned, tabular figures. */
    numeric?: boolean
    /** The cell that names the row (`<th scope="row">`). */
    rowHeader?: boolean
    /** Extra classes for a body cell (gain/loss colouring). */
    cellClass?: (row: TData) => string
    /** A body cell remounts (replaying its highlight) when this value changes. */
    flash?: (row: TData) => unknown
    testId?: string
  }
}

/** One empty filter list: a new [] each render would look like a filter change. */
const NO_FILTERS: ColumnFiltersState = []

export const ROW_HEIGHT = 30
/** Tables longer than this render only the rows in view (TanStack Virtual). */
export const WINDOW_THRESHOLD = 150

export interface DataTableProps<T> {
  label: string
  data: readonly T[]
  columns: Array<ColumnDef<T, never>>
  getRowId: (row: T) => string
  /** Attributes for a body row (data-* hooks, aria-selected). */
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>
  /** Filters applied to columns by id (TanStack's column filters). */
  columnFilters?: ColumnFiltersState
  /** Called with the rows left after filtering and sorting (for export). */
  onRowsChange?: (rows: readonly T[]) => void
  sortable?: boolean
}

function BodyRowImpl<T>({
  row,
  index,
  rowProps,
}: {
  row: Row<T>
  index: number
  rowProps: DataTableProps<T>['rowProps']
  /** What the memo compares: the row's data object and the column set. */
  original: T
  columns: unknown
}) {
  return (
    <tr aria-rowindex={index + 2} {...rowProps?.(row.original)}>
      {row.getVisibleCells().map((cell) => {
        const meta = cell.column.columnDef.meta
        const cls = [meta?.numeric ? 'num' : '', meta?.flash ? 'flash' : '', meta?.cellClass?.(row.original) ?? '']
          .filter(Boolean)
          .join(' ')
        const content = flexRender(cell.column.columnDef.cell, cell.getContext())
        const key = meta?.flash ? `${cell.id}:${String(meta.flash(row.original))}` : cell.id
        return meta?.rowHeader ? (
          <th key={key} scope="row" className={cls || undefined}>
            {content}
          </th>
        ) : (
          <td key={key} className={cls || undefined} data-testid={meta?.testId}>
            {content}
          </td>
        )
      })}
    </tr>
  )
}
// Memoized on the row's data object: a tick re-renders only the rows whose data changed.
const BodyRow = memo(
  BodyRowImpl,
  (a, b) => a.original === b.original && a.index === b.index && a.columns === b.columns && a.rowProps === b.rowProps,
) as typeof BodyRowImpl

/**
 * Every table of the app: TanStack Table for columns, sorting and filters, TanStack Virtual
 * for long tables (only the rows in view are in the DOM; spacer rows keep the scroll height).
 */
export function DataTable<T>({ label, data, columns, getRowId, rowProps, columnFilters, onRowsChange, sortable = true }: DataTableProps<T>) {
  const [sorting, setSorting] = useState<SortingState>([])
  // TanStack Table returns functions that change under the same object; the React Compiler
  // skips this component, which is what its rule warns about.
  // eslint-disable-next-line react-hooks/incompatible-library
  const table = useReactTable<T>({
    data: data as T[],
    columns,
    getRowId: (r) => getRowId(r),
    state: { sorting, columnFilters: columnFilters ?? NO_FILTERS },
    // No pagination or expansion: their auto-resets would set state on every data change
    // (each tick), and with a fresh state each render that never settles.
    autoResetPageIndex: false,
    autoResetExpanded: false,
    onSortingChange: setSorting,
    enableSorting: sortable,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
  })
  const rows = table.getRowModel().rows
  useEffect(() => {
    onRowsChange?.(rows.map((r) => r.original))
  }, [rows, onRowsChange])

  const scrollRef = useRef<HTMLDivElement>(null)
  const windowed = rows.length > WINDOW_THRESHOLD
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
    enabled: windowed,
    initialRect: { width: 0, height: 600 },
  })
  const items = windowed ? virtualizer.getVirtualItems() : null
  const visible = items ? items.map((i) => ({ row: rows[i.index], index: i.index })) : rows.map((row, index) => ({ row, index }))
  const padTop = items && items.length > 0 ? (items[0]?.start ?? 0) : 0
  const padBottom = items && items.length > 0 ? virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0) : 0
  const cols = table.getVisibleLeafColumns().length

  return (
    <div className={`table-wrap${windowed ? ' windowed' : ''}`} ref={scrollRef} tabIndex={windowed ? 0 : undefined}>
      <table className="grid" aria-label={label} aria-rowcount={rows.length + 1}>
        <thead>
          {table.getHeaderGroups().map((g) => (
            <tr key={g.id} aria-rowindex={1}>
              {g.headers.map((h) => {
                const meta = h.column.columnDef.meta
                const sorted = h.column.getIsSorted()
                const title = flexRender(h.column.columnDef.header, h.getContext())
                return (
                  <th
                    key={h.id}
                    scope="col"
                    className={meta?.numeric ? 'num' : undefined}
                    aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                  >
                    {h.column.getCanSort() ? (
                      <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                        {title}
                        <span aria-hidden="true">{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</span>
                      </button>
                    ) : (
                      title
                    )}
                  </th>
                )
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {padTop > 0 && (
            <tr aria-hidden="true" className="spacer">
              <td colSpan={cols} style={{ height: padTop }} />
            </tr>
          )}
          {visible.map(({ row, index }) =>
            row ? <BodyRow key={row.id} row={row} index={index} rowProps={rowProps} original={row.original} columns={columns} /> : null,
          )}
          {padBottom > 0 && (
            <tr aria-hidden="true" className="spacer">
              <td colSpan={cols} style={{ height: padBottom }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  )
}
