/** The oldest Node.js the bundles run on: node:zlib's zstd came in 22.15, and a backup would fail half-way without it. */
const NODE_NEEDED = [22, 15] as const;

/** The one line an edge fails with on an older Node, or undefined when `version` is new enough. */
export function nodeTooOld(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const old = major < NODE_NEEDED[0] || (major === NODE_NEEDED[0] && minor < NODE_NEEDED[1]);
  return old
    ? `backup-action needs Node.js ${NODE_NEEDED.join('.')} or later; this is ${version}`
    : undefined;
}
