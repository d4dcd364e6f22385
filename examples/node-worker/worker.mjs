// A Baton worker in JavaScript (Node 20+, no dependency, no generated code), written from
// docs/new-language-sdk.md and spec/2026-12-02.json alone. It registers under its own runtime
// ("node"), registers one DAG, claims workloads, runs each task in its own process (in-process, so
// it reports its own pid), heartbeats, ships logs and reports the final state.
//
//   BATON_URL=http://127.0.0.1:8080 BATON_WORKER_TOKEN=baton_worker_... node worker.mjs
//
// BATON_MAX_TASKS=N: exit after N attempts (for tests); BATON_WORKER_NAME, BATON_QUEUE: defaults
// "node-worker" and "node".
import { randomUUID } from "node:crypto";
import os from "node:os";

// Runtimes other than python|go|java need API version 2026-12-02 or later.
const API_VERSION = "2026-12-02";
const RUNTIME = "node";
const BASE_URL = (process.env.BATON_URL ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const WORKER_TOKEN = process.env.BATON_WORKER_TOKEN;
const NAME = process.env.BATON_WORKER_NAME ?? "node-worker";
const QUEUE = process.env.BATON_QUEUE ?? "node";
const MAX_TASKS = Number(process.env.BATON_MAX_TASKS ?? "0");
const CAPACITY = 2;
const HEARTBEAT_MS = 5000;
const LOG_FLUSH_MS = 1000;
const HOSTNAME = os.hostname();

// ---- tasks: entry point → async function(ctx) ------------------------------------------------
const TASKS = {
  "worker.mjs#greet": async (ctx) => {
    const greeting = (await ctx.getVariable("node_greeting")) ?? "hello";
    ctx.log("info", `greeting with ${JSON.stringify(greeting)}`);
    await ctx.pushXCom("greeting", `${greeting} from node`);
  },
  "worker.mjs#shout": async (ctx) => {
    const greeting = await ctx.pullXCom("greet", "greeting");
    ctx.log("info", `upstream said ${JSON.stringify(greeting)}`);
    await ctx.pushXCom("shout", String(greeting).toUpperCase());
  },
};

const DAGS = [
  {
    dag_id: "node_example",
    description: "Two tasks of a Node worker: greet, then shout what greet pushed.",
    tasks: [
      { task_id: "greet", entry_point: "worker.mjs#greet", runtime: RUNTIME, queue: QUEUE, retries: 1 },
      {
        task_id: "shout",
        entry_point: "worker.mjs#shout",
        runtime: RUNTIME,
        queue: QUEUE,
        upstream_task_ids: ["greet"],
        execution_timeout_seconds: 60,
      },
    ],
  },
];

// ---- HTTP: version header, request ids, retries, token swap ----------------------------------
class ApiError extends Error {
  constructor(status, body, requestId) {
    super(`${status} ${body?.reason ?? "error"}: ${body?.message ?? ""} (request ${requestId})`);
    this.status = status;
    this.reason = body?.reason;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const backoff = (attempt) => Math.min(250 * 2 ** attempt, 5000); // 0.25 s doubling, at most 5 s

// One call. `auth` is {token} and receives a refreshed token; GET/PUT/PATCH/DELETE and the POSTs
// marked `repeatable` (registrations, claims, log batches with a batch_id) are retried on transport
// errors and 5xx, other POSTs only when the connection was refused (nothing reached the server).
// Retries stop once `patienceMs` has passed since the first try: a task's own calls wait out a
// server restart (TASK_PATIENCE_MS), other calls have loops of their own around them.
const TASK_PATIENCE_MS = 60000;
async function call(method, path, { auth, body, timeoutMs = 30000, repeatable = false, patienceMs = 8000 } = {}) {
  const requestId = `node-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const idempotent = method !== "POST" || repeatable;
  const started = Date.now();
  const mayRetry = (attempt) => Date.now() - started + backoff(attempt) <= patienceMs;
  for (let attempt = 0; ; attempt++) {
    let response, text;
    try {
      response = await fetch(BASE_URL + path, {
        method,
        headers: {
          "Baton-API-Version": API_VERSION,
          "X-Request-ID": requestId,
          Authorization: `Bearer ${auth.token}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read inside the try: a body cut short (a server killed after its headers) is retried too.
      text = await response.text();
    } catch (error) {
      const refused = error?.cause?.code === "ECONNREFUSED";
      if ((idempotent || refused) && mayRetry(attempt)) {
        await sleep(backoff(attempt));
        continue;
      }
      throw error;
    }
    const refreshed = response.headers.get("Refreshed-API-Token");
    if (refreshed) auth.token = refreshed;
    if (response.status >= 500 && idempotent && mayRetry(attempt)) {
      await sleep(backoff(attempt));
      continue;
    }
    const parsed = text ? JSON.parse(text) : null;
    if (response.status >= 400) throw new ApiError(response.status, parsed, requestId);
    return parsed;
  }
}

// ---- one attempt -------------------------------------------------------------------------------
async function runAttempt(workload, onDone) {
  const ti = workload.task_instance;
  const auth = { token: workload.token };
  const where = { hostname: HOSTNAME, pid: process.pid };
  const lines = [];
  // One line the server cannot store costs its whole batch: NUL and half characters go as U+FFFD.
  const storable = (text) => String(text).slice(0, 100_000).toWellFormed().replaceAll("\u0000", "\uFFFD");
  const log = (level, message, fields = {}) => {
    const clean = JSON.parse(JSON.stringify(fields, (_, v) => (typeof v === "string" ? storable(v) : v)));
    lines.push({ timestamp: new Date().toISOString(), level, message: storable(message), fields: clean });
  };
  const ship = async () => {
    while (lines.length) {
      // Up to 1000 lines and about 2 MB of JSON, well under the server's request limit.
      let count = 0;
      for (let bytes = 0; count < Math.min(lines.length, 1000); count++) {
        bytes += Buffer.byteLength(JSON.stringify(lines[count]));
        if (count > 0 && bytes > 2_000_000) break;
      }
      // A batch id makes the batch safe to send again: the server stores its lines once.
      const body = { batch_id: randomUUID(), lines: lines.splice(0, count) };
      await call("POST", `/execution/task-instances/${ti.id}/logs`, { auth, body, repeatable: true });
    }
  };

  let context;
  try {
    context = await call("PATCH", `/execution/task-instances/${ti.id}/run`, {
      auth,
      body: { ...where, unix_user: os.userInfo().username, start_date: new Date().toISOString() },
    });
  } catch (error) {
    console.error(`${ti.task_id}: not started: ${error.message}`);
    return onDone();
  }
  log("info", `attempt ${ti.try_number} of ${context.max_tries} started on ${HOSTNAME} (pid ${process.pid})`, {
    source: "worker",
  });

  let stopped = null;
  const beat = setInterval(async () => {
    try {
      await call("PUT", `/execution/task-instances/${ti.id}/heartbeat`, { auth, body: where });
    } catch (error) {
      // 409, 404 and 401 mean: stop the task. Anything else: try again at the next beat.
      if (error instanceof ApiError && [401, 404, 409].includes(error.status)) stopped = error.reason;
    }
  }, HEARTBEAT_MS);
  const flusher = setInterval(() => ship().catch((e) => console.error(`logs: ${e.message}`)), LOG_FLUSH_MS);

  const xcomPath = (taskId, key) =>
    `/execution/xcoms/${ti.dag_id}/${encodeURIComponent(ti.run_id)}/${taskId}/${key}?map_index=${ti.map_index}`;
  const ctx = {
    context,
    log: (level, message) => log(level, message, { logger: "task" }),
    getVariable: async (key) => {
      try {
        return (await call("GET", `/execution/variables/${key}`, { auth, patienceMs: TASK_PATIENCE_MS })).value;
      } catch (error) {
        if (error.reason === "variable_not_found") return null;
        throw error;
      }
    },
    pushXCom: (key, value) =>
      call("PUT", xcomPath(ti.task_id, key), { auth, body: { value }, patienceMs: TASK_PATIENCE_MS }),
    pullXCom: async (taskId, key) =>
      (await call("GET", xcomPath(taskId, key), { auth, patienceMs: TASK_PATIENCE_MS })).value,
  };

  let state = "success";
  const limit = context.execution_timeout_seconds;
  let timer;
  try {
    const task = TASKS[workload.entry_point];
    if (!task) throw new Error(`no task at entry point ${workload.entry_point}`);
    // The timer is cleared when the task ends: a pending one would keep the process alive.
    const timeout =
      limit == null
        ? null
        : new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("execution timeout")), limit * 1000);
          });
    await (timeout ? Promise.race([task(ctx), timeout]) : task(ctx));
  } catch (error) {
    log("error", `task failed: ${error.message}`, { source: "worker" });
    state = "up_for_retry"; // the server stores "failed" when no attempt is left
  } finally {
    clearTimeout(timer);
    clearInterval(beat);
    clearInterval(flusher);
  }
  if (stopped) {
    console.error(`${ti.task_id}: stopped by the server (${stopped})`);
    return onDone();
  }
  try {
    await ship();
    const ended = await call("PATCH", `/execution/task-instances/${ti.id}/state`, {
      auth,
      body: { state, end_date: new Date().toISOString() },
    });
    console.log(`${ti.dag_id}/${ti.run_id}/${ti.task_id} try ${ti.try_number}: ${ended.state}`);
  } catch (error) {
    console.error(`${ti.task_id}: final state not reported: ${error.message}`);
  }
  onDone();
}

