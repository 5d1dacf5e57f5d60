import { SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "../config.ts";

const clients = new WeakMap<Config, SQSClient>();

/**
 * The SQS client both queue ports (tasks, webhooks) send through: one per configuration, so a
 * handler using both keeps one connection pool. Loaded only with those ports, on first call.
 */
export function sqsClient(config: Config): SQSClient {
  let client = clients.get(config);
  if (!client) {
    client = new SQSClient({
      region: config.region,
      endpoint: config.endpoints.sqs,
      credentials: config.credentials,
      maxAttempts: 4,
    });
    clients.set(config, client);
  }
  return client;
}
