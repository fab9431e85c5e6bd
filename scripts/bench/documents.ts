// The --levels bench's JSON and text heavy database. Filler repeated row after row compresses far
// better than anything users store, and would flatter every compressor alike; so the text here is
// words drawn from a 50,000-word vocabulary with Zipf frequencies (frequent words short, as in a
// real language), and the documents vary in shape, with numbers, timestamps and ids. A seeded
// generator makes the same database on every run, so runs compare.

/** A small, fast, seeded generator of uniform numbers in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = (
  'e the an of to in is it on ar ka lo ren ti sto mar vel den qua rin pol ser ta gin bro cle dur ' +
  'fan ho jek lim nor pu sal tru vo wex yel zan mi sha gre bal tok ve ul dra'
).split(' ');
export const VOCABULARY = 50_000;

/** The word of a rank (0 the most frequent): the first ranks one syllable, then two, then three. */
export function wordOf(rank: number): string {
  let word = '';
  // Bijective numbering in base SYLLABLES.length, so that no two ranks make the same word.
  for (let r = rank; r >= 0; r = Math.floor(r / SYLLABLES.length) - 1)
    word += SYLLABLES[r % SYLLABLES.length];
  return word;
}

/** How often the next word is one that often follows the last, or one of the text's subject. */
const FOLLOWER = 0.6;
const TOPICAL = 0.15;

/** Words and the sentences, ids and values documents are made of, from one seeded generator. */
export class Writer {
  readonly #words = Array.from({ length: VOCABULARY }, (_, rank) => wordOf(rank));
  readonly #logVocabulary = Math.log(VOCABULARY);
  readonly #followers = new Map<number, number[]>();
  /** The words of the text being written's subject, which it repeats. */
  #topic: number[] = [];
  readonly random: () => number;
  constructor(random: () => number) {
    this.random = random;
  }

