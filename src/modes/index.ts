/**
 * Every mode, registered once: how its settings are read from the inputs, and how it runs. The
 * registry is keyed by the mode's name, so a mode left out or registered twice does not compile.
 */
import type { CommonSettings, Mode, NotifySettings, Settings } from '../core/settings.js';
import { MODES } from '../core/settings.js';
import type { ModeResult, RunContext } from '../core/types.js';
import { InputError } from '../core/errors.js';
import { readBackup } from '../inputs/backup.js';
import { readName, readNotify } from '../inputs/common.js';
import { readCopy } from '../inputs/copy.js';
import { INPUT_DEFAULTS, type InputName } from '../inputs/names.js';
import { readNotifyMode } from '../inputs/notify.js';
import { Inputs, type InputSource } from '../inputs/reader.js';
import { readRestoreTest } from '../inputs/restore-test.js';
import { readRestore } from '../inputs/restore.js';
import { readPrune } from '../inputs/retention-prune.js';
import { readStatus } from '../inputs/status.js';
import { readVerify } from '../inputs/verify-latest.js';
import { backup } from './backup.js';
import { charted, recorded } from '../history/runs.js';
import { copy } from './copy.js';
import { notifyMode } from './notify.js';
import { restore } from './restore.js';
import { restoreTest } from './restore-test.js';
import { retentionPrune } from './retention-prune.js';
import { status } from './status.js';
import { verifyLatest } from './verify-latest.js';

/** Opens the store a mode works on: only modes that need one call it (notify does not). */
export type OpenContext = (location: Pick<CommonSettings, 'storage' | 's3'>) => Promise<RunContext>;

interface ModeDefinition<S extends Settings> {
  read(inputs: Inputs, cwd: string): S | Promise<S>;
  run(settings: S, open: OpenContext): ModeResult | Promise<ModeResult>;
  /** The input that picks which other inputs the mode reads, named with an unused one. */
  picks?: InputName;
}

type SettingsOf<M extends Mode> = Extract<Settings, { mode: M }>;

/** A mode that works on a store: its context (and so the store) is opened when it runs. */
function withStore<S extends SettingsOf<Exclude<Mode, 'notify' | 'status'>>>(
  read: ModeDefinition<S>['read'],
  run: (settings: S, ctx: RunContext) => Promise<ModeResult>,
): ModeDefinition<S> {
  return { read, run: async (settings, open) => run(settings, await open(settings)) };
}

const REGISTRY: { [M in Mode]: ModeDefinition<SettingsOf<M>> } = {
  backup: { ...withStore(readBackup, charted(backup)), picks: 'source' },
  'verify-latest': withStore(readVerify, recorded(verifyLatest)),
  'restore-test': withStore(readRestoreTest, recorded(restoreTest)),
  restore: withStore(readRestore, restore),
  'retention-prune': withStore(readPrune, retentionPrune),
  copy: withStore(readCopy, copy),
  notify: { read: readNotifyMode, run: notifyMode },
  status: { read: readStatus, run: status },
};

/**
 * Builds and validates the settings for the mode the inputs name. Nothing here touches the
 * network, the database or the store: a bad input is found before any work starts.
 */
export async function readSettings(
  source: InputSource,
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
  return (await readRun(source, cwd, env)).settings;
}

/**
 * The settings. An input given a value of its own that the mode never read is refused in one line
 * (a mistake, such as an input meant for another mode or source, is never dropped), unless
 * `shared` says its value came from an environment every service of a host shares
 * (BACKUP_ACTION_<INPUT>): those are named in `unused`, one warning line each.
 */
export async function readRun(
  source: InputSource,
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
  shared: (name: InputName) => boolean = () => false,
): Promise<{ settings: Settings; unused: string[] }> {
  const inputs = new Inputs(source, env);
  const mode = inputs.oneOf<Mode>('mode', MODES, 'backup');
  if (!COPYING.includes(mode) && inputs.text('copy-to') !== '') {
    throw new InputError(
      'copy-to',
      `is for backup and copy; ${mode} makes no copies (verify-latest, restore-test and restore read other stores listed in storage, one per line)`,
    );
  }
  const definition = REGISTRY[mode];
  const settings = await definition.read(inputs, cwd);
  if (settings.mode === 'restore-test') {
    settings.sharedKindInputs = settings.kindInputs.filter(shared);
  }
  const { picks } = definition;
  const picked = picks && `${picks} ${inputs.text(picks) || INPUT_DEFAULTS[picks]}`;
  const scope = `mode ${mode}${picked ? ` with ${picked}` : ''}`;
  const notUsed = (name: InputName) => {
    const why = inputs.reason(name);
    return `is not used by ${scope}${why ? ` (${why})` : ''}`;
  };
  const unread = inputs.unread();
  const refused = unread.find((name) => !shared(name));
  if (refused) throw new InputError(refused, `${notUsed(refused)}; remove it`);
  const unused = unread.map(
    (name) => `input "${name}" from the environment ${notUsed(name)}; ignored`,
  );
  return { settings, unused };
}

/**
 * Where a run refused for bad input still reports its failure: the notification inputs that can
 * be read and the set's name, each read alone (a mistyped notify-on, or one bad URL, must not
 * silence the only alarm of a run under cron).
 */
export function readRefusalNotice(
  source: InputSource,
  cwd = process.cwd(),
): { notify: NotifySettings; name?: string } {
  const inputs = new Inputs(source);
  const notify = readNotify(inputs, cwd, { readable: true });
  return { notify, name: attempt(() => readName(inputs, undefined)) };
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The modes that take copy-to. */
const COPYING: readonly Mode[] = ['backup', 'copy'];

export async function runMode(settings: Settings, open: OpenContext): Promise<ModeResult> {
  // TypeScript cannot pair a union member with its own entry; the registry's type guarantees it.
  const definition = REGISTRY[settings.mode] as ModeDefinition<Settings>;
  return definition.run(settings, open);
}
