-- tests/robust/wrk_robust.lua - the wrk script of robust.load (test_load.py).
--
--   wrk ... -s wrk_robust.lua http://127.0.0.1:PORT/v1/inspect -- cert.pem
--       POST the PEM file's content as application/x-pem-file
--   wrk ... -s wrk_robust.lua http://127.0.0.1:PORT/healthz
--       GET, as wrk does without a script
--
-- done() adds one line "ROBUST {json}" with the exact counters and latency percentiles
-- (microseconds), which test_load.py reads instead of wrk's rounded text.

function init(args)
   if args[1] then
      local f = assert(io.open(args[1], "rb"))
      wrk.body = f:read("*a")
      f:close()
      wrk.method = "POST"
      wrk.headers["Content-Type"] = "application/x-pem-file"
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'ROBUST {"duration_us": %d, "requests": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
      '"write": %d, "status": %d, "timeout": %d, "lat_mean_us": %.1f, "lat_p50_us": %d, ' ..
      '"lat_p90_us": %d, "lat_p99_us": %d, "lat_max_us": %d}\n',
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end