// ---- the worker loop ---------------------------------------------------------------------------
async function main() {
  if (!WORKER_TOKEN) throw new Error("set BATON_WORKER_TOKEN to a worker credential");
  const auth = { token: WORKER_TOKEN };
  const worker = await call("POST", "/workers/registrations", {
    auth,
    body: { name: NAME, queues: [QUEUE], capacity: CAPACITY, runtime: RUNTIME, hostname: HOSTNAME },
    repeatable: true,
  });
  const registered = await call("POST", "/workers/dags", {
    auth,
    body: { bundle_name: "node-example", dags: DAGS },
    repeatable: true,
  });
  console.log(`worker ${worker.name} (${worker.id}) registered ${registered.dags.map((d) => d.dag_id).join(", ")}`);

  const held = new Set(); // task instance ids of the workloads claimed and not yet reported
  let started = 0;
  let lastSeen = Date.now();
  for (;;) {
    if (MAX_TASKS && started >= MAX_TASKS) break;
    const free = Math.min(CAPACITY - held.size, MAX_TASKS ? MAX_TASKS - started : CAPACITY);
    if (free === 0) {
      if (Date.now() - lastSeen > HEARTBEAT_MS) {
        await call("PUT", `/workers/${worker.id}/heartbeat`, { auth });
        lastSeen = Date.now();
      }
      await sleep(200);
      continue;
    }
    const claimed = await call("POST", `/workers/${worker.id}/claims`, {
      auth,
      // held_task_instance_ids: a workload whose claim answer was lost comes back at once.
      body: { max_workloads: free, wait_seconds: 10, held_task_instance_ids: [...held] },
      timeoutMs: 40000,
      repeatable: true,
    });
    lastSeen = Date.now();
    for (const workload of claimed.workloads) {
      const id = workload.task_instance.id;
      held.add(id);
      started++;
      runAttempt(workload, () => held.delete(id));
    }
  }
  while (held.size > 0) await sleep(100);
}

main().catch((error) => {
  console.error(`worker: ${error.message}`);
  process.exit(1);
});
