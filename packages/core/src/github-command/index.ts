import * as delivery from "./delivery.ts";
import * as handling from "./handle.ts";
import * as links from "./link.ts";
import * as parsing from "./parse.ts";
import * as signing from "./signature.ts";

export type { Command } from "./parse.ts";

/**
 * GitHub as an input surface: `/conveyor …` comments on issues and pull requests, received
 * as signed webhook deliveries. Split by use case: signature.ts (the HMAC check), parse.ts
 * (the command on a comment's first line), link.ts (GitHub login -> Conveyor user),
 * permission.ts (who may command), delivery.ts (each delivery once), handle.ts (acting).
 */
export namespace GitHubCommand {
  /** `sha256=<hex HMAC-SHA256 of the raw body>`, as GitHub signs. */
  export const signatureOf = signing.signatureOf;
  /** Checks `X-Hub-Signature-256` in constant time. */
  export const verify = signing.verifySignature;
  /** The command on a comment's first line, if any. */
  export const parse = parsing.parseCommand;
  export type Delivery = handling.Delivery;
  export type Received = handling.Received;
  /** Acts on one verified delivery, at most once per delivery id. */
  export const receive = handling.receive;
  /** Links a GitHub login to a Conveyor user (admin). */
  export const link = links.link;
  export const unlink = links.unlink;
  /** The Conveyor user a GitHub login is linked to, if any. */
  export const userOf = links.userOf;
  /** How long a delivery id is remembered, in seconds. */
  export const DELIVERY_TTL_S = delivery.DELIVERY_TTL_S;
}
