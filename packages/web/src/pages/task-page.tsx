import { ApiError, type TaskWire } from "@conveyor/client/api";
import { isTerminalStatus } from "@conveyor/core/task/status";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Ctx } from "../app.tsx";
import { inWords, isUnauthorized } from "../errors.ts";
import { clock, money, pretty } from "../format.ts";
import { follow, type LinkState } from "../live.ts";
import { type Row, Timeline } from "../timeline.ts";
import { VirtualList } from "../virtual-list.tsx";
import { Approvals } from "./approvals.tsx";
import { StatusBadge } from "./status-badge.tsx";
import { Steer } from "./steer.tsx";

const ROW_HEIGHT = 30;
/** Task snapshots (turns, cost, status) are re-read at most this often while events stream. */
const REFRESH_MS = 500;

/** One task: its numbers against their limits, its live timeline, and the controls that steer it. */
export function TaskPage({ ctx, taskId }: { ctx: Ctx; taskId: string }) {
  const [task, setTask] = useState<TaskWire>();
  const [missing, setMissing] = useState<string>();
  const [error, setError] = useState<string>();
  const [link, setLink] = useState<LinkState>({ state: "connecting" });
  const timeline = useMemo(() => new Timeline(), []);
  const [version, setVersion] = useState(0);
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState<string>();
  const refreshTimer = useRef<ReturnType<typeof setTimeout>>();

  const reload = async () => {
    try {
      setTask(await ctx.api.task(taskId));
      setError(undefined);
    } catch (failure) {
      if (isUnauthorized(failure)) ctx.signOut(inWords(failure));
      else if (failure instanceof ApiError && failure.status === 404) setMissing(failure.message);
      else setError(inWords(failure));
    }
  };

  const refreshSoon = () => {
    refreshTimer.current ??= setTimeout(() => {
      refreshTimer.current = undefined;
      void reload();
    }, REFRESH_MS);
  };
  useEffect(() => {
    void reload();
    const stop = follow({
      wsUrl: ctx.wsUrl,
      token: ctx.token,
      taskId,
      history: ctx.api,
      onEvents: (events) => {
        let changed = false;
        let snapshot = false;
        for (const event of events) {
          if (timeline.add(event)) changed = true;
          if (event.type !== "agent.tool_call" && event.type !== "agent.tool_result") snapshot = true;
        }
        if (changed) setVersion((v) => v + 1);
        if (snapshot) refreshSoon();
      },
      onLink: (state) => {
        setLink(state);
        if (state.state === "failed" && state.code === "NOT_FOUND") setMissing(state.message);
        if (state.state === "ended") refreshSoon();
      },
    });
    return () => {
      stop();
      clearTimeout(refreshTimer.current);
    };
  }, [taskId, ctx.api]);

  if (missing) {
    return (
      <section class="page">
        <h1>Task not found</h1>
        <p role="alert">
          There is no task <code>{taskId}</code> that you can see. It may belong to someone else, or the
          address is mistyped.
        </p>
        <p>
          <a href="/">Back to your tasks</a>
        </p>
      </section>
    );
  }

  const rows = timeline.rows;
  const openRow = open === undefined ? undefined : rows.find((r) => r.id === open);
  const terminal = task ? isTerminalStatus(task.status) : false;
  const approvals = timeline.approvals();

  return (
    <section class="page task">
      <div class="page-head">
        <h1>
          <span class="repo">{task?.repo ?? "…"}</span>
          <span class="muted mono small"> {taskId}</span>
        </h1>
        <Indicator link={link} terminal={terminal} />
      </div>
      {error ? (
        <p class="banner error" role="alert">
          {error}
        </p>
      ) : null}
      <dl class="facts">
        <div>
          <dt>Status</dt>
          <dd>{task ? <StatusBadge status={task.status} /> : "…"}</dd>
        </div>
        <div>
          <dt>Turns</dt>
          <dd>
            <Meter
              value={task?.turns ?? 0}
              max={task?.maxTurns ?? 1}
              label={task ? `${task.turns} / ${task.maxTurns}` : "…"}
            />
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>
            <Meter
              value={task?.costUsd ?? 0}
              max={task?.maxBudgetUsd ?? 1}
              label={task ? `${money(task.costUsd)} / ${money(task.maxBudgetUsd)}` : "…"}
            />
          </dd>
        </div>
        <div>
          <dt>Pull request</dt>
          <dd>
            {task?.result?.prUrl ? (
              <a href={task.result.prUrl} target="_blank" rel="noreferrer" class="pr-link">
                {task.result.prUrl.replace(/^https?:\/\/(www\.)?github\.com\//, "")}
              </a>
            ) : task?.prNumber ? (
              <a
                href={`https://github.com/${task.repo}/pull/${task.prNumber}`}
                target="_blank"
                rel="noreferrer"
              >
                #{task.prNumber}
              </a>
            ) : (
              <span class="muted">none yet</span>
            )}
          </dd>
        </div>
      </dl>
      {task ? <p class="description">{task.description}</p> : null}
      {task?.error ? (
        <p class="banner error">
          {task.error.code}: {task.error.message}
        </p>
      ) : null}
      {task?.result?.summary ? <p class="banner ok">{task.result.summary}</p> : null}
      <Approvals ctx={ctx} taskId={taskId} approvals={approvals} />
      {task && !terminal ? <Steer ctx={ctx} task={task} onChanged={(t) => setTask(t)} /> : null}
      <h2 class="section">
        Timeline <span class="muted small">({timeline.size} events)</span>
      </h2>
      <div class="timeline-wrap">
        <VirtualList<Row>
          items={rows}
          version={version}
          rowHeight={ROW_HEIGHT}
          active={active}
          onActive={setActive}
          onOpen={(i) => {
            const id = rows[i]?.id;
            setOpen((current) => (current === id ? undefined : id));
          }}
          idOf={(row) => row.id}
          label="Events of this task"
          renderRow={(row, _i, isActive) => (
            <TimelineRow row={row} active={isActive} open={row.id === open} />
          )}
        />
        <aside class="detail" aria-live="polite">
          {openRow ? (
            <Detail row={openRow} />
          ) : (
            <p class="muted small">Select an event (Enter or click) to see all of it.</p>
          )}
        </aside>
      </div>
    </section>
  );
}

function TimelineRow({ row, active, open }: { row: Row; active: boolean; open: boolean }) {
  return (
    <div
      class={`event k-${row.kind}${row.error ? " is-error" : ""}${active ? " is-active" : ""}`}
      data-event-id={row.id}
      data-result-id={row.result?.eventId}
      data-type={row.event.type}
    >
      <span class="when mono">{clock(row.at)}</span>
      <span class="what" title={row.label}>
        {row.kind === "tool" ? <span aria-hidden="true">{open ? "▾ " : "▸ "}</span> : null}
        {row.kind === "milestone" ? <span aria-hidden="true">◆ </span> : null}
        {row.label}
      </span>
      <span class="text">{row.text}</span>
    </div>
  );
}

function Detail({ row }: { row: Row }) {
  const data = row.event.data as Record<string, unknown>;
  return (
    <div>
      <h3>
        {row.label} <span class="muted small mono">{row.event.type}</span>
      </h3>
      <p class="muted small mono">
        {row.at} · {row.id}
      </p>
      {row.kind === "tool" ? (
        <>
          <h4>Input</h4>
          <pre>{pretty(data.input)}</pre>
          <h4>{row.result ? (row.error ? "Result (error)" : "Result") : "Result"}</h4>
          <pre class={row.error ? "is-error" : ""}>
            {row.result ? pretty((row.result.data as Record<string, unknown>).output) : "Still running…"}
          </pre>
        </>
      ) : (
        <pre>{pretty(data)}</pre>
      )}
      {typeof data.url === "string" && /^https?:\/\//.test(data.url) ? (
        <a href={data.url} target="_blank" rel="noreferrer">
          {data.url}
        </a>
      ) : null}
    </div>
  );
}

function Meter({ value, max, label }: { value: number; max: number; label: string }) {
  const ratio = Math.max(0, Math.min(1, max > 0 ? value / max : 0));
  return (
    <span class="meter-wrap">
      <span class="mono">{label}</span>
      <span class="meter" aria-hidden="true">
        <span class={ratio > 0.9 ? "fill warn" : "fill"} style={{ width: `${ratio * 100}%` }} />
      </span>
    </span>
  );
}

function Indicator({ link, terminal }: { link: LinkState; terminal: boolean }) {
  const [text, cls] = ((): [string, string] => {
    switch (link.state) {
      case "connecting":
        return ["Connecting…", "pending"];
      case "live":
        return ["Live", "ok"];
      case "resumed":
        return ["Live (resumed)", "ok"];
      case "reconnecting":
        return [`Reconnecting… (attempt ${link.attempt})`, "warn"];
      case "ended":
        return [terminal ? "Finished" : "Stream ended", "idle"];
      case "failed":
        return [`Not live: ${link.message}`, "bad"];
    }
  })();
  return (
    <span class={`indicator ${cls}`} role="status" data-link={link.state}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}
