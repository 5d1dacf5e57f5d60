import { createServer } from "node:http";
import { FakeApi } from "./fake-api.ts";
const fake = new FakeApi();
fake.addTask({ taskId: FakeApi.id(Date.now(), 1), status: "RUNNING" });
console.log([...fake.tasks.keys()][0]);
createServer(async (req, res) => {
  const chunks: Buffer[] = []; for await (const c of req) chunks.push(c as Buffer);
  const r = await fake.fetch(`http://x${req.url}`, { method: req.method, headers: req.headers as Record<string,string>, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
  res.writeHead(r.status, { "content-type": "application/json" }); res.end(await r.text());
}).listen(38787);
