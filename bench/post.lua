-- bench/post.lua - wrk script: POST the file $BODY_FILE with Content-Type $CONTENT_TYPE.
-- With $DELAY_MS > 0 each connection waits that long after a response before its next
-- request (wrk's delay() hook), which paces the load for the latency-at-half-peak runs.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"

-- $EXTRA_HEADERS: more request headers, "Name: value" lines (a signed webhook call's).
for name, value in (os.getenv("EXTRA_HEADERS") or ""):gmatch("([^:\n]+):%s*([^\n]*)") do
    wrk.headers[name] = value
end

local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
    function delay()
        return pause
    end
end
