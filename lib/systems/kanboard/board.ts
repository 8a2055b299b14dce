import * as v from "valibot";
import type { BoardPort, Card, CardContent } from "../../boards/port.ts";
import { NotFoundError, UpstreamPermanentError, UpstreamRetryableError } from "../../core/errors.ts";
import type { KanboardClient, RpcCall } from "./client.ts";
import {
  ColumnSchema,
  type KanboardColumn,
  type KanboardTask,
  SwimlaneSchema,
  TaskSchema,
  UserSchema,
} from "./schemas.ts";

/** How long the column list is trusted before it is read again (an admin may rename columns). */
const COLUMNS_TTL_MS = 5 * 60_000;

/**
 * One Kanboard project as a board: columns are found by title, cards carry the ticket's reference
 * (Kanboard's task `reference`), removing a card is `removeTask` (hard delete) or `closeTask`.
 */
export class KanboardBoard implements BoardPort {
  readonly name: string;
  private columnCache: { at: number; list: KanboardColumn[] } | undefined;
  private swimlaneId: Promise<number | undefined> | undefined;

  constructor(
    private readonly client: KanboardClient,
    private readonly projectId: number,
    private readonly swimlane: string | undefined,
  ) {
    this.name = `kanboard:${client.instance}`;
  }

  async findByReference(reference: string, signal?: AbortSignal): Promise<Card | undefined> {
    const task = await this.client.call(
      "getTaskByReference",
      { project_id: this.projectId, reference },
      signal,
    );
    const found = this.taskOrNone("getTaskByReference", task);
    return found ? this.toCard(found, signal) : undefined;
  }

  async getCard(id: string, signal?: AbortSignal): Promise<Card | undefined> {
    const task = this.taskOrNone(
      "getTask",
      await this.client.call("getTask", { task_id: Number(id) }, signal),
    );
    return task ? this.toCard(task, signal) : undefined;
  }

  async listCards(options: { closed: boolean }, signal?: AbortSignal): Promise<Card[]> {
    const calls: RpcCall[] = [
      { method: "getAllTasks", params: { project_id: this.projectId, status_id: 1 } },
    ];
    if (options.closed)
      calls.push({ method: "getAllTasks", params: { project_id: this.projectId, status_id: 0 } });
    const pages = await this.client.batch(calls, signal);
    const tasks = pages.flatMap((page) => {
      if (!Array.isArray(page)) throw this.failed("getAllTasks");
      return v.parse(v.array(TaskSchema), page);
    });
    const cards: Card[] = [];
    for (const task of tasks) cards.push(await this.toCard(task, signal));
    return cards;
  }

  async createCard(reference: string, content: CardContent, signal?: AbortSignal): Promise<Card> {
    const columnId = await this.columnId(content.column, signal);
    const swimlaneId = await this.swimlaneIdOf(signal);
    const id = await this.client.call(
      "createTask",
      {
        project_id: this.projectId,
        title: content.title,
        description: content.description,
        column_id: columnId,
        owner_id: Number(content.ownerId ?? 0),
        priority: content.priority,
        reference,
        ...(swimlaneId ? { swimlane_id: swimlaneId } : {}),
      },
      signal,
    );
    // false: validation failed or the owner is not assignable; 0: the project, column or swimlane does
    // not exist (TaskCreationModel::create).
    if (!((typeof id === "number" || (typeof id === "string" && /^\d+$/.test(id))) && Number(id) > 0)) {
      throw this.refused(
        "createTask",
        `the task for ${reference} was not created (is the owner a project member?)`,
      );
    }
    return { ...content, id: String(id), reference, open: true };
  }

  async updateCard(current: Card, content: CardContent, signal?: AbortSignal): Promise<string[]> {
    const changes: string[] = [];
    const calls: RpcCall[] = [];
    const taskId = Number(current.id);
    if (!current.open) {
      calls.push({ method: "openTask", params: { task_id: taskId } });
      changes.push("reopened");
    }
    const fields: Record<string, unknown> = {};
    if (current.title !== content.title) fields.title = content.title;
    if (current.description !== content.description) fields.description = content.description;
    if ((current.ownerId ?? "0") !== (content.ownerId ?? "0")) fields.owner_id = Number(content.ownerId ?? 0);
    if (current.priority !== content.priority) fields.priority = content.priority;
    if (Object.keys(fields).length > 0) {
      calls.push({ method: "updateTask", params: { id: taskId, ...fields } });
      changes.push(...Object.keys(fields).map((name) => (name === "owner_id" ? "owner" : name)));
    }
    if (current.column !== content.column) {
      const columnId = await this.columnId(content.column, signal);
      // Position 1: the top of the column, where a card that just moved is seen.
      calls.push({
        method: "moveTaskPosition",
        params: {
          project_id: this.projectId,
          task_id: taskId,
          column_id: columnId,
          position: 1,
          swimlane_id: 0,
        },
      });
      changes.push("column");
    }
    if (calls.length === 0) return changes;
    const results = await this.client.batch(calls, signal);
    if (results.some((result) => result === false || result === null)) {
      // false: the task is gone, or (updateTask) the owner is not assignable, or (moveTaskPosition)
      // nothing moved. Which one, only reading the task tells.
      const now = await this.getCard(current.id, signal);
      if (!now) throw new NotFoundError(`${this.name}: task ${current.id} is gone`);
      const updated = calls.findIndex((call) => call.method === "updateTask");
      if (updated >= 0 && results[updated] === false) {
        throw this.refused(
          "updateTask",
          `task ${current.id} was not updated (is the owner a project member?)`,
        );
      }
    }
    return changes;
  }

