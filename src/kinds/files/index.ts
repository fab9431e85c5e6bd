/**
 * A directory tree (`source: files`): one POSIX tar of `paths`, with the count, bytes and list
 * digest of its entries, which every read of it is checked against.
 */
import { formatCount } from '../../core/format.js';
import { objectExtension, objectKey } from '../../core/layout.js';
import type { FilesManifest } from '../../core/manifest.js';
import { encryptionOf, type FilesBackupSettings } from '../../core/settings.js';
import type { RunContext } from '../../core/types.js';
import { filesMismatch } from '../../files/digest.js';
import { packTree, walkFiles } from '../../files/tar-source.js';
import type { ObjectPart } from '../../pipeline/store-all.js';
import { readTarArchive } from '../../verify/archive-check.js';
import type { BackupPlan, SourceKind } from '../kind.js';
import { checkObject, objectRows } from '../one-object.js';
import { restoreFiles, testFiles } from './restore.js';

export const filesKind: SourceKind<FilesManifest, FilesBackupSettings, 'path', never> = {
  holds: (manifest) =>
    manifest.files ? `files: ${formatCount(manifest.files.count)} entries` : 'files',
  restoreInto: 'path',
  testInputs: [],
  checks: { forms: [], refusal: () => 'run in a restored database; this backup is of files' },
  backup: { plan: planBackup, rows: (manifest) => objectRows(manifest.object) },
  verify: {
    rules: () => [],
    deep: (manifest, settings, ctx) =>
      checkObject(manifest, settings, ctx, async (archive) => {
        const contents = await readTarArchive(archive);
        const mismatch =
          manifest.files && contents.files && filesMismatch(manifest.files, contents.files);
        if (mismatch) throw new Error(mismatch);
        return contents;
      }),
    rows: () => ({ facts: [], tables: [] }),
  },
  restoreTest: async (manifest, settings, ctx, phases) =>
    testFiles(ctx, manifest, settings.decryption, phases),
  restore: (manifest, settings, ctx, phases) =>
    restoreFiles(ctx, manifest, settings.decryption, phases, settings),
};

async function planBackup(
  settings: FilesBackupSettings,
  ctx: RunContext,
  id: string,
): Promise<BackupPlan<FilesManifest, [ObjectPart]>> {
  // A store folder inside `paths` is left out, or each backup would hold all the earlier ones.
  const store = settings.storage.kind === 'directory' ? settings.storage.path : undefined;
  const options = { ...settings.files, store, log: ctx.log };
  const tree = await walkFiles(options);
  const layers = objectExtension(
    'tar',
    settings.compression,
    encryptionOf(settings.encryptionKeys),
  );
  return {
    what: 'files',
    parts: [
      { key: objectKey(settings.name, id, layers), open: async () => packTree(tree, options) },
    ],
    jobs: 1,
    fields: ([tar]) => ({
      source: { kind: 'files' },
      format: 'tar',
      object: tar.object,
      ...tar.facts,
    }),
  };
}