  /** A rank with Zipf's frequencies (exponent 1): rank r is drawn about as often as 1/r. */
  #zipf(random = this.random): number {
    return Math.floor(Math.exp(random() * this.#logVocabulary)) - 1;
  }

  word(): string {
    return this.#words[this.#zipf()] ?? 'e';
  }

  /** The words that follow a word in a language's set phrases: the same four on every call. */
  #followersOf(rank: number): number[] {
    let found = this.#followers.get(rank);
    if (!found) {
      const own = seeded(rank * 2654435761);
      found = Array.from({ length: 4 }, () => this.#zipf(own));
      this.#followers.set(rank, found);
    }
    return found;
  }

  /** The next word's rank: a set phrase's next word, the subject's, or any word. */
  #next(previous: number | undefined): number {
    const draw = this.random();
    if (previous !== undefined && draw < FOLLOWER) return this.pick(this.#followersOf(previous));
    if (this.#topic.length && draw < FOLLOWER + TOPICAL) return this.pick(this.#topic);
    return this.#zipf();
  }

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  sentence(): string {
    const ranks: number[] = [];
    for (let n = 4 + this.int(18); ranks.length < n;) ranks.push(this.#next(ranks.at(-1)));
    const words = ranks.map((rank) => this.#words[rank] ?? 'e');
    const first = words[0] ?? '';
    words[0] = first.charAt(0).toUpperCase() + first.slice(1);
    for (let i = 2; i < words.length - 1; i++) if (this.random() < 0.06) words[i] += ',';
    if (this.random() < 0.08)
      words.splice(1 + this.int(words.length - 1), 0, String(this.int(2100)));
    return `${words.join(' ')}${this.pick(['.', '.', '.', '.', '?', '!'])}`;
  }

  /** Text of about `sentences` sentences, some split in paragraphs. */
  text(sentences: number): string {
    this.#topic = Array.from({ length: 12 }, () => 50 + this.#zipf());
    const out: string[] = [];
    for (let i = 0; i < sentences; i++)
      out.push(this.sentence(), this.random() < 0.15 ? '\n\n' : ' ');
    this.#topic = [];
    return out.join('').trim();
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }

  /** An instant in the three years before `now`, in ISO 8601 with milliseconds. */
  time(now: number): string {
    return new Date(now - this.int(3 * 365 * 86_400_000)).toISOString();
  }

  /** A number with the precision such a field has: whole, cents, or a measurement. */
  amount(): number {
    const digits = this.pick([0, 2, 2, 3, 6]);
    return Number((this.random() * 10 ** this.int(5)).toFixed(digits));
  }
}

type Doc = Record<string, unknown>;
const STATUSES = ['open', 'pending', 'closed', 'resolved', 'escalated', 'paid', 'shipped'];

/** One document of one of several shapes, each with the fields its kind of record has. */
function documentOf(w: Writer, id: number, now: number): { kind: string; doc: Doc; body: string } {
  const author = {
    id: w.int(90_000),
    name: `${w.word()} ${w.word()}`,
    handle: w.word() + w.int(999),
  };
  const base = { id: w.uuid(), created: w.time(now), author };
  switch (w.int(4)) {
    case 0:
      return {
        kind: 'article',
        doc: {
          ...base,
          title: w.sentence(),
          tags: Array.from({ length: w.int(6) }, () => w.word()),
          views: w.int(250_000),
          score: w.amount(),
        },
        body: w.text(8 + w.int(60)),
      };
    case 1:
      return {
        kind: 'ticket',
        doc: {
          ...base,
          subject: w.sentence(),
          status: w.pick(STATUSES),
          priority: 1 + w.int(5),
          comments: Array.from({ length: w.int(5) }, () => ({
            at: w.time(now),
            by: w.int(90_000),
            text: w.text(1 + w.int(4)),
          })),
        },
        body: w.text(2 + w.int(12)),
      };
    case 2:
      return {
        kind: 'order',
        doc: {
          ...base,
          number: id,
          status: w.pick(STATUSES),
          currency: w.pick(['EUR', 'USD', 'GBP', 'JPY']),
          lines: Array.from({ length: 1 + w.int(8) }, () => ({
            sku: `${w.word().toUpperCase()}-${w.int(99_999)}`,
            qty: 1 + w.int(12),
            price: w.amount(),
          })),
          shipping: {
            street: `${w.int(400)} ${w.word()} ${w.pick(['Street', 'Road', 'Lane'])}`,
            zip: String(10_000 + w.int(89_999)),
            city: w.word(),
          },
        },
        body: w.random() < 0.3 ? w.text(1 + w.int(3)) : '',
      };
    default:
      return {
        kind: 'event',
        doc: {
          ...base,
          session: w.uuid(),
          ms: w.amount(),
          ip: `${w.int(256)}.${w.int(256)}.${w.int(256)}.${w.int(256)}`,
          path: `/${w.word()}/${w.word()}/${w.int(100_000)}`,
          agent: `${w.word()}/${w.int(40)}.${w.int(10)}`,
          values: Array.from({ length: w.int(10) }, () => w.amount()),
        },
        body: w.sentence(),
      };
  }
}

export const DOCUMENTS_SCHEMA =
  'CREATE TABLE docs (id bigint PRIMARY KEY, kind text NOT NULL, created timestamptz NOT NULL, doc jsonb NOT NULL, body text NOT NULL)';

/** COPY's text format: a backslash, a tab and a line end in a value are escaped. */
const copyValue = (value: string) =>
  value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');

/** Rows `from` to `to` of docs as COPY text lines, generated from `w`, in chunks of about 1 MB. */
export function* documentRows(w: Writer, from: number, to: number, now: number): Generator<string> {
  let chunk = '';
  for (let id = from; id <= to; id++) {
    const { kind, doc, body } = documentOf(w, id, now);
    const created = String(doc.created);
    chunk += `${id}\t${kind}\t${created}\t${copyValue(JSON.stringify(doc))}\t${copyValue(body)}\n`;
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
