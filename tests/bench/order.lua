-- wrk script for the side-by-side benchmark: N pre-signed OrderIntent requests
-- (one per customer, signed moments before the run) sent round-robin, and every
-- answer checked for the order summary so a fast error never counts as a success.
dofile(os.getenv("VX_BENCH_LIB") .. "/common.lua")
bench.expect = os.getenv("VX_BENCH_EXPECT") or "order"
local reqs = {}
local i = 0

function init(args)
  for k = 1, bench.n do
    reqs[k] = bench_request("body" .. k .. ".json", "sig" .. k .. ".txt")
  end
  i = math.random(bench.n) - 1
end

function request()
  i = i % bench.n + 1
  return reqs[i]
end
