-- login.lua — wrk script: POST /api/v1/auth/login for the bench user, each request from a
-- different X-Real-IP (so the per-address limit of 30/min does not cap the benchmark).
local n = 0
request = function()
  n = n + 1
  local headers = {["Content-Type"] = "application/json",
                   ["X-Real-IP"] = "10." .. (n % 250) .. "." .. math.random(0, 250) .. "." .. math.random(1, 250)}
  return wrk.format("POST", "/api/v1/auth/login", headers,
                    '{"email":"bench@example.com","password":"bench-password-1"}')
end
