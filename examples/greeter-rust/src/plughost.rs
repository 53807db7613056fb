//! plughost.rs: the plughost host ABI (version 1; the kernel calls of revision 1.0, not the bulk copy of 1.1) for Rust plugins, in one file.
//!
//! Copy it next to your `lib.rs` and declare `mod plughost;`. It needs no crates and no
//! allocator: the crate is `#![no_std]`, built as a cdylib for `wasm32-unknown-unknown`:
//!
//! ```sh
//! rustc --edition 2021 --crate-type cdylib --target wasm32-unknown-unknown \
//!   -C opt-level=s -C panic=abort -o plugin.wasm src/lib.rs
//! ```
//!
//! It imports the plughost host functions of `wit/host.wit` (module `extism:host/user`) and the
//! Extism kernel functions a plugin needs (module `extism:host/env`) directly. Every host function
//! takes a JSON request and answers `{"ok": ...}` or `{"error": {"code", "message"}}`
//! (docs/abi.md). JSON is yours to write (`Buf`) and read (`json_string`, `json_u64`).
//! A panic traps the call (the host reports it as `trap`).
#![allow(dead_code)]

/// The host ABI version this file implements (`engines.abi` in plugin.json).
pub const ABI_VERSION: u32 = 1;

mod env {
    #[link(wasm_import_module = "extism:host/env")]
    extern "C" {
        pub fn input_length() -> u64;
        pub fn input_load_u8(offset: u64) -> u8;
        #[link_name = "alloc"]
        pub fn extism_alloc(length: u64) -> u64;
        #[link_name = "free"]
        pub fn extism_free(handle: u64);
        pub fn length(handle: u64) -> u64;
        pub fn load_u8(at: u64) -> u8;
        pub fn store_u8(at: u64, value: u8);
        pub fn output_set(handle: u64, length: u64);
        pub fn error_set(handle: u64);
        pub fn log_debug(handle: u64);
        pub fn log_info(handle: u64);
        pub fn log_warn(handle: u64);
        pub fn log_error(handle: u64);
    }
}

