/**
 * The secrets in what was given, whatever the mode reads: masked before the inputs are read, so
 * that an input the mode leaves alone, or a run refused for bad input, shows none of them either.
 */
import { privateKeyTokens } from '../core/secret-shapes.js';
import { passwordForms } from './database.js';
import { INPUT_NAMES } from './names.js';
import type { InputSource } from './reader.js';

/** Inputs whose whole value is a secret, named as action.yml names them now or may later. */
const SECRET_NAME =
  /passphrase|identity|private-key|signing-key|password|secret|token|webhook|heartbeat|pushgateway/;

export function givenSecrets(source: InputSource): string[] {
  return INPUT_NAMES.flatMap((name) => {
    const lines = source(name)
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    // A private key pasted into an input meant for something else (a recipient) is a secret too.
    const found = [...lines.flatMap(urlPassword), ...lines.flatMap(privateKeyTokens)];
    return SECRET_NAME.test(name) ? [...lines, ...found] : found;
  });
}

/** The password a URL carries, in every form a log could show it. */
function urlPassword(line: string): string[] {
  let url: URL;
  try {
    url = new URL(line);
  } catch {
    return [];
  }
  if (url.password === '') return [];
  let password = url.password;
  try {
    password = decodeURIComponent(url.password);
  } catch {
    // A password that is not valid percent-encoding is masked as written.
  }
  return passwordForms(line, url, password);
}