  async removeCard(id: string, mode: "delete" | "close", signal?: AbortSignal): Promise<void> {
    // false: the task does not exist (TaskModel::remove, TaskStatusModel::changeStatus): already gone.
    await this.client.call(mode === "delete" ? "removeTask" : "closeTask", { task_id: Number(id) }, signal);
  }

  async columns(signal?: AbortSignal): Promise<string[]> {
    const list = await this.columnList(signal);
    return [...list].sort((a, b) => a.position - b.position).map((column) => column.title);
  }

  async findUser(username: string, signal?: AbortSignal): Promise<string | undefined> {
    const user = await this.client.call("getUserByName", { username }, signal);
    const parsed = v.safeParse(UserSchema, user);
    return parsed.success ? String(parsed.output.id) : undefined;
  }

  /** The id of a column by title; the list is read again once before a title is declared missing. */
  private async columnId(title: string, signal?: AbortSignal): Promise<number> {
    const find = (list: KanboardColumn[]) => list.find((column) => column.title === title)?.id;
    let id = find(await this.columnList(signal));
    if (id === undefined) id = find(await this.columnList(signal, true));
    if (id === undefined) {
      const titles = (await this.columnList(signal)).map((column) => column.title).join(", ");
      throw this.refused(
        "getColumns",
        `project ${this.projectId} has no column "${title}" (it has: ${titles})`,
      );
    }
    return id;
  }

  private async columnList(signal?: AbortSignal, fresh = false): Promise<KanboardColumn[]> {
    if (!fresh && this.columnCache && Date.now() - this.columnCache.at < COLUMNS_TTL_MS)
      return this.columnCache.list;
    const list = v.parse(
      v.array(ColumnSchema),
      await this.client.call("getColumns", { project_id: this.projectId }, signal),
    );
    this.columnCache = { at: Date.now(), list };
    return list;
  }

  private swimlaneIdOf(signal?: AbortSignal): Promise<number | undefined> {
    if (!this.swimlane) return Promise.resolve(undefined);
    const name = this.swimlane;
    this.swimlaneId ??= this.client
      .call("getActiveSwimlanes", { project_id: this.projectId }, signal)
      .then((lanes) => {
        const found = v.parse(v.array(SwimlaneSchema), lanes ?? []).find((lane) => lane.name === name);
        if (!found)
          throw this.refused(
            "getActiveSwimlanes",
            `project ${this.projectId} has no active swimlane "${name}"`,
          );
        return found.id;
      })
      .catch((error: unknown) => {
        this.swimlaneId = undefined;
        throw error;
      });
    return this.swimlaneId;
  }

  private async toCard(task: KanboardTask, signal?: AbortSignal): Promise<Card> {
    const list = await this.columnList(signal);
    let column = list.find((c) => c.id === task.column_id)?.title;
    if (column === undefined)
      column = (await this.columnList(signal, true)).find((c) => c.id === task.column_id)?.title;
    return {
      id: String(task.id),
      reference: task.reference ?? "",
      title: task.title,
      description: task.description ?? "",
      column: column ?? `#${task.column_id}`,
      ownerId: task.owner_id ? String(task.owner_id) : undefined,
      priority: task.priority,
      open: task.is_active === 1,
      url: task.url,
    };
  }

  /**
   * A task read's answer: `null` is "no such task" (TaskApiFormatter formats nothing); `false` is a
   * procedure that failed, never an answer to trust: taking it for "no card" would create a second one.
   */
  private taskOrNone(procedure: string, answer: unknown): KanboardTask | undefined {
    if (answer === null) return undefined;
    if (answer === false) throw this.failed(procedure);
    return v.parse(TaskSchema, answer);
  }

  private failed(procedure: string): UpstreamRetryableError {
    return new UpstreamRetryableError(
      { system: this.name, status: 200, vendorMessage: `${procedure} answered false` },
      `Kanboard: ${procedure} failed (it answered false)`,
    );
  }

  private refused(procedure: string, message: string): UpstreamPermanentError {
    return new UpstreamPermanentError(
      { system: this.name, status: 200, vendorMessage: `${procedure} answered false` },
      `Kanboard: ${message}`,
    );
  }
}
