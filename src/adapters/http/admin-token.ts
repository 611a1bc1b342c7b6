import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * Whether a request carries the admin token, as `Authorization: Bearer <token>` or as Basic auth's
 * password (so a browser's login prompt works). Compared in constant time.
 */
export function hasAdminToken(request: IncomingMessage, token: string): boolean {
  const header = request.headers.authorization ?? "";
  let offered = "";
  if (header.startsWith("Bearer ")) offered = header.slice(7);
  else if (header.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    offered = decoded.slice(decoded.indexOf(":") + 1);
  }
  const expected = Buffer.from(token);
  const given = Buffer.from(offered);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The 401 that makes a browser ask for the token (any user name, the token as password). */
export function requireAdminToken(response: ServerResponse): void {
  response
    .writeHead(401, { "www-authenticate": 'Basic realm="teammate admin"', "content-type": "text/plain" })
    .end("admin token required");
}
