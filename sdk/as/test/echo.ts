// Echoes its input bytes: the payload path of the SDK (bulk copies, or the kernel fallback).
import { inputBytes, outputBytes } from "../io";

export function echo(): i32 {
  outputBytes(inputBytes());
  return 0;
}
