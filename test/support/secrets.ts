/**
 * The suite-wide secret guard: every action or CLI run a test makes is checked here, so no test
 * can leak a secret unnoticed. A secret must never appear in what a run writes (stdout, stderr,
 * outputs, summary — the report output holds the manifest) nor in a notification body, and a run
 * that gets past its inputs, failed or not, registers each secret with the runner's mask.
 */

/** Inputs whose whole value is secret (webhook URLs carry their token in the path). */
const SECRET_INPUTS = [
  'encryption-passphrase',
  'age-identity',
  'gpg-passphrase',
  'slack-webhook-url',
  'webhook-url',
  'heartbeat-url',
  'github-token',
  'pushgateway-url',
];

/** Every secret the suite has handed to a run, for the checks of notification bodies. */
const seen = new Set<string>();

/**
 * The secret values among a run's inputs: whole values, the passwords in URLs, and the keys a
 * store URL names (`credentials=NAME`: NAME_SECRET_ACCESS_KEY and NAME_SESSION_TOKEN of `env`).
 */
export function secretsOf(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): string[] {
  const secrets = SECRET_INPUTS.map((name) => inputs[name] ?? '');
  for (const url of [inputs['database-url'], inputs['redis-url'], inputs['pushgateway-url']]) {
    const password = passwordOf(url);
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  const stores = `${inputs.storage ?? ''}\n${inputs['copy-to'] ?? ''}`;
  for (const [, name] of stores.matchAll(/[?&]credentials=([A-Z][A-Z0-9_]*)/g)) {
    secrets.push(env[`${name}_SECRET_ACCESS_KEY`] ?? '', env[`${name}_SESSION_TOKEN`] ?? '');
  }
  // An armored key is shown (and masked by the runner) a line at a time: each line is a secret.
  secrets.push(...keyLines(inputs['gpg-private-key']), ...keyLines(inputs['signing-key']));
  // Short values (a test's "x") would match by chance; real secrets are long.
  const found = secrets.map((s) => s.trim()).filter((s) => s.length >= 8);
  for (const secret of found) seen.add(secret);
  return found;
}

/** The lines of an armored private key that hold its material (not its BEGIN/END lines). */
function keyLines(armored: string | undefined): string[] {
  return (armored ?? '').split('\n').filter((line) => !line.startsWith('-----'));
}

function passwordOf(url: string | undefined): string {
  try {
    return url ? new URL(url).password : '';
  } catch {
    return '';
  }
}

/** Throws naming the secret's input-free position when `text` holds any of `secrets`. */
export function assertNoSecret(text: string, secrets: Iterable<string>, where: string): void {
  for (const secret of secrets) {
    const at = text.indexOf(secret);
    if (at >= 0) {
      throw new Error(
        `a secret leaked into ${where}: …${text.slice(Math.max(0, at - 40), at)}[secret]…`,
      );
    }
  }
}

/**
 * Checks a finished run: nothing leaked, and every secret registered with the runner's mask, which
 * the product does first, before it reads its inputs: a run refused for bad input, or given a
 * secret its mode does not read, masks it too. Only a run killed before it wrote anything may have
 * masked none.
 */
export function guardRun(
  secrets: string[],
  run: { code: number | null; stdout: string; stderr: string; written: string },
  action: boolean,
): void {
  const shown = [run.stdout, run.stderr, run.written]
    .join('\n')
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  assertNoSecret(shown, secrets, 'the output of a run');
  if (!action || (run.code === null && run.stdout === '')) return;
  const unmasked = secrets.filter(
    (secret) => !run.stdout.includes(`::add-mask::${workflowEscaped(secret)}`),
  );
  if (unmasked.length > 0) {
    throw new Error(
      `${unmasked.length} of ${secrets.length} secret input(s) not registered with the runner mask (exit ${run.code})`,
    );
  }
}

/** As a workflow command writes it: %, CR and LF escaped (the runner undoes it), so a URL-encoded password shows as %25. */
function workflowEscaped(secret: string): string {
  return secret.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Checks a notification body against every secret any run of this test file was given. */
export function assertNoSecretInBody(body: string): void {
  assertNoSecret(body, seen, 'a notification body');
}
