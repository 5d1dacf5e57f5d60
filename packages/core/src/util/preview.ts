/**
 * Cuts long strings to a preview so no item nears DynamoDB's 400 KB limit:
 * every string to `fieldBytes`, then, while the whole value is still over
 * `totalBytes`, every string shorter again.
 */
export function preview<T>(value: T, fieldBytes: number, totalBytes: number): T {
  let cap = fieldBytes;
  let out = cut(value, cap) as T;
  while (byteLength(JSON.stringify(out) ?? "") > totalBytes && cap > 32) {
    cap = Math.floor(cap / 2);
    out = cut(value, cap) as T;
  }
  return out;
}

const encoder = new TextEncoder();
const byteLength = (text: string) => encoder.encode(text).length;

function cut(value: unknown, cap: number): unknown {
  if (typeof value === "string") return cutString(value, cap);
  if (Array.isArray(value)) return value.map((item) => cut(item, cap));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cut(item, cap)]));
  }
  return value;
}

export function cutString(text: string, cap: number): string {
  const bytes = encoder.encode(text);
  if (bytes.length <= cap) return text;
  const marker = ` …[${bytes.length - cap} more bytes]`;
  // Decoding a cut in the middle of a multi-byte character drops it (fatal: false + trim the replacement).
  const head = new TextDecoder()
    .decode(bytes.slice(0, Math.max(0, cap - byteLength(marker))))
    .replace(/\uFFFD$/, "");
  return head + marker;
}
