/**
 * Dependency order: a topological order of a set of plugins (dependencies
 * first), with the first cycle found reported as a path.
 * @module
 */

/** A node of the dependency graph: its id and the ids it needs that are in the set. */
export interface GraphNode {
  id: string;
  needs: readonly string[];
}

/** Either the order (dependencies first) or a cycle as a path `[a, b, a]`. */
export type OrderResult = { ok: true; order: string[] } | { ok: false; cycle: string[] };

/**
 * Orders `nodes` so every node comes after the nodes it needs (edges to ids
 * outside the set are ignored). Ties are broken by id, so the order is the
 * same for the same set. A cycle is returned as the path that closes it.
 */
export function dependencyOrder(nodes: readonly GraphNode[]): OrderResult {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const done = new Set<string>();
  const onPath: string[] = [];
  const order: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (done.has(id)) return undefined;
    const at = onPath.indexOf(id);
    if (at >= 0) return [...onPath.slice(at), id];
    onPath.push(id);
    const needs = [...(byId.get(id)?.needs ?? [])].filter((n) => byId.has(n)).sort();
    for (const next of needs) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(id);
    order.push(id);
    return undefined;
  };
  for (const id of [...byId.keys()].sort()) {
    const cycle = visit(id);
    if (cycle) return { ok: false, cycle };
  }
  return { ok: true, order };
}

/** `a -> b -> a`, for messages. */
export function cyclePath(cycle: readonly string[]): string {
  return cycle.join(" -> ");
}
