//! A mock LLM upstream on loopback that records every request it sees and
//! answers in the shape of the API the path belongs to: chat completions,
//! responses, messages and Gemini, streamed when the request asks for it.
//! A few extra paths exist for proxy tests (`/echo`, `/sse`, `/big`, `/hang`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The text every mock completion answers with.
pub const REPLY: &str = "Hello from the mock upstream";

/// The model a completion names when its request names none; otherwise
/// the mock answers with the request's `model`, as providers do.
pub const MODEL: &str = "mock-model";

/// The usage each API's answers report, distinct per API so that a test
/// can tell them apart (Gemini's `candidatesTokenCount` leaves its thoughts
/// out). Anthropic's input counts the uncached part only.
pub mod usage {
    pub const CHAT: [u64; 4] = [30, 10, 50, 7];
    pub const RESPONSES: [u64; 4] = [31, 11, 51, 8];
    /// Input, cache read, cache write, output.
    pub const ANTHROPIC: [u64; 4] = [32, 12, 4, 52];
    pub const GEMINI: [u64; 4] = [33, 13, 53, 9];

    /// The names of the figures `read_at` gives, in its order.
    pub const FIGURES: [&str; 5] = [
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
    ];

    /// What headroom should read from the answer at `path`, in its one
    /// meaning: input (cached share included), cache read, cache write,
    /// output (reasoning included), reasoning; `None` for a figure the API
    /// does not report.
    pub fn read_at(path: &str) -> [Option<u64>; 5] {
        let path = path.split('?').next().unwrap_or(path);
        if path.ends_with("/chat/completions") {
            let [input, cached, output, reasoning] = CHAT;
            [
                Some(input),
                Some(cached),
                None,
                Some(output),
                Some(reasoning),
            ]
        } else if path.ends_with("/responses") {
            let [input, cached, output, reasoning] = RESPONSES;
            [
                Some(input),
                Some(cached),
                None,
                Some(output),
                Some(reasoning),
            ]
        } else if path.ends_with("/messages") {
            let [input, read, write, output] = ANTHROPIC;
            [
                Some(input + read + write),
                Some(read),
                Some(write),
                Some(output),
                None,
            ]
        } else {
            let [input, cached, output, thoughts] = GEMINI;
            [
                Some(input),
                Some(cached),
                None,
                Some(output + thoughts),
                Some(thoughts),
            ]
        }
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub version: http::Version,
    /// Path and query as received.
    pub target: String,
    pub headers: HeaderMap,
    pub body_len: usize,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    /// Streams whose body was dropped before it finished: the client (or
    /// the proxy in front of it) went away.
    cancelled_streams: Mutex<Vec<std::time::Instant>>,
    /// Tool calls to answer the next streamed chat turns with, in order.
    chat_script: Mutex<std::collections::VecDeque<(String, String)>>,
}

pub struct MockUpstream {
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type MockBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

impl MockUpstream {
    /// Starts on 127.0.0.1 on a thread and runtime of its own, so it works
    /// from sync and async tests alike and stops when dropped.
    pub fn start() -> MockUpstream {
        Self::start_with(None)
    }

