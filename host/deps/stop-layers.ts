/**
 * The order a host stops its plugins in: dependents before the plugins they
 * depend on, in layers, so each layer's onShutdown hooks run at once (a host
 * stop stays bounded by one grace period per layer, not per plugin).
 * @module
 */
import type { Manifest } from "../manifest/schema.ts";
import { dependenciesOf } from "./spec.ts";

/**
 * Layers of ids: the first holds the plugins no other loaded plugin depends
 * on; each next one those only the earlier layers depended on. A cycle
 * (refused at install, so only a hand-edited store has one) ends as one last
 * layer.
 */
export function stopLayers(
  manifests: ReadonlyMap<string, Pick<Manifest, "dependencies">>,
): string[][] {
  const left = new Set(manifests.keys());
  const layers: string[][] = [];
  while (left.size > 0) {
    const needed = new Set<string>();
    for (const id of left) {
      for (const d of dependenciesOf(manifests.get(id)!)) if (d.id !== id) needed.add(d.id);
    }
    const layer = [...left].filter((id) => !needed.has(id)).sort();
    if (layer.length === 0) {
      layers.push([...left].sort());
      break;
    }
    for (const id of layer) left.delete(id);
    layers.push(layer);
  }
  return layers;
}
