/**
 * The order a host stops its plugins in: dependents first, in layers whose
 * onShutdown hooks run at once (host/deps/stop-layers.ts).
 */
import { describe, expect, it } from "vitest";
import { stopLayers } from "../../host/deps/mod.ts";
import type { Manifest } from "../../host/manifest/mod.ts";

type Deps = Pick<Manifest, "dependencies">;

describe("stopLayers", () => {
  it("stops a diamond top first, then the middle together, then the base", () => {
    const layers = stopLayers(
      new Map<string, Deps>([
        ["app", { dependencies: { left: "^1.0.0", right: { range: "^1.0.0" } } }],
        ["left", { dependencies: { base: "^1.0.0" } }],
        ["right", { dependencies: { base: "^1.0.0" } }],
        ["base", {}],
        ["alone", {}],
      ]),
    );
    expect(layers).toEqual([["alone", "app"], ["left", "right"], ["base"]]);
  });

  it("ignores dependencies that are not loaded, and ends a cycle as one last layer", () => {
    expect(stopLayers(new Map<string, Deps>([["a", { dependencies: { gone: "^1.0.0" } }]])))
      .toEqual([["a"]]);
    const cycle = stopLayers(
      new Map<string, Deps>([
        ["x", { dependencies: { y: "^1.0.0" } }],
        ["y", { dependencies: { x: "^1.0.0" } }],
        ["top", { dependencies: { x: "^1.0.0" } }],
      ]),
    );
    expect(cycle).toEqual([["top"], ["x", "y"]]);
  });
});
