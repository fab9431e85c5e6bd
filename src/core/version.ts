/** The product's name and version, recorded in every manifest: package.json is their one source. */
import pkg from '../../package.json' with { type: 'json' };

export const TOOL = { name: pkg.name, version: pkg.version } as const;
