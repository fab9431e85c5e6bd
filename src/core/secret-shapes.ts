/**
 * What a private key looks like wherever it is pasted: an age identity (any case, as bech32 allows),
 * an age plugin identity, or an armored private key's header. A value that holds one is never
 * quoted, not even in part, and is masked whichever input it came in.
 */
const PRIVATE_KEY_TOKEN = /AGE-(?:SECRET-KEY|PLUGIN-[A-Z0-9]+)-1[0-9A-Z]+/gi;
const ARMORED_PRIVATE = /PRIVATE KEY/i;

/** Whether a text holds something shaped like a private key. */
export function holdsPrivateKey(text: string): boolean {
  return ARMORED_PRIVATE.test(text) || privateKeyTokens(text).length > 0;
}

/** The age identities in a text, whole, for masking. */
export function privateKeyTokens(text: string): string[] {
  return text.match(PRIVATE_KEY_TOKEN) ?? [];
}
