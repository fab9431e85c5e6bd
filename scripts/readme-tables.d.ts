export function inputsTable(action: unknown): string;
export function outputsTable(action: unknown): string;
export function withTables(readme: string, action: unknown): string;
