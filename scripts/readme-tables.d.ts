export const INPUTS_PAGE: string;
export function inputsTable(action: unknown): string;
export function outputsTable(action: unknown): string;
export function withTables(page: string, action: unknown): string;
