import type { Task } from "./part";

/** The alarm is never set closer than this to now (a task with work left does not spin). */
const MIN_GAP_MS = 100;
/** A task that threw is not retried before this. */
const FAILED_TASK_RETRY_MS = 5_000;

/**
 * One alarm per Durable Object, shared by every part's tasks. Arming only ever moves the alarm
 * earlier; when it fires, each task due by then runs, and the alarm is set again for the earliest
 * task that still has work.
 */
export class Scheduler {
  private readonly tasks: Task[] = [];
  /** When the stored alarm is due (null: none), read at wake-up and kept by `arm` and `fire`. */
  private alarmAt: number | null = null;
  /** Tasks that threw, and when they may run again. */
  private readonly backingOff = new Map<Task, number>();

  /** @param onTaskError told when a task throws (the task is retried later either way). */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly onTaskError: (task: string, error: unknown) => void = (task, error) =>
      console.warn(`task ${task} failed; retrying later: ${(error as Error)?.message ?? String(error)}`),
  ) {}

  register(tasks: readonly Task[]): void {
    this.tasks.push(...tasks);
  }

  /** Reads the alarm a previous instance set, so that arming cannot push back one due sooner. */
  async load(): Promise<void> {
    this.alarmAt = await this.storage.getAlarm();
  }

  /** Ensures the alarm fires by `at`: a no-op when it is already due by then. */
  arm(at: number): void {
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.storage.setAlarm(at);
  }

  /** The registered tasks' names, in the order they run. */
  taskNames(): string[] {
    return this.tasks.map((t) => t.name);
  }

  /** When the stored alarm is due, as this instance knows it. */
  get armedAt(): number | null {
    return this.alarmAt;
  }

  /**
   * The alarm handler: runs every task due by the time the alarm was set for (a test may run it
   * early), one after another, then arms for the earliest task with work left.
   */
  async fire(): Promise<void> {
    const now = Date.now();
    const firedFor = Math.max(now, this.alarmAt ?? now);
    this.alarmAt = null;
    for (const task of this.tasks) {
      const due = task.nextDueAt();
      if (due === null || due > firedFor || (this.backingOff.get(task) ?? 0) > now) continue;
      try {
        await task.run(firedFor);
        this.backingOff.delete(task);
      } catch (error) {
        this.backingOff.set(task, Date.now() + FAILED_TASK_RETRY_MS);
        this.onTaskError(task.name, error);
      }
    }
    const next = this.nextDueAt();
    if (next !== null) this.arm(Math.max(next, Date.now() + MIN_GAP_MS));
  }

  /** The earliest time any task has work (a task backing off counts from its retry time). */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const task of this.tasks) {
      const due = task.nextDueAt();
      if (due === null) continue;
      const at = Math.max(due, this.backingOff.get(task) ?? 0);
      if (next === null || at < next) next = at;
    }
    return next;
  }
}
