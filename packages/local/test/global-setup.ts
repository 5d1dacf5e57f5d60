import type { TestProject } from "vitest/node";
import { startDynamo } from "../src/dynamo.ts";
import { startSqs } from "../src/sqs.ts";

declare module "vitest" {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const [dynamo, sqs] = await Promise.all([startDynamo({ port: 0 }), startSqs({ port: 0 })]);
  project.provide("dynamoEndpoint", dynamo.endpoint);
  project.provide("sqsEndpoint", sqs.endpoint);
  return async () => {
    await Promise.all([dynamo.stop(), sqs.stop()]);
  };
}