mod user {
    #[link(wasm_import_module = "extism:host/user")]
    extern "C" {
        pub fn kv_get(request: u64) -> u64;
        pub fn kv_set(request: u64) -> u64;
        pub fn kv_delete(request: u64) -> u64;
        pub fn kv_list(request: u64) -> u64;
        pub fn event_publish(request: u64) -> u64;
        pub fn secret_get(request: u64) -> u64;
        pub fn invoke(request: u64) -> u64;
        pub fn progress(request: u64) -> u64;
        pub fn config_get(request: u64) -> u64;
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The plughost host functions (wit/host.wit).
#[derive(Clone, Copy)]
pub enum HostFn {
    /// `{"key"}` -> `{"ok": {"value": string|null}}`
    KvGet,
    /// `{"key", "value"}` -> `{"ok": null}`
    KvSet,
    /// `{"key"}` -> `{"ok": {"deleted": bool}}`
    KvDelete,
    /// `{"prefix"?, "cursor"?, "limit"?}` -> `{"ok": {"keys": [...], "cursor": string|null}}`
    KvList,
    /// `{"topic", "payload"?}` -> `{"ok": {"id": string}}`
    EventPublish,
    /// `{"name"}` -> `{"ok": {"value": string}}`
    SecretGet,
    /// `{"plugin", "capability", "input"?}` -> `{"ok": <callee output JSON>}`
    Invoke,
    /// `{"message"?, "percent"?, "data"?}` -> `{"ok": null}` (ABI 1.2)
    Progress,
    /// `{"key"?}` -> `{"ok": {"value": <JSON>}}`: the plugin's config (all of it without a key)
    ConfigGet,
}

/// Copies bytes into a new kernel block and returns its handle.
pub fn store(bytes: &[u8]) -> u64 {
    unsafe {
        let handle = env::extism_alloc(bytes.len() as u64);
        for (i, b) in bytes.iter().enumerate() {
            env::store_u8(handle + i as u64, *b);
        }
        handle
    }
}

/// Copies up to `buf.len()` bytes of a block into `buf`; returns the block's full length.
pub fn load(handle: u64, buf: &mut [u8]) -> usize {
    unsafe {
        let len = env::length(handle) as usize;
        let n = if len < buf.len() { len } else { buf.len() };
        for (i, slot) in buf.iter_mut().enumerate().take(n) {
            *slot = env::load_u8(handle + i as u64);
        }
        len
    }
}

/// The call's input, copied into `buf`; `None` when it does not fit.
pub fn input(buf: &mut [u8]) -> Option<&[u8]> {
    unsafe {
        let len = env::input_length() as usize;
        if len > buf.len() {
            return None;
        }
        for (i, slot) in buf.iter_mut().enumerate().take(len) {
            *slot = env::input_load_u8(i as u64);
        }
        Some(&buf[..len])
    }
}

/// Sets the call's output (UTF-8 JSON for a capability).
pub fn output(bytes: &[u8]) {
    unsafe { env::output_set(store(bytes), bytes.len() as u64) }
}

/// Fails the call with a message; returns 1 so a capability can `return plughost::fail(b"...")`.
pub fn fail(message: &[u8]) -> i32 {
    unsafe { env::error_set(store(message)) };
    1
}

pub fn log_debug(message: &str) {
    unsafe { env::log_debug(store(message.as_bytes())) }
}
pub fn log_info(message: &str) {
    unsafe { env::log_info(store(message.as_bytes())) }
}
pub fn log_warn(message: &str) {
    unsafe { env::log_warn(store(message.as_bytes())) }
}
pub fn log_error(message: &str) {
    unsafe { env::log_error(store(message.as_bytes())) }
}

/// Reports the run's progress (ABI 1.2): `request` is the JSON
/// `{"message"?, "percent"?, "data"?}`; true when the host recorded it.
pub fn progress(request: &[u8]) -> bool {
    let mut res = [0u8; 256];
    call(HostFn::Progress, request, &mut res).is_ok()
}

/// Why a host call gave no usable answer.
pub enum CallError<'a> {
    /// The answer did not fit in the buffer.
    TooLarge,
    /// The host answered `{"error": ...}`: the whole answer, to pass to `fail`.
    Host(&'a [u8]),
}

/// Calls a host function with a JSON request; on `{"ok": ...}` returns the whole answer
/// (copied into `res`), on `{"error": ...}` returns `CallError::Host` with it.
pub fn call<'a>(f: HostFn, request: &[u8], res: &'a mut [u8]) -> Result<&'a [u8], CallError<'a>> {
    let handle = store(request);
    let answer = unsafe {
        match f {
            HostFn::KvGet => user::kv_get(handle),
            HostFn::KvSet => user::kv_set(handle),
            HostFn::KvDelete => user::kv_delete(handle),
            HostFn::KvList => user::kv_list(handle),
            HostFn::EventPublish => user::event_publish(handle),
            HostFn::SecretGet => user::secret_get(handle),
            HostFn::Invoke => user::invoke(handle),
            HostFn::Progress => user::progress(handle),
            HostFn::ConfigGet => user::config_get(handle),
        }
    };
    unsafe { env::extism_free(handle) };
    if answer == 0 {
        return Err(CallError::TooLarge);
    }
    let len = load(answer, res);
    unsafe { env::extism_free(answer) };
    if len > res.len() {
        return Err(CallError::TooLarge);
    }
    let bytes = &res[..len];
    if bytes.starts_with(b"{\"error\"") {
        Err(CallError::Host(bytes))
    } else {
        Ok(bytes)
    }
}

/// A fixed-capacity byte buffer for writing JSON; `overflowed()` tells when it was too small.
pub struct Buf<const N: usize> {
    data: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Buf<N> {
    pub const fn new() -> Self {
        Buf { data: [0; N], len: 0, overflow: false }
    }
    /// Appends raw bytes (already valid JSON where JSON is expected).
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            if self.len == N {
                self.overflow = true;
                break;
            }
            self.data[self.len] = *b;
            self.len += 1;
        }
        self
    }
    pub fn push_str(&mut self, text: &str) -> &mut Self {
        self.push(text.as_bytes())
    }
    /// Appends a number in decimal.
    pub fn push_u64(&mut self, mut n: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[i..])
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

/// Where `"key":` starts a value in `json` (a plain scan: it does not skip nested strings).
fn value_after(json: &[u8], key: &str) -> Option<usize> {
    let key = key.as_bytes();
    let mut i = 0;
    while i + key.len() + 2 <= json.len() {
        if json[i] == b'"' && json[i + 1..].starts_with(key) && json.get(i + 1 + key.len()) == Some(&b'"') {
            let mut j = i + key.len() + 2;
            while j < json.len() && (json[j] == b' ' || json[j] == b'\n' || json[j] == b'\t' || json[j] == b'\r') {
                j += 1;
            }
            if j < json.len() && json[j] == b':' {
                j += 1;
                while j < json.len() && (json[j] == b' ' || json[j] == b'\n' || json[j] == b'\t' || json[j] == b'\r') {
                    j += 1;
                }
                return Some(j);
            }
        }
        i += 1;
    }
    None
}

/// The string value of `"key"` in `json`, as written (still JSON-escaped, so it can be copied
/// into JSON output as is); `None` when absent or not a string.
pub fn json_string<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let start = value_after(json, key)?;
    if json.get(start) != Some(&b'"') {
        return None;
    }
    let mut j = start + 1;
    while j < json.len() {
        match json[j] {
            b'\\' => j += 2,
            b'"' => return Some(&json[start + 1..j]),
            _ => j += 1,
        }
    }
    None
}

/// The value of `"key"` in `json` when it is a non-negative integer (or a string of digits,
/// as KV values are).
pub fn json_u64(json: &[u8], key: &str) -> Option<u64> {
    let mut j = value_after(json, key)?;
    if json.get(j) == Some(&b'"') {
        j += 1;
    }
    let mut n: u64 = 0;
    let mut any = false;
    while j < json.len() && json[j].is_ascii_digit() {
        n = n.checked_mul(10)?.checked_add((json[j] - b'0') as u64)?;
        any = true;
        j += 1;
    }
    if any {
        Some(n)
    } else {
        None
    }
}
