/**
 * A worker plugin's host call reaches the host's thread as a message that
 * carries every Extism block the plugin made since its last host call, and
 * Extism copies them all into its block table before it calls the host
 * function. The host-call gate around the host function came after that copy,
 * and its debt is floored at one burst: a plugin that allocated 48 MiB before
 * each host call took ~62% of the event loop in 55-170 ms gaps, far past the
 * gate's share. Here the message itself waits for a turn, the copy is paid for
 * in that turn, and debt the gate's floor lets go is owed by the plugin that
 * ran it up: its next host call waits until its share has repaid it.
 * @module
 */
import type { Plugin } from "@extism/extism";
import { HOST_CALL_SHARE, hostCallGate, type HostCallTurn } from "./host-call-gate.ts";
import { KERNEL_NAMESPACE } from "./imports.ts";

type Listener = (message: unknown) => unknown;

/** The part of node:worker_threads' `Worker` (Node and Deno) this needs. */
interface MessageSource {
  listeners(event: "message"): Listener[];
  off(event: "message", listener: Listener): unknown;
  on(event: "message", listener: Listener): unknown;
}

function messageSourceOf(plugin: Plugin): MessageSource | null {
  // Extism's background plugin keeps its node:worker_threads Worker as `worker`.
  const worker = (plugin as unknown as { worker?: unknown }).worker;
  if (typeof worker !== "object" || worker === null) return null;
  const w = worker as Partial<MessageSource>;
  return typeof w.listeners === "function" && typeof w.off === "function" &&
      typeof w.on === "function"
    ? w as MessageSource
    : null;
}

function isHostCall(message: unknown): boolean {
  return typeof message === "object" && message !== null &&
    (message as { type?: unknown }).type === "invoke";
}

/** What a plugin owes the gate: its workers' host calls wait until `until` (performance.now()). */
export interface HostCallDebt {
  until: number;
}

/**
 * Puts the host-call gate in front of Extism's handler of `plugin`'s worker
 * messages: a host call is handed to Extism only in a turn, and the turn is
 * settled with the time Extism's handler held the thread, its copy of the
 * blocks counted twice: the structured clone that brought them to this thread
 * copied the same bytes before any listener could see the message. Other
 * messages (a call's return, logs) pass at once; the worker is blocked on the
 * host call's answer, so none can overtake it. False when Extism's worker is
 * not where it is expected (the host functions then ask for their turn, as
 * before, after the copy). `debt` is shared by the plugin's workers, so a
 * pool of several does not get a share each. A host call whose call has
 * `ended` by its turn is dropped, not handed over.
 */
export function gateHostCallMessages(
  plugin: Plugin,
  debt: HostCallDebt,
  ended: () => boolean,
  arrived: () => void = () => {},
): boolean {
  const source = messageSourceOf(plugin);
  const extism = source?.listeners("message") ?? [];
  if (!source || extism.length !== 1) return false;
  const handle = extism[0] as Listener;
  const owe = (ms: number) => {
    if (ms > 0) debt.until = Math.max(debt.until, performance.now()) + ms / HOST_CALL_SHARE;
  };
  /**
   * Settles when Extism's handling of the host calls handed over so far is over, answers'
   * handshakes with the worker included. Extism's writer waits (Atomics.waitAsync) for the
   * worker to take an answer, then reads the shared flag again: when the next answer was
   * already written by then, and was as long (the flag reads the same), it waited again as a
   * stale waiter, and the next single-waiter notify woke it instead of the worker: 500 ms
   * stalls (the wait's timeout), seen as soon as answers came out the same length
   * (block-sync.ts). So each host call is handed over only after the one before it settled.
   */
  let answering: Promise<void> = Promise.resolve();
  const inTurn = (message: unknown, done: () => void) => {
    // The call ended (its worker is stopped or stopping) while this waited: Extism would answer
    // a thread that never reads it, and wait for ever with a timer and the blocks.
    if (ended()) {
      hostCallGate.settle(0);
      done();
      return;
    }
    const turn: HostCallTurn = { entered: null, owe };
    const t0 = performance.now();
    hostCallGate.turn = turn;
    let handled: unknown;
    try {
      handled = handle(message);
    } catch (error) {
      done();
      throw error;
    } finally {
      hostCallGate.turn = null;
    }
    // A rejection of Extism's handler (its failure path finding no request) settles the turn too;
    // it used to go unhandled, which ends a Node process.
    void Promise.resolve(handled).then(done, done);
    const t1 = performance.now();
    owe(hostCallGate.settle(t1 - t0 + (turn.entered ?? t1) - t0));
  };
  const admit = (message: unknown, done: () => void) => {
    const turn = hostCallGate.admit();
    if (turn) void turn.then(() => inTurn(message, done));
    else inTurn(message, done);
  };
  source.off("message", handle);
  source.on("message", (message) => {
    if (!isHostCall(message)) return handle(message);
    // The worker is blocked from here until it is answered (its plugin CPU stops counting).
    arrived();
    const before = answering;
    let done: () => void = () => {};
    answering = new Promise<void>((resolve) => (done = resolve));
    void before.then(() => {
      const wait = debt.until - performance.now();
      if (wait > 0) setTimeout(() => admit(message, done), wait);
      else admit(message, done);
    });
  });
  return true;
}

/**
 * Extism's own host-side functions of a worker plugin (`http_request`,
 * `http_status_code`, `http_headers`, `var_get`, `var_set`) answer through
 * the same protocol as host functions but have no wrapper of the host's: one
 * that finishes after its call ended (an HTTP request outliving the timeout)
 * would have Extism wait for ever to hand its answer to the stopped worker.
 * Each now throws instead when its call has ended, which takes Extism's
 * failure path (as the host functions' wrappers do, host-functions.ts); one
 * still waiting (a fetch that does not answer) gives up when the call ends.
 */
export function answerOnlyLiveCalls(
  plugin: Plugin,
  ended: () => boolean,
  answered: () => void = () => {},
): void {
  const options = (plugin as unknown as { opts?: { functions?: Record<string, unknown> } }).opts;
  const kernel = options?.functions?.[KERNEL_NAMESPACE];
  if (typeof kernel !== "object" || kernel === null) return;
  const table = kernel as Record<string, unknown>;
  for (const [name, fn] of Object.entries(table)) {
    if (typeof fn !== "function") continue;
    const own = fn as (...args: unknown[]) => unknown;
    table[name] = async (...args: unknown[]) => {
      if (ended()) throw new Error(`The call ended before Extism's '${name}' ran`);
      const pending = own(...args);
      const answer = pending instanceof Promise ? await untilEnded(pending, ended, name) : pending;
      if (ended()) throw new Error(`The call ended while Extism's '${name}' ran; no answer`);
      answered();
      return answer;
    };
  }
}

/** How often a pending Extism function looks whether its call ended. */
const ENDED_POLL_MS = 50;

/** `pending`, or a rejection once `ended()` (looked at every ENDED_POLL_MS). */
function untilEnded<T>(pending: Promise<T>, ended: () => boolean, name: string): Promise<T> {
  let timer: ReturnType<typeof setInterval> | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (ended()) reject(new Error(`The call ended while Extism's '${name}' waited; no answer`));
    }, ENDED_POLL_MS);
  });
  const stop = () => clearInterval(timer);
  pending.then(stop, stop);
  return Promise.race([pending, gaveUp]).finally(stop);
}
