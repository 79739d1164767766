// Splits a byte stream into JSON values, one per line. LND's gateway writes
// each stream message as a JSON object followed by "\n"; a stream-ending
// error object is written without the trailing newline. Network chunks have
// no relation to message boundaries: one chunk may hold several messages, a
// message (or a multi-byte UTF-8 character) may span chunks.

import { LndUnreachableError } from "./errors";

export async function* parseNdjson(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const value = parseLine(line);
      if (value !== undefined) yield value;
    }
  }
  const value = parseLine(buffer + decoder.decode());
  if (value !== undefined) yield value;
}

function parseLine(line: string): unknown {
  const text = line.trim(); // tolerate "\r\n" and blank keep-alive lines
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new LndUnreachableError("bad_response", `stream line is not JSON: ${text.slice(0, 200)}`, { cause });
  }
}