    /// Serves HTTPS with the given certificate; ALPN offers h2 and http/1.1.
    pub fn start_tls(mut config: rustls::ServerConfig) -> MockUpstream {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> MockUpstream {
        let state = Arc::new(State::default());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("mock runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
                let _ = addr_tx.send(listener.local_addr().expect("mock addr"));
                tokio::select! {
                    _ = accept_loop(listener, serving, tls) => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        let addr = addr_rx.recv().expect("mock address");
        MockUpstream {
            addr,
            state,
            stop: Some(stop),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next streamed chat-completions turn that offers tools
    /// with a call of `tool` with `arguments` (JSON text), once; later
    /// turns get the usual reply.
    pub fn script_tool_call(&self, tool: &str, arguments: &str) {
        let mut script = self.state.chat_script.lock().expect("lock");
        script.push_back((tool.to_owned(), arguments.to_owned()));
    }

    /// Requests seen, with the HTTP version each arrived in.
    pub fn versions(&self) -> Vec<http::Version> {
        self.requests().iter().map(|r| r.version).collect()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("the mock saw no request")
    }

    pub fn cancelled_streams(&self) -> Vec<std::time::Instant> {
        self.state.cancelled_streams.lock().expect("lock").clone()
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(state.clone(), request));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = match tls {
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(_) => return,
                },
            };
        });
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/".to_string(), |pq| pq.to_string());
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();

    if path.ends_with("/echo") {
        record(&state, &parts, &target, Bytes::new(), 0);
        return Ok(echo(body, parts.headers.get("content-length").cloned()));
    }
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let len = bytes.len();
    let kept = bytes.slice(..len.min(1024 * 1024));
    record(&state, &parts, &target, kept, len);
    let json_body = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    // Read from the JSON when it parses: litellm writes `"stream": true`.
    let streaming = match &json_body {
        Some(body) => body["stream"].as_bool().unwrap_or(false),
        None => String::from_utf8_lossy(&bytes).contains("\"stream\":true"),
    };
    let model = json_body
        .and_then(|body| body["model"].as_str().map(str::to_owned))
        .unwrap_or_else(|| MODEL.to_owned());
    // Asked for by a test header: answers that name no model (an empty
    // name, which headroom reads as none).
    let model = match parts.headers.contains_key("x-mock-no-model") {
        true => "",
        false => model.as_str(),
    };
    // Asked for by a test header, not by `accept-encoding`: agents ask for
    // gzip on every request, and most tests want to read the body.
    let gzip = parts.headers.contains_key("x-mock-gzip");
    // A JSON chat answer that read nothing from a 5,000-token prompt's
    // cache, as from a provider that does not cache.
    let uncached = parts.headers.contains_key("x-mock-uncached");
    // The API key chooses a failure, so a test can pick one per provider.
    let key = ["authorization", "x-api-key", "x-goog-api-key"]
        .iter()
        .filter_map(|name| parts.headers.get(*name))
        .filter_map(|value| value.to_str().ok())
        .collect::<String>();
    if key.contains("HANG") {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if key.contains("FAIL401") {
        let mut response = json(serde_json::json!({
            "error": { "message": "mock: invalid api key", "type": "invalid_request_error" },
        }));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(response);
    }

    let offers_tools = String::from_utf8_lossy(&bytes).contains("\"tools\"");
    let scripted = match streaming && offers_tools && path.ends_with("/chat/completions") {
        true => state.chat_script.lock().expect("lock").pop_front(),
        false => None,
    };
    let response = if let Some((tool, arguments)) = scripted {
        sse(
            chat_tool_call(model, &tool, &arguments),
            Duration::ZERO,
            None,
        )
    } else if path.ends_with("/chat/completions") {
        if streaming {
            sse(chat_events(model), Duration::ZERO, None)
        } else {
            let mut answer = chat_json(model);
            if uncached {
                answer["usage"]["prompt_tokens"] = 5000.into();
                answer["usage"]["prompt_tokens_details"]["cached_tokens"] = 0.into();
            }
            json_maybe_gzip(answer, gzip)
        }
    } else if path.ends_with("/responses") {
        sse(responses_events(model), Duration::ZERO, None)
    } else if path.ends_with("/messages") {
        if streaming {
            sse(anthropic_events(model), Duration::ZERO, None)
        } else {
            json_maybe_gzip(anthropic_json(model), gzip)
        }
    } else if path.contains(":streamGenerateContent") {
        sse(gemini_events(model), Duration::ZERO, None)
    } else if path.contains(":generateContent") {
        json_maybe_gzip(gemini_json(model), gzip)
    } else if path.contains(":countTokens") {
        json(serde_json::json!({ "totalTokens": 7 }))
    } else if path.ends_with("/sse") {
        let events = query_number(&query, "events").unwrap_or(5);
        let gap = Duration::from_millis(query_number(&query, "gap_ms").unwrap_or(100) as u64);
        let hold = query.contains("hold=1");
        let lines = (0..events)
            .map(|i| format!("data: {{\"n\":{i}}}\n\n"))
            .collect();
        sse(lines, gap, hold.then(|| state.clone()))
    } else if path.ends_with("/big") {
        big(query_number(&query, "bytes").unwrap_or(1 << 20))
    } else if path.ends_with("/hang") {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        json(serde_json::json!({}))
    } else if path.ends_with("/status") {
        let code = query_number(&query, "code").unwrap_or(200) as u16;
        let mut response = json(serde_json::json!({ "status": code }));
        *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
        response
    } else {
        json(serde_json::json!({ "ok": true, "path": path }))
    };
    Ok(response)
}

fn record(state: &State, parts: &http::request::Parts, target: &str, body: Bytes, len: usize) {
    state.requests.lock().expect("lock").push(Recorded {
        method: parts.method.clone(),
        version: parts.version,
        target: target.to_string(),
        headers: parts.headers.clone(),
        body_len: len,
        body,
    });
}

fn query_number(query: &str, name: &str) -> Option<usize> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

fn json(value: serde_json::Value) -> Response<MockBody> {
    Response::builder()
        .header("content-type", "application/json")
        .header("x-mock", "1")
        .body(
            http_body_util::Full::new(Bytes::from(value.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("response")
}

/// `value` as JSON, gzip-encoded when `gzip`.
fn json_maybe_gzip(value: serde_json::Value, gzip: bool) -> Response<MockBody> {
    let mut response = json(value.clone());
    if gzip {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let encoded = encoder
            .write_all(value.to_string().as_bytes())
            .and_then(|()| encoder.finish())
            .expect("gzip in memory");
        response
            .headers_mut()
            .insert("content-encoding", http::HeaderValue::from_static("gzip"));
        *response.body_mut() = http_body_util::Full::new(Bytes::from(encoded))
            .map_err(|never| match never {})
            .boxed();
    }
    response
}

/// Streams the request body straight back, frame by frame.
fn echo(body: Incoming, length: Option<http::HeaderValue>) -> Response<MockBody> {
    let mut builder = Response::builder().header("content-type", "application/octet-stream");
    if let Some(length) = length {
        builder = builder.header("content-length", length);
    }
    builder
        .body(body.map_err(BoxError::from).boxed())
        .expect("response")
}

/// `size` bytes in 64 KiB frames, generated as they are sent.
fn big(size: usize) -> Response<MockBody> {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            if tx.send(chunk.slice(..n)).await.is_err() {
                return;
            }
            left -= n;
        }
    });
    Response::builder()
        .header("content-type", "application/octet-stream")
        .header("content-length", size.to_string())
        .body(ChannelBody(rx).boxed())
        .expect("response")
}

/// Server-sent events, each its own frame, `gap` apart. With `hold`, the
/// stream stays open after the last event, and its cancellation is recorded.
fn sse(events: Vec<String>, gap: Duration, hold: Option<Arc<State>>) -> Response<MockBody> {
    let (tx, rx) = mpsc::channel::<Bytes>(1);
    tokio::spawn(async move {
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
            if tx.send(Bytes::from(event)).await.is_err() {
                return;
            }
        }
        if let Some(state) = hold {
            tx.closed().await;
            state
                .cancelled_streams
                .lock()
                .expect("lock")
                .push(std::time::Instant::now());
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(ChannelBody(rx).boxed())
        .expect("response")
}

/// A body whose frames arrive through a channel; dropping it closes the
/// channel, which is how a generator learns that nobody is listening.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

fn data(value: serde_json::Value) -> String {
    format!("data: {value}\n\n")
}

fn named(event: &str, value: serde_json::Value) -> String {
    format!("event: {event}\ndata: {value}\n\n")
}

fn chat_usage() -> serde_json::Value {
    let [input, cached, output, reasoning] = usage::CHAT;
    serde_json::json!({
        "prompt_tokens": input, "prompt_tokens_details": { "cached_tokens": cached },
        "completion_tokens": output,
        "completion_tokens_details": { "reasoning_tokens": reasoning },
        "total_tokens": input + output,
    })
}

fn chat_events(model: &str) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
    };
    let mut usage = chunk(serde_json::json!({}), Some("stop"));
    usage["usage"] = chat_usage();
    vec![
        data(chunk(
            serde_json::json!({ "role": "assistant", "content": "" }),
            None,
        )),
        data(chunk(serde_json::json!({ "content": REPLY }), None)),
        data(usage),
        "data: [DONE]\n\n".to_string(),
    ]
}

/// A streamed chat turn that calls `tool` with `arguments`.
fn chat_tool_call(model: &str, tool: &str, arguments: &str) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        })
    };
    let call = serde_json::json!({ "role": "assistant", "tool_calls": [{
        "index": 0, "id": "call_mock_1", "type": "function",
        "function": { "name": tool, "arguments": arguments },
    }]});
    let mut last = chunk(serde_json::json!({}), Some("tool_calls"));
    last["usage"] = chat_usage();
    vec![
        data(chunk(call, None)),
        data(last),
        "data: [DONE]\n\n".to_string(),
    ]
}

fn chat_json(model: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": REPLY }, "finish_reason": "stop" }],
        "usage": chat_usage(),
    })
}

