/** The product's name and version, recorded in every manifest (a test keeps it equal to package.json). */
export const TOOL = { name: 'backup-action', version: '0.1.0' } as const;
