-- wrk script for the side-by-side benchmark: N pre-signed OrderIntent requests
-- (one per customer, signed moments before the run) sent round-robin, and every
-- answer checked for the order summary so a fast error never counts as a success.
local dir = os.getenv("VX_BENCH_DIR")
local n = tonumber(os.getenv("VX_BENCH_N"))
local cert_url = os.getenv("VX_BENCH_CERT_URL")
local expect = os.getenv("VX_BENCH_EXPECT") or "order"
local reqs = {}
local i = 0
-- a global, so that done() can read each thread's count with thread:get
bad = 0
local threads = {}

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for k = 1, n do
    local body = slurp(dir .. "/body" .. k .. ".json")
    local sig = slurp(dir .. "/sig" .. k .. ".txt"):gsub("%s+$", "")
    reqs[k] = wrk.format("POST", "/alexa", {
      ["Content-Type"] = "application/json; charset=utf-8",
      ["SignatureCertChainUrl"] = cert_url,
      ["Signature-256"] = sig,
    }, body)
  end
  i = math.random(n) - 1
end

function request()
  i = i % n + 1
  return reqs[i]
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, t in ipairs(threads) do
    wrong = wrong + (t:get("bad") or 0)
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("VXBENCH rps=%.1f p50=%.3f p99=%.3f p999=%.3f errors=%d wrong=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    errors, wrong, summary.requests))
end
