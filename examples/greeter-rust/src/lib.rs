#![no_std]
mod plughost;

use plughost::{call, fail, json_string, json_u64, Buf, CallError, HostFn};

fn host_error(error: CallError) -> i32 {
    match error {
        CallError::Host(answer) => fail(answer),
        CallError::TooLarge => fail(b"host answer too large"),
    }
}

/// greet {"name":"Ada"} -> {"message":"Hello, Ada!","greetings":1}; counts greetings in KV
/// and publishes "greeter-rust.greeted" for each.
#[no_mangle]
pub extern "C" fn greet() -> i32 {
    let mut input = [0u8; 4096];
    let input = match plughost::input(&mut input) {
        Some(bytes) => bytes,
        None => return fail(b"input is larger than 4096 bytes"),
    };
    let name = match json_string(input, "name") {
        Some(name) if name.len() <= 256 => name,
        Some(_) => return fail(b"name is longer than 256 bytes"),
        None => return fail(b"input needs a string \"name\", e.g. {\"name\":\"Ada\"}"),
    };

    let mut res = [0u8; 512];
    let greetings = match call(HostFn::KvGet, b"{\"key\":\"greetings\"}", &mut res) {
        Ok(answer) => json_u64(answer, "value").unwrap_or(0) + 1,
        Err(error) => return host_error(error),
    };

    let mut req = Buf::<1024>::new();
    req.push_str("{\"key\":\"greetings\",\"value\":\"").push_u64(greetings).push_str("\"}");
    if let Err(error) = call(HostFn::KvSet, req.as_bytes(), &mut res) {
        return host_error(error);
    }

    let mut event = Buf::<1024>::new();
    event.push_str("{\"topic\":\"greeter-rust.greeted\",\"payload\":{\"name\":\"").push(name);
    event.push_str("\",\"greetings\":").push_u64(greetings).push_str("}}");
    if let Err(error) = call(HostFn::EventPublish, event.as_bytes(), &mut res) {
        return host_error(error);
    }
    plughost::log_info("greeted");

    let mut out = Buf::<1024>::new();
    out.push_str("{\"message\":\"Hello, ").push(name).push_str("!\",\"greetings\":");
    out.push_u64(greetings).push_str("}");
    plughost::output(out.as_bytes());
    0
}
