-- refresh.lua — wrk script: POST /api/v1/auth/refresh, always with the newest cookie this thread
-- was given (each answer rotates it). Start cookie from the COOKIE environment variable.
local cookie = os.getenv("COOKIE")
request = function()
  return wrk.format("POST", "/api/v1/auth/refresh", {["Cookie"] = "convo_rt=" .. cookie}, "")
end
response = function(status, headers, body)
  local set = headers["Set-Cookie"]
  if set then
    local v = set:match("convo_rt=([%w_%-]+)")
    if v and #v == 43 then cookie = v end
  end
end
