// Types for sea.js, which stays plain JavaScript so `node scripts/sea.js` runs it unbuilt.
export const SEA_FUSE: string;
export const SEA_RESOURCE: string;

export type Arch = 'x64' | 'arm64';

export interface BuiltExecutable {
  arch: Arch;
  /** backup-action-linux-<arch>, beside its .sha256 file. */
  file: string;
  sha256: string;
}

/** The `node` devDependency's version; throws unless its major is the one action.yml runs. */
export function nodeVersion(): string;

export function buildExecutables(options?: {
  outDir?: string;
  arches?: Arch[];
}): Promise<BuiltExecutable[]>;
