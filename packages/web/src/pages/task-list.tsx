import type { TaskStatusWire, TaskWire } from "@conveyor/client/api";
import { isTerminalStatus, TASK_STATUSES } from "@conveyor/core/task/status";
import { floorId } from "@conveyor/core/util/ulid";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Ctx } from "../app.tsx";
import { inWords, isUnauthorized } from "../errors.ts";
import { ago, money } from "../format.ts";
import { follow } from "../live.ts";
import { navigate } from "../router.ts";
import { StatusBadge } from "./status-badge.tsx";

const PAGE = 20;
/** How far behind a writer's clock may be (DESIGN §4): live status starts this far before the list was read. */
const SKEW_MS = 5_000;

/** The caller's tasks, newest first, a page at a time; the statuses of unfinished ones follow live. */
export function TaskList({ ctx, status }: { ctx: Ctx; status?: string }) {
  const filter = (TASK_STATUSES as readonly string[]).includes(status ?? "")
    ? (status as TaskStatusWire)
    : undefined;
  const [tasks, setTasks] = useState<TaskWire[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const readAt = useRef(Date.now());

  const load = async (from?: string) => {
    setLoading(true);
    setError(undefined);
    try {
      if (!from) readAt.current = Date.now();
      const page = await ctx.api.list({ status: filter, limit: PAGE, cursor: from });
      setTasks((before) =>
        from
          ? [...before, ...page.tasks.filter((t) => !before.some((b) => b.taskId === t.taskId))]
          : page.tasks,
      );
      setCursor(page.nextCursor ?? undefined);
    } catch (failure) {
      if (isUnauthorized(failure)) ctx.signOut(inWords(failure));
      else setError(inWords(failure));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setTasks([]);
    setCursor(undefined);
    void load();
  }, [filter, ctx.api]);

  // One follower per unfinished task on the page, from just before the list was read.
  const live = tasks
    .filter((t) => !isTerminalStatus(t.status))
    .map((t) => t.taskId)
    .join(",");
  useEffect(() => {
    if (!live) return;
    const refresh = async (taskId: string) => {
      try {
        const task = await ctx.api.task(taskId);
        setTasks((all) => all.map((t) => (t.taskId === taskId ? task : t)));
      } catch {
        // The status shown stays the one from the event; a later event or reload corrects it.
      }
    };
    const stops = live.split(",").map((taskId) =>
      follow({
        wsUrl: ctx.wsUrl,
        token: ctx.token,
        taskId,
        after: floorId(readAt.current - SKEW_MS),
        onEvents: (events) => {
          const statusChange = events.filter((e) => e.type === "task.status").at(-1);
          if (!statusChange) return;
          const to = (statusChange.data as { to: TaskStatusWire }).to;
          setTasks((all) => all.map((t) => (t.taskId === taskId ? { ...t, status: to } : t)));
          void refresh(taskId);
        },
      }),
    );
    return () => {
      for (const stop of stops) stop();
    };
  }, [live, ctx.wsUrl, ctx.token]);

  return (
    <section class="page">
      <div class="page-head">
        <h1>Tasks</h1>
        <label class="inline">
          Status{" "}
          <select
            value={filter ?? ""}
            onChange={(e) => {
              const value = (e.target as HTMLSelectElement).value;
              navigate(value ? `/?status=${value}` : "/");
            }}
          >
            <option value="">All</option>
            {TASK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, " ").toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="secondary" onClick={() => void load()} disabled={loading}>
          Refresh
        </button>
        <a class="button" href="/new">
          Submit a task
        </a>
      </div>
      {error ? (
        <p class="banner error" role="alert">
          {error}
        </p>
      ) : null}
      <table class="tasks">
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Task</th>
            <th scope="col" class="num">
              Turns
            </th>
            <th scope="col" class="num">
              Cost
            </th>
            <th scope="col" class="num">
              Created
            </th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((task) => (
            <tr key={task.taskId} data-task-id={task.taskId}>
              <td>
                <StatusBadge status={task.status} />
              </td>
              <td class="what">
                <a href={`/tasks/${encodeURIComponent(task.taskId)}`}>
                  <span class="repo">{task.repo}</span>
                  {task.prNumber ? <span class="muted"> #{task.prNumber}</span> : null}
                  <span class="desc">{task.description.split("\n")[0]}</span>
                </a>
              </td>
              <td class="num">
                {task.turns}/{task.maxTurns}
              </td>
              <td class="num">
                {money(task.costUsd)} / {money(task.maxBudgetUsd)}
              </td>
              <td class="num" title={task.createdAt}>
                {ago(task.createdAt)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && tasks.length === 0 && !error ? (
        <p class="empty">
          {filter ? "No tasks with this status." : "No tasks yet."} <a href="/new">Submit one</a>.
        </p>
      ) : null}
      <div class="pager">
        {cursor ? (
          <button type="button" class="secondary" disabled={loading} onClick={() => void load(cursor)}>
            {loading ? "Loading…" : "Load more"}
          </button>
        ) : null}
        {loading && tasks.length === 0 ? <span class="muted">Loading…</span> : null}
      </div>
    </section>
  );
}
