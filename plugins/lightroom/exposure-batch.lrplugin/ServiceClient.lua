--[[ HTTP client for `exposure-batch serve` (LrHttp + Json).

ServiceClient.new{url=, token=, agent=, profile=} -> client. Every call returns (value) or (nil, Error) where
Error = { kind = "down" | "auth" | "forbidden" | "photo" | "service", status = HTTP status or nil,
message = one readable line }. ]]
local LrHttp = import "LrHttp"
local LrFileUtils = import "LrFileUtils"
local LrPathUtils = import "LrPathUtils"
local Json = require "Json"

local ServiceClient = {}
ServiceClient.__index = ServiceClient

local TIMEOUT_S = 30

--- The token file the service creates by default (same folder rule as the service's config dir).
function ServiceClient.defaultTokenFile()
  local base = LrPathUtils.getStandardFilePath("appData")
  return LrPathUtils.child(LrPathUtils.child(base, "exposure-batch"), "token")
end

--- Reads the token (first line, trimmed). Returns token or nil, message.
function ServiceClient.readToken(path)
  if path == nil or path == "" then path = ServiceClient.defaultTokenFile() end
  if not LrFileUtils.exists(path) then
    return nil, "token file " .. path .. " not found (start the service once, or set the token file in the "
      .. "Plug-in Manager)"
  end
  local text = LrFileUtils.readFile(path) or ""
  local token = text:match("^%s*(%S+)")
  if not token then return nil, "token file " .. path .. " is empty" end
  return token
end

function ServiceClient.new(opts)
  local self = setmetatable({}, ServiceClient)
  self.url = (opts.url or "http://127.0.0.1:8765"):gsub("/+$", "")
  self.token = opts.token
  self.agent = opts.agent ~= "" and opts.agent or nil
  self.profile = opts.profile ~= "" and opts.profile or nil
  return self
end

--- True when the URL names this machine (then photos are sent by path, not uploaded).
function ServiceClient:isLocal()
  local host = self.url:match("^%a+://%[([^%]]+)%]") or self.url:match("^%a+://([^/:]+)")
  return host == "localhost" or host == "::1" or (host ~= nil and host:match("^127%.%d+%.%d+%.%d+$") ~= nil)
end

function ServiceClient:headers(json)
  local h = { { field = "Authorization", value = "Bearer " .. (self.token or "") } }
  if json then h[#h + 1] = { field = "Content-Type", value = "application/json" } end
  return h
end

local function describe(status, body)
  local decoded = Json.decode(body or "")
  local detail = type(decoded) == "table" and decoded.detail
  if type(detail) == "table" then detail = Json.encode(detail) end
  return detail or ("HTTP " .. tostring(status))
end

--- Turns LrHttp's (body, headers) into (decoded JSON) or (nil, Error).
function ServiceClient:answer(body, hdrs, what)
  local status = hdrs and hdrs.status
  if body == nil or status == nil then
    local err = hdrs and hdrs.error
    local why = err and (err.name or err.errorCode) or "no answer"
    return nil, { kind = "down", message = "the exposure-batch service at " .. self.url .. " did not answer ("
      .. tostring(why) .. ")" }
  end
  if status >= 200 and status < 300 then
    local value, jerr = Json.decode(body)
    if value == nil then return nil, { kind = "service", status = status, message = what .. ": " .. jerr } end
    return value
  end
  local kind = (status == 401 and "auth") or (status == 403 and "forbidden")
    or ((status == 404 or status == 422) and "photo") or "service"
  local message = describe(status, body)
  if status == 401 then
    message = "the service refused the token (check the token file in the Plug-in Manager)"
  end
  return nil, { kind = kind, status = status, message = message }
end

function ServiceClient:health()
  local body, hdrs = LrHttp.get(self.url .. "/v1/health", nil, 5)
  return self:answer(body, hdrs, "health")
end

function ServiceClient:options(extra)
  local t = extra or {}
  t.agent = self.agent
  t.profile = self.profile
  return t
end

--- Starts a job for absolute paths; returns its id.
function ServiceClient:submitJob(paths)
  local body, hdrs = LrHttp.post(self.url .. "/v1/jobs", Json.encode(self:options({ paths = paths })),
    self:headers(true), "POST", TIMEOUT_S)
  local value, err = self:answer(body, hdrs, "job")
  if not value then return nil, err end
  return value.id
end

--- Progress and the results finished after sequence number `after`.
function ServiceClient:poll(jobId, after)
  local body, hdrs = LrHttp.get(self.url .. "/v1/jobs/" .. jobId .. "?after=" .. tostring(after or 0),
    self:headers(false), TIMEOUT_S)
  return self:answer(body, hdrs, "job progress")
end

function ServiceClient:cancel(jobId)
  local body, hdrs = LrHttp.post(self.url .. "/v1/jobs/" .. jobId, "", self:headers(false), "DELETE", TIMEOUT_S)
  return self:answer(body, hdrs, "cancel")
end

--- Uploads one file (a preview rendered by Lightroom) with the original's name and raw flag.
function ServiceClient:editUpload(filePath, originalName, isRaw)
  local meta = self:options({ name = originalName, raw = isRaw })
  local content = {
    { name = "file", fileName = LrPathUtils.leafName(filePath), filePath = filePath, contentType = "image/jpeg" },
    { name = "metadata", value = Json.encode(meta) },
  }
  local body, hdrs = LrHttp.postMultipart(self.url .. "/v1/edit", content, self:headers(false), 300)
  return self:answer(body, hdrs, "edit")
end

return ServiceClient
