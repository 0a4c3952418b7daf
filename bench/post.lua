-- bench/post.lua - wrk script: POST the file $BODY_FILE with Content-Type $CONTENT_TYPE; or,
-- with $METHOD (GET) and no $BODY_FILE, a request without a body.
-- With $DELAY_MS > 0 each connection waits that long after a response before its next
-- request (wrk's delay() hook), which paces the load for the latency-at-half-peak runs.
local path = os.getenv("BODY_FILE") or ""
wrk.method = os.getenv("METHOD") or "POST"
if path ~= "" then
    local f = assert(io.open(path, "rb"))
    wrk.body = f:read("*a")
    f:close()
    wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"
end

-- $EXTRA_HEADERS: more request headers, "Name: value" lines (a signed webhook call's, the
-- client certificate a proxy forwards).
for name, value in (os.getenv("EXTRA_HEADERS") or ""):gmatch("([^:\n]+):%s*([^\n]*)") do
    wrk.headers[name] = value
end

local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
    function delay()
        return pause
    end
end
