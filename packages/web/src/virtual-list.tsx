import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

interface Props<T> {
  items: readonly T[];
  /** Every row is this tall: nothing shifts as rows stream in, and any row's place is one multiplication. */
  rowHeight: number;
  /** Bumped whenever `items` changed in place (they are appended to, not replaced). */
  version: number;
  active: number;
  onActive: (index: number) => void;
  onOpen: (index: number) => void;
  renderRow: (item: T, index: number, active: boolean) => ComponentChildren;
  idOf: (item: T) => string;
  label: string;
}

const OVERSCAN = 8;

/**
 * A list that renders only the rows in view (a task may have tens of thousands of events).
 * While scrolled to the end it follows new rows; scrolled up, it stays put. Keyboard: arrows,
 * Page Up/Down, Home/End move the active row; Enter opens it.
 */
export function VirtualList<T>(props: Props<T>) {
  const { items, rowHeight, active } = props;
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const following = useRef(true);

  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight));
    observer.observe(el);
    setHeight(el.clientHeight);
    return () => observer.disconnect();
  }, []);

  // Follow the end as rows arrive, in the same frame, so the view never jumps back and forth.
  useLayoutEffect(() => {
    const el = viewport.current;
    if (!el || !following.current) return;
    const end = Math.max(0, items.length * rowHeight - el.clientHeight);
    if (el.scrollTop !== end) el.scrollTop = end;
    setScrollTop(el.scrollTop);
  }, [props.version, items.length, rowHeight]);

  const onScroll = () => {
    const el = viewport.current;
    if (!el) return;
    following.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight / 2;
    setScrollTop(el.scrollTop);
  };

  const reveal = (index: number) => {
    const el = viewport.current;
    if (!el) return;
    const top = index * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight)
      el.scrollTop = top + rowHeight - el.clientHeight;
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const last = items.length - 1;
    const moves: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      PageDown: active + page,
      PageUp: active - page,
      Home: 0,
      End: last,
    };
    if (event.key in moves) {
      event.preventDefault();
      const next = Math.max(0, Math.min(last, moves[event.key] as number));
      props.onActive(next);
      reveal(next);
    } else if ((event.key === "Enter" || event.key === " ") && active >= 0 && active <= last) {
      event.preventDefault();
      props.onOpen(active);
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const end = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < end; i++) {
    const item = items[i] as T;
    rows.push(
      // biome-ignore lint/a11y/useKeyWithClickEvents: the listbox around the rows takes the keys (arrows, Enter)
      // biome-ignore lint/a11y/useFocusableInteractive: focus stays on the listbox; aria-activedescendant points here
      <div
        key={props.idOf(item)}
        id={`row-${props.idOf(item)}`}
        role="option"
        aria-selected={i === active}
        class="vrow"
        style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}
        onClick={() => {
          props.onActive(i);
          props.onOpen(i);
        }}
      >
        {props.renderRow(item, i, i === active)}
      </div>,
    );
  }
  const activeItem = items[active];

  return (
    <div
      ref={viewport}
      class="viewport"
      role="listbox"
      tabIndex={0}
      aria-label={props.label}
      aria-activedescendant={activeItem === undefined ? undefined : `row-${props.idOf(activeItem)}`}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
    >
      <div class="spacer" style={{ height: `${items.length * rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
