/**
 * The token file `<dataDir>/tokens.csv`: created on first start with an admin token (group
 * `system:masters`) and a read-only token (group `flotilla:view`).
 *
 * @example
 *   const { admin, view, path } = ensureTokens("/var/lib/flotilla");
 */
import type { Logger } from "../../runtime/logger.ts";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseTokenFile, Group } from "./auth.ts";
import { readCheckedFile, writeFileAtomic } from "../../runtime/atomic-file.ts";

export const ADMIN_USER = "admin";
export const VIEW_USER = "viewer";

export function tokenFilePath(dataDir: string): string {
  return join(dataDir, "tokens.csv");
}

const newToken = () => randomBytes(24).toString("base64url");

/**
 * Creates the token file when absent (or set aside as corrupt: no token line in it) and returns
 * the admin and view tokens it holds.
 */
export function ensureTokens(dataDir: string, log?: Logger): { admin: string; view: string; path: string } {
  const path = tokenFilePath(dataDir);
  let users = readCheckedFile(path, (text) => {
    const u = parseTokenFile(text);
    return u.size > 0 ? u : undefined;
  }, log);
  if (!users) {
    mkdirSync(dataDir, { recursive: true });
    const lines = [
      `${newToken()},${ADMIN_USER},${ADMIN_USER},"${Group.admin}"`,
      `${newToken()},${VIEW_USER},${VIEW_USER},"${Group.view}"`,
    ];
    const text = lines.join("\n") + "\n";
    writeFileAtomic(path, text, { mode: 0o600 });
    users = parseTokenFile(text);
  }
  let admin = "";
  let view = "";
  for (const [token, u] of users) {
    if (!admin && u.groups.includes(Group.admin)) admin = token;
    if (!view && u.groups.includes(Group.view) && !u.groups.includes(Group.admin)) view = token;
  }
  return { admin, view, path };
}
