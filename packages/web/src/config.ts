/** Where the API and the WebSocket API are: baked in at build (infra), or told by the server (local stack). */
export interface Endpoints {
  apiUrl: string;
  wsUrl: string;
}

export async function loadEndpoints(): Promise<Endpoints> {
  const apiUrl = import.meta.env.VITE_API_URL as string | undefined;
  const wsUrl = import.meta.env.VITE_WS_URL as string | undefined;
  if (apiUrl && wsUrl) return { apiUrl, wsUrl };
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok)
    throw new Error(`The page has no API address (GET /config.json answered ${response.status})`);
  const config = (await response.json()) as Partial<Endpoints>;
  if (!config.apiUrl || !config.wsUrl)
    throw new Error("The page has no API address (config.json is incomplete)");
  return { apiUrl: config.apiUrl, wsUrl: config.wsUrl };
}
