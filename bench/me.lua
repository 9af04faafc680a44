-- wrk script: every request carries the bearer token from $NEXUS_TOKEN.
local token = os.getenv("NEXUS_TOKEN")
if token == nil or token == "" then
  error("NEXUS_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token
