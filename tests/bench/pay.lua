-- wrk script for the paying turn: N pre-signed "yes" requests, one per customer
-- (each customer's summary is waiting for it), each sent at most once, more than
-- the run's duration can use. Every answer must say the amount was charged; a
-- pool that runs out sends its last request again, which counts as wrong.
dofile(os.getenv("VX_BENCH_LIB") .. "/common.lua")
bench.expect = os.getenv("VX_BENCH_EXPECT") or "charged"
local reqs = {}
local sent = 0

function init(args)
  for k = 1, bench.n do
    reqs[k] = bench_request("pay" .. k .. ".json", "paysig" .. k .. ".txt")
  end
end

function request()
  sent = sent + 1
  return reqs[sent <= bench.n and sent or bench.n]
end
