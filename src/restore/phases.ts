/** Phase timing for restores, on the run's injectable clock. */
import { formatSeconds } from '../core/format.js';
import type { Table } from '../core/types.js';

export class Phases {
  private readonly done: [string, number][] = [];
  private readonly started: number;

  constructor(private readonly now: () => Date) {
    this.started = now().getTime();
  }

  /** Runs `work` as the named phase and records how long it took, even when it fails. */
  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const start = this.now().getTime();
    try {
      return await work();
    } finally {
      this.done.push([name, (this.now().getTime() - start) / 1000]);
    }
  }

  totalSeconds(): number {
    return (this.now().getTime() - this.started) / 1000;
  }

  /** Seconds per phase, for the report. */
  record(): Record<string, number> {
    return Object.fromEntries(this.done);
  }

  table(): Table {
    return {
      title: 'Recovery time',
      header: ['phase', 'duration'],
      rows: [
        ...this.done.map(([name, seconds]) => [name, formatSeconds(seconds)]),
        ['total', formatSeconds(this.totalSeconds())],
      ],
    };
  }
}
