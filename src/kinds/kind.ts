/**
 * What a source kind provides: one folder under src/kinds/, registered once in kinds/index.ts.
 * A kind says what a backup of its source holds (its parts and its manifest's fields), how each
 * mode treats them, and the rows it adds to each mode's report; the modes do the rest alike for
 * every kind (src/kinds/report.ts builds their reports).
 */
import type { AnyManifest } from '../core/manifest.js';
import type {
  AnyCheck,
  BackupSettings,
  KindTestInput,
  RestoreInto,
  RestoreSettings,
  RestoreTestSettings,
  VerifyLimits,
  VerifySettings,
} from '../core/settings.js';
import type { Logger, RunContext, Table } from '../core/types.js';
import type { KindFields } from '../pipeline/publish.js';
import type { ObjectPart, StoredParts } from '../pipeline/store-all.js';
import type { Phases } from '../restore/phases.js';

/** A label and its value, as a summary's facts show them. */
export type Fact = [string, string];

/** A form of the `checks` input: `count` (`x >= N`), `sql`, `exists` (a Redis key). */
export type CheckForm = AnyCheck['kind'];

/** The restore settings of a kind that restores into `I`. */
export type RestoreSettingsInto<I extends RestoreInto> = Extract<RestoreSettings, { into: I }>;

/** The restore-test settings of a kind whose checks take the forms `F`. */
export type RestoreTestSettingsOf<F extends CheckForm> = Omit<RestoreTestSettings, 'checks'> & {
  checks: Extract<AnyCheck, { kind: F }>[];
};

/**
 * `I` is what `restore` restores the kind into (the input that names the target), `F` the forms
 * of `checks` its restore-test runs: the modes refuse any other target or check in one line,
 * before the kind is asked anything, so a kind sees only its own.
 */
export interface SourceKind<
  M extends AnyManifest,
  S extends BackupSettings,
  I extends RestoreInto = RestoreInto,
  F extends CheckForm = CheckForm,
> {
  /** What a backup holds, in a few words: `database shop`, `2 database(s) and the globals`. */
  holds(manifest: M): string;
  /** What `restore` puts the backup into. */
  restoreInto: I;
  /** The forms of `checks` restore-test runs, and the line that refuses any other. */
  checks: { forms: readonly F[]; refusal(check: AnyCheck): string };
  /** The inputs restore-test uses, of those only some kinds use: any other given is refused. */
  testInputs: readonly KindTestInput[];
  backup: {
    /** Asks the source what it must before anything is stored: a mistake here stores nothing. */
    plan(settings: S, ctx: RunContext, id: string): Promise<BackupPlan<M>>;
    rows(manifest: M): BackupRows;
  };
  verify: {
    /** Rules beyond age and size, against the previous complete backup when it is of this kind. */
    rules(manifest: M, previous: M | undefined, limits: VerifyLimits, log: Logger): string[];
    /** Reads every part as stored; the programs it needs are found before any download. */
    deep(manifest: M, settings: VerifySettings, ctx: RunContext): Promise<DeepCheck>;
    /** `deep` says whether a deep check was asked for; `found`, what it found once it ran. */
    rows(manifest: M, deep: boolean, found: DeepCheck | undefined): KindRows;
  };
  /** Checks the inputs and the scratch server against the backup; the run then does the test. */
  restoreTest(
    manifest: M,
    settings: RestoreTestSettingsOf<F>,
    ctx: RunContext,
    phases: Phases,
  ): Promise<KindRun>;
  /** Checks the inputs and the target against the backup; the run then restores it. */
  restore(
    manifest: M,
    settings: RestoreSettingsInto<I>,
    ctx: RunContext,
    phases: Phases,
  ): Promise<KindRun>;
}

/**
 * `P` is the kind's own list of parts (a tuple of one for a backup of one object), which its
 * `fields` receives back as stored, one to one; the registry sees any list.
 */
export interface BackupPlan<
  M extends AnyManifest,
  P extends readonly ObjectPart[] = readonly ObjectPart[],
> {
  /** What is backed up, for the log: `database shop`, `files`, `3 database(s) of … and the globals`. */
  what: string;
  /** The objects, in the order the manifest lists them. */
  parts: P;
  /** Objects stored at once. */
  jobs: number;
  /** The kind's fields of the manifest, from the parts as stored. */
  fields(stored: StoredParts<P>): KindFields<M>;
}

/** Facts and tables a kind adds to a report, and what the report output keeps of them. */
export interface KindRows {
  facts: Fact[];
  tables: Table[];
}

export interface BackupRows extends KindRows {
  /** The `backup-key` output: the object's key, or the folder of a backup of several objects. */
  key: string;
  /**
   * The `sha256` output: the object's. A backup of several objects has no one checksum and sets
   * no such output (each object's is in its manifest).
   */
  sha256?: string;
  /** Where the bytes went, shown after the backup's id; `facts` come last. */
  where: Fact[];
}

export interface DeepCheck {
  /** One line per damaged part, naming it and the cause: any fails the run. */
  damaged: string[];
  /** By object key: what was checked of it, or DAMAGED. */
  checked: ReadonlyMap<string, string>;
  /** Once every part passed: the checksums and what the archives hold. */
  facts: Fact[];
  /** What the check found, as the `report` output keeps it. */
  contents: unknown;
}

/**
 * A restore or restore-test, once its inputs and its target are checked: the work, and what it
 * learned so far, which the report shows pass or fail.
 */
export interface KindRun {
  /** Does the work; throws at the first failure that stops it, leaving what it learned. */
  run(): Promise<void>;
  /** What fails the run although the work finished: tables that differ, checks that failed. */
  problems(): string[];
  rows(): RestoreRows;
}

export interface RestoreRows extends KindRows {
  /** What became of the backup, for the headline: `restored`, `extracted into /srv/site`. */
  done: string;
  /** What it held, for the headline: `2 tables, 32 rows match the manifest`. */
  summary: string;
  /** Outputs beyond backup-id and restore-seconds (restored-tables). */
  outputs: Record<string, string | number>;
  details: Record<string, unknown>;
}
