// The error a call that must fail gave, for the tests to assert on: a WenxinError, or the test fails.
import { expect } from "vitest";

import { Engine, WenxinError } from "../../packages/engine/src/index.js";

/** The WenxinError `fn` throws; returning, or throwing anything else, fails the test. */
export function wenxinErrorOf(fn: () => unknown): WenxinError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WenxinError);
    return err as WenxinError;
  }
  throw new Error("expected a WenxinError");
}

/** The WenxinError `p` rejects with; resolving, or rejecting with anything else, fails the test. */
export async function wenxinRejection(p: Promise<unknown>): Promise<WenxinError> {
  const err = await p.then(
    () => new Error("expected a rejection with a WenxinError"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WenxinError);
  return err as WenxinError;
}

/** The WenxinError of `Engine.load(path, { threads: 1 })`; an engine that loads is closed and fails the test. */
export function loadErrorOf(path: string): Promise<WenxinError> {
  return wenxinRejection(Engine.load(path, { threads: 1 }).then((e) => e.close()));
}
