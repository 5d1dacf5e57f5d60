/**
 * The least a Lambda handler that touches DynamoDB loads: the document client built as
 * packages/core/src/dynamo.ts builds it, the logger every handler has, and one GetItem.
 * `pnpm bench:bundles` builds it with the handlers' settings and imports it beside them, so
 * each handler's figure reads against what the SDK alone costs on the same machine, then.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { Config } from "@conveyor/core/config";
import { documentClient } from "@conveyor/core/dynamo";
import { logger } from "@conveyor/core/log";

const db = documentClient({ region: process.env.AWS_REGION, endpoints: {} } as Config);

export const handler = async (event: { table: string; pk: string; sk: string }) => {
  const { Item } = await db.send(
    new GetCommand({ TableName: event.table, Key: { pk: event.pk, sk: event.sk } }),
  );
  logger.info("read", { found: Item !== undefined });
  return Item;
};
