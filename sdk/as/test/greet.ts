// Greets the `name` in the JSON input: {"name":"Zoë"} -> {"greeting":"Hello, Zoë!","length":3}
import { readInputJson, writeOutputJson } from "../io";
import { JSONObject } from "../json";

export function greet(): i32 {
  const input = readInputJson();
  const name = input.getString("name");
  const who = name === null ? "stranger" : name;
  writeOutputJson(
    new JSONObject().setString("greeting", "Hello, " + who + "!").setNumber(
      "length",
      who.length,
    ),
  );
  return 0;
}
