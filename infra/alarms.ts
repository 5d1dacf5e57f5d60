import { handlers } from "../packages/functions/src/handlers.ts";
import { functions as agentFunctions } from "./agent.ts";
import { functions as apiFunctions } from "./api.ts";
import { functions as cronFunctions } from "./cron.ts";
import { dlqDrain, functions as queueFunctions, taskDlq, webhookDlq } from "./queue.ts";
import { functions as realtimeFunctions } from "./realtime.ts";
import { streamFailures, functions as streamFunctions } from "./streams.ts";

/**
 * Alarms, all to one SNS topic. Subscribe to it (`CONVEYOR_ALARM_EMAIL` adds an e-mail
 * subscription at deploy; confirm the mail AWS sends). Under `sst dev` the alarms exist but
 * notify nobody: errors while developing are expected.
 */
export const alarmTopic = new aws.sns.Topic("Alarms");

const email = process.env.CONVEYOR_ALARM_EMAIL;
if (email) {
  new aws.sns.TopicSubscription("AlarmsEmail", { topic: alarmTopic.arn, protocol: "email", endpoint: email });
}

const functionNames = {
  ...apiFunctions,
  ...queueFunctions,
  ...realtimeFunctions,
  ...agentFunctions,
  ...cronFunctions,
  ...streamFunctions,
};
for (const name of Object.keys(handlers)) {
  if (!(name in functionNames)) throw new Error(`${name} is in handlers.ts but no infra file created it`);
}

function alarm(name: string, args: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions">) {
  return new aws.cloudwatch.MetricAlarm(name, {
    treatMissingData: "notBreaching",
    ...args,
    actionsEnabled: !$dev,
    alarmActions: [alarmTopic.arn],
    okActions: [alarmTopic.arn],
  });
}

/** A letter the drain could not settle (it settles each within seconds otherwise). */
export const dlqDepth = alarm("TaskDlqDepth", {
  alarmDescription: "TaskDlq holds dead letters the drain could not settle",
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: taskDlq.nodes.queue.name },
  statistic: "Maximum",
  period: 300,
  evaluationPeriods: 1,
  comparisonOperator: "GreaterThanThreshold",
  threshold: 0,
});

/** Dead letters arrived: tasks ran out of dispatch attempts (each drain run is one or more). */
export const deadLetters = alarm("TaskDeadLetters", {
  alarmDescription: "Tasks ran out of dispatch attempts and were dead-lettered (failed dispatch_failed)",
  namespace: "AWS/Lambda",
  metricName: "Invocations",
  dimensions: { FunctionName: dlqDrain.nodes.function.name },
  statistic: "Sum",
  period: 60,
  evaluationPeriods: 1,
  comparisonOperator: "GreaterThanThreshold",
  threshold: 0,
});

/** Webhook deliveries that used up their attempts (a receiver down for hours, or refusing). */
export const webhookDlqDepth = alarm("WebhookDlqDepth", {
  alarmDescription: "WebhookDlq holds deliveries that used up their attempts",
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: webhookDlq.nodes.queue.name },
  statistic: "Maximum",
  period: 300,
  evaluationPeriods: 1,
  comparisonOperator: "GreaterThanThreshold",
  threshold: 0,
});

/** Stream records a subscription gave up on. */
export const streamFailuresDepth = alarm("StreamFailuresDepth", {
  alarmDescription: "A stream subscription skipped records after its retries or record age ran out",
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: streamFailures.nodes.queue.name },
  statistic: "Maximum",
  period: 300,
  evaluationPeriods: 1,
  comparisonOperator: "GreaterThanThreshold",
  threshold: 0,
});

/**
 * How far behind each stream subscriber reads, in seconds. Watchers and nudges are live (a
 * minute behind is already an outage to a user); the GitHub comment waits out rate limits
 * by design, so it gets five.
 */
const ITERATOR_AGE_SECONDS: Record<string, number> = { EventsGithub: 300 };

export const iteratorAge = Object.fromEntries(
  Object.keys(streamFunctions).map((name) => [
    name,
    alarm(`${name}IteratorAge`, {
      alarmDescription: `${name} is reading its stream more than ${ITERATOR_AGE_SECONDS[name] ?? 60} s behind`,
      namespace: "AWS/Lambda",
      metricName: "IteratorAge",
      dimensions: { FunctionName: streamFunctions[name]! },
      statistic: "Maximum",
      period: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: (ITERATOR_AGE_SECONDS[name] ?? 60) * 1_000,
    }),
  ]),
);

/** Any function error (a crash or timeout: handlers report item failures without erroring). */
export const errors = Object.fromEntries(
  Object.entries(functionNames).map(([name, functionName]) => [
    name,
    alarm(`${name}Errors`, {
      alarmDescription: `${name} failed (crashed or timed out)`,
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: functionName },
      statistic: "Sum",
      period: 300,
      evaluationPeriods: 1,
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
    }),
  ]),
);
