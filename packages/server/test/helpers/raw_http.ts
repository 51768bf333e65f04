// HTTP/1.1 written by hand over a TCP socket: request targets that fetch() would normalise
// (absolute form, percent-encoded paths), and clients that stop reading.
import net from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The text of one request: `target` is sent exactly as given. */
export function rawRequest(
  method: string,
  target: string,
  options: { host?: string; headers?: Record<string, string>; body?: string } = {},
): string {
  const body = options.body ?? "";
  const headers: Record<string, string> = {
    host: options.host ?? "127.0.0.1",
    connection: "close",
    ...(body ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}),
    ...options.headers,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return `${method} ${target} HTTP/1.1\r\n${head}\r\n${body}`;
}

/** Sends one raw request to `url` (http://host:port) and reads the whole response. */
export function sendRaw(url: string, request: string, timeoutMs = 10_000): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks).toString("utf8")));
    });
    socket.write(request);
  });
}

function parseResponse(text: string): RawResponse {
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const status = Number(statusLine?.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(split + 4) };
}

/**
 * Opens a connection, sends `request`, and then never reads: once the kernel's buffers are full
 * (a few MB on loopback), the server's writes back up as they do behind a stalled client.
 */
export function connectWithoutReading(url: string, request: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: Number(port), host: hostname }, () => {
      socket.pause();
      socket.write(request);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}
