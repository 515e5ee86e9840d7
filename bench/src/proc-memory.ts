import { readFileSync } from 'node:fs';
import { round } from './report.js';

/** The memory lines of /proc/<pid>/status, in KiB. */
export interface ProcMemory {
  readonly vmRssKb: number;
  readonly vmHwmKb: number;
}

/** Reads VmRSS and VmHWM of a process (Linux only). @throws Error when the process is gone. */
export function readProcMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match?.[1] === undefined) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { vmRssKb: field('VmRSS'), vmHwmKb: field('VmHWM') };
}

/** KiB to MiB, one decimal. */
export const mib = (kb: number): number => round(kb / 1024, 1);
