-- wrk script for the paying turn: N pre-signed "yes" requests, one per customer
-- (each customer's summary is waiting for it), each sent at most once, more than
-- the run's duration can use. Every answer must say the amount was charged; a
-- pool that runs out sends its last request again, which counts as wrong.
local dir = os.getenv("VX_BENCH_DIR")
local n = tonumber(os.getenv("VX_BENCH_N"))
local cert_url = os.getenv("VX_BENCH_CERT_URL")
local expect = os.getenv("VX_BENCH_EXPECT") or "charged"
local reqs = {}
local sent = 0
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
    reqs[k] = wrk.format("POST", "/alexa", {
      ["Content-Type"] = "application/json; charset=utf-8",
      ["SignatureCertChainUrl"] = cert_url,
      ["Signature-256"] = slurp(dir .. "/paysig" .. k .. ".txt"):gsub("%s+$", ""),
    }, slurp(dir .. "/pay" .. k .. ".json"))
  end
end

function request()
  sent = sent + 1
  return reqs[sent <= n and sent or n]
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
