/**
 * Text from agents and users made inert for GitHub Markdown: no Markdown or HTML of
 * theirs takes effect, no table cell breaks, nobody is pinged, no issue is linked and
 * no URL in it becomes a link. Only links we build ourselves, to http(s) URLs, are links.
 */

/** A zero-width space, as an entity so it survives any whitespace handling; it splits `@name` and `#123`. */
const ZWSP = "&#8203;";

/** C0/C1 controls (but tab and newlines), and the bidi overrides that make text read other than it is. */
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * ASCII punctuation that means something in GitHub Markdown (`$` is math); each gets a
 * backslash. `:` and `.` too: escaped, `https://…` and `www.…` in text are not turned
 * into links, so the only links are those built from checked URLs.
 */
const PUNCTUATION = new Set("\\`*_{}[]()#+-.!|~$^=:");

/** At most `max` code points (never half a surrogate pair), with an ellipsis when cut. */
export function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, Math.max(0, max - 1)).join("")}…`;
}

function clean(text: unknown): string {
  return (typeof text === "string" ? text : String(text ?? "")).replace(INVISIBLE, "");
}

/** Escapes already-clean text character by character. */
function escapeChars(text: string): string {
  let out = "";
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1] ?? "";
    if (c === "&") out += "&amp;";
    else if (c === "<") out += "&lt;";
    else if (c === ">") out += "&gt;";
    // GitHub finds mentions in the rendered text, so a backslash would not stop `@org/team`.
    else if (c === "@") out += `@${ZWSP}`;
    // `#123`, `owner/repo#123` and `GH-123` are issue references.
    else if (c === "#") out += /\d/.test(next) ? `\\#${ZWSP}` : "\\#";
    else if (c === "-" && /\d/.test(next) && /gh$/i.test(chars.slice(Math.max(0, i - 2), i).join("")))
      out += `\\-${ZWSP}`;
    else out += PUNCTUATION.has(c) ? `\\${c}` : c;
  }
  return out;
}

/**
 * One line of inert text, safe inside a table cell or a list item: newlines become
 * spaces, runs of white space one, at most `max` code points of the original.
 *
 * @example inline("see [x](javascript:alert(1)) | @org/team #12", 80)
 */
export function inline(text: unknown, max: number): string {
  const flat = clean(text).replace(/\s+/g, " ").trim();
  return escapeChars(cap(flat, max));
}

/**
 * The first lines of a text as a Markdown block quote, each line inert; blank runs
 * collapse to one, leading spaces go (they would make code blocks).
 */
export function quote(text: unknown, opts: { maxLines: number; maxChars: number }): string {
  const lines = clean(text)
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/\s+/g, " ").trim());
  const kept: string[] = [];
  let chars = 0;
  let cut = false;
  for (const line of lines) {
    if (line === "" && (kept.length === 0 || kept.at(-1) === "")) continue;
    if (kept.length >= opts.maxLines || chars >= opts.maxChars) {
      cut = true;
      break;
    }
    const room = opts.maxChars - chars;
    const piece = cap(line, room);
    if (piece !== line) cut = true;
    kept.push(piece);
    chars += piece.length;
  }
  while (kept.at(-1) === "") kept.pop();
  if (cut && kept.length > 0 && !kept.at(-1)!.endsWith("…")) kept[kept.length - 1] += " …";
  return kept.map((line) => (line === "" ? ">" : `> ${escapeChars(line)}`)).join("\n");
}

/** Characters that may stay as they are in a link destination and a table cell; the rest are %-encoded. */
const URL_SAFE = /[A-Za-z0-9\-._~:/?#@!$*+,;=%&]/;

/**
 * The URL normalised and safe to put between `(` and `)` in Markdown, or undefined
 * unless it is an absolute http(s) URL without credentials (`https://github.com@evil.example`).
 */
export function safeUrl(raw: unknown, maxLength = 2_000): string | undefined {
  if (typeof raw !== "string" || raw.length > maxLength) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password)
    return undefined;
  let href = "";
  for (const c of url.href) {
    href += URL_SAFE.test(c)
      ? c
      : Array.from(
          new TextEncoder().encode(c),
          (b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
        ).join("");
  }
  // Link destinations decode entities: `&` must be written as one.
  return href.replace(/&/g, "&amp;");
}

/** `[label](url)` when the URL is http(s), else the label alone; the label is inert text. */
export function link(label: unknown, url: unknown, maxLabel = 200): string {
  const text = inline(label, maxLabel) || "link";
  const href = safeUrl(url);
  return href ? `[${text}](${href})` : text;
}
