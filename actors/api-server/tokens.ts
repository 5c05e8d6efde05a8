/**
 * The token file `<dataDir>/tokens.csv`: created on first start with an admin token (group
 * `system:masters`) and a read-only token (group `flotilla:view`).
 *
 * @example
 *   const { admin, view, path } = ensureTokens("/var/lib/flotilla");
 */
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseTokenFile, Group } from "./auth.ts";

export const ADMIN_USER = "admin";
export const VIEW_USER = "viewer";

export function tokenFilePath(dataDir: string): string {
  return join(dataDir, "tokens.csv");
}

const newToken = () => randomBytes(24).toString("base64url");

/** Creates the token file when absent and returns the admin and view tokens it holds. */
export function ensureTokens(dataDir: string): { admin: string; view: string; path: string } {
  const path = tokenFilePath(dataDir);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    const lines = [
      `${newToken()},${ADMIN_USER},${ADMIN_USER},"${Group.admin}"`,
      `${newToken()},${VIEW_USER},${VIEW_USER},"${Group.view}"`,
    ];
    writeFileSync(path, lines.join("\n") + "\n", { mode: 0o600 });
  }
  const users = parseTokenFile(readFileSync(path, "utf8"));
  let admin = "";
  let view = "";
  for (const [token, u] of users) {
    if (!admin && u.groups.includes(Group.admin)) admin = token;
    if (!view && u.groups.includes(Group.view) && !u.groups.includes(Group.admin)) view = token;
  }
  return { admin, view, path };
}
