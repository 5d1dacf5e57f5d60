/* Links the functions use (written by hand: `sst dev` regenerates the root file in the cloud). */
import "sst";

declare module "sst" {
  export interface Resource {
    Tasks: { name: string; type: "sst.aws.Dynamo" };
    Events: { name: string; type: "sst.aws.Dynamo" };
    Nudges: { name: string; type: "sst.aws.Dynamo" };
    Connections: { name: string; type: "sst.aws.Dynamo" };
    TaskQueue: { url: string; type: "sst.aws.Queue" };
    TaskDlq: { url: string; type: "sst.aws.Queue" };
    WebhookQueue: { url: string; type: "sst.aws.Queue" };
    AgentRuntime: { value: string; type: "sst.sst.Secret" };
    GitHubToken: { value: string; type: "sst.sst.Secret" };
    GitHubWebhookSecret: { value: string; type: "sst.sst.Secret" };
    Realtime: { url: string; managementEndpoint: string; type: "sst.aws.ApiGatewayWebSocket" };
  }
}
