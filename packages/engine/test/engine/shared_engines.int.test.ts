// Shared engines: one engine per checkpoint and load options, closed when its last lease goes.
import { afterAll, describe, expect, it } from "vitest";

import { acquireSharedEngine, closeSharedEngines, sharedEngineLeases } from "../../src/internal.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

afterAll(() => closeSharedEngines());

describe("shared engines", () => {
  it("gives every holder of the same checkpoint and options one engine, and closes it after the last release", async () => {
    const options = { threads: 1, maxContext: 256 };
    const a = acquireSharedEngine(DENSE_DIR, options);
    const b = acquireSharedEngine(`${DENSE_DIR}/`, { maxContext: 256, threads: 1 });
    const other = acquireSharedEngine(DENSE_DIR, { threads: 1, maxContext: 512 });
    const [ea, eb, eo] = await Promise.all([a.engine, b.engine, other.engine]);
    expect(eb).toBe(ea);
    expect(eo).not.toBe(ea);
    expect(sharedEngineLeases(DENSE_DIR, options)).toBe(2);

    await a.release();
    await a.release(); // a second release of the same lease changes nothing
    expect(sharedEngineLeases(DENSE_DIR, options)).toBe(1);
    expect(ea.stats().running).toBe(0); // still open

    await b.release();
    expect(sharedEngineLeases(DENSE_DIR, options)).toBe(0);
    expect(() => ea.stats()).toThrow(/closed/);
    expect(eo.stats().running).toBe(0);

    // The next lease loads a fresh engine.
    const c = acquireSharedEngine(DENSE_DIR, options);
    expect(await c.engine).not.toBe(ea);
    await Promise.all([c.release(), other.release()]);
  });

  it("does not keep a failed load: the next lease tries again", async () => {
    const missing = `${DENSE_DIR}-missing`;
    const lease = acquireSharedEngine(missing);
    await expect(lease.engine).rejects.toThrow();
    expect(sharedEngineLeases(missing)).toBe(0);
    await lease.release();
  });
});