fn responses_events(model: &str) -> Vec<String> {
    let [input, cached, output, reasoning] = usage::RESPONSES;
    let response = |status: &str| {
        serde_json::json!({
            "id": "resp_mock", "object": "response", "created_at": 1, "status": status,
            "model": model, "output": [], "incomplete_details": null,
            "usage": { "input_tokens": input, "input_tokens_details": { "cached_tokens": cached },
                       "output_tokens": output, "output_tokens_details": { "reasoning_tokens": reasoning },
                       "total_tokens": input + output },
        })
    };
    let message = |status: &str, text: &str| {
        serde_json::json!({
            "type": "message", "id": "msg_mock", "status": status, "role": "assistant",
            "content": if text.is_empty() { serde_json::json!([]) } else {
                serde_json::json!([{ "type": "output_text", "text": text, "annotations": [] }]) },
        })
    };
    let sequence = [
        serde_json::json!({ "type": "response.created", "sequence_number": 0, "response": response("in_progress") }),
        serde_json::json!({ "type": "response.output_item.added", "sequence_number": 1, "output_index": 0, "item": message("in_progress", "") }),
        serde_json::json!({ "type": "response.content_part.added", "sequence_number": 2, "item_id": "msg_mock", "output_index": 0, "content_index": 0, "part": { "type": "output_text", "text": "", "annotations": [] } }),
        serde_json::json!({ "type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": REPLY, "logprobs": [] }),
        serde_json::json!({ "type": "response.output_text.done", "sequence_number": 4, "item_id": "msg_mock", "output_index": 0, "content_index": 0, "text": REPLY, "logprobs": [] }),
        serde_json::json!({ "type": "response.output_item.done", "sequence_number": 5, "output_index": 0, "item": message("completed", REPLY) }),
        serde_json::json!({ "type": "response.completed", "sequence_number": 6, "response": response("completed") }),
    ];
    sequence
        .into_iter()
        .map(|event| {
            let name = event["type"].as_str().unwrap_or_default().to_string();
            named(&name, event)
        })
        .collect()
}

