/**
 * The relative links of the project's Markdown pages, read as GitHub renders them: markdown-it
 * finds the links (none inside code), github-slugger makes each heading's anchor as GitHub does.
 */
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const markdown = new MarkdownIt({ html: true });

export interface Page {
  /** The page's path from the repository's root, with `/`. */
  file: string;
  text: string;
}

export interface Link {
  /** The page the link is on, and its line. */
  from: string;
  line: number;
  href: string;
}

/** Folders that hold no page of ours: installed, built or generated. */
const NOT_PAGES = new Set(['node_modules', '.git', '.tmp', 'dist', 'executables', 'backups']);

/** Every Markdown page under `root`, by path from it. */
export function markdownPages(root = '.'): Page[] {
  const found: Page[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const file = path.posix.join(dir, entry.name);
      if (entry.isDirectory() && !NOT_PAGES.has(entry.name)) walk(file);
      else if (entry.isFile() && entry.name.endsWith('.md'))
        found.push({ file, text: readFileSync(path.join(root, file), 'utf8') });
    }
  };
  walk('');
  return found.sort((a, b) => a.file.localeCompare(b.file));
}

/** Inline tokens with their line: their block's first, plus the line breaks before them. */
function* inlineTokens(text: string): Generator<{ token: Token; line: number }> {
  for (const block of markdown.parse(text, {})) {
    let line = (block.map?.[0] ?? 0) + 1;
    for (const token of block.children ?? []) {
      if (token.type === 'softbreak' || token.type === 'hardbreak') line += 1;
      yield { token, line };
    }
  }
}

/** Every link and image target of a page, outside code. */
export function linksOf(page: Page): Link[] {
  const links: Link[] = [];
  for (const { token, line } of inlineTokens(page.text)) {
    const href = token.type === 'link_open' ? token.attrGet('href') : token.attrGet('src');
    if ((token.type === 'link_open' || token.type === 'image') && href)
      links.push({ from: page.file, line, href });
  }
  return links;
}

/** The anchors GitHub gives a page: one per heading (repeats numbered), and HTML ids and names. */
export function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const tokens = markdown.parse(text, {});
  tokens.forEach((token, i) => {
    if (token.type === 'heading_open') {
      const words = (tokens[i + 1]?.children ?? [])
        .filter((t) => t.type === 'text' || t.type === 'code_inline')
        .map((t) => t.content)
        .join('');
      anchors.add(slugger.slug(words));
    }
  });
  for (const [, id] of text.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

/** A link that leaves the repository: a scheme (`https:`, `mailto:`) or a host (`//`). */
const isExternal = (href: string) => /^([a-z][a-z0-9+.-]*:|\/\/)/i.test(href);

/** The page or folder a relative link names, from the root, and its anchor. */
export function targetOf(link: Link): { file: string; anchor?: string } {
  const [target = '', anchor] = link.href.split('#', 2);
  const file = target
    ? path.posix.normalize(path.posix.join(path.posix.dirname(link.from), decodeURI(target)))
    : link.from;
  return {
    file: file.replace(/\/$/, ''),
    anchor: anchor === undefined ? undefined : decodeURIComponent(anchor),
  };
}

/** The relative links of `pages` that lead nowhere, each with the reason. */
export function brokenLinks(
  pages: Page[],
  exists: (file: string) => boolean = (file) => existsSync(file),
): string[] {
  const anchors = new Map(pages.map((p) => [p.file, anchorsOf(p.text)]));
  return pages.flatMap(linksOf).flatMap((link) => {
    if (isExternal(link.href)) return [];
    const where = `${link.from}:${link.line} ${link.href}`;
    const { file, anchor } = targetOf(link);
    if (file.startsWith('..') || !exists(file)) return [`${where}: no such file`];
    if (anchor === undefined) return [];
    const known = anchors.get(file);
    if (!known) return [`${where}: an anchor into a file that is not a checked page`];
    return known.has(anchor) ? [] : [`${where}: no heading makes #${anchor}`];
  });
}

/** The pages reachable from `start` by relative links, `start` included. */
export function reachableFrom(start: string, pages: Page[]): Set<string> {
  const byFile = new Map(pages.map((p) => [p.file, p]));
  const seen = new Set([start]);
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const page = byFile.get(file);
    for (const link of page ? linksOf(page) : []) {
      const target = targetOf(link).file;
      if (!isExternal(link.href) && byFile.has(target) && !seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return seen;
}
