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
/** While the page is in view, the first page is read again this often (and whenever the window is focused). */
const RELIST_MS = 15_000;

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

  // Tasks submitted elsewhere (the CLI, a webhook) appear without a Refresh: one cheap request
  // for the first page, merged into what is shown so pages already loaded stay.
  const shown = useRef(tasks);
  shown.current = tasks;
  useEffect(() => {
    let busy = false;
    const relist = async () => {
      if (busy || document.visibilityState !== "visible") return;
      busy = true;
      try {
        const page = await ctx.api.list({ status: filter, limit: PAGE });
        const before = shown.current;
        const known = new Set(before.map((t) => t.taskId));
        if (before.length > 0 && !page.tasks.some((t) => known.has(t.taskId))) {
          // More new tasks than a page: what is shown no longer joins on; start again from the top.
          setTasks(page.tasks);
          setCursor(page.nextCursor ?? undefined);
          return;
        }
        const fresh = new Map(page.tasks.map((t) => [t.taskId, t]));
        const newest = before[0]?.taskId ?? "";
        const added = page.tasks.filter((t) => !known.has(t.taskId) && t.taskId > newest);
        if (added.length > 0 || page.tasks.some((t) => known.has(t.taskId))) {
          setTasks((now) => [
            ...added.filter((t) => !now.some((n) => n.taskId === t.taskId)),
            ...now.map((t) => fresh.get(t.taskId) ?? t),
          ]);
        }
      } catch {
        // The next re-list (or a Refresh) makes up for a missed one; the list shown stays.
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(relist, RELIST_MS);
    const onFocus = () => void relist();
    window.addEventListener("focus", onFocus);
    document.addEventListener("visibilitychange", onFocus);
    return () => {
      clearInterval(timer);
      window.removeEventListener("focus", onFocus);
      document.removeEventListener("visibilitychange", onFocus);
    };
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
