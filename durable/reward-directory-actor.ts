import { Actor } from "./kit/actor";
import type { Env } from "./env";
import type { RewardDirectoryPort } from "./ports";
import { ProgramList } from "./reward-directory/programs";

/**
 * The one directory of reward programs (docs/decisions/0021): which programs exist, newest first, for
 * `GET /v1/rewards`. Each program's own actor holds its budget and claims; this holds only their ids.
 */
export class RewardDirectoryActor extends Actor<Env> implements RewardDirectoryPort {
  readonly programs = new ProgramList(this.kit);
  protected readonly parts = [this.programs];

  /** Lists a program (called by the program's actor through its outbox; a repeat only acknowledges). */
  async register(program_id: string, created_at: string): Promise<{ ok: true }> {
    this.programs.add(program_id, created_at);
    return { ok: true };
  }

  /** Program ids, newest listed first; `cursor` is the previous page's `next_cursor`. */
  async page(limit: number, cursor: string | null): Promise<{ program_ids: string[]; next_cursor: string | null }> {
    return this.programs.page(limit, cursor);
  }
}
