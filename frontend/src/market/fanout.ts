/** A set of listeners that each hear every value (order updates, data changes). */
export class Fanout<T> {
  private listeners = new Set<(value: T) => void>()

  add(listener: (value: T) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(value: T): void {
    for (const l of this.listeners) l(value)
  }

  get size(): number {
    return this.listeners.size
  }

  clear(): void {
    this.listeners.clear()
  }
}
