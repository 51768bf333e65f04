/**
 * Base for classes whose instances are also functions, as in transformers (`tokenizer(text)`,
 * `model(inputs)`, `generator(messages)`): the constructor returns a function that forwards to
 * `_call` and carries the subclass's prototype, so methods and fields work as usual.
 */
export abstract class Callable<Args extends unknown[], Result> {
  constructor() {
    const fn = function (this: unknown, ...args: Args): Result {
      return (fn as unknown as Callable<Args, Result>)._call(...args);
    };
    return Object.setPrototypeOf(fn, new.target.prototype) as Callable<Args, Result>;
  }

  /** What calling the instance does. */
  protected abstract _call(...args: Args): Result;
}
