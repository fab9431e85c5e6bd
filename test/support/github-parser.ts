/**
 * GitHub's own workflow parser and expression evaluator (@actions/workflow-parser and
 * @actions/expressions, the language service's), loaded for the tests. Their ESM imports JSON
 * schemas without import attributes, which Node refuses: a load hook gives those imports the
 * `json` attribute they lack, and nothing else.
 */
import { registerHooks } from 'node:module';
import { readFile } from 'node:fs/promises';
import type { FileReference } from '@actions/workflow-parser/workflows/file-reference';
import type { WorkflowTemplate } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';

registerHooks({
  load(url, context, nextLoad) {
    if (url.endsWith('.json') && url.includes('/node_modules/@actions/')) {
      return nextLoad(url, { ...context, importAttributes: { type: 'json' } });
    }
    return nextLoad(url, context);
  },
});

const parser = await import('@actions/workflow-parser');
const { fileIdentifier } = await import('@actions/workflow-parser/workflows/file-reference');
const { Lexer, Parser, Evaluator, data } = await import('@actions/expressions');

export { parser };

/** Where `uses: <file>` of a job finds that file's text, or undefined when it knows none. */
export type WorkflowFiles = (ref: FileReference) => Promise<string | undefined>;

/** This repository's own workflow files, for `./`, `$/` and `<owner>/backup-action/...@ref`. */
export const ownFiles: WorkflowFiles = async (ref) =>
  'repository' in ref && ref.repository !== 'backup-action'
    ? undefined
    : readFile(ref.path, 'utf8').catch(() => undefined);

export interface ParsedWorkflow {
  label: string;
  text: string;
  /** The parser's and converter's errors, as GitHub shows them ("Invalid workflow file"). */
  errors: string[];
  template: WorkflowTemplate;
  /** The parsed document, for keys the template leaves out (`permissions`). */
  root: TemplateToken | undefined;
}

/**
 * Parses a workflow as GitHub does, and converts it with the workflows its jobs call (one level,
 * as GitHub's language service does), so that a call's inputs and secrets are checked too.
 */
export async function parseWorkflowText(
  label: string,
  text: string,
  files: WorkflowFiles = ownFiles,
): Promise<ParsedWorkflow> {
  const result = parser.parseWorkflow(
    { name: label, content: text },
    new parser.NoOperationTraceWriter(),
  );
  const provider = {
    getFileContent: async (ref: FileReference) => {
      const content = await files(ref);
      if (content === undefined) throw new Error(`no workflow ${fileIdentifier(ref)}`);
      return { name: ref.path, content };
    },
  };
  const template = result.value
    ? await parser.convertWorkflowTemplate(result.context, result.value, provider, {
        fetchReusableWorkflowDepth: 1,
      })
    : ({ jobs: [], errors: [] } as unknown as WorkflowTemplate);
  const errors = [
    ...result.context.errors.getErrors().map((e) => e.message),
    ...(template.errors ?? []).map((e) => e.Message),
  ];
  return { label, text, errors: [...new Set(errors)], template, root: result.value };
}

/** The value of `key` in a mapping token, or undefined. */
export function mappingValue(token: TemplateToken | undefined, key: string) {
  if (!token || !parser.isMapping(token)) return undefined;
  for (const pair of token)
    if (parser.isString(pair.key) && pair.key.value === key) return pair.value;
  return undefined;
}

/** A context value: what GitHub's expressions read (`inputs`, `secrets`, `needs`, ...). */
export type Contexts = Record<string, unknown>;
/** The job and step status functions (`success()`, `always()`, ...), which GitHub supplies. */
export type StatusFunctions = Partial<
  Record<'success' | 'failure' | 'cancelled' | 'always', boolean>
>;

/** One expression, as GitHub's evaluator evaluates it; the result as plain JSON. */
export function evaluateExpression(
  expression: string,
  contexts: Contexts,
  status: StatusFunctions = {},
): unknown {
  const functions = new Map<string, FunctionDefinition>(
    Object.entries(status).map(([name, value]) => [
      name,
      { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(Boolean(value)) },
    ]),
  );
  const lexed = new Lexer(expression).lex();
  const tree = new Parser(lexed.tokens, Object.keys(contexts), [...functions.values()]).parse();
  const context = JSON.parse(JSON.stringify(contexts), data.reviver) as InstanceType<
    typeof data.Dictionary
  >;
  const result = new Evaluator(tree, context, functions).evaluate();
  return JSON.parse(JSON.stringify(result, data.replacer) ?? 'null') as unknown;
}

/** A template token (a literal, an expression, or a mapping or sequence of them), evaluated. */
export function evaluateToken(
  token: TemplateToken | undefined,
  contexts: Contexts,
  status: StatusFunctions = {},
): unknown {
  if (token === undefined) return undefined;
  if (parser.isBasicExpression(token))
    return evaluateExpression(token.expression, contexts, status);
  if (parser.isMapping(token)) {
    const out: Record<string, unknown> = {};
    for (const pair of token)
      out[String(evaluateToken(pair.key, contexts, status))] = evaluateToken(
        pair.value,
        contexts,
        status,
      );
    return out;
  }
  if (parser.isSequence(token))
    return [...token].map((item) => evaluateToken(item, contexts, status));
  if (parser.isLiteral(token)) return (token as unknown as { value: unknown }).value ?? null;
  throw new Error(`cannot evaluate a ${token.constructor.name}`);
}

/** A value as the runner hands it to an action input or an environment variable. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