fn anthropic_events(model: &str) -> Vec<String> {
    let [input, cache_read, cache_write, output] = usage::ANTHROPIC;
    vec![
        named(
            "message_start",
            serde_json::json!({ "type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": input, "cache_read_input_tokens": cache_read,
                       "cache_creation_input_tokens": cache_write, "output_tokens": 1 } } }),
        ),
        named(
            "content_block_start",
            serde_json::json!({ "type": "content_block_start", "index": 0,
            "content_block": { "type": "text", "text": "" } }),
        ),
        named(
            "content_block_delta",
            serde_json::json!({ "type": "content_block_delta", "index": 0,
            "delta": { "type": "text_delta", "text": REPLY } }),
        ),
        named(
            "content_block_stop",
            serde_json::json!({ "type": "content_block_stop", "index": 0 }),
        ),
        named(
            "message_delta",
            serde_json::json!({ "type": "message_delta",
            "delta": { "stop_reason": "end_turn", "stop_sequence": null },
            "usage": { "output_tokens": output } }),
        ),
        named(
            "message_stop",
            serde_json::json!({ "type": "message_stop" }),
        ),
    ]
}

fn anthropic_json(model: &str) -> serde_json::Value {
    let [input, cache_read, cache_write, output] = usage::ANTHROPIC;
    serde_json::json!({
        "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
        "content": [{ "type": "text", "text": REPLY }], "stop_reason": "end_turn",
        "stop_sequence": null, "usage": { "input_tokens": input,
            "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write,
            "output_tokens": output },
    })
}

fn gemini_events(model: &str) -> Vec<String> {
    vec![data(gemini_json(model))]
}

fn gemini_json(model: &str) -> serde_json::Value {
    let [input, cached, output, thoughts] = usage::GEMINI;
    serde_json::json!({
        "candidates": [{ "content": { "parts": [{ "text": REPLY }], "role": "model" },
                         "finishReason": "STOP", "index": 0 }],
        "usageMetadata": { "promptTokenCount": input, "cachedContentTokenCount": cached,
                           "candidatesTokenCount": output, "thoughtsTokenCount": thoughts,
                           "totalTokenCount": input + output + thoughts },
        "modelVersion": model,
    })
}
