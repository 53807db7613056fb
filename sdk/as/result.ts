// deno-fmt-ignore-file: deno fmt drops decorators on functions.
/**
 * The result of a host call: a value, or a `HostError` with a stable code
 * (see docs/abi.md for the codes). Check `ok` before reading `value`, or call
 * `unwrap()` to abort the call with the error's message.
 * @module
 */

/** An error the host (or the SDK) reported: a stable `code` and a human-readable `message`. */
export class HostError {
  constructor(
    public code: string,
    public message: string,
  ) {}
  /** "code: message". */
  toString(): string {
    return this.code + ": " + this.message;
  }
}

/** A value of type T, or an error. On error `value` holds T's zero value (null for references). */
export class Result<T> {
  constructor(
    public value: T,
    public error: HostError | null,
  ) {}

  /** True when the call succeeded. */
  get ok(): bool {
    return this.error === null;
  }

  /** The value; aborts the plugin call with "code: message" on error. */
  unwrap(): T {
    if (this.error !== null) abort(this.error!.toString());
    return this.value;
  }

  /** The error code, or null on success. */
  get code(): string | null {
    const e = this.error;
    return e === null ? null : e.code;
  }
}

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return new Result<T>(value, null);
}

/** A failed result with `code` and `message`. */
export function err<T>(code: string, message: string): Result<T> {
  return new Result<T>(zero<T>(), new HostError(code, message));
}

/** A failed result carrying an existing error. */
export function errFrom<T>(e: HostError): Result<T> {
  return new Result<T>(zero<T>(), e);
}

// @ts-ignore: decorator
@inline
function zero<T>(): T {
  if (isReference<T>()) return changetype<T>(0);
  // @ts-ignore: T is a number or bool here
  return <T>0;
}
