import { lookup as dnsLookup } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { VisibleError } from "../error.ts";

/**
 * Where a webhook may point. In the cloud (`public`) a target is https and its host resolves
 * only to public addresses, checked when the subscription is made and again on every
 * connection (the delivery's own DNS lookup refuses private answers, so a name that later
 * resolves to 169.254.169.254 reaches nothing). The local stack (`local`) allows any http(s).
 */
export type TargetMode = "public" | "local";

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  blocked.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  blocked.addSubnet(net, bits, "ipv6");

/** True for an address no cloud webhook may reach (private, loopback, link-local, unspecified). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? blocked.check(mapped[1]!, "ipv4") : blocked.check(address, "ipv6");
}

const refused = (message: string, url: string) =>
  new VisibleError("input", "webhook.target", message, { reason: "webhook.target", url });

/** The URL, parsed, if it may be a target in this mode; throws `webhook.target` otherwise (no DNS). */
export function parseTarget(raw: string, mode: TargetMode): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused("url: must be an absolute http(s) URL", raw);
  }
  if (url.username || url.password) throw refused("url: must not carry credentials", raw);
  if (mode === "local") {
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw refused("url: must be an http(s) URL", raw);
    return url;
  }
  if (url.protocol !== "https:") throw refused("url: must be an https URL", raw);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) && isPrivateAddress(host)) throw refused(`url: ${host} is a private address`, raw);
  return url;
}

/** Resolves a host to every address it has (an IP literal is itself). */
async function resolveAll(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses.map((a) => a.address)),
    ),
  );
}

/**
 * Checks a target when a subscription is made: the URL's form, and in `public` mode that
 * every address its host resolves to is public. A name that does not resolve is refused.
 */
export async function checkTarget(raw: string, mode: TargetMode): Promise<URL> {
  const url = parseTarget(raw, mode);
  if (mode === "local") return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = await resolveAll(host);
  } catch {
    throw refused(`url: ${host} does not resolve`, raw);
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad) throw refused(`url: ${host} resolves to a private address (${bad})`, raw);
  return url;
}

/**
 * The DNS lookup a delivery connects with in `public` mode: the system's, failing the
 * connection when any answer is private, so the check and the connection see the same answer.
 */
export const publicLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, "", 4);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const refusal = Object.assign(new Error(`${hostname} resolves to a private address (${bad.address})`), {
        code: "WEBHOOK_PRIVATE_ADDRESS",
      });
      return callback(refusal, "", 4);
    }
    if (options.all) return (callback as (e: null, a: typeof addresses) => void)(null, addresses);
    const first = addresses[0];
    if (!first)
      return callback(Object.assign(new Error(`${hostname}: no address`), { code: "ENOTFOUND" }), "", 4);
    callback(null, first.address, first.family);
  });
};
