/**
 * Event ids a follower has already yielded, for any follower that re-reads a skew
 * window (a WebSocket watcher, an HTTP poller, or both in turn sharing one instance).
 * ULIDs sort by time, so ids behind the window are forgotten and memory stays bounded:
 * everything at or below the forgotten `floor` counts as seen, so an id can never be
 * yielded twice, even when a duplicate turns up after it was forgotten.
 *
 * @example
 * const seen = new Seen();
 * if (!seen.has(event.eventId)) { seen.add(event.eventId); print(event); }
 * seen.forgetUpTo(rewind(cursor, 5_000));
 */
export class Seen {
  private readonly ids = new Set<string>();
  private floor = "";

  has(id: string): boolean {
    return id <= this.floor || this.ids.has(id);
  }

  add(id: string): void {
    if (id > this.floor) this.ids.add(id);
  }

  /** Drops every id at or below `id`; from now on they all count as seen. */
  forgetUpTo(id: string | undefined): void {
    if (!id || id <= this.floor) return;
    this.floor = id;
    for (const seen of this.ids) if (seen <= id) this.ids.delete(seen);
  }

  /** Ids remembered one by one (those above the floor). */
  get size(): number {
    return this.ids.size;
  }
}
