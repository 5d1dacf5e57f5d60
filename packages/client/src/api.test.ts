import { describe, expect, it } from "vitest";
import { createApi, type Fetch } from "./api.ts";

/** A fetch that records each request and answers with `body`. */
function recorder(body: unknown, status = 200) {
  const requests: Request[] = [];
  const fetch: Fetch = async (input, init) => {
    requests.push(new Request(input, init));
    return Response.json(body, { status });
  };
  return { fetch, requests };
}

const nudge = { nudgeId: "n1", taskId: "t1", message: "hi", mode: "queue", status: "pending" };

describe("createApi", () => {
  it("sends the connection's extra headers beside the token", async () => {
    const { fetch, requests } = recorder({ task: { taskId: "t1" } });
    const api = createApi(
      { apiUrl: "http://api.test", token: "tok", headers: { "x-conveyor-source": "cli" } },
      fetch,
    );

    await api.task("t1");

    expect(requests[0]?.headers.get("authorization")).toBe("Bearer tok");
    expect(requests[0]?.headers.get("x-conveyor-source")).toBe("cli");
  });

  it("queues a nudge unless told to interrupt", async () => {
    const { fetch, requests } = recorder({ nudge }, 202);
    const api = createApi({ apiUrl: "http://api.test", token: "tok" }, fetch);

    await api.nudge("t1", "hi");
    await api.nudge("t1", "stop", undefined, "interrupt");

    const bodies = await Promise.all(requests.map((request) => request.json()));
    expect(bodies).toEqual([
      { message: "hi", mode: "queue" },
      { message: "stop", mode: "interrupt" },
    ]);
  });

  it("lists approvals across tasks with only the filters given", async () => {
    const page = { approvals: [], nextCursor: "c2" };
    const { fetch, requests } = recorder(page);
    const api = createApi({ apiUrl: "http://api.test", token: "tok" }, fetch);

    const first = await api.allApprovals({ status: "pending" });
    await api.allApprovals({ cursor: "c2" });

    expect(first).toEqual(page);
    const urls = requests.map((request) => new URL(request.url));
    expect(urls.map((url) => url.pathname)).toEqual(["/v1/approvals", "/v1/approvals"]);
    expect(urls.map((url) => url.search)).toEqual(["?status=pending", "?cursor=c2"]);
  });
});
