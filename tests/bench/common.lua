-- Shared by the wrk scripts of make bench (order.lua, pay.lua): reading the pre-signed
-- request files, the check of every answer, and the result line run.sh reads. A script sets
-- expect and calls bench_request(body_file, sig_file) for each request of its pool.
bench = {
  dir = os.getenv("VX_BENCH_DIR"),
  n = tonumber(os.getenv("VX_BENCH_N")),
  cert_url = os.getenv("VX_BENCH_CERT_URL"),
}
-- a global, so that done() can read each thread's count with thread:get
bad = 0
local threads = {}

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function bench_request(body_file, sig_file)
  return wrk.format("POST", "/alexa", {
    ["Content-Type"] = "application/json; charset=utf-8",
    ["SignatureCertChainUrl"] = bench.cert_url,
    ["Signature-256"] = slurp(bench.dir .. "/" .. sig_file):gsub("%s+$", ""),
  }, slurp(bench.dir .. "/" .. body_file))
end

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, bench.expect, 1, true) then
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
