import { expect } from 'vitest';

/** One Server-Sent Events frame as a test reads it. */
export interface Frame {
  readonly id: string | null;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** Opens an SSE stream and reads frames until `until` says stop; then cancels the stream. */
export async function readFrames(
  url: string,
  until: (frames: readonly Frame[]) => boolean,
  headers: Record<string, string> = {},
  onFrame?: (frame: Frame) => Promise<void>,
): Promise<Frame[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 20_000);
  const response = await fetch(url, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const reader = response.body?.getReader();
  if (reader === undefined) throw new Error('no body');
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = '';
  try {
    while (!until(frames)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame !== null) {
          frames.push(frame);
          await onFrame?.(frame);
          if (until(frames)) break;
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return frames;
}

function parseFrame(text: string): Frame | null {
  let id: string | null = null;
  let event = 'message';
  let data: string | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('id: ')) id = line.slice(4);
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  return data === null ? null : { id, event, data: JSON.parse(data) as Record<string, unknown> };
}

/** The `id` of each `event` frame's event, in order. */
export const eventIds = (frames: readonly Frame[]): unknown[] =>
  frames.filter((f) => f.event === 'event').map((f) => f.data['id']);
