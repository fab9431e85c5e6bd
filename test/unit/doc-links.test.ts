/**
 * Every relative link and anchor of the project's pages (README.md, CONTRIBUTING.md, docs/*.md,
 * and every other Markdown page of the repository) leads to a file that exists and, with an
 * anchor, to a heading GitHub makes that anchor for; and every docs/ page can be reached from the
 * README. The reader itself is tested first on pages made for it.
 *
 * Covers: README.md, CONTRIBUTING.md, docs, test/support/doc-links.ts.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  anchorsOf,
  brokenLinks,
  linksOf,
  markdownPages,
  reachableFrom,
  type Page,
} from '../support/doc-links.js';

describe('the link reader', () => {
  const guide: Page = {
    file: 'docs/guide.md',
    text: [
      '# Guide',
      '## Directory backups: `source: files`',
      '## The right pg_dump for the server',
      '## Notes',
      '## Notes',
      '<a id="kept-anchor"></a>',
      'See [the README](../README.md#quick-start), [notes](#notes-1) and [a folder](../examples/).',
      '```md',
      '[not a link](nowhere.md)',
      '```',
      'Nor `[this](nowhere.md)`, and [a site](https://example.com/x.md) is not ours.',
    ].join('\n'),
  };
  const readme: Page = {
    file: 'README.md',
    text: '# Title\n\n## Quick start\n\n[guide](docs/guide.md)\n',
  };
  const files = new Set(['README.md', 'docs/guide.md', 'docs/bad.md', 'examples']);
  const exists = (file: string) => files.has(file);

  it('makes the anchors GitHub makes: code spans as text, punctuation dropped, repeats numbered, HTML ids', () => {
    expect([...anchorsOf(guide.text)]).toEqual([
      'guide',
      'directory-backups-source-files',
      'the-right-pg_dump-for-the-server',
      'notes',
      'notes-1',
      'kept-anchor',
    ]);
  });

  it('finds links in text, with their line, and none in code', () => {
    expect(linksOf(guide).map((l) => `${l.line} ${l.href}`)).toEqual([
      '7 ../README.md#quick-start',
      '7 #notes-1',
      '7 ../examples/',
      '11 https://example.com/x.md',
    ]);
  });

  it('passes links to pages, anchors and folders that exist', () => {
    expect(brokenLinks([guide, readme], exists)).toEqual([]);
  });

  it('reports a missing file, a missing anchor here or there, and a link out of the repository', () => {
    const bad: Page = {
      file: 'docs/bad.md',
      text: '[a](gone.md) [b](#nowhere) [c](../README.md#gone) [d](../../etc/passwd) [e](guide.md#notes-2)',
    };
    expect(brokenLinks([guide, readme, bad], exists)).toEqual([
      'docs/bad.md:1 gone.md: no such file',
      'docs/bad.md:1 #nowhere: no heading makes #nowhere',
      'docs/bad.md:1 ../README.md#gone: no heading makes #gone',
      'docs/bad.md:1 ../../etc/passwd: no such file',
      'docs/bad.md:1 guide.md#notes-2: no heading makes #notes-2',
    ]);
  });

  it('follows links from the README to the pages they reach', () => {
    const orphan: Page = { file: 'docs/orphan.md', text: '# Orphan\n' };
    expect([...reachableFrom('README.md', [readme, guide, orphan])].sort()).toEqual([
      'README.md',
      'docs/guide.md',
    ]);
  });
});

describe("the project's pages", () => {
  const pages = markdownPages();
  const files = pages.map((p) => p.file);
  const docs = readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);

  it('are found: the README, CONTRIBUTING.md and every docs/ page, with links to check', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CONTRIBUTING.md', ...docs]));
    expect(docs.length).toBeGreaterThanOrEqual(10);
    const relative = (file: string) =>
      linksOf(pages.find((p) => p.file === file)!).filter((l) => !/^[a-z]+:/i.test(l.href));
    expect(relative('README.md').length).toBeGreaterThanOrEqual(20);
    expect(relative('CONTRIBUTING.md').length).toBeGreaterThan(0);
    expect(docs.flatMap(relative).length).toBeGreaterThanOrEqual(50);
  });

  it('link only to files and headings that exist', () => {
    expect(brokenLinks(pages)).toEqual([]);
  });

  it('can each be reached from the README', () => {
    const reached = reachableFrom('README.md', pages);
    expect(['CONTRIBUTING.md', ...docs].filter((file) => !reached.has(file))).toEqual([]);
  });
});
