--[[ LrHttp over real HTTP (luasocket), for the end-to-end test: same calls and return values as Lightroom's
LrHttp.get / post / postMultipart (body, headers with .status; nil and headers.error on a network failure). ]]
local http = require "socket.http"
local ltn12 = require "ltn12"

local LrHttp = {}

local function request(method, url, body, headers, timeout)
  if coroutine.running() then coroutine.yield() end -- Lightroom's LrHttp yields: so does this one
  http.TIMEOUT = timeout or 30
  local hdrs = {}
  for _, h in ipairs(headers or {}) do hdrs[h.field:lower()] = h.value end
  if body then hdrs["content-length"] = tostring(#body) end
  local chunks = {}
  local ok, code, responseHeaders = http.request({
    url = url, method = method, headers = hdrs,
    source = body and ltn12.source.string(body) or nil, sink = ltn12.sink.table(chunks),
  })
  if not ok or type(code) ~= "number" then
    return nil, { error = { errorCode = "networkError", name = tostring(code) } }
  end
  local out = { status = code }
  for k, v in pairs(responseHeaders or {}) do out[#out + 1] = { field = k, value = v } end
  return table.concat(chunks), out
end

function LrHttp.get(url, headers, timeout)
  return request("GET", url, nil, headers, timeout)
end

function LrHttp.post(url, body, headers, method, timeout)
  return request(method or "POST", url, body or "", headers, timeout)
end

function LrHttp.postMultipart(url, content, headers, timeout)
  local boundary = "exposure-batch-" .. tostring(os.time()) .. tostring(math.random(1e9))
  local parts = {}
  for _, part in ipairs(content) do
    local head = '--' .. boundary .. '\r\nContent-Disposition: form-data; name="' .. part.name .. '"'
    local data
    if part.filePath then
      local fh = assert(io.open(part.filePath, "rb"))
      data = fh:read("*a")
      fh:close()
      head = head .. '; filename="' .. (part.fileName or "file") .. '"\r\nContent-Type: '
        .. (part.contentType or "application/octet-stream")
    else
      data = part.value
    end
    parts[#parts + 1] = head .. "\r\n\r\n" .. data .. "\r\n"
  end
  local body = table.concat(parts) .. "--" .. boundary .. "--\r\n"
  local h = { { field = "Content-Type", value = "multipart/form-data; boundary=" .. boundary } }
  for _, x in ipairs(headers or {}) do h[#h + 1] = x end
  return request("POST", url, body, h, timeout)
end

return LrHttp
